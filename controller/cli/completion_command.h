// `converge completion bash|zsh|fish`: a shell completion script generated from the CLI11 app
// definition itself (subcommands, their flags, the values of options with a fixed set of
// choices), so it cannot drift from the parser; and the hidden `converge __complete-keys` the
// scripts call to complete KIND/NAME arguments from the state directory.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "controller/cli/commands.h"

namespace converge::cli {

// What a script needs to know about one option or positional argument.
struct CompletionArg {
  std::vector<std::string> names;    // "-o", "--output"; a positional's own name ("resource")
  std::string help;                  // first sentence of its description
  bool takes_value = false;          // an option followed by a value (not a flag)
  std::vector<std::string> choices;  // from a CLI::IsMember check
  // How a value is completed when there are no choices: "key" (KIND/NAME from the state
  // directory), "dir", "file" or "" (nothing to offer).
  std::string hint;
};

struct CompletionCommand {
  std::string name;  // "" for the top-level app
  std::string help;
  std::vector<CompletionArg> options;
  std::vector<CompletionArg> positionals;  // in order
};

// Walks `app`: the top-level options first (name ""), then every subcommand that is not hidden
// (an empty group). A positional whose type name is KIND/NAME completes keys; one named dir, and
// options whose names say dir/file/out/plan/export, complete paths.
std::vector<CompletionCommand> CompletionModel(CLI::App& app);

std::string BashCompletion(const std::vector<CompletionCommand>& model);
std::string ZshCompletion(const std::vector<CompletionCommand>& model);
std::string FishCompletion(const std::vector<CompletionCommand>& model);

struct CompletionOptions {
  std::string shell;
};
struct CompleteKeysOptions {
  std::string for_command;  // "release": held keys; "hold": keys not held; "rerun": run kinds
};

// Adds `completion` and the hidden `__complete-keys` to `app`.
CLI::App* AddCompletionCommand(CLI::App& app, CompletionOptions& o);
CLI::App* AddCompleteKeysCommand(CLI::App& app, CompleteKeysOptions& o);

int RunCompletion(CLI::App& app, const CompletionOptions& o);
// Prints the KIND/NAME keys the state directory knows (last-applied and holds), one a line,
// sorted; nothing (exit 0) when the state directory does not exist yet.
int RunCompleteKeys(const GlobalOptions& g, const CompleteKeysOptions& o);

}  // namespace converge::cli
