#include "controller/cli/sandbox_command.h"

#include <CLI/CLI.hpp>
#include <cctype>
#include <functional>
#include <iostream>
#include <memory>

#include "controller/sandbox/sandbox.h"
#include "reconcilers/common/emulator/emulator.h"
#include "reconcilers/common/emulator/flags.h"
#include "reconcilers/registry.h"

namespace converge::cli {
namespace {

// The emulators `converge sandbox` serves, in mount order: every registered backend's.
const std::vector<BackendFactory>& SandboxBackends() { return Backends().All(); }

// Every flag of one backend: the shared ones first.
std::vector<emulator::EmulatorFlag> AllFlags(const BackendFactory& b) {
  std::vector<emulator::EmulatorFlag> flags = {
      {emulator::kTransitionMsFlag,
       "How long a transition of the " + b.SandboxMount() + " emulator takes, in ms",
       std::to_string(b.default_transition_ms), false},
      {emulator::kFailingImageFlag,
       "A container image whose " + b.SandboxMount() +
           " deployments / runs never become healthy or fail "
           "(repeatable)",
       "", true},
  };
  for (const emulator::EmulatorFlag& f : b.emulator_flags) flags.push_back(f);
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
  for (const BackendFactory& b : SandboxBackends()) {
    if (b.make_emulator)
      mounts += (mounts.empty() ? "" : ", ") + b.type + " at /" + b.SandboxMount();
  }
  CLI::App* sandbox = app.add_subcommand(
      "sandbox", "Serve emulated backends on loopback (" + mounts + ") for demos and tests");
  sandbox->add_option("--listen", o.listen, "host:port (port 0 picks a free port and prints it)");
  sandbox->add_option("--state", o.state_file, "Persist emulator state in FILE");
  for (const BackendFactory& b : SandboxBackends()) {
    if (!b.make_emulator) continue;
    for (const emulator::EmulatorFlag& f : AllFlags(b)) {
      const std::string key = b.SandboxMount() + "/" + f.name;
      std::string names = "--" + b.SandboxMount() + "-" + f.name;
      auto legacy = b.emulator_flag_aliases.find(f.name);
      if (legacy != b.emulator_flag_aliases.end()) names += "," + legacy->second;
      std::string help = f.help;
      if (!f.default_value.empty()) help += " (default " + f.default_value + ")";
      CLI::Option* opt = sandbox->add_option(names, o.flags[key], help);
      if (f.repeated) continue;
      opt->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      opt->envname(EnvName(b.SandboxMount(), f.name));
    }
  }
  return sandbox;
}

int RunSandbox(const SandboxCmdOptions& o) {
  sandbox::Options opts;
  opts.listen = o.listen;
  opts.state_file = o.state_file;
  for (const BackendFactory& b : SandboxBackends()) {
    if (!b.make_emulator) continue;
    emulator::EmulatorFlagValues values;
    const std::string mount = b.SandboxMount();
    const std::string prefix = mount + "/";
    for (const auto& [key, given] : o.flags) {
      if (key.rfind(prefix, 0) == 0 && !given.empty()) values[key.substr(prefix.size())] = given;
    }
    if (!o.state_file.empty()) values[emulator::kStateFileValue] = {o.state_file};
    if (values.count(emulator::kTransitionMsFlag) == 0) {
      values[emulator::kTransitionMsFlag] = {std::to_string(b.default_transition_ms)};
    }
    auto emu = b.make_emulator(values);
    if (!emu.ok()) {
      std::cerr << "converge sandbox: --" << mount << "-" << emu.status().message() << std::endl;
      return 1;
    }
    opts.emulators.push_back({mount, std::move(emu).value()});
  }
  return sandbox::Run(std::move(opts));
}

}  // namespace converge::cli
