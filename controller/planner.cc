#include "controller/planner.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "controller/run_lifecycle.h"
#include "specs/base/clock.h"
#include "specs/base/parallel.h"
#include "specs/loader.h"

namespace converge {
namespace {

int WaveOf(const Document& doc) {
  auto it = doc.annotations.find("converge/wave");
  if (it == doc.annotations.end()) return 0;
  try {
    return std::stoi(it->second);
  } catch (...) {
    return 0;
  }
}

bool AutoRollbackOf(const Document& doc, const BackendConfig& backend) {
  auto it = doc.annotations.find("converge/autoRollback");
  if (it != doc.annotations.end()) return it->second != "false";
  return backend.auto_rollback;
}

// The same rule for every backend: the reconciler reports whether the live object carries the
// annotation converge/prune: "false" (Marathon in its labels, SageMaker in a tag).
bool PruneProtected(const LiveObject& live) { return live.prune_protected; }

}  // namespace

void OrderChanges(std::vector<PlannedChange>& changes) {
  std::stable_sort(changes.begin(), changes.end(),
                   [](const PlannedChange& a, const PlannedChange& b) {
                     bool da = a.action == Action::kDelete, db = b.action == Action::kDelete;
                     if (da != db) return db;  // deletes last
                     if (da) {                 // reverse order among deletes
                       if (a.wave != b.wave) return a.wave > b.wave;
                       if (a.stage != b.stage) return a.stage > b.stage;
                       return b.key < a.key;
                     }
                     if (a.wave != b.wave) return a.wave < b.wave;
                     if (a.stage != b.stage) return a.stage < b.stage;
                     return a.key < b.key;
                   });
}

void AssignStages(std::vector<PlannedChange>& changes,
                  const std::map<std::string, Reconciler*>& reconcilers) {
  // Dependency depth among the changes of one backend, wave and direction; a dependency that is
  // not changing is already in place. Cycles are cut by a depth cap.
  std::map<std::string, size_t> index;
  auto id = [](const PlannedChange& c, const ResourceKey& k) {
    return c.backend + "\n" + std::to_string(c.wave) + "\n" +
           (c.action == Action::kDelete ? "d" : "a") + "\n" + k.ToString();
  };
  for (size_t i = 0; i < changes.size(); ++i) index[id(changes[i], changes[i].key)] = i;
  std::vector<int> memo(changes.size(), -1);
  std::function<int(size_t, int)> depth = [&](size_t i, int guard) -> int {
    if (memo[i] >= 0) return memo[i];
    if (guard > 64) return 0;
    const PlannedChange& c = changes[i];
    auto rec = reconcilers.find(c.backend);
    int d = 0;
    if (rec != reconcilers.end()) {
      const json doc = c.action == Action::kDelete ? c.live : c.desired.Get();
      for (const ResourceKey& dep : rec->second->Dependencies(doc)) {
        auto it = index.find(id(c, dep));
        if (it != index.end() && it->second != i) d = std::max(d, depth(it->second, guard + 1) + 1);
      }
    }
    return memo[i] = d;
  };
  for (size_t i = 0; i < changes.size(); ++i) changes[i].stage = depth(i, 0);
}

namespace {

// The revision a resource is planned, applied and held at: its spec's revision, combined with
// its desired state when that is computed from other specs (Reconciler::References). A SageMaker
// endpoint's desired state embeds its config's content-addressed name, which embeds its
// models': a fixed model image is a new revision of the endpoint too, so an endpoint held after
// a failed rollout is released by the fix, as the hold promises ("until the spec changes").
// What does not reach the desired state (a tag on a model) changes nothing.
std::string RevisionOf(const Document& doc, const Reconciler& rec, const json& desired) {
  if (rec.References(doc).empty()) return doc.revision;
  return ContentHash(doc.revision + "\n" + desired.dump());
}


// What planning one document gives: any of an error, a skip (a notice, a hold), a settle, a
// change.
struct DocPlan {
  std::optional<PlanError> error;
  std::optional<SkippedResource> skipped;
  std::optional<PlannedChange> settle;
  std::optional<PlannedChange> change;
};

using LiveIndex = std::map<std::string, std::map<std::string, const LiveObject*>>;

// Plans one document of a backend that has a reconciler. Reads only its inputs, so documents
// are planned concurrently (reconcilers are safe to call from several threads: watch plans
// batches at once).
DocPlan PlanDocument(const Document& doc, const PlanInputs& in, const BackendRegistry& registry,
                     const LiveIndex& live_index) {
  DocPlan out;
  Reconciler* rec = in.reconcilers.at(doc.backend);
  const std::string key = doc.Key();
  const LiveObject* live = nullptr;
  if (auto b = live_index.find(doc.backend); b != live_index.end()) {
    if (auto o = b->second.find(key); o != b->second.end()) live = o->second;
  }
  const LastAppliedDoc* la = nullptr;
  if (auto it = in.last_applied.find(key); it != in.last_applied.end()) la = &it->second;

  if (live && !live->owned && !la) {
    out.error = PlanError{PlanError::Kind::kNotManaged, key, doc.pos.ToString(),
                          "already exists in backend " + doc.backend +
                              " but is not managed by converge; adopt it with " +
                              "`converge import " + key + "` or rename the spec"};
    return out;
  }
  json desired = rec->Desired(doc);
  const std::string revision = RevisionOf(doc, *rec, desired);
  // A run kind follows the run lifecycle (controller/run_lifecycle.h), whatever the backend.
  const KindDef* kind = registry.FindKind(doc.kind);
  const bool run_kind =
      kind != nullptr && kind->lifecycle == Lifecycle::kRun && rec->Runs() != nullptr;
  json live_def = !live ? json() : run_kind ? live->Doc() : rec->Definition(live->Doc());
  DiffResult diff =
      run_kind ? runs::Diff(*rec->Runs(), *kind, ResourceKey{doc.kind, doc.name}, desired, live_def)
               : rec->Diff(desired, live_def, la ? la->Doc() : json());
  if (!diff.error.empty()) {
    out.error = PlanError{PlanError::Kind::kUnresolvable, key, doc.pos.ToString(), diff.error};
    return out;
  }
  if (diff.action == Action::kNoop) {
    if (!diff.notice.empty())
      out.skipped = SkippedResource{ResourceKey{doc.kind, doc.name}, doc.backend,
                                    run_kind                   ? runs::NoticeStatus(live_def)
                                    : !diff.suspended.empty() ? "suspended"
                                                               : "notice",
                                    diff.notice, diff.suspended};
    // A run is followed by its own lifecycle, not settled (that would wait for it to end).
    if (live && !run_kind && (!la || la->revision != revision)) {
      PlannedChange s;
      s.key = ResourceKey{doc.kind, doc.name};
      s.backend = doc.backend;
      s.desired = std::move(desired);
      s.desired.Pack();
      s.revision = revision;
      out.settle = std::move(s);
    }
    return out;
  }

  if (auto h = in.holds.find(key); h != in.holds.end()) {
    if (h->second.revision == "*" || h->second.revision == revision) {
      out.skipped = SkippedResource{
          ResourceKey{doc.kind, doc.name}, doc.backend, "held",
          h->second.reason + " — held until the spec changes or `converge release " + key +
              "`"};
      return out;
    }
  }
  PlannedChange c;
  c.key = ResourceKey{doc.kind, doc.name};
  c.backend = doc.backend;
  c.action = diff.action;
  c.fields = std::move(diff.fields);
  c.reason = std::move(diff.reason);
  c.desired = std::move(desired);
  c.desired.Pack();
  c.live = live_def;
  c.fingerprint = live ? JsonHash(live_def) : "absent";
  c.revision = revision;
  c.source = doc.pos.ToString();
  c.wave = WaveOf(doc);
  c.auto_rollback = AutoRollbackOf(doc, in.backends.at(doc.backend));
  c.suspended = std::move(diff.suspended);
  out.change = std::move(c);
  return out;
}

}  // namespace

Plan ComputePlan(const PlanInputs& in, const PlanOptions& options) {
  Plan plan;
  const Clock& clock = options.clock != nullptr ? *options.clock : SystemClock();
  plan.created_at = FormatIsoTime(clock.WallNow());
  plan.spec_dir = options.spec_dir;
  plan.git_commit = options.git_commit;
  plan.diagnostics = in.specs->diagnostics;
  const BackendRegistry& registry = in.registry != nullptr ? *in.registry : Backends();
  for (const auto& [name, cfg] : in.backends) plan.backends[name] = cfg.spec;

  // Index live objects by key, per backend.
  LiveIndex live_index;
  for (const auto& [backend, objects] : in.live)
    for (const auto& o : objects) live_index[backend][o.key.ToString()] = &o;

  auto wanted = [&](const std::string& key) {
    return options.only_keys == nullptr || options.only_keys->count(key) > 0;
  };
  std::set<std::string> desired_keys;
  std::vector<const Document*> planned;
  for (const Document& doc : in.specs->documents) {
    if (doc.kind == "Backend") continue;
    if (!wanted(doc.Key())) continue;  // prunes look at wanted keys only, too
    desired_keys.insert(doc.backend + "\n" + doc.Key());
    ++plan.resources;
    if (in.reconcilers.count(doc.backend)) planned.push_back(&doc);
  }
  // Each document is planned on its own (desired state, live definition, diff): on every core
  // for a large set, then merged in document order, so the plan is the same either way.
  // Most documents of a steady state give nothing: each block of documents keeps only the
  // outcomes there are, in one vector (few, large allocations: 10,000 settles would otherwise
  // leave 10,000 freed holes between the long-lived entries).
  constexpr size_t kBlock = 64;
  std::vector<std::vector<DocPlan>> blocks((planned.size() + kBlock - 1) / kBlock);
  ParallelForBlocks(planned.size(), kBlock, 4 * kBlock, [&](size_t begin, size_t end) {
    std::vector<DocPlan>& mine = blocks[begin / kBlock];
    for (size_t i = begin; i < end; ++i) {
      DocPlan o = PlanDocument(*planned[i], in, registry, live_index);
      if (o.error || o.skipped || o.settle || o.change) mine.push_back(std::move(o));
    }
  });
  size_t errors = 0, skipped = 0, settles = 0, changes = 0;
  for (const auto& block : blocks)
    for (const DocPlan& o : block) {
      errors += o.error.has_value();
      skipped += o.skipped.has_value();
      settles += o.settle.has_value();
      changes += o.change.has_value();
    }
  plan.errors.reserve(errors);  // exact sizes: 10,000 settles grown by doubling hold twice that
  plan.skipped.reserve(skipped);
  plan.settle.reserve(settles);
  plan.changes.reserve(changes);
  for (auto& block : blocks) {
    for (DocPlan& o : block) {
      if (o.error) plan.errors.push_back(std::move(*o.error));
      if (o.skipped) plan.skipped.push_back(std::move(*o.skipped));
      if (o.settle) plan.settle.push_back(std::move(*o.settle));
      if (o.change) plan.changes.push_back(std::move(*o.change));
    }
    std::vector<DocPlan>().swap(block);
  }

  // Prune candidates: owned live objects without a spec.
  const bool load_failed = !in.specs->failed_files.empty();
  std::vector<PlannedChange> deletes;
  for (const auto& live_of_backend : in.live) {  // no binding: clang 14 cannot capture one
    const std::string& backend = live_of_backend.first;
    const auto& objects = live_of_backend.second;
    Reconciler* rec = in.reconcilers.at(backend);
    const BackendConfig& cfg = in.backends.at(backend);
    for (const auto& o : objects) {
      const std::string key = o.key.ToString();
      if (!wanted(key)) continue;
      const LastAppliedDoc* la = nullptr;
      if (auto it = in.last_applied.find(key); it != in.last_applied.end()) la = &it->second;
      if (!o.owned && !la) continue;
      if (desired_keys.count(backend + "\n" + key)) continue;
      const KindDef* okind = registry.FindKind(o.key.kind);
      const bool run_kind =
          okind != nullptr && okind->lifecycle == Lifecycle::kRun && rec->Runs() != nullptr;
      json live_def = run_kind ? o.Doc() : rec->Definition(o.Doc());
      auto skip = [&](std::string status, std::string reason) {
        plan.skipped.push_back(SkippedResource{o.key, backend, std::move(status), std::move(reason)});
      };
      if (load_failed) {
        skip("unknown-desired-state",
             std::to_string(in.specs->failed_files.size()) +
                 " spec file(s) failed to load, so its desired state is unknown: not pruned");
        continue;
      }
      if (PruneProtected(o)) {
        skip("protected", "annotated converge/prune: \"false\": never pruned");
        continue;
      }
      if (!options.prune && !cfg.prune) {
        skip("not-pruned", "no spec any more; run with --prune to delete it");
        continue;
      }
      if (auto h = in.holds.find(key); h != in.holds.end()) {
        skip("held", h->second.reason + " — held; `converge release " + key + "` first");
        continue;
      }
      PlannedChange c;
      c.key = o.key;
      c.backend = backend;
      c.action = Action::kDelete;
      c.reason = run_kind ? "a run of a spec that is gone is still going: it is stopped"
                          : "owned by converge and no longer in the specs";
      c.live = live_def;
      c.fingerprint = JsonHash(live_def);
      deletes.push_back(std::move(c));
    }
  }
  if (static_cast<int>(deletes.size()) > options.max_deletes) {
    plan.errors.push_back(PlanError{PlanError::Kind::kTooManyDeletes, "", "",
                                    "the plan would delete " + std::to_string(deletes.size()) +
                                        " resources, more than --max-deletes " +
                                        std::to_string(options.max_deletes) +
                                        "; check the specs, then raise --max-deletes to allow it"});
  }
  for (auto& d : deletes) plan.changes.push_back(std::move(d));
  AssignStages(plan.changes, in.reconcilers);
  OrderChanges(plan.changes);
  return plan;
}

}  // namespace converge
