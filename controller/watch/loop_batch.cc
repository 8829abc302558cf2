// A worker's batch, step by step (the apply step is in loop_apply.cc).
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "controller/run_lifecycle.h"
#include "controller/watch/loop.h"

namespace converge::watch {

using std::chrono::steady_clock;

const Document* Batch::Doc(const std::string& k) const {
  auto it = docs.find(k);
  return it == docs.end() ? nullptr : it->second;
}

void Loop::Worker() {
  while (true) {
    std::vector<std::string> keys = queue_.GetBatch(kMaxBatch);
    if (keys.empty()) break;  // shut down
    try {
      ProcessBatch(keys);
    } catch (const std::exception& e) {
      // A bug must not take the daemon down: report, retry later.
      log_.Error("internal error while reconciling", {{"error", e.what()}});
      for (const auto& k : keys) queue_.AddRateLimited(k);
    }
    queue_.Done(keys);
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& k : keys) initial_pending_.erase(k);
  }
  std::lock_guard<std::mutex> lock(done_mu_);
  ++threads_done_;
  done_cv_.notify_all();
}

// Observe → plan → plan errors → drift gate → skipped → apply → the rest is synced. Each step
// sets the board state of the keys it decides about and adds them to b.handled.
void Loop::ProcessBatch(const std::vector<std::string>& keys) {
  Batch b(keys);
  b.backends = Backends();
  std::shared_lock<std::shared_mutex> planning;
  b.specs = b.backends ? BindForPlanning(b.backends, planning) : Specs();
  for (const Document& d : b.specs->documents) {
    std::string key = d.Key();
    if (b.keyset.count(key)) b.docs[std::move(key)] = &d;
  }
  if (!b.backends) {
    std::string why;
    {
      std::lock_guard<std::mutex> lock(mu_);
      why = "backends are not connected: " + connect_error_;
    }
    return RetryAll(b, why);
  }
  MarkProgressing(b);

  Result<PlanInputs> in = ObserveForPlan(b);
  if (!in.ok()) return RetryAll(b, in.status().message());
  Plan plan = PlanBatch(b, *in);
  RecordPlan(plan);
  planning = {};  // planned: the reconcilers may be rebound while this batch applies

  ReportPlanErrors(b, plan);
  std::vector<PlannedChange> to_apply = DriftGate(b, plan, *in);
  ReportSkipped(b, plan);
  bool ok = ApplyChanges(b, std::move(to_apply), plan);
  MarkRestSynced(b, in->live);
  FinishBatch(b, ok);
}

void Loop::MarkProgressing(const Batch& b) {
  for (const auto& k : b.keys) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = board_.find(k);
    if (it != board_.end()) it->second.state = "progressing";
  }
}

Result<PlanInputs> Loop::ObserveForPlan(const Batch& b) {
  auto live = ObserveBatch(b);
  {
    std::lock_guard<std::mutex> lock(mu_);
    observe_ok_ = live.ok();
  }
  if (!live.ok()) return live.status();

  PlanInputs in;
  in.specs = b.specs.get();
  in.backends = b.backends->configs;
  in.reconcilers = b.backends->reconcilers;
  in.live = std::move(*live);
  // Small batches read their own rows; a big one (a resync) reads the tables once.
  if (b.keys.size() > 64) {
    if (Status read = ReadPlanState(*store_, in, &b.keyset); !read.ok())
      return InternalError("reading the state: " + read.message());
  } else {
    for (const auto& k : b.keys) {
      auto la = store_->GetLastApplied(k);
      if (la.ok() && la->has_value())
        in.last_applied[k] = LastAppliedDoc((*la)->doc, (*la)->spec_revision);
      auto h = store_->GetHold(k);
      if (h.ok() && h->has_value()) in.holds[k] = HoldInfo{(*h)->spec_revision, (*h)->reason};
    }
  }
  return in;
}

Result<std::map<std::string, std::vector<LiveObject>>> Loop::ObserveBatch(const Batch& b) {
  BackendSet& backends = *b.backends;
  constexpr size_t kMaxGets = 16;
  std::vector<std::pair<std::string, ResourceKey>> targets;  // backend, key
  if (b.keys.size() <= kMaxGets) {
    for (const auto& k : b.keys) {
      std::string backend;
      if (const Document* d = b.Doc(k)) {
        backend = d->backend;
      } else {  // a removed spec: where it lived, as last seen
        std::lock_guard<std::mutex> lock(mu_);
        if (auto it = board_.find(k); it != board_.end()) backend = it->second.backend;
      }
      auto key = ParseResourceKey(k);
      if (backend.empty() || !key.ok() || !backends.reconcilers.count(backend)) {
        targets.clear();
        break;
      }
      targets.emplace_back(backend, *key);
    }
  }
  if (targets.empty()) return ObserveAll(backends);
  std::map<std::string, std::vector<LiveObject>> out;
  for (const auto& [name, _] : backends.reconcilers) out[name];  // every backend present
  for (const auto& [backend, key] : targets) {
    auto o = GetLive(backends, backend, key);
    if (!o.ok())
      return o.status().Annotate("observing " + key.ToString() + " in backend " + backend);
    if (o->has_value()) out[backend].push_back(std::move(**o));
  }
  return out;
}

Plan Loop::PlanBatch(const Batch& b, const PlanInputs& in) {
  PlanOptions po;
  po.prune = o_.prune;
  po.max_deletes = o_.max_deletes;
  po.spec_dir = o_.dir;
  po.only_keys = &b.keyset;
  return ComputePlan(in, po);
}

// Plan-level errors: an object that exists but is not converge's (terminal until its spec
// changes), or too many deletions (no deletion of this batch happens: see DriftGate).
void Loop::ReportPlanErrors(Batch& b, const Plan& plan) {
  for (const auto& e : plan.errors) {
    log_.Error("plan error: " + e.Text());
    for (const auto& k : b.keys) {
      if (e.key != k) continue;
      SetState(k, "failed", e.Text(), b.Doc(k));
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& c : plan.changes)
        if (c.key.ToString() == k) terminal_[k] = c.revision;
      if (!terminal_.count(k))
        if (auto* d = b.Doc(k)) terminal_[k] = d->revision;
      b.handled.insert(k);
    }
  }
}

// The drift gate: a change to a resource whose desired state has not changed since it was
// applied is drift; it is corrected only when selfHeal is on for the resource, else reported.
std::vector<PlannedChange> Loop::DriftGate(Batch& b, Plan& plan, const PlanInputs& in) {
  const bool deletes_blocked = !plan.errors.empty();
  std::vector<PlannedChange> to_apply;
  for (auto& c : plan.changes) {
    const std::string k = c.key.ToString();
    NoteSuspended(k, c.suspended);
    if (c.action == Action::kDelete && deletes_blocked) {
      SetState(k, "failed", "deletion blocked: " + plan.errors.front().Text(), nullptr);
      metrics_.Inc("converge_reconciles_total", {{"result", "terminal"}});
      b.handled.insert(k);
      continue;
    }
    auto la = in.last_applied.find(k);
    // Drift: the desired state is the one last applied (same spec revision and same resolved
    // references), yet the live object differs. A spec whose referenced specs changed (a
    // SageMaker config naming a new model) has a new desired state: that is not drift.
    // Maintenance fires when its trigger holds: never drift.
    const KindDef* kind = converge::Backends().FindKind(c.key.kind);
    const bool maintenance = kind != nullptr && kind->lifecycle == Lifecycle::kMaintenance;
    bool drift = !maintenance && c.action != Action::kDelete && la != in.last_applied.end() &&
                 la->second.revision == c.revision && la->second.Doc() == c.desired.Get();
    if (drift && !SelfHeal(b.Doc(k))) {
      std::string fields;
      for (const auto& f : c.fields) fields += (fields.empty() ? "" : ", ") + f.path;
      std::string why = std::string("live state differs from the spec (") + ActionName(c.action) +
                        (fields.empty() ? "" : ": " + fields) +
                        "); selfHeal is off, so it is only reported";
      bool was_drifted = WasDrifted(k);
      SetState(k, "drifted", why, b.Doc(k));
      if (!was_drifted) log_.Warn("drift detected", {{"key", k}, {"detail", why}});
      metrics_.Inc("converge_reconciles_total", {{"result", "drift"}});
      queue_.Forget(k);
      b.handled.insert(k);
      continue;
    }
    if (drift) log_.Info("drift detected; healing (selfHeal)", {{"key", k}});
    to_apply.push_back(std::move(c));
  }
  return to_apply;
}

void Loop::ReportSkipped(Batch& b, const Plan& plan) {
  for (const auto& s : plan.skipped) {
    const std::string k = s.key.ToString();
    // A run kind's notice: its newest run failed (not restarted) or is still running.
    // A maintenance resource's tasks suspended after repeated failures: its own state.
    std::string state = s.status == "held"                                          ? "held"
                        : s.status == "suspended"                                   ? "suspended"
                        : s.status == "unknown-desired-state"                       ? "failed"
                        : s.status == runs::kRunFailedStatus                        ? "failed"
                        : s.status == runs::kRunningStatus                          ? "progressing"
                        // In sync, with something to say (what a maintenance waits for).
                        : s.status == "notice"                                      ? "synced"
                                                                                    : "not-pruned";
    if (s.status == runs::kRunFailedStatus && BoardState(k) != "failed")
      log_.Error("run failed (not restarted until the spec changes)",
                 {{"key", k}, {"error", s.reason}});
    SetState(k, state, s.reason, b.Doc(k));
    NoteSuspended(k, s.suspended);
    metrics_.Inc("converge_reconciles_total", {{"result", "skipped"}});
    if (s.status == runs::kRunningStatus) {  // followed: planned again after a poll interval
      b.handled.insert(k);
      FollowRun(k, b.Doc(k));
      continue;
    }
    b.handled.insert(k);
    queue_.Forget(k);
  }
}

void Loop::MarkRestSynced(Batch& b, const std::map<std::string, std::vector<LiveObject>>& live) {
  std::set<std::string> live_keys;
  for (const auto& [_, objects] : live)
    for (const auto& obj : objects) live_keys.insert(obj.key.ToString());
  for (const auto& k : b.keys) {
    if (b.handled.count(k)) continue;
    const Document* d = b.Doc(k);
    if (!d && !live_keys.count(k)) {
      std::lock_guard<std::mutex> lock(mu_);
      board_.erase(k);
      continue;
    }
    if (WasDrifted(k)) log_.Info("drift resolved", {{"key", k}});
    SetState(k, "synced", "", d);
    NoteSuspended(k, {});
    queue_.Forget(k);
    metrics_.Inc("converge_reconciles_total", {{"result", "success"}});
  }
}

void Loop::Retry(const Batch& b, const std::string& k, const std::string& why) {
  auto delay = queue_.AddRateLimited(k);
  metrics_.Inc("converge_workqueue_retries_total");
  metrics_.Inc("converge_reconciles_total", {{"result", "error"}});
  SetState(k, "failed", why, b.Doc(k));
  std::lock_guard<std::mutex> lock(mu_);
  board_[k].retries = queue_.Failures(k);
  any_failure_ = true;
  log_.Warn("reconcile failed; retrying",
            {{"key", k}, {"error", why}, {"retry_in_ms", std::to_string(delay.count())}});
}

void Loop::RetryAll(const Batch& b, const std::string& why) {
  for (const auto& k : b.keys) Retry(b, k, why);
  FinishBatch(b, false);
}

void Loop::FinishBatch(const Batch& b, bool ok) {
  double secs = std::chrono::duration<double>(steady_clock::now() - b.started).count();
  metrics_.Observe("converge_reconcile_duration_seconds", secs);
  if (ok) {
    metrics_.Set("converge_last_successful_sync_timestamp_seconds", UnixNow());
    std::lock_guard<std::mutex> lock(mu_);
    last_success_ = Now();
  }
}

}  // namespace converge::watch
