// converge — declarative reconciliation for data/ML infrastructure outside Kubernetes.
// The command line: argument parsing and output only; the work is in controller/.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "controller/cli/commands.h"
#include "controller/cli/completion_command.h"
#include "controller/cli/sandbox_command.h"
#include "controller/cli/schema_command.h"
#include "controller/cli/watch_command.h"
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "controller/run_lifecycle.h"
#include "reconcilers/registry.h"

int main(int argc, char** argv) {
  using namespace converge::cli;
  CLI::App app{
      "converge: GitOps for the data/ML infrastructure outside Kubernetes.\n"
      "Desired state as YAML specs in a directory (a git checkout); converge plans and applies\n"
      "the changes that make the backends match, snapshots every object before changing it,\n"
      "and rolls back from those snapshots.",
      "converge"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("converge ") + kVersion);

  GlobalOptions g;
  const char* env_state = std::getenv("CONVERGE_STATE_DIR");
  g.state_dir = env_state ? env_state : "";
  const char* env_instance = std::getenv("CONVERGE_INSTANCE");
  if (env_instance) g.instance = env_instance;
  auto add_state = [&](CLI::App* sub) {
    sub->add_option("--state-dir", g.state_dir,
                    "State directory (SQLite journal, snapshots, last-applied, holds, lock). "
                    "Default: $CONVERGE_STATE_DIR, else $XDG_STATE_HOME/converge, else "
                    "~/.local/state/converge");
    sub->add_option("--instance", g.instance,
                    "Name of this converge instance, written to the converge.io/managed-by label "
                    "of every object it owns (default: converge; env CONVERGE_INSTANCE)");
  };
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose,
               "Debug lines on stderr from the backends' clients (which ResourceManager answered, "
               "failovers, redirects); never secrets");
  app.add_flag("--no-color", g.no_color,
               "Never colour output (colour is used only on a TTY; "
               "NO_COLOR is honoured too)");

  // validate
  ValidateOptions vo;
  auto* validate = app.add_subcommand(
      "validate",
      "Check specs offline (no backend is contacted). Errors exit 1; warnings (a numeric string "
      "converted, a reference to an object that is not a spec here and must already exist in "
      "the backend) are printed and exit 0 unless --strict");
  validate->add_option("dir", vo.dir, "Spec directory or file")->required();
  validate->add_option("-o,--output", vo.output, "text | json | github (GitHub annotations)")
      ->check(CLI::IsMember({"text", "json", "github"}));
  validate->add_flag("--strict", vo.strict, "Treat warnings as errors (exit 1): for CI");

  // plan
  PlanCmdOptions po;
  auto* plan = app.add_subcommand("plan", "Show what apply would change (a dry run)");
  plan->add_option("dir", po.dir, "Spec directory or file")->required();
  plan->add_option("-o,--output", po.output, "text | json | markdown")
      ->check(CLI::IsMember({"text", "json", "markdown"}));
  plan->add_option("--out", po.out_file,
                   "Also save the plan as JSON to FILE, for `converge apply --plan FILE`");
  plan->add_flag("--detailed-exitcode", po.detailed_exitcode,
                 "Exit 0 when there are no changes, 2 when there are, 1 on error");
  plan->add_flag("--prune", po.prune, "Plan deletion of owned objects that no longer have a spec");
  plan->add_option("--max-deletes", po.max_deletes,
                   "Refuse plans that delete more than N objects (default 5)");
  add_state(plan);

  // apply
  ApplyOptions ao;
  auto* apply = app.add_subcommand("apply", "Make the backends match the specs");
  apply->add_option("dir", ao.dir, "Spec directory or file");
  apply->add_option("--plan", ao.plan_file,
                    "Apply a plan saved with `plan --out` (refused if live state changed since)");
  apply->add_flag("--auto-approve", ao.auto_approve, "Do not ask for confirmation");
  apply->add_flag("--prune", ao.prune, "Delete owned objects that no longer have a spec");
  apply->add_option("--max-deletes", ao.max_deletes,
                    "Refuse to delete more than N objects in one run (default 5)");
  apply
      ->add_option("--parallelism", ao.parallelism,
                   "Changes applied at once within a wave (default 4)")
      ->check(CLI::Range(1, 64));
  apply->add_option("--health-timeout", ao.health_timeout,
                    "How long to wait for a change to become healthy, e.g. 90s or 10m "
                    "(default: the backend's healthTimeout, 10m)");
  apply->add_flag("--fail-fast", ao.fail_fast, "Stop starting new changes after one fails");
  apply->add_option("-o,--output", ao.output, "text | json (a result document on stdout)")
      ->check(CLI::IsMember({"text", "json"}));
  add_state(apply);

  // history
  HistoryOptions ho;
  auto* history = app.add_subcommand("history", "List runs and the changes they made");
  history->add_option("resource", ho.resource, "Only changes of KIND/NAME, e.g. App//shop/api")
      ->type_name("KIND/NAME");
  history->add_option("--limit", ho.limit, "How many entries (default 20)");
  history->add_option("-o,--output", ho.output, "text | json")
      ->check(CLI::IsMember({"text", "json"}));
  add_state(history);

  // snapshots
  SnapshotsOptions so;
  auto* snapshots = app.add_subcommand("snapshots", "List the snapshots taken of a resource");
  snapshots->add_option("resource", so.resource, "KIND/NAME, e.g. App//shop/api")
      ->required()
      ->type_name("KIND/NAME");
  snapshots->add_option("-o,--output", so.output, "text | json")
      ->check(CLI::IsMember({"text", "json"}));
  snapshots->add_option("--export", so.export_dir, "Write every snapshot as a JSON file to DIR");
  add_state(snapshots);

  // rollback
  RollbackOptions ro;
  auto* rollback =
      app.add_subcommand("rollback",
                         "Restore a resource (or every change of a run) from its snapshots; the "
                         "resource is then held");
  rollback->add_option("resource", ro.resource, "KIND/NAME to roll back")->type_name("KIND/NAME");
  rollback->add_option("--to", ro.to, "Snapshot id (default: the newest snapshot)");
  rollback->add_option("--run", ro.run, "Roll back every change of run RUN, newest first");
  rollback->add_option("--health-timeout", ro.health_timeout, "Health wait, e.g. 90s");
  add_state(rollback);

  // hold / release
  HoldOptions hold_o;
  auto* hold = app.add_subcommand("hold", "Stop converge from changing a resource until release");
  hold->add_option("resource", hold_o.resource, "KIND/NAME")->required()->type_name("KIND/NAME");
  hold->add_option("--reason", hold_o.reason, "Why (shown in plans)");
  add_state(hold);
  HoldOptions release_o;
  auto* release = app.add_subcommand(
      "release",
      "Let converge manage a held resource again. A suspension (a maintenance task stopped after "
      "repeated failures) is not a hold, but release clears both: the suspension is resumed "
      "through the backend, found in the spec directory DIR");
  release->add_option("resource", release_o.resource, "KIND/NAME")
      ->required()
      ->type_name("KIND/NAME");
  release->add_option("dir", release_o.dir,
                      "Spec directory (default .): only read to resume a maintenance resource");
  add_state(release);

  // import
  ImportOptions io;
  auto* import = app.add_subcommand(
      "import", "Adopt an existing live object so converge manages (and may later prune) it");
  import->add_option("resource", io.resource, "KIND/NAME, e.g. App//legacy/api")->required();
  import->add_option("dir", io.dir, "Spec directory holding the Backend documents")->required();
  import->add_option("--backend", io.backend, "Backend name (needed when several match)");
  add_state(import);

  // rerun
  RerunOptions rr;
  const std::string run_kinds = converge::runs::RunKindsOf(converge::Backends());
  auto* rerun = app.add_subcommand(
      "rerun", "Start a new run of a job spec (" + run_kinds +
                   ") although a run for its revision exists");
  rerun->add_option("resource", rr.resource, "KIND/NAME, e.g. TrainingJob/churn-train")
      ->required()
      ->type_name("KIND/NAME");
  rerun->add_option("dir", rr.dir, "Spec directory holding the job spec")->required();
  rerun->add_option("--health-timeout", rr.health_timeout,
                    "How long to wait for the run to complete, e.g. 2h (default: the backend's "
                    "healthTimeout, or the job's StoppingCondition + 15m when that is longer)");
  rerun->add_option("-o,--output", rr.output, "text | json")
      ->check(CLI::IsMember({"text", "json"}));
  add_state(rerun);

  // sandbox (controller/cli/sandbox_command.cc)
  SandboxCmdOptions sb;
  auto* sandbox = AddSandboxCommand(app, sb);

  // watch (controller/cli/watch_command.cc)
  WatchCmdOptions wo;
  auto* watch = AddWatchCommand(app, wo);
  add_state(watch);

  // schema (controller/cli/schema_command.cc)
  SchemaOptions sco;
  auto* schema = AddSchemaCommand(app, sco);

  // completion, and the hidden helper its scripts call (controller/cli/completion_command.cc)
  CompletionOptions co;
  auto* completion = AddCompletionCommand(app, co);
  CompleteKeysOptions ko;
  auto* complete_keys = AddCompleteKeysCommand(app, ko);
  add_state(complete_keys);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  g.color = !g.no_color && isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
  // Library debug lines go to stderr, so that stdout stays the command's output (-o json).
  spdlog::set_default_logger(spdlog::stderr_color_mt("converge"));
  spdlog::set_pattern("%^%l%$: %v");
  spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::warn);
  if (g.state_dir.empty()) g.state_dir = DefaultStateDir();

  if (*validate) return RunValidate(g, vo);
  if (*plan) return RunPlan(g, po);
  if (*apply) return RunApply(g, ao);
  if (*history) return RunHistory(g, ho);
  if (*snapshots) return RunSnapshots(g, so);
  if (*rollback) return RunRollback(g, ro);
  if (*hold) return RunHold(g, hold_o, true);
  if (*release) return RunHold(g, release_o, false);
  if (*import) return RunImport(g, io);
  if (*rerun) return RunRerun(g, rr);
  if (*sandbox) return RunSandbox(sb);
  if (*watch) return RunWatch(g, wo);
  if (*schema) return RunSchema(sco);
  if (*completion) return RunCompletion(app, co);
  if (*complete_keys) return RunCompleteKeys(g, ko);
  return 1;
}
