// The resource board and what it is shown as: /status, /metrics and /readyz.
#include <map>
#include <mutex>
#include <string>

#include "controller/watch/loop.h"

namespace converge::watch {

std::string Now() {
  return FormatIsoTime(SystemClock().WallNow());
}

double UnixNow() {
  return std::chrono::duration<double>(SystemClock().WallNow().time_since_epoch()).count();
}

void Loop::DeclareMetrics() {
  metrics_.DeclareCounter("converge_reconciles_total",
                          "Resources reconciled, by result (success, drift, skipped, error, "
                          "terminal)");
  metrics_.DeclareHistogram("converge_reconcile_duration_seconds",
                            "Duration of one reconcile pass (observe, plan, apply a batch)",
                            {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900});
  metrics_.DeclareGauge("converge_workqueue_depth",
                        "Resource keys in the work queue, by state (ready, delayed, in_flight)");
  metrics_.DeclareCounter("converge_workqueue_retries_total",
                          "Keys re-queued with backoff after a retryable failure");
  metrics_.DeclareGauge("converge_drifted_resources",
                        "Resources whose live state differs from an unchanged spec");
  metrics_.DeclareGauge("converge_resources", "Resources by state");
  metrics_.DeclareGauge("converge_suspended",
                        "1 per maintenance task suspended after repeated failures (by resource "
                        "and task)");
  metrics_.DeclareCounter("converge_backend_requests_total",
                          "HTTP requests to backends (retries included) by backend and status "
                          "code (\"error\": no answer)");
  metrics_.DeclareCounter("converge_backend_operations_total",
                          "Reconciler calls by backend, operation and result (ok or error code)");
  metrics_.DeclareGauge("converge_last_successful_sync_timestamp_seconds",
                        "Unix time of the last pass or resync that ended without error");
  metrics_.DeclareGauge("converge_spec_files", "Spec files loaded");
  metrics_.DeclareGauge("converge_spec_files_failed",
                        "Spec files that failed to load (they block every prune)");
  metrics_.DeclareCounter("converge_spec_reloads_total",
                          "Spec reloads after file events, by files parsed");
  metrics_.DeclareCounter("converge_file_events_total", "inotify events handled (debounced)");
  metrics_.DeclareCounter("converge_runs_total", "Runs recorded in the state, by status");
}

void Loop::SetState(const std::string& key, const std::string& state, const std::string& reason,
                    const Document* doc) {
  std::lock_guard<std::mutex> lock(mu_);
  ResourceState& r = board_[key];
  r.state = state;
  r.reason = reason;
  r.last_sync = Now();
  if (doc) {
    r.backend = doc->backend;
    r.revision = doc->revision;
    r.source = doc->pos.ToString();
    r.labels = doc->labels;
  }
  if (state == "failed") r.last_error = reason;
}

void Loop::NoteSuspended(const std::string& key, std::vector<std::string> tasks) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = board_.find(key);
  if (it != board_.end()) {
    it->second.suspended_tasks = std::move(tasks);
  } else if (!tasks.empty()) {
    board_[key].suspended_tasks = std::move(tasks);
  }
}

bool Loop::SelfHeal(const Document* doc) const {
  if (doc) {
    auto it = doc->annotations.find("converge/self-heal");
    if (it != doc->annotations.end()) return it->second == "true";
  }
  return o_.self_heal;
}

bool Loop::WasDrifted(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return board_.count(key) && board_[key].state == "drifted";
}

bool Loop::Ready() {
  std::lock_guard<std::mutex> lock(mu_);
  return first_resync_ok_ && observe_ok_ && initial_pending_.empty();
}

std::string Loop::StatusJson() {
  auto specs = Specs();
  json out;
  std::lock_guard<std::mutex> lock(mu_);
  out["ready"] = first_resync_ok_ && observe_ok_ && initial_pending_.empty();
  out["dir"] = o_.dir;
  out["commit"] = o_.committed_only ? head_ : "";
  out["committed_only"] = o_.committed_only;
  out["self_heal"] = o_.self_heal;
  out["last_successful_sync"] = last_success_;
  out["backends_error"] = connect_error_;
  out["queue"] = {
      {"ready", queue_.Len()}, {"delayed", queue_.Delayed()}, {"in_flight", queue_.InFlight()}};
  json failed = json::array();
  for (const auto& f : specs->failed_files) failed.push_back(f);
  out["failed_files"] = failed;
  json errors = json::array();
  for (const auto& d : specs->diagnostics)
    if (d.severity == Severity::kError) errors.push_back(d.ToString());
  out["spec_errors"] = errors;
  json resources = json::array();
  std::map<std::string, int> counts;
  for (const auto& [key, r] : board_) {
    ++counts[r.state];
    resources.push_back({{"key", key},
                         {"backend", r.backend},
                         {"state", r.state},
                         {"reason", r.reason},
                         {"revision", r.revision},
                         {"source", r.source},
                         {"last_change", r.last_change},
                         {"last_sync", r.last_sync},
                         {"last_error", r.last_error},
                         {"retries", r.retries},
                         {"health", r.health},
                         {"last_run", r.last_run},
                         {"last_commit", r.last_commit},
                         {"labels", r.labels},
                         {"suspended_tasks", r.suspended_tasks},
                         {"url", ResourcePath(r.backend, key)}});
  }
  out["summary"] = counts;
  out["resources"] = resources;
  // Reasons and diagnostics may quote invalid UTF-8 from a spec file: replaced, never a 500.
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

void Loop::RecordPlan(const Plan& plan) {
  if (plan.changes.empty()) return;
  const std::string now = Now();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& c : plan.changes) {
    ResourceState& r = board_[c.key.ToString()];
    if (r.state.empty()) r.state = "progressing";
    if (r.backend.empty()) r.backend = c.backend;
    r.planned_action = ActionName(c.action);
    r.planned_at = now;
    r.planned_fields = c.fields;
  }
}

void Loop::RecordRun(int64_t run, const std::string& commit,
                     const std::vector<ChangeResult>& results) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& res : results) {
    auto it = board_.find(res.key.ToString());
    if (it == board_.end()) continue;  // deleted
    ResourceState& r = it->second;
    if (res.outcome == Outcome::kApplied) r.health = "healthy";
    if (res.outcome == Outcome::kRolledBack) r.health = "unhealthy (rolled back)";
    bool changed = (res.outcome == Outcome::kApplied && res.action != Action::kNoop) ||
                   res.outcome == Outcome::kRolledBack;
    if (changed) {
      r.last_run = run;
      r.last_commit = commit;
    }
  }
}

std::string Loop::MetricsText() {
  metrics_.Set("converge_workqueue_depth", {{"state", "ready"}}, static_cast<double>(queue_.Len()));
  metrics_.Set("converge_workqueue_depth", {{"state", "delayed"}},
               static_cast<double>(queue_.Delayed()));
  metrics_.Set("converge_workqueue_depth", {{"state", "in_flight"}},
               static_cast<double>(queue_.InFlight()));
  std::map<std::string, int> counts;
  std::vector<std::pair<std::string, std::string>> suspended;  // resource, task
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, r] : board_) {
      ++counts[r.state];
      for (const auto& task : r.suspended_tasks) suspended.emplace_back(key, task);
    }
  }
  metrics_.ClearGauge("converge_suspended");
  for (const auto& [key, task] : suspended)
    metrics_.Set("converge_suspended", {{"resource", key}, {"task", task}}, 1);
  metrics_.ClearGauge("converge_resources");
  for (const char* s :
       {"synced", "drifted", "held", "failed", "progressing", "not-pruned", "suspended"})
    metrics_.Set("converge_resources", {{"state", s}}, counts[s]);
  metrics_.Set("converge_drifted_resources", counts["drifted"]);
  return metrics_.Exposition();
}

}  // namespace converge::watch
