// Internal to `converge watch` (RunWatchLoop in watch_loop.h is the entry point): the Loop that
// the watch_loop.h diagram describes, declared once and defined by seam:
//
//   watch_loop.cc    start, the event loop (inotify, signals, debounce, --once) and shutdown
//   loop_specs.cc    reading the specs (work tree or commit) and queueing what changed
//   loop_backends.cc connecting the backends and binding specs to their reconcilers
//   loop_batch.cc    a worker's batch as steps: observe, plan, plan errors, drift gate, skipped,
//                    the rest synced
//   loop_apply.cc    the batch's apply step: one run, the executor, each result recorded
//   loop_resync.cc   the periodic full pass
//   loop_status.cc   the resource board, /status, /metrics and /readyz
//   loop_page.cc     the status page's data (board, store) handed to status_page.h to render
//
// Every member below mu_ is guarded by it; see the comments for the others.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "controller/backends.h"
#include "controller/executor.h"
#include "controller/planner.h"
#include "controller/store/store.h"
#include "controller/watch/debouncer.h"
#include "controller/watch/git_source.h"
#include "controller/watch/inotify_watcher.h"
#include "controller/watch/log.h"
#include "controller/watch/metrics.h"
#include "controller/watch/spec_cache.h"
#include "controller/watch/status_page.h"
#include "controller/watch/status_server.h"
#include "controller/watch/watch_loop.h"
#include "controller/watch/workqueue.h"

namespace converge::watch {

// The debouncer item that means "rescan everything" (overflow, root moved, SIGHUP).
inline constexpr const char* kRescanAll = "\n*";
// The debouncer item that means "the git refs moved" (--committed-only).
inline constexpr const char* kGitRefs = "\ngit";
// Keys handed to one worker at most at once.
inline constexpr size_t kMaxBatch = 1000;

// The wall clock as ISO-8601 UTC, and as Unix seconds (for the metrics).
std::string Now();
double UnixNow();

// What the status endpoint and the metrics report per resource.
struct ResourceState {
  std::string backend;
  std::string state;   // synced | drifted | held | failed | progressing | not-pruned | suspended
  std::string reason;  // why (held reason, drift fields, error)
  std::string revision;
  std::string source;
  std::string last_change;  // last time converge changed it
  std::string last_sync;    // last time it was reconciled
  std::string last_error;
  int retries = 0;
  std::string health;       // "healthy" after a change or settle passed its health check,
                            // "unhealthy (rolled back)"; empty: not checked since start
  int64_t last_run = 0;     // the run of the last change
  std::string last_commit;  // the git commit of that run ("" outside git)
  std::map<std::string, std::string> labels;  // the spec's metadata.labels
  // Maintenance: the tasks suspended after repeated failures, as the last plan saw them (the
  // resource is "suspended" when nothing else runs, else its other tasks' state).
  std::vector<std::string> suspended_tasks;
  // The last plan with a change for this resource: the status page shows its field diff.
  std::string planned_action, planned_at;
  std::vector<FieldChange> planned_fields;
};

// One worker's batch of keys on its way through the steps of Loop::ProcessBatch.
struct Batch {
  explicit Batch(const std::vector<std::string>& k) : keys(k), keyset(k.begin(), k.end()) {}
  // The spec of `k` in this batch's spec set, or null (a removed spec).
  const Document* Doc(const std::string& k) const;

  const std::vector<std::string>& keys;
  const std::set<std::string> keyset;
  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::shared_ptr<BackendSet> backends;  // null: not connected
  std::shared_ptr<const LoadResult> specs;
  std::map<std::string, const Document*> docs;  // by key, into *specs
  std::set<std::string> handled;                // keys whose state a step has already set
};

class Loop {
 public:
  explicit Loop(const WatchOptions& o)
      : o_(o),
        log_(o.json_logs ? Logger::Format::kJson : Logger::Format::kText),
        cache_(o.dir, DefaultKindRegistry()),
        debouncer_(o.debounce, std::max(o.debounce * 10, std::chrono::milliseconds(1000))) {
    DeclareMetrics();
  }

  int Run();

 private:
  // ----- start, event loop, shutdown (watch_loop.cc)
  // Each logs why and returns false / an error when the loop cannot start.
  bool Start();
  Status WatchSources(TreeWatcher& watcher);
  bool StartServer(std::unique_ptr<StatusServer>* server);
  // Until SIGTERM/SIGINT (0) or, with --once, until everything was tried (0 or 1).
  int EventLoop(TreeWatcher& watcher, int sig_fd);
  // Reads the pending signals; true when one of them asks to stop.
  bool HandleSignals(int sig_fd, TreeWatcher& watcher);
  void HandleWatchEvents(TreeWatcher& watcher);
  void TakeDueChanges();
  std::optional<int> OnceExitCode();
  // Stops taking work and waits for the threads (then cancels health waits); false when some
  // are still busy after the grace period.
  bool StopThreads(size_t threads);
  void MarkInterrupted();

  // ----- specs (loop_specs.cc)
  Status LoadInitial();
  void HandleChanges(const std::set<std::string>& items);
  void AfterUpdate(const CacheUpdate& u, const char* why);
  Status RefreshCommitted(const char* why = "commit");
  std::string CommitForRun();

  // ----- backends (loop_backends.cc)
  void Connect();
  std::shared_ptr<BackendSet> Backends() {
    std::lock_guard<std::mutex> lock(mu_);
    return backends_;
  }
  std::shared_ptr<const LoadResult> Specs() {
    std::lock_guard<std::mutex> lock(mu_);
    return specs_;
  }
  // Binds the newest published specs to the reconcilers of `set` when not bound yet, and returns
  // them with `planning` holding the binding (shared): no other thread rebinds until it is
  // released, so a batch observes and plans with exactly the specs its reconcilers see.
  std::shared_ptr<const LoadResult> BindForPlanning(const std::shared_ptr<BackendSet>& set,
                                                    std::shared_lock<std::shared_mutex>& planning);
  // `keys` plus every spec that references one of them, transitively (Reconciler::References).
  std::set<std::string> WithDependents(const std::set<std::string>& keys, const LoadResult& specs);

  // ----- a batch (loop_batch.cc, loop_apply.cc), in the order ProcessBatch runs the steps
  void Worker();
  void ProcessBatch(const std::vector<std::string>& keys);
  void MarkProgressing(const Batch& b);
  // The plan's inputs: live objects (ObserveBatch), last-applied documents and holds.
  Result<PlanInputs> ObserveForPlan(const Batch& b);
  // The live objects a batch needs: one Get per key for a small batch whose keys' backends are
  // known (a file edit: milliseconds, whatever the size of the backend), else a full observe.
  Result<std::map<std::string, std::vector<LiveObject>>> ObserveBatch(const Batch& b);
  Plan PlanBatch(const Batch& b, const PlanInputs& in);
  // A run of `k` is going on: plan `k` again after the backend's poll interval (loop_apply.cc).
  void FollowRun(const std::string& k, const Document* d);
  // Whether `kind` follows the maintenance lifecycle (reconcilers/registry.h).
  static bool IsMaintenance(const std::string& kind);
  // The board's state of `k` ("" when unknown).
  std::string BoardState(const std::string& k) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = board_.find(k);
    return it == board_.end() ? "" : it->second.state;
  }
  void ReportPlanErrors(Batch& b, const Plan& plan);
  // Moves the changes to apply out of plan.changes; drift with selfHeal off is only reported.
  std::vector<PlannedChange> DriftGate(Batch& b, Plan& plan, const PlanInputs& in);
  void ReportSkipped(Batch& b, const Plan& plan);
  // Applies `to_apply` and settles plan.settle in one run; false when something failed, was
  // interrupted or no run could be begun (then every key of the batch has been handled).
  bool ApplyChanges(Batch& b, std::vector<PlannedChange> to_apply, const Plan& plan);
  struct RunTally {
    int applied = 0, failed = 0, interrupted = 0;
    bool ok = true;
  };
  void RecordResult(Batch& b, const ChangeResult& r,
                    const std::map<std::string, std::string>& planned_revision, RunTally* tally);
  // Keys no step handled match their spec (or are gone).
  void MarkRestSynced(Batch& b, const std::map<std::string, std::vector<LiveObject>>& live);
  // A retryable failure of `k`: back off, show it failed.
  void Retry(const Batch& b, const std::string& k, const std::string& why);
  void RetryAll(const Batch& b, const std::string& why);  // and FinishBatch(b, false)
  void FinishBatch(const Batch& b, bool ok);

  // ----- resync (loop_resync.cc)
  void ResyncThread();
  bool Resync(const char* why);

  // ----- status (loop_status.cc)
  void DeclareMetrics();
  bool SelfHeal(const Document* doc) const;
  void SetState(const std::string& key, const std::string& state, const std::string& reason,
                const Document* doc = nullptr);
  // Records the maintenance tasks of `key` the plan found suspended (none: clears them).
  void NoteSuspended(const std::string& key, std::vector<std::string> tasks);
  bool WasDrifted(const std::string& key);
  std::string StatusJson();
  std::string MetricsText();
  bool Ready();
  // What each planned change will do, kept for the status page (a batch's plan, before the drift
  // gate); and the run, commit and health each result of run `run` leaves behind.
  void RecordPlan(const Plan& plan);
  void RecordRun(int64_t run, const std::string& commit, const std::vector<ChangeResult>& results);

  // ----- the status page (loop_page.cc)
  PageResource PageResourceOf(const std::string& key, const ResourceState& r) const;
  std::string OverviewHtml(const std::string& filter);
  std::optional<std::string> ResourceHtml(const std::string& backend, const std::string& key);
  std::string RunsHtml();

  WatchOptions o_;
  Logger log_;
  Metrics metrics_;
  SpecCache cache_;
  Debouncer debouncer_;
  WorkQueue queue_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::StateLock> lock_;
  std::optional<GitRepo> repo_;
  std::string head_;  // --committed-only: the commit being applied
  std::optional<std::chrono::steady_clock::time_point> git_busy_since_;  // main thread only

  std::mutex mu_;  // guards the members below
  std::shared_ptr<const LoadResult> specs_;
  std::shared_ptr<BackendSet> backends_;
  // SIGTERM/SIGINT: no new change starts (no_new_changes_); past --shutdown-timeout health waits
  // stop too (cancel_). ExecOptions::stop_starting / cancel.
  std::atomic<bool> no_new_changes_{false};
  Cancellation cancel_;  // fired when the shutdown timeout passes: every wait ends
  std::shared_mutex bind_rw_;  // guards the two below; held shared while a batch plans
  std::shared_ptr<BackendSet> bound_set_;
  std::shared_ptr<const LoadResult> bound_specs_;
  std::string connect_error_;
  std::map<std::string, std::shared_ptr<TokenBucket>> buckets_;
  std::map<std::string, ResourceState> board_;
  std::map<std::string, std::string> terminal_;  // key -> revision that failed terminally
  std::set<std::string> initial_pending_;        // keys the first resync queued
  std::set<int64_t> runs_in_flight_;
  bool first_resync_ok_ = false;
  bool first_resync_done_ = false;  // attempted, whatever the outcome (--once)
  bool observe_ok_ = false;
  bool any_failure_ = false;
  std::string last_success_;

  // Resync scheduling.
  std::mutex resync_mu_;
  std::condition_variable resync_cv_;
  bool resync_requested_ = true;  // the first resync runs at start
  bool stopping_ = false;

  // Shutdown accounting: threads that have returned.
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  int threads_done_ = 0;
};

}  // namespace converge::watch
