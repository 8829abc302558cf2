// The executor applies a Plan as a resumable step machine, per change:
//   journal intent → snapshot the live object (durable) → journal in-progress → one backend
//   call → wait for health (timeout, progress lines) → record last-applied → journal done.
// When health fails or times out and auto-rollback is on, the snapshot is restored, the
// resource is held (safety rule 3, docs/architecture.md) and the journal says rolled-back. Changes in one wave run
// concurrently (bounded by --parallelism); waves run in order; deletes run last.
#pragma once

#include <atomic>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "specs/base/clock.h"
#include "controller/health_poll.h"
#include "controller/plan.h"
#include "controller/store/store.h"
#include "reconcilers/reconciler.h"
#include "reconcilers/registry.h"
#include "specs/backend.h"

namespace converge {

// Progress lines on stderr (thread-safe). Long waits print a line every `interval`.
class Progress {
 public:
  explicit Progress(FILE* out = stderr, bool quiet = false) : out_(out), quiet_(quiet) {}
  void Line(const std::string& text);
  std::chrono::milliseconds interval{5000};

 private:
  FILE* out_;
  bool quiet_;
  std::mutex mu_;
};

enum class Outcome { kApplied, kFailed, kRolledBack, kRollbackFailed, kSkipped };
const char* OutcomeName(Outcome o);

struct ChangeResult {
  ResourceKey key;
  Action action = Action::kNoop;
  Outcome outcome = Outcome::kSkipped;
  std::string message;  // for people; never read to decide anything
  int64_t snapshot_id = 0;
  double seconds = 0;
  // Why it did not apply, as a value: ok when applied; kInvalid / kPermission / kStale (terminal:
  // retrying the same spec cannot help), kCancelled (converge is stopping), kUnknownOutcome (a
  // write whose effect could not be determined), kConflict, kUnavailable / kTimeout (retry).
  Status status;
  // A run started and not waited on (ExecOptions::wait_for_runs off): it goes on in the backend.
  bool run_in_progress = false;
};

struct ExecOptions {
  int parallelism = 4;
  std::chrono::seconds health_timeout{0};  // 0 = the backend's healthTimeout
  std::chrono::milliseconds poll_interval{500};
  bool fail_fast = false;
  std::string git_commit;
  int snapshot_retention = 20;
  // `converge watch` on SIGTERM: `stop_starting` — no further change is started (results:
  // skipped, no journal entry); changes in flight go on. `cancel` (when the shutdown timeout
  // passes) — a health wait in progress stops too; its change is journalled `interrupted` (the
  // write was made; the next start re-plans from live state) and is not rolled back.
  const std::atomic<bool>* stop_starting = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  // Wakes every wait of the executor at once when fired (health polls, the unknown-outcome
  // read-back); firing it is the same as setting `cancel`.
  const Cancellation* cancellation = nullptr;
  // Off in `converge watch`: a run kind's change ends once the run is started (its result has
  // run_in_progress), so that a run of hours does not occupy an apply worker; the watch loop
  // follows it by polling (RunFollower). On: waited on up to the run's own time limit.
  bool wait_for_runs = true;
};

struct ExecContext {
  store::Store* store = nullptr;
  std::map<std::string, Reconciler*> reconcilers;  // by Backend name
  std::map<std::string, BackendConfig> backends;   // by Backend name
  Clock* clock = nullptr;
  Progress* progress = nullptr;
  // The kinds' lifecycles and per-kind data; nullptr = every backend compiled in (Backends()).
  const BackendRegistry* registry = nullptr;
};

class Executor {
 public:
  Executor(ExecContext ctx, ExecOptions options) : ctx_(std::move(ctx)), options_(options) {}

  std::vector<ChangeResult> Apply(int64_t run, const Plan& plan);

  // Records last-applied for resources that already match their spec (Plan::settle) once they
  // are healthy. No backend writes.
  std::vector<ChangeResult> Settle(int64_t run, const std::vector<PlannedChange>& settle);

  // Restores `key` to a snapshot (snapshotting the current state first), waits for health and
  // holds the resource so the loop does not re-apply git over it.
  ChangeResult Rollback(int64_t run, const ResourceKey& key, const std::string& backend,
                        const store::Snapshot& to, const std::string& hold_revision);

 private:
  bool Cancelled() const {
    return (options_.cancel != nullptr && options_.cancel->load()) ||
           (options_.cancellation != nullptr && options_.cancellation->cancelled());
  }
  bool Stopping() const {
    return Cancelled() || (options_.stop_starting != nullptr && options_.stop_starting->load());
  }
  static constexpr const char* kInterruptedMessage = "interrupted: converge is stopping";
  ChangeResult ApplyOne(int64_t run, const PlannedChange& change);
  // The follow-up step of a health wait: the object settled but diverged from `desired`
  // (HealthState::kDiverged); the live object is read and `health.follow_up` sent (at most three
  // times per wait). Ok = keep polling; an error ends the wait.
  Status FollowUp(Reconciler* rec, const ResourceKey& key, const json& desired,
                  const Health& health, int* sent);
  // The unknown-outcome step: a write was sent and no answer came. Reads the object back and
  // decides from live state whether the change landed (Ok: go on to the health wait) or not (it
  // is sent once more, and that call's status is returned).
  Status ResolveUnknownOutcome(Reconciler* rec, const PlannedChange& change, const Status& call);
  // Polls health until healthy or the deadline; returns the last health seen.
  Result<Health> WaitHealthy(Reconciler* rec, const std::string& backend, const ResourceKey& key,
                             const json& desired,
                             std::chrono::seconds timeout, const std::string& label);
  std::chrono::seconds TimeoutFor(const std::string& backend) const;
  // The same for one change: longer when its kind says the object needs longer (a run's own
  // time limit).
  std::chrono::seconds TimeoutFor(const PlannedChange& change, const json& desired) const;
  // How often health is polled on `backend`: the larger of --poll-interval and the backend's.
  std::chrono::milliseconds PollInterval(const std::string& backend) const;
  // What the registry says of a kind; nullptr for a kind no backend registered (tests).
  const KindDef* KindOf(const std::string& kind) const;
  // The kind when it follows the run lifecycle on this backend (controller/run_lifecycle.h).
  const KindDef* RunKindOf(Reconciler* rec, const std::string& kind) const;
  // The unknown-outcome step of a run's start: its name says whether it started.
  Status ResolveUnknownStart(Reconciler* rec, const KindDef& run, const PlannedChange& change,
                             const Status& call);

  ExecContext ctx_;
  ExecOptions options_;
  // How long this apply's changes took to become healthy, per backend and kind: health polls
  // come around that time (controller/health_poll.h).
  std::shared_ptr<HealthDurations> durations_ = std::make_shared<HealthDurations>();
};

}  // namespace converge
