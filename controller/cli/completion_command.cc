// `converge completion` and `converge __complete-keys` (controller/cli/completion_command.h): the
// model read off the CLI11 app, the two subcommands. The scripts are in completion_scripts.cc.
#include "controller/cli/completion_command.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>

#include "controller/store/store.h"
#include "reconcilers/registry.h"

namespace converge::cli {
namespace {

namespace fs = std::filesystem;

// The first sentence of a description, on one line, short enough for a completion menu.
std::string Brief(const std::string& description) {
  std::string s = description.substr(0, description.find('\n'));
  if (size_t stop = s.find(". "); stop != std::string::npos) s = s.substr(0, stop);
  if (!s.empty() && s.back() == '.') s.pop_back();
  size_t paren = s.find(" (");
  if (s.size() > 70 && paren != std::string::npos) s = s.substr(0, paren);
  if (s.size() > 70) s = s.substr(0, 67) + "...";
  return s;
}

// "{text,json,github}", the description CLI::IsMember gives itself, as its members.
std::vector<std::string> ChoicesOf(CLI::Option* opt) {
  std::vector<std::string> out;
  std::string desc;
  try {
    desc = opt->get_validator()->get_description();
  } catch (const CLI::Error&) {
    return out;  // no validator
  }
  if (desc.size() < 2 || desc.front() != '{' || desc.back() != '}') return out;
  std::string item;
  for (char c : desc.substr(1, desc.size() - 2)) {
    if (c == ',') {
      out.push_back(item);
      item.clear();
    } else {
      item += c;
    }
  }
  if (!item.empty()) out.push_back(item);
  return out;
}

// Whether a value names a path, from the option's long name (or a positional's name).
std::string PathHint(const std::string& name) {
  auto ends = [&](const char* tail) {
    const std::string t = tail;
    return name.size() >= t.size() && name.compare(name.size() - t.size(), t.size(), t) == 0;
  };
  if (ends("dir") || name == "export") return "dir";
  if (ends("file") || name == "out" || name == "plan" || name == "state") return "file";
  return "";
}

CompletionArg ArgOf(CLI::Option* opt) {
  CompletionArg a;
  a.help = Brief(opt->get_description());
  a.choices = ChoicesOf(opt);
  if (opt->get_positional() && !opt->nonpositional()) {
    a.names = {opt->get_name()};
    a.takes_value = true;
    if (opt->get_type_name() == "KIND/NAME")
      a.hint = "key";
    else if (a.choices.empty())
      a.hint = PathHint(opt->get_name()).empty() ? "" : "file";
    return a;
  }
  for (const auto& s : opt->get_snames()) a.names.push_back("-" + s);
  for (const auto& l : opt->get_lnames()) a.names.push_back("--" + l);
  a.takes_value = opt->get_expected_max() > 0;
  if (a.takes_value && a.choices.empty())
    for (const auto& l : opt->get_lnames())
      if (a.hint.empty()) a.hint = PathHint(l);
  return a;
}

CompletionCommand CommandOf(CLI::App& app, const std::string& name) {
  CompletionCommand c;
  c.name = name;
  c.help = Brief(app.get_description());
  for (CLI::Option* opt : app.get_options({})) {
    if (opt->get_group().empty()) continue;  // hidden
    CompletionArg a = ArgOf(opt);
    (opt->nonpositional() ? c.options : c.positionals).push_back(std::move(a));
  }
  return c;
}

}  // namespace

std::vector<CompletionCommand> CompletionModel(CLI::App& app) {
  std::vector<CompletionCommand> out;
  out.push_back(CommandOf(app, ""));
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_group().empty()) continue;  // hidden (__complete-keys)
    out.push_back(CommandOf(*sub, sub->get_name()));
  }
  return out;
}

CLI::App* AddCompletionCommand(CLI::App& app, CompletionOptions& o) {
  auto* sub = app.add_subcommand(
      "completion",
      "Print a shell completion script (subcommands, flags, KIND/NAME from the state directory). "
      "bash: source <(converge completion bash); see docs/completion.md");
  sub->add_option("shell", o.shell, "bash | zsh | fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  return sub;
}

CLI::App* AddCompleteKeysCommand(CLI::App& app, CompleteKeysOptions& o) {
  auto* sub = app.add_subcommand("__complete-keys",
                                 "KIND/NAME keys of the state directory (for the completion "
                                 "scripts)");
  sub->group("");  // hidden from --help and from the scripts
  sub->add_option("--for", o.for_command, "The subcommand being completed");
  return sub;
}

int RunCompletion(CLI::App& app, const CompletionOptions& o) {
  auto model = CompletionModel(app);
  if (o.shell == "bash")
    std::cout << BashCompletion(model);
  else if (o.shell == "zsh")
    std::cout << ZshCompletion(model);
  else
    std::cout << FishCompletion(model);
  return 0;
}

int RunCompleteKeys(const GlobalOptions& g, const CompleteKeysOptions& o) {
  // Never create a state directory just because someone pressed TAB.
  std::error_code ec;
  if (!fs::exists(fs::path(g.state_dir) / "state.db", ec)) return 0;
  auto st = store::Store::Open(g.state_dir);
  if (!st.ok()) return 1;
  auto last = (*st)->AllLastApplied();
  auto holds = (*st)->AllHolds();
  if (!last.ok() || !holds.ok()) return 1;
  std::set<std::string> keys;
  for (const auto& [k, _] : *last) keys.insert(k);
  for (const auto& [k, _] : *holds) keys.insert(k);
  for (const std::string& k : keys) {
    const std::string kind = k.substr(0, k.find('/'));
    if (kind == "Backend") continue;  // recorded for rollback, not a resource to name
    const bool held = holds->count(k) > 0;
    if (o.for_command == "release" && !held) continue;
    if (o.for_command == "hold" && held) continue;
    const KindDef* def = Backends().FindKind(kind);
    const bool run = def != nullptr && def->lifecycle == Lifecycle::kRun;
    if (o.for_command == "rerun" && !run) continue;
    if (o.for_command == "rollback" && run) continue;  // runs are never rolled back
    std::cout << k << "\n";
  }
  return 0;
}

}  // namespace converge::cli
