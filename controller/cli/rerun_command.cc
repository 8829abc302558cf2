// `converge rerun`: a run-lifecycle resource (a SageMaker job) run again as a new -rN run.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "controller/cli/command_support.h"
#include "controller/cli/commands.h"
#include "controller/render.h"
#include "controller/run_lifecycle.h"
#include "reconcilers/registry.h"

namespace converge::cli {

namespace fs = std::filesystem;

int RunRerun(const GlobalOptions& g, const RerunOptions& o) {
  auto k = ParseResourceKey(o.resource);
  if (!k.ok()) {
    Err(k.status().message());
    return 1;
  }
  LoadResult specs = LoadSpecs(o.dir, DefaultKindRegistry());
  const Document* doc = nullptr;
  for (const Document& d : specs.documents)
    if (d.Key() == k->ToString()) doc = &d;
  if (!doc) {
    std::cerr << RenderDiagnostics(specs.diagnostics, g.color && isatty(STDERR_FILENO));
    Err("no valid spec for " + k->ToString() + " in " + o.dir);
    return 1;
  }
  ExecOptions eo;
  if (!ParseTimeout(o.health_timeout, &eo.health_timeout)) return 1;
  auto st = OpenState(g, "rerun");
  if (!st) return 1;
  auto configs = BackendsOf(specs);
  std::map<std::string, BackendConfig> one;
  if (configs.count(doc->backend)) one[doc->backend] = configs.at(doc->backend);
  auto set = ConnectBackends(one, g.instance, SystemClock());
  if (!set.ok()) {
    Err(set.status().message());
    return 1;
  }
  BindSpecs(*set, specs);
  Reconciler* rec = set->reconcilers.at(doc->backend);
  const KindDef* kind = Backends().FindKind(doc->kind);
  if (kind == nullptr || kind->lifecycle != Lifecycle::kRun || rec->Runs() == nullptr) {
    Err(doc->kind + " is not a run kind: only runs can be rerun (" + runs::RunKindsOf(Backends()) + ")");
    return 1;
  }
  auto desired = runs::DesiredForRerun(*rec->Runs(), *kind, rec->Desired(*doc));
  if (!desired.ok()) {
    Err(desired.status().message());
    return 1;
  }
  auto live = GetLive(*set, doc->backend, *k);
  if (!live.ok()) {
    Err(live.status().message());
    return 1;
  }
  PlannedChange c;
  c.key = *k;
  c.backend = doc->backend;
  c.action = Action::kRun;
  c.desired = *desired;
  c.live = live->has_value() ? (**live).Doc() : json();
  c.revision = doc->revision;
  c.source = doc->pos.ToString();
  c.reason = "converge rerun";
  Plan plan;
  plan.changes.push_back(c);
  std::string commit =
      GitCommitOf(fs::is_directory(o.dir) ? o.dir : fs::path(o.dir).parent_path().string());
  auto run = st->store->BeginRun("rerun", commit);
  if (!run.ok()) {
    Err(run.status().message());
    return 1;
  }
  RecordBackends(*st->store, set->configs, *run);
  Progress progress(stderr);
  ExecContext ctx{st->store.get(), set->reconcilers, set->configs, &SystemClock(), &progress};
  eo.git_commit = commit;
  Executor exec(ctx, eo);
  std::cerr << "Run " << *run << ": rerunning " << k->Display() << "\n";
  auto results = exec.Apply(*run, plan);
  bool ok = results.size() == 1 && results[0].outcome == Outcome::kApplied;
  std::string summary = ResultsSummary(results);
  (void)st->store->FinishRun(*run, ok ? "succeeded" : "failed", summary);
  if (o.output == "json") {
    std::cout << ResultsJson(*run, results).dump(2) << "\n";
  } else {
    const std::string job_name = runs::RunName(*kind, *desired);
    std::cout << (ok ? "Rerun complete: " : "Rerun failed: ") << k->ToString() << " as " << job_name
              << ". (run " << *run << ")\n";
    PrintNotApplied(results);
  }
  return ok ? 0 : 1;
}

}  // namespace converge::cli
