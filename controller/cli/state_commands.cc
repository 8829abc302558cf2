// The state commands: history, snapshots, rollback, hold/release and import.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "controller/cli/command_support.h"
#include "controller/cli/commands.h"
#include "reconcilers/registry.h"

namespace converge::cli {

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
      std::printf("    %-10s %-30s %-12s snapshot %-5lld %s\n",
                  c["action"].get<std::string>().c_str(), c["key"].get<std::string>().c_str(),
                  c["state"].get<std::string>().c_str(), c["snapshot"].get<long long>(),
                  c["detail"].get<std::string>().c_str());
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
  std::printf("%-6s %-25s %-5s %-17s %-13s %s\n", "ID", "TAKEN", "RUN", "REVISION", "COMMIT",
              "REASON");
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

namespace {

// `converge release` of a maintenance-lifecycle resource: its backend clears any suspension.
int ResumeMaintenance(const GlobalOptions& g, const ResourceKey& key, const std::string& dir) {
  LoadResult specs = LoadSpecs(dir, DefaultKindRegistry());
  const Document* doc = nullptr;
  for (const Document& d : specs.documents)
    if (d.Key() == key.ToString()) doc = &d;
  if (!doc) {
    Err("no valid spec for " + key.ToString() + " in " + dir +
        ": give the spec directory to resume its suspended maintenance");
    return 1;
  }
  auto configs = BackendsOf(specs);
  std::map<std::string, BackendConfig> one;
  if (configs.count(doc->backend)) one[doc->backend] = configs.at(doc->backend);
  auto set = ConnectBackends(one, g.instance, SystemClock());
  if (!set.ok()) {
    Err(set.status().message());
    return 1;
  }
  BindSpecs(*set, specs);
  Status s = set->reconcilers.at(doc->backend)->Resume(key);
  if (!s.ok()) {
    Err(s.message());
    return 1;
  }
  std::cout << key.ToString()
            << " resumed: no task is suspended; the next apply runs what its triggers fire.\n";
  return 0;
}

}  // namespace

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
  const KindDef* kind = Backends().FindKind(k->kind);
  if (kind != nullptr && kind->lifecycle == Lifecycle::kMaintenance) {
    if (ResumeMaintenance(g, *k, o.dir) != 0) return 1;
  }
  auto existing = st->store->GetHold(k->ToString());
  if (existing.ok() && !existing->has_value()) {
    if (kind == nullptr || kind->lifecycle != Lifecycle::kMaintenance)
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
    Err(candidates.empty()
            ? "no " + info->backend_type + " Backend found in " + o.dir
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

}  // namespace converge::cli
