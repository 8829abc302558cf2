// `converge sandbox`: its flags and how they become the emulators the sandbox serves
// (controller/sandbox/sandbox.h). Each backend's emulator is configured by
// `--<backend>-<flag> VALUE`: the shared transition-ms and failing-image, plus the flags the
// backend lists (EmulatorFlags()); docs/cli.md describes them.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace converge::cli {

struct SandboxCmdOptions {
  std::string listen = "127.0.0.1:0";
  std::string state_file;
  // Values given per "<backend>/<flag>" (repeated flags hold every value).
  std::map<std::string, std::vector<std::string>> flags;
};

// Adds the `sandbox` subcommand and every emulator's flags to `app`.
CLI::App* AddSandboxCommand(CLI::App& app, SandboxCmdOptions& o);
int RunSandbox(const SandboxCmdOptions& o);

}  // namespace converge::cli
