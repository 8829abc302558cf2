#include "controller/cli/commands.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "controller/backends.h"
#include "controller/executor.h"
#include "controller/planner.h"
#include "controller/render.h"
#include "controller/store/store.h"

namespace converge::cli {
namespace {

namespace fs = std::filesystem;

void Err(const std::string& msg) { std::fprintf(stderr, "Error: %s\n", msg.c_str()); }


// The state a command works on: the store, and for writers the state-directory lock.
struct StateSession {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<store::StateLock> lock;
};
void RecoverInterrupted(store::Store& st);

// Opens the store; a writer (`writer` names its command) also takes the lock and, with
// `recover`, reports runs a killed converge left behind. Errors are printed; nullopt = exit 1.
std::optional<StateSession> OpenState(const GlobalOptions& g, const char* writer,
                                      bool recover = false) {
  auto st = store::Store::Open(g.state_dir);
  if (!st.ok()) {
    Err(st.status().Annotate("opening state directory " + g.state_dir).message());
    return std::nullopt;
  }
  StateSession session{std::move(*st), nullptr};
  if (writer == nullptr) return session;
  auto lock = store::StateLock::Acquire(g.state_dir, writer);
  if (!lock.ok()) {
    Err(lock.status().message());
    return std::nullopt;
  }
  session.lock = std::move(*lock);
  if (recover) RecoverInterrupted(*session.store);
  return session;
}

// Reports runs a killed converge left behind; the new plan is computed from live state, so
// nothing else is needed to converge.
void RecoverInterrupted(store::Store& st) {
  auto entries = st.RecoverInterrupted();
  if (!entries.ok()) return;
  for (const auto& e : *entries) {
    std::fprintf(stderr,
                 "note: run %lld was interrupted during %s of %s; it is re-planned from live "
                 "state\n",
                 static_cast<long long>(e.run_id), e.action.c_str(), e.key.c_str());
  }
}

struct Planned {
  LoadResult specs;
  BackendSet backends;
  Plan plan;
};

// Loads the specs, connects and observes every backend, reads last-applied and holds, and
// computes the plan. Spec errors do not stop planning (the plan shows what it can, with
// deletions blocked); backend errors do.
Result<Planned> MakePlan(const GlobalOptions& g, const std::string& dir, bool prune,
                         int max_deletes, store::Store& st) {
  Planned p;
  p.specs = LoadSpecs(dir, DefaultKindRegistry());
  auto configs = BackendsOf(p.specs);
  auto set = ConnectBackends(configs, g.instance, SystemClock());
  if (!set.ok()) return set.status();
  p.backends = std::move(*set);
  BindSpecs(p.backends, p.specs);
  auto live = ObserveAll(p.backends);
  if (!live.ok()) return live.status();
  auto last = st.AllLastApplied();
  if (!last.ok()) return last.status();
  auto holds = st.AllHolds();
  if (!holds.ok()) return holds.status();

  PlanInputs in;
  in.specs = &p.specs;
  in.backends = p.backends.configs;
  in.reconcilers = p.backends.reconcilers;
  in.live = std::move(*live);
  for (auto& [k, la] : *last) in.last_applied[k] = LastAppliedDoc{la.doc, la.spec_revision};
  for (auto& [k, h] : *holds) in.holds[k] = HoldInfo{h.spec_revision, h.reason};
  PlanOptions opts;
  opts.prune = prune;
  opts.max_deletes = max_deletes;
  opts.spec_dir = dir;
  opts.git_commit = GitCommitOf(fs::is_directory(dir) ? dir : fs::path(dir).parent_path().string());
  p.plan = ComputePlan(in, opts);
  return p;
}

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

std::string ResultsSummary(const std::vector<ChangeResult>& results) {
  std::map<std::string, int> done;
  int failed = 0, rolled = 0, skipped = 0;
  for (const auto& r : results) {
    if (r.outcome == Outcome::kApplied) done[ActionName(r.action)]++;
    else if (r.outcome == Outcome::kRolledBack) rolled++;
    else if (r.outcome == Outcome::kSkipped) skipped++;
    else failed++;
  }
  std::ostringstream out;
  out << done["create"] << " created, " << done["update"] << " updated, " << done["scale"]
      << " scaled, " << done["delete"] << " deleted";
  if (done["replace"]) out << ", " << done["replace"] << " replaced";
  if (done["run"]) out << ", " << done["run"] << " run";
  if (rolled) out << ", " << rolled << " rolled back";
  if (failed) out << ", " << failed << " failed";
  if (skipped) out << ", " << skipped << " skipped";
  return out.str();
}

json ResultsJson(int64_t run, const std::vector<ChangeResult>& results) {
  json arr = json::array();
  for (const auto& r : results)
    arr.push_back({{"kind", r.key.kind},
                   {"name", r.key.name},
                   {"action", ActionName(r.action)},
                   {"outcome", OutcomeName(r.outcome)},
                   {"message", r.message},
                   {"snapshot", r.snapshot_id},
                   {"seconds", r.seconds}});
  return {{"run", run}, {"results", arr}, {"summary", ResultsSummary(results)}};
}

bool Confirm() {
  if (!isatty(STDIN_FILENO)) {
    Err("apply needs --auto-approve when stdin is not a terminal");
    return false;
  }
  std::printf("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n"
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

// Rebuilds backend configs recorded in a saved plan or in the state (secret references only).
std::map<std::string, BackendConfig> ConfigsFromSpecs(const std::map<std::string, json>& specs) {
  std::map<std::string, BackendConfig> out;
  for (const auto& [name, spec] : specs) {
    Document d;
    d.kind = "Backend";
    d.name = name;
    d.spec = spec;
    out[name] = BackendFromDocument(d);
  }
  return out;
}

bool ParseTimeout(const std::string& s, std::chrono::seconds* out) {
  if (s.empty()) return true;
  if (!ParseDuration(s, out) || out->count() <= 0) {
    Err("--health-timeout: expected a duration such as 90s, 10m or 1h, got \"" + s + "\"");
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

std::string DefaultStateDir() {
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/converge";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/state/converge";
  return ".converge-state";
}

int RunValidate(const GlobalOptions& g, const ValidateOptions& o) {
  LoadResult r = LoadSpecs(o.dir, DefaultKindRegistry());
  if (o.output == "json") {
    json diags = DiagnosticsToJson(r.diagnostics);
    std::cout << json{{"valid", !r.HasErrors()},
                      {"files", r.files},
                      {"documents", r.documents.size()},
                      {"diagnostics", diags}}
                     .dump(2)
              << "\n";
  } else if (o.output == "github") {
    for (const auto& d : r.diagnostics) {
      std::cout << (d.severity == Severity::kError ? "::error" : "::warning") << " file="
                << d.pos.file << ",line=" << d.pos.line << ",col=" << d.pos.column
                << "::" << d.document << ": " << d.message << "\n";
    }
  } else {
    std::cerr << RenderDiagnostics(r.diagnostics, g.color && isatty(STDERR_FILENO));
    if (!r.HasErrors())
      std::cout << "Valid: " << r.documents.size() << " documents in " << r.files << " files.\n";
    else
      std::cerr << r.ErrorCount() << " error(s) in " << r.failed_files.size() << " file(s).\n";
  }
  return r.HasErrors() ? 1 : 0;
}

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
    if (!WriteFileAtomically(o.out_file, PlanToJson(plan).dump(2) + "\n", &err)) {
      Err(err);
      return 1;
    }
  }
  if (o.output == "json") {
    std::cout << PlanToJson(plan).dump(2) << "\n";
  } else if (o.output == "markdown") {
    std::cout << RenderPlanMarkdown(plan);
  } else {
    std::cerr << RenderDiagnostics(plan.diagnostics, g.color && isatty(STDERR_FILENO));
    std::cout << RenderPlanText(plan, RenderOptions{g.color});
    if (!o.out_file.empty() && !plan.HasErrors())
      std::cout << "\nSaved the plan to " << o.out_file << "; apply it exactly with: converge apply --plan "
                << o.out_file << "\n";
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
    auto set = ConnectBackends(ConfigsFromSpecs(plan.backends), g.instance, SystemClock());
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
        if (obj.key == c.key) now = JsonHash(backends.reconcilers.at(c.backend)->Definition(obj.Doc()));
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
        if (h != holds->end() && (h->second.spec_revision == "*" || h->second.spec_revision == c.revision)) {
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
      // Bad input changes nothing (DESIGN §5.1 and beyond): report and stop.
      std::cerr << RenderDiagnostics(plan.diagnostics, g.color && isatty(STDERR_FILENO));
      for (const auto& e : plan.errors) Err(e);
      Err("nothing was applied: fix the errors above first");
      return 1;
    }
    std::cerr << RenderDiagnostics(plan.diagnostics, g.color && isatty(STDERR_FILENO));
    if (o.output != "json") std::cout << RenderPlanText(plan, RenderOptions{g.color});
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
  ExecContext ctx{st->store.get(), backends.reconcilers, backends.configs, &SystemClock(), &progress};
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
    std::cout << "\n" << (ok ? "Apply complete! " : "Apply finished with errors. ") << "Resources: "
              << summary << ". (run " << *run << ")\n";
    for (const auto& r : results)
      if (r.outcome != Outcome::kApplied)
        std::cout << "  " << r.key.ToString() << ": " << OutcomeName(r.outcome) << ": " << r.message
                  << "\n";
  }
  return ok ? 0 : 1;
}

int RunHistory(const GlobalOptions& g, const HistoryOptions& o) {
  auto st = OpenState(g, nullptr);
  if (!st) return 1;
  std::string key;
  if (!o.resource.empty()) {
    auto k = ParseResourceKey(o.resource);
    if (!k.ok()) {
      Err(k.status().message());
      return 1;
    }
    key = k->ToString();
  }
  auto runs = st->store->Runs(o.limit);
  if (!runs.ok()) {
    Err(runs.status().message());
    return 1;
  }
  json out = json::array();
  for (const auto& r : *runs) {
    auto entries = st->store->Journal(r.id);
    json changes = json::array();
    if (entries.ok()) {
      for (const auto& e : *entries) {
        if (!key.empty() && e.key != key) continue;
        changes.push_back({{"key", e.key},
                           {"backend", e.backend},
                           {"action", e.action},
                           {"state", store::JournalStateName(e.state)},
                           {"detail", e.detail},
                           {"snapshot", e.snapshot_id},
                           {"updated_at", e.updated_at}});
      }
    }
    if (!key.empty() && changes.empty()) continue;
    out.push_back({{"run", r.id},
                   {"command", r.command},
                   {"started_at", r.started_at},
                   {"finished_at", r.finished_at},
                   {"status", r.status},
                   {"git_commit", r.git_commit},
                   {"summary", r.summary},
                   {"changes", changes}});
  }
  if (o.output == "json") {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (out.empty()) {
    std::cout << "No runs recorded in " << g.state_dir << ".\n";
    return 0;
  }
  for (const auto& r : out) {
    std::printf("run %-5lld %s  %-9s %-11s %s%s\n", r["run"].get<long long>(),
                r["started_at"].get<std::string>().c_str(), r["command"].get<std::string>().c_str(),
                r["status"].get<std::string>().c_str(),
                r["git_commit"].get<std::string>().empty()
                    ? ""
                    : ("commit " + r["git_commit"].get<std::string>().substr(0, 12) + "  ").c_str(),
                r["summary"].get<std::string>().c_str());
    for (const auto& c : r["changes"]) {
      std::printf("    %-10s %-30s %-12s snapshot %-5lld %s\n", c["action"].get<std::string>().c_str(),
                  c["key"].get<std::string>().c_str(), c["state"].get<std::string>().c_str(),
                  c["snapshot"].get<long long>(), c["detail"].get<std::string>().c_str());
    }
  }
  return 0;
}

int RunSnapshots(const GlobalOptions& g, const SnapshotsOptions& o) {
  auto k = ParseResourceKey(o.resource);
  if (!k.ok()) {
    Err(k.status().message());
    return 1;
  }
  auto st = OpenState(g, nullptr);
  if (!st) return 1;
  auto snaps = st->store->Snapshots(k->ToString());
  if (!snaps.ok()) {
    Err(snaps.status().message());
    return 1;
  }
  if (!o.export_dir.empty()) {
    Status s = st->store->ExportSnapshots(k->ToString(), o.export_dir);
    if (!s.ok()) {
      Err(s.message());
      return 1;
    }
    std::cerr << "Exported " << snaps->size() << " snapshot(s) to " << o.export_dir << "\n";
  }
  if (o.output == "json") {
    json out = json::array();
    for (const auto& s : *snaps)
      out.push_back({{"id", s.id},
                     {"key", s.key},
                     {"backend", s.backend},
                     {"taken_at", s.taken_at},
                     {"run", s.run_id},
                     {"spec_revision", s.spec_revision},
                     {"git_commit", s.git_commit},
                     {"reason", s.reason},
                     {"doc", s.doc}});
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (snaps->empty()) {
    std::cout << "No snapshots of " << k->ToString() << ".\n";
    return 0;
  }
  std::printf("%-6s %-25s %-5s %-17s %-13s %s\n", "ID", "TAKEN", "RUN", "REVISION", "COMMIT", "REASON");
  for (const auto& s : *snaps) {
    std::string what = s.doc.is_null() ? " (did not exist)" : "";
    std::printf("%-6lld %-25s %-5lld %-17s %-13s %s%s\n", static_cast<long long>(s.id),
                s.taken_at.c_str(), static_cast<long long>(s.run_id),
                s.spec_revision.substr(0, 16).c_str(), s.git_commit.substr(0, 12).c_str(),
                s.reason.c_str(), what.c_str());
  }
  return 0;
}

int RunRollback(const GlobalOptions& g, const RollbackOptions& o) {
  if (o.resource.empty() == (o.run == 0)) {
    Err("rollback needs either KIND/NAME or --run RUN");
    return 1;
  }
  ExecOptions eo;
  if (!ParseTimeout(o.health_timeout, &eo.health_timeout)) return 1;
  auto st = OpenState(g, "rollback", /*recover=*/true);
  if (!st) return 1;

  // Which snapshots to restore, newest change first.
  std::vector<store::Snapshot> targets;
  if (!o.resource.empty()) {
    auto k = ParseResourceKey(o.resource);
    if (!k.ok()) {
      Err(k.status().message());
      return 1;
    }
    if (o.to) {
      auto s = st->store->GetSnapshot(o.to);
      if (!s.ok() || !s->has_value() || (**s).key != k->ToString()) {
        Err("no snapshot " + std::to_string(o.to) + " of " + k->ToString() +
            " (see `converge snapshots " + k->ToString() + "`)");
        return 1;
      }
      targets.push_back(**s);
    } else {
      auto snaps = st->store->Snapshots(k->ToString());
      if (!snaps.ok() || snaps->empty()) {
        Err("no snapshots of " + k->ToString() + " in " + g.state_dir);
        return 1;
      }
      targets.push_back(snaps->front());
    }
  } else {
    auto snaps = st->store->SnapshotsOfRun(o.run);
    if (!snaps.ok() || snaps->empty()) {
      Err("run " + std::to_string(o.run) + " has no snapshots (see `converge history`)");
      return 1;
    }
    // The first snapshot of each resource in the run is its state before the run.
    std::map<std::string, store::Snapshot> first;
    for (const auto& s : *snaps) {
      auto it = first.find(s.key);
      if (it == first.end() || s.id < it->second.id) first[s.key] = s;
    }
    for (auto& [_, s] : first) targets.push_back(s);
    std::sort(targets.begin(), targets.end(),
              [](const auto& a, const auto& b) { return a.id > b.id; });
  }

  // Backends as last applied (secret references only).
  std::map<std::string, json> specs;
  for (const auto& t : targets) {
    auto la = st->store->GetLastApplied(BackendStateKey(t.backend));
    if (!la.ok() || !la->has_value()) {
      Err("backend " + t.backend + " of " + t.key + " is unknown to this state directory");
      return 1;
    }
    specs[t.backend] = (**la).doc;
  }
  auto set = ConnectBackends(ConfigsFromSpecs(specs), g.instance, SystemClock());
  if (!set.ok()) {
    Err(set.status().message());
    return 1;
  }
  auto run = st->store->BeginRun("rollback", "");
  if (!run.ok()) {
    Err(run.status().message());
    return 1;
  }
  Progress progress(stderr);
  ExecContext ctx{st->store.get(), set->reconcilers, set->configs, &SystemClock(), &progress};
  Executor exec(ctx, eo);
  std::vector<ChangeResult> results;
  for (const auto& t : targets) {
    auto k = ParseResourceKey(t.key);
    std::string revision;
    if (auto la = st->store->GetLastApplied(t.key); la.ok() && la->has_value())
      revision = (**la).spec_revision;
    results.push_back(exec.Rollback(*run, *k, t.backend, t, revision));
  }
  bool ok = std::all_of(results.begin(), results.end(),
                        [](const ChangeResult& r) { return r.outcome == Outcome::kRolledBack; });
  (void)st->store->FinishRun(*run, ok ? "succeeded" : "failed",
                         std::to_string(results.size()) + " resource(s) rolled back");
  for (const auto& r : results)
    std::cout << r.key.ToString() << ": " << (r.outcome == Outcome::kRolledBack ? "" : "FAILED: ")
              << r.message << "\n";
  return ok ? 0 : 1;
}

int RunHold(const GlobalOptions& g, const HoldOptions& o, bool hold) {
  auto k = ParseResourceKey(o.resource);
  if (!k.ok()) {
    Err(k.status().message());
    return 1;
  }
  auto st = OpenState(g, hold ? "hold" : "release");
  if (!st) return 1;
  if (hold) {
    store::Hold h;
    h.key = k->ToString();
    h.spec_revision = "*";
    h.reason = o.reason;
    Status s = st->store->PutHold(h);
    if (!s.ok()) {
      Err(s.message());
      return 1;
    }
    std::cout << k->ToString() << " is held: converge will not change it until `converge release "
              << k->ToString() << "`.\n";
    return 0;
  }
  auto existing = st->store->GetHold(k->ToString());
  if (existing.ok() && !existing->has_value()) {
    std::cout << k->ToString() << " was not held.\n";
    return 0;
  }
  Status s = st->store->ReleaseHold(k->ToString());
  if (!s.ok()) {
    Err(s.message());
    return 1;
  }
  std::cout << k->ToString() << " released: the next apply converges it to its spec.\n";
  return 0;
}

int RunImport(const GlobalOptions& g, const ImportOptions& o) {
  auto k = ParseResourceKey(o.resource);
  if (!k.ok()) {
    Err(k.status().message());
    return 1;
  }
  KindRegistry registry = DefaultKindRegistry();
  const KindInfo* info = registry.Find(k->kind);
  if (!info || k->kind == "Backend") {
    Err("cannot import kind " + k->kind);
    return 1;
  }
  LoadResult specs = LoadSpecs(o.dir, registry);
  std::map<std::string, BackendConfig> candidates;
  for (auto& [name, cfg] : BackendsOf(specs))
    if (cfg.type == info->backend_type && (o.backend.empty() || o.backend == name))
      candidates[name] = cfg;
  if (candidates.size() != 1) {
    Err(candidates.empty() ? "no " + info->backend_type + " Backend found in " + o.dir
                           : "several " + info->backend_type + " backends: choose one with --backend");
    return 1;
  }
  auto st = OpenState(g, "import");
  if (!st) return 1;
  auto set = ConnectBackends(candidates, g.instance, SystemClock());
  if (!set.ok()) {
    Err(set.status().message());
    return 1;
  }
  const std::string backend = candidates.begin()->first;
  Reconciler* rec = set->reconcilers.at(backend);
  auto live = rec->Get(*k);
  if (!live.ok()) {
    Err(live.status().message());
    return 1;
  }
  if (!live->has_value()) {
    Err(k->ToString() + " does not exist in backend " + backend);
    return 1;
  }
  auto run = st->store->BeginRun("import", "");
  if (!run.ok()) {
    Err(run.status().message());
    return 1;
  }
  RecordBackends(*st->store, set->configs, *run);
  store::Snapshot snap;
  snap.key = k->ToString();
  snap.backend = backend;
  snap.doc = rec->Definition((*live)->doc);
  snap.reason = "import";
  snap.run_id = *run;
  auto id = st->store->SaveSnapshot(snap);
  store::LastApplied la;
  la.key = k->ToString();
  la.backend = backend;
  la.doc = json::object();  // adopted: managed from now on, nothing applied yet
  la.run_id = *run;
  Status s = st->store->SetLastApplied(la);
  (void)st->store->FinishRun(*run, s.ok() ? "succeeded" : "failed", "imported " + k->ToString());
  if (!s.ok() || !id.ok()) {
    Err(!s.ok() ? s.message() : id.status().message());
    return 1;
  }
  std::cout << "Imported " << k->ToString() << " from backend " << backend << " (snapshot " << *id
            << "). converge manages it from now on; give it a spec, or `apply --prune` will "
               "delete it.\n";
  return 0;
}

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
  auto desired = rec->DesiredForRerun(*doc);
  if (!desired.ok()) {
    Err(desired.status().message());
    return 1;
  }
  auto live = rec->Get(*k);
  if (!live.ok()) {
    Err(live.status().message());
    return 1;
  }
  PlannedChange c;
  c.key = *k;
  c.backend = doc->backend;
  c.action = Action::kRun;
  c.desired = *desired;
  c.live = live->has_value() ? rec->Definition((**live).Doc()) : json();
  c.revision = doc->revision;
  c.source = doc->pos.ToString();
  c.reason = "converge rerun";
  Plan plan;
  plan.changes.push_back(c);
  std::string commit = GitCommitOf(fs::is_directory(o.dir) ? o.dir
                                                           : fs::path(o.dir).parent_path().string());
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
    std::string job_name;  // the new run's name: the request member ending in "JobName"
    for (const auto& [m, v] : desired->items())
      if (m.size() > 7 && m.compare(m.size() - 7, 7, "JobName") == 0 && v.is_string()) job_name = v;
    std::cout << (ok ? "Rerun complete: " : "Rerun failed: ") << k->ToString() << " as "
              << job_name << ". (run " << *run << ")\n";
    for (const auto& r : results)
      if (r.outcome != Outcome::kApplied)
        std::cout << "  " << r.key.ToString() << ": " << OutcomeName(r.outcome) << ": "
                  << r.message << "\n";
  }
  return ok ? 0 : 1;
}

}  // namespace converge::cli
