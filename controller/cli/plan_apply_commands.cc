// `converge plan` and `converge apply` (from a spec directory or a saved plan).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <iostream>

#include "controller/cli/command_support.h"
#include "controller/cli/commands.h"
#include "controller/render.h"

namespace converge::cli {
namespace {

namespace fs = std::filesystem;

bool WriteFileAtomically(const std::string& path, const std::string& content, std::string* err) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      *err = "cannot write " + tmp;
      return false;
    }
    out << content;
    if (!out.good()) {
      *err = "write failed for " + tmp;
      return false;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    *err = "cannot rename " + tmp + ": " + ec.message();
    return false;
  }
  return true;
}

bool Confirm() {
  if (!isatty(STDIN_FILENO)) {
    Err("apply needs --auto-approve when stdin is not a terminal");
    return false;
  }
  std::printf(
      "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n"
      "  Enter a value: ");
  std::fflush(stdout);
  std::string answer;
  std::getline(std::cin, answer);
  if (answer != "yes") {
    std::printf("\nApply cancelled.\n");
    return false;
  }
  return true;
}

// Records resources that already match their spec (after an interrupted apply or an import):
// a run of its own so the journal says what happened; no backend writes.
int SettleOnly(store::Store& st, BackendSet& backends, const Plan& plan, ExecOptions eo) {
  auto run = st.BeginRun("apply", plan.git_commit);
  if (!run.ok()) {
    Err(run.status().message());
    return 1;
  }
  Progress progress(stderr);
  ExecContext ctx{&st, backends.reconcilers, backends.configs, &SystemClock(), &progress};
  Executor exec(ctx, eo);
  auto results = exec.Settle(*run, plan.settle);
  bool ok = std::all_of(results.begin(), results.end(),
                        [](const ChangeResult& r) { return r.outcome == Outcome::kApplied; });
  (void)st.FinishRun(*run, ok ? "succeeded" : "failed",
                     std::to_string(results.size()) + " resource(s) recorded as applied");
  return ok ? 0 : 1;
}

}  // namespace

int RunPlan(const GlobalOptions& g, const PlanCmdOptions& o) {
  auto st = OpenState(g, nullptr);
  if (!st) return 1;
  auto p = MakePlan(g, o.dir, o.prune, o.max_deletes, *st->store);
  if (!p.ok()) {
    Err(p.status().message());
    return 1;
  }
  const Plan& plan = p->plan;
  if (!o.out_file.empty()) {
    std::string err;
    std::ostringstream text;
    WritePlanJson(plan, text);
    text << "\n";
    if (!WriteFileAtomically(o.out_file, text.str(), &err)) {
      Err(err);
      return 1;
    }
  }
  if (o.output == "json") {
    WritePlanJson(plan, std::cout);
    std::cout << "\n";
  } else if (o.output == "markdown") {
    WritePlanMarkdown(plan, std::cout);
  } else {
    std::cerr << RenderDiagnostics(plan.diagnostics, g.color && isatty(STDERR_FILENO));
    WritePlanText(plan, RenderOptions{g.color}, std::cout);
    if (!o.out_file.empty() && !plan.HasErrors())
      std::cout << "\nSaved the plan to " << o.out_file
                << "; apply it exactly with: converge apply --plan " << o.out_file << "\n";
  }
  if (plan.HasErrors()) return 1;
  return o.detailed_exitcode && plan.HasChanges() ? 2 : 0;
}

int RunApply(const GlobalOptions& g, const ApplyOptions& o) {
  if (o.dir.empty() == o.plan_file.empty()) {
    Err("apply needs either a spec directory or --plan FILE (not both)");
    return 1;
  }
  ExecOptions eo;
  eo.parallelism = o.parallelism;
  eo.fail_fast = o.fail_fast;
  if (!ParseTimeout(o.health_timeout, &eo.health_timeout)) return 1;

  auto st = OpenState(g, "apply", /*recover=*/true);
  if (!st) return 1;

  Plan plan;
  BackendSet backends;
  if (!o.plan_file.empty()) {
    std::ifstream in(o.plan_file);
    if (!in) {
      Err("cannot read plan file " + o.plan_file);
      return 1;
    }
    json j = json::parse(in, nullptr, false);
    auto loaded = PlanFromJson(j);
    if (!loaded.ok()) {
      Err(o.plan_file + ": " + loaded.status().message());
      return 1;
    }
    plan = std::move(*loaded);
    if (plan.HasErrors()) {
      Err("the saved plan has errors; fix the specs and plan again");
      return 1;
    }
    ConnectOptions co;
    co.cache_dir = CacheDirOf(g.state_dir);
    auto set = ConnectBackends(ConfigsFromSpecs(plan.backends), g.instance, SystemClock(), co);
    if (!set.ok()) {
      Err(set.status().message());
      return 1;
    }
    backends = std::move(*set);
    auto live = ObserveAll(backends);
    if (!live.ok()) {
      Err(live.status().message());
      return 1;
    }
    // Refuse a stale plan: every change must still see the live state it was computed from.
    std::vector<std::string> stale;
    for (const auto& c : plan.changes) {
      std::string now = "absent";
      for (const auto& obj : (*live)[c.backend])
        if (obj.key == c.key)
          now = JsonHash(backends.reconcilers.at(c.backend)->Definition(obj.Doc()));
      if (now != c.fingerprint) stale.push_back(c.key.ToString());
    }
    if (!stale.empty()) {
      std::string list;
      for (const auto& s : stale) list += "\n  " + s;
      Err("the saved plan is stale: live state changed since it was made for:" + list +
          "\nRun `converge plan` again.");
      return 1;
    }
    auto holds = st->store->AllHolds();
    if (holds.ok()) {
      for (const auto& c : plan.changes) {
        auto h = holds->find(c.key.ToString());
        if (h != holds->end() &&
            (h->second.spec_revision == "*" || h->second.spec_revision == c.revision)) {
          Err(c.key.ToString() + " is held (" + h->second.reason + "); release it or plan again");
          return 1;
        }
      }
    }
  } else {
    auto p = MakePlan(g, o.dir, o.prune, o.max_deletes, *st->store);
    if (!p.ok()) {
      Err(p.status().message());
      return 1;
    }
    plan = std::move(p->plan);
    backends = std::move(p->backends);
    if (plan.HasErrors()) {
      // Bad input changes nothing (safety rule 1 and beyond): report and stop.
      std::cerr << RenderDiagnostics(plan.diagnostics, g.color && isatty(STDERR_FILENO));
      for (const auto& e : plan.errors) Err(e.Text());
      Err("nothing was applied: fix the errors above first");
      return 1;
    }
    std::cerr << RenderDiagnostics(plan.diagnostics, g.color && isatty(STDERR_FILENO));
    if (o.output != "json") WritePlanText(plan, RenderOptions{g.color}, std::cout);
  }

  if (!plan.HasChanges()) {
    int rc = 0;
    if (!plan.settle.empty()) rc = SettleOnly(*st->store, backends, plan, eo);
    if (o.output == "json") std::cout << ResultsJson(0, {}).dump(2) << "\n";
    return rc;
  }
  if (!o.auto_approve && !Confirm()) return 1;

  std::string commit = plan.git_commit;
  auto run = st->store->BeginRun("apply", commit);
  if (!run.ok()) {
    Err(run.status().message());
    return 1;
  }
  RecordBackends(*st->store, backends.configs, *run);
  Progress progress(stderr);
  ExecContext ctx{st->store.get(), backends.reconcilers, backends.configs, &SystemClock(),
                  &progress};
  eo.git_commit = commit;
  Executor exec(ctx, eo);
  std::cerr << "\nRun " << *run << ": applying " << plan.changes.size() << " change(s)\n";
  auto results = exec.Apply(*run, plan);
  for (auto& r : exec.Settle(*run, plan.settle))
    if (r.outcome != Outcome::kApplied) results.push_back(r);
  bool ok = std::all_of(results.begin(), results.end(),
                        [](const ChangeResult& r) { return r.outcome == Outcome::kApplied; });
  std::string summary = ResultsSummary(results);
  (void)st->store->FinishRun(*run, ok ? "succeeded" : "failed", summary);
  if (o.output == "json") {
    std::cout << ResultsJson(*run, results).dump(2) << "\n";
  } else {
    std::cout << "\n"
              << (ok ? "Apply complete! " : "Apply finished with errors. ")
              << "Resources: " << summary << ". (run " << *run << ")\n";
    PrintNotApplied(results);
  }
  return ok ? 0 : 1;
}

}  // namespace converge::cli
