#include "controller/cli/sandbox_command.h"

#include <CLI/CLI.hpp>
#include <cctype>
#include <functional>
#include <iostream>
#include <memory>

#include "controller/sandbox/sandbox.h"
#include "reconcilers/common/emulator/emulator.h"
#include "reconcilers/common/emulator/flags.h"
#include "reconcilers/marathon/emulator.h"
#include "reconcilers/sagemaker/emulator.h"

namespace converge::cli {
namespace {

struct SandboxBackend {
  std::string name;
  std::function<std::vector<emulator::EmulatorFlag>()> flags;
  std::function<Result<std::unique_ptr<emulator::Emulator>>(const emulator::EmulatorFlagValues&)>
      make;
  int default_transition_ms;
};

// The emulators `converge sandbox` serves, in mount order.
std::vector<SandboxBackend> SandboxBackends() {
  return {{"marathon", marathon::EmulatorFlags, marathon::MakeEmulator, 1000},
          {"sagemaker", sagemaker::EmulatorFlags, sagemaker::MakeEmulator, 2000}};
}

// Flag names from before the knobs were shared, kept working: "<backend>/<flag>" -> old name.
const std::map<std::string, std::string>& LegacyFlagNames() {
  static const std::map<std::string, std::string> kNames = {
      {"marathon/transition-ms", "--marathon-deploy-ms"},
      {"sagemaker/transition-ms", "--sagemaker-delay-ms"}};
  return kNames;
}

// Every flag of one backend: the shared ones first.
std::vector<emulator::EmulatorFlag> AllFlags(const SandboxBackend& b) {
  std::vector<emulator::EmulatorFlag> flags = {
      {emulator::kTransitionMsFlag,
       "How long a transition of the " + b.name + " emulator takes, in ms",
       std::to_string(b.default_transition_ms), false},
      {emulator::kFailingImageFlag,
       "A container image whose " + b.name +
           " deployments / runs never become healthy or fail "
           "(repeatable)",
       "", true},
  };
  for (emulator::EmulatorFlag& f : b.flags()) flags.push_back(std::move(f));
  return flags;
}

std::string EnvName(const std::string& backend, const std::string& flag) {
  std::string env = "CONVERGE_SANDBOX_" + backend + "_" + flag;
  for (char& c : env) {
    c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return env;
}

}  // namespace

CLI::App* AddSandboxCommand(CLI::App& app, SandboxCmdOptions& o) {
  std::string mounts;
  for (const SandboxBackend& b : SandboxBackends()) {
    mounts += (mounts.empty() ? "" : ", ") + b.name + " at /" + b.name;
  }
  CLI::App* sandbox = app.add_subcommand(
      "sandbox", "Serve emulated backends on loopback (" + mounts + ") for demos and tests");
  sandbox->add_option("--listen", o.listen, "host:port (port 0 picks a free port and prints it)");
  sandbox->add_option("--state", o.state_file, "Persist emulator state in FILE");
  for (const SandboxBackend& b : SandboxBackends()) {
    for (const emulator::EmulatorFlag& f : AllFlags(b)) {
      const std::string key = b.name + "/" + f.name;
      std::string names = "--" + b.name + "-" + f.name;
      auto legacy = LegacyFlagNames().find(key);
      if (legacy != LegacyFlagNames().end()) names += "," + legacy->second;
      std::string help = f.help;
      if (!f.default_value.empty()) help += " (default " + f.default_value + ")";
      CLI::Option* opt = sandbox->add_option(names, o.flags[key], help);
      if (f.repeated) continue;
      opt->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      opt->envname(EnvName(b.name, f.name));
    }
  }
  return sandbox;
}

int RunSandbox(const SandboxCmdOptions& o) {
  sandbox::Options opts;
  opts.listen = o.listen;
  opts.state_file = o.state_file;
  for (const SandboxBackend& b : SandboxBackends()) {
    emulator::EmulatorFlagValues values;
    const std::string prefix = b.name + "/";
    for (const auto& [key, given] : o.flags) {
      if (key.rfind(prefix, 0) == 0 && !given.empty()) values[key.substr(prefix.size())] = given;
    }
    if (values.count(emulator::kTransitionMsFlag) == 0) {
      values[emulator::kTransitionMsFlag] = {std::to_string(b.default_transition_ms)};
    }
    auto emu = b.make(values);
    if (!emu.ok()) {
      std::cerr << "converge sandbox: --" << b.name << "-" << emu.status().message() << std::endl;
      return 1;
    }
    opts.emulators.push_back({b.name, std::move(emu).value()});
  }
  return sandbox::Run(std::move(opts));
}

}  // namespace converge::cli
