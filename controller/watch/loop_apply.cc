// The apply step of a batch: one run, the executor and the settler, each result recorded.
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "controller/watch/loop.h"

namespace converge::watch {

bool Loop::ApplyChanges(Batch& b, std::vector<PlannedChange> to_apply, const Plan& plan) {
  if (to_apply.empty() && plan.settle.empty()) return true;
  const std::string commit = CommitForRun();
  auto run = store_->BeginRun("watch", commit);
  if (!run.ok()) {
    // Nothing of the batch is applied; every key not decided yet is retried.
    for (const auto& k : b.keys)
      if (!b.handled.count(k)) Retry(b, k, "cannot begin a run: " + run.status().message());
    b.handled.insert(b.keys.begin(), b.keys.end());
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    runs_in_flight_.insert(*run);
  }
  // Backend specs (secret references only) are recorded as in `converge apply`, so
  // `converge rollback` works without the spec directory.
  RecordBackends(*store_, b.backends->configs, *run);
  log_.Info("applying", {{"run", std::to_string(*run)},
                         {"changes", std::to_string(to_apply.size())},
                         {"commit", commit}});
  Progress progress(log_.Stream("executor"));
  ExecOptions eo;
  eo.parallelism = o_.parallelism;
  eo.health_timeout = o_.health_timeout;
  eo.git_commit = commit;
  eo.stop_starting = &no_new_changes_;
  eo.cancellation = &cancel_;
  // A run of hours must not hold an apply worker: the change ends once the run is started and
  // the key is re-planned every poll interval until the run ends (FollowRun). `--once` waits,
  // like `converge apply`, since it exits when everything was tried.
  eo.wait_for_runs = o_.once;
  Executor exec(ExecContext{store_.get(), b.backends->reconcilers, b.backends->configs,
                            &SystemClock(), &progress},
                eo);
  std::map<std::string, std::string> planned_revision;  // what a terminal failure is kept at
  for (const auto& c : to_apply) planned_revision[c.key.ToString()] = c.revision;
  for (const auto& c : plan.settle) planned_revision[c.key.ToString()] = c.revision;
  Plan apply_plan;
  apply_plan.changes = std::move(to_apply);
  auto results = exec.Apply(*run, apply_plan);
  // Settling (the object already matches; only the record is missing) looks at health once
  // or twice instead of waiting out the health timeout: an object that matches its spec but
  // is unhealthy would otherwise hold a worker for the whole timeout on every retry. It is
  // retried with backoff and shown as failed meanwhile.
  ExecOptions settle_options = eo;
  settle_options.health_timeout = std::chrono::seconds(2);
  Executor settler(ExecContext{store_.get(), b.backends->reconcilers, b.backends->configs,
                               &SystemClock(), &progress},
                   settle_options);
  for (auto& r : settler.Settle(*run, plan.settle)) results.push_back(std::move(r));

  RunTally tally;
  for (const auto& r : results) RecordResult(b, r, planned_revision, &tally);
  RecordRun(*run, commit, results);
  std::string status = tally.failed ? "failed" : tally.interrupted ? "interrupted" : "succeeded";
  (void)store_->FinishRun(*run, status,
                          std::to_string(tally.applied) + " applied, " +
                              std::to_string(tally.failed) + " failed (converge watch)");
  metrics_.Inc("converge_runs_total", {{"status", status}});
  {
    std::lock_guard<std::mutex> lock(mu_);
    runs_in_flight_.erase(*run);
  }
  log_.Info("run finished", {{"run", std::to_string(*run)},
                             {"status", status},
                             {"applied", std::to_string(tally.applied)},
                             {"failed", std::to_string(tally.failed)}});
  return tally.ok;
}

void Loop::RecordResult(Batch& b, const ChangeResult& r,
                        const std::map<std::string, std::string>& planned_revision,
                        RunTally* tally) {
  const std::string k = r.key.ToString();
  b.handled.insert(k);
  const Document* d = b.Doc(k);
  switch (r.outcome) {
    case Outcome::kApplied:
      ++tally->applied;
      queue_.Forget(k);
      if (r.run_in_progress) {
        SetState(k, "progressing", r.message + "; followed until it ends", d);
        FollowRun(k, d);
      } else {
        SetState(k, "synced", r.message, d);
      }
      if (r.action != Action::kNoop) {
        std::lock_guard<std::mutex> lock(mu_);
        board_[k].last_change = Now();
        board_[k].retries = 0;
        board_[k].last_error.clear();
        if (r.action == Action::kDelete) board_.erase(k);
      }
      metrics_.Inc("converge_reconciles_total", {{"result", "success"}});
      break;
    case Outcome::kRolledBack:
      ++tally->failed;
      queue_.Forget(k);
      SetState(k, "held", r.message, d);
      {
        std::lock_guard<std::mutex> lock(mu_);
        board_[k].last_error = r.message;
        board_[k].last_change = Now();
      }
      metrics_.Inc("converge_reconciles_total", {{"result", "terminal"}});
      break;
    case Outcome::kSkipped:  // stopping: not started, or its health wait was cut short
      ++tally->interrupted;
      tally->ok = false;
      SetState(k, "progressing", r.message, d);
      break;
    default:
      ++tally->failed;
      tally->ok = false;
      if (r.status.terminal() && !IsMaintenance(r.key.kind)) {  // retrying cannot help
        queue_.Forget(k);
        SetState(k, "failed", r.message, d);
        std::lock_guard<std::mutex> lock(mu_);
        if (auto pr = planned_revision.find(k); pr != planned_revision.end())
          terminal_[k] = pr->second;
        else if (d)
          terminal_[k] = d->revision;
        any_failure_ = true;
        metrics_.Inc("converge_reconciles_total", {{"result", "terminal"}});
        log_.Error("change failed (not retried until the spec changes)",
                   {{"key", k}, {"error", r.message}});
      } else {
        Retry(b, k, r.message);
      }
  }
}

bool Loop::IsMaintenance(const std::string& kind) {
  // A failed maintenance action is tried again after a back-off whatever the error: the table
  // changes under it, and it never holds the resource.
  const KindDef* k = converge::Backends().FindKind(kind);
  return k != nullptr && k->lifecycle == Lifecycle::kMaintenance;
}

void Loop::FollowRun(const std::string& k, const Document* d) {
  // The backend's pollInterval (or its type's default), at least a second: the key is
  // observed and planned again then, and again while its run goes on.
  std::chrono::milliseconds every{1000};
  if (auto set = Backends(); set && d) {
    if (auto c = set->configs.find(d->backend); c != set->configs.end()) {
      every = std::max(every, c->second.poll_interval);
      if (const BackendFactory* f = converge::Backends().Find(c->second.type))
        every = std::max(every, f->default_poll_interval);
    }
  }
  queue_.AddAfter(k, every);
}

}  // namespace converge::watch
