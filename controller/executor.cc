#include "controller/executor.h"

#include "controller/run_lifecycle.h"

#include <algorithm>
#include <atomic>
#include <tuple>
#include <thread>

namespace converge {

void Progress::Line(const std::string& text) {
  if (quiet_) return;
  std::lock_guard<std::mutex> lock(mu_);
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kApplied: return "applied";
    case Outcome::kFailed: return "failed";
    case Outcome::kRolledBack: return "rolled-back";
    case Outcome::kRollbackFailed: return "rollback-failed";
    case Outcome::kSkipped: return "skipped";
  }
  return "?";
}

namespace {

const char* Gerund(Action a) {
  switch (a) {
    case Action::kCreate: return "creating";
    case Action::kUpdate: return "updating";
    case Action::kScale: return "scaling";
    case Action::kDelete: return "deleting";
    case Action::kReplace: return "replacing";
    case Action::kRun: return "running";
    default: return "checking";
  }
}

const char* Past(Action a) {
  switch (a) {
    case Action::kCreate: return "created";
    case Action::kUpdate: return "updated";
    case Action::kScale: return "scaled";
    case Action::kDelete: return "deleted";
    case Action::kReplace: return "replaced";
    case Action::kRun: return "ran";
    default: return "unchanged";
  }
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", s);
  return buf;
}

}  // namespace

std::chrono::seconds Executor::TimeoutFor(const std::string& backend) const {
  if (options_.health_timeout.count() > 0) return options_.health_timeout;
  auto it = ctx_.backends.find(backend);
  return it == ctx_.backends.end() ? std::chrono::seconds(600) : it->second.health_timeout;
}

const KindDef* Executor::KindOf(const std::string& kind) const {
  return (ctx_.registry != nullptr ? ctx_.registry : &Backends())->FindKind(kind);
}

const KindDef* Executor::RunKindOf(Reconciler* rec, const std::string& kind) const {
  const KindDef* k = KindOf(kind);
  return k != nullptr && k->lifecycle == Lifecycle::kRun && rec->Runs() != nullptr ? k : nullptr;
}

Status Executor::ResolveUnknownStart(Reconciler* rec, const KindDef& run,
                                     const PlannedChange& change, const Status& call) {
  // The run's name is its idempotency key: it landed when a run of that name exists.
  const std::string name = runs::RunName(run, change.desired.Get());
  Result<RunRecord> read = Status(Code::kUnavailable, "not read yet");
  for (int attempt = 1; attempt <= 5; ++attempt) {
    read = rec->Runs()->ReadRun(run.kind, name);
    if (read.ok() || read.status().code() == Code::kNotFound || read.status().terminal()) break;
    if (!ctx_.clock->SleepUnless(std::chrono::milliseconds(500 * attempt), options_.cancellation))
      return CancelledError(kInterruptedMessage);
  }
  if (read.ok()) {
    ctx_.progress->Line(change.key.Display() + ": run " + name + " had started");
    return Status::Ok();
  }
  if (read.status().code() != Code::kNotFound)
    return UnknownOutcomeError(call.message() + "; reading run " + name +
                               " back failed too: " + read.status().message());
  ctx_.progress->Line(change.key.Display() + ": run " + name + " had not started; starting it once more");
  return rec->Runs()->StartRun(run.kind, change.desired.Get());
}

std::chrono::seconds Executor::TimeoutFor(const PlannedChange& change, const json& desired) const {
  std::chrono::seconds t = TimeoutFor(change.backend);
  const KindDef* k = KindOf(change.key.kind);
  if (k == nullptr || !k->timeout) return t;
  auto own = k->timeout(desired);
  return own ? std::max(t, *own) : t;
}

std::chrono::milliseconds Executor::PollInterval(const std::string& backend) const {
  std::chrono::milliseconds backend_poll{0};
  if (auto it = ctx_.backends.find(backend); it != ctx_.backends.end()) {
    backend_poll = it->second.poll_interval;
    if (backend_poll.count() == 0) {
      const BackendRegistry& r = ctx_.registry != nullptr ? *ctx_.registry : Backends();
      if (const BackendFactory* f = r.Find(it->second.type)) backend_poll = f->default_poll_interval;
    }
  }
  return std::max(options_.poll_interval, backend_poll);
}

Result<Health> Executor::WaitHealthy(Reconciler* rec, const std::string& backend,
                                     const ResourceKey& key, const json& desired,
                                     std::chrono::seconds timeout, const std::string& label) {
  auto start = ctx_.clock->Now();
  auto next_report = start + ctx_.progress->interval;
  Health last{HealthState::kProgressing, "waiting"};
  int follow_ups = 0;
  const std::string group = backend + "/" + key.kind;
  const auto estimate = durations_->Estimate(group);
  Millis not_yet{0};  // when it was last seen not healthy
  while (true) {
    if (Cancelled()) return CancelledError(kInterruptedMessage);
    const KindDef* run = RunKindOf(rec, key.kind);
    auto h = run != nullptr && !desired.is_null() ? runs::RunHealth(*rec->Runs(), *run, desired)
                                                  : rec->CheckHealth(key, desired);
    if (h.ok()) {
      last = *h;
      if (last.state == HealthState::kHealthy) {
        durations_->Record(group, not_yet);
        return last;
      }
      if (last.state == HealthState::kDiverged && last.follow_up != Action::kNoop) {
        Status s = FollowUp(rec, key, desired, last, &follow_ups);
        if (!s.ok()) return s;
      }
      if (last.state == HealthState::kFailed)
        return InvalidError("failed after " +
                            Seconds(std::chrono::duration<double>(ctx_.clock->Now() - start).count()) +
                            ": " + last.message);
    } else if (h.status().terminal()) {
      return h.status();
    } else {
      last.message = "health check failed: " + h.status().message();
    }
    auto now = ctx_.clock->Now();
    auto elapsed = std::chrono::duration<double>(now - start).count();
    if (now - start >= timeout) {
      return TimeoutError("not healthy after " + Seconds(elapsed) + " (" + last.message + ")");
    }
    if (now >= next_report) {
      ctx_.progress->Line(key.Display() + ": " + label + "... " + Seconds(elapsed) + " elapsed (" +
                          last.message + ")");
      next_report = now + ctx_.progress->interval;
    }
    not_yet = std::chrono::duration_cast<Millis>(now - start);
    ctx_.clock->SleepUnless(NextPollDelay(PollInterval(backend), estimate, not_yet),
                            options_.cancellation);
  }
}

Status Executor::FollowUp(Reconciler* rec, const ResourceKey& key, const json& desired,
                          const Health& health, int* sent) {
  constexpr int kMaxFollowUps = 3;
  if (*sent >= kMaxFollowUps)
    return InvalidError("still " + health.message + " after " + std::to_string(*sent) + " " +
                        ActionName(health.follow_up) + "s");
  auto live = rec->Get(key);
  if (!live.ok()) return live.status().terminal() ? live.status() : Status::Ok();  // next poll
  if (!live->has_value()) return Status::Ok();  // gone meanwhile: the next poll says so
  ctx_.progress->Line(key.Display() + ": " + health.message + "; sending a " +
                      ActionName(health.follow_up) + " to reach the desired state");
  ++*sent;
  ChangeRequest req{key, health.follow_up, desired, rec->Definition((*live)->Doc())};
  Status s = rec->Apply(req);
  if (s.ok() || s.code() == Code::kConflict || !s.terminal()) return Status::Ok();  // polled again
  return InvalidError(health.message + "; the " + ActionName(health.follow_up) +
                      " failed: " + s.message());
}

Status Executor::ResolveUnknownOutcome(Reconciler* rec, const PlannedChange& change,
                                       const Status& call) {
  const std::string who = change.key.Display();
  ctx_.progress->Line(who + ": no answer to the " + ActionName(change.action) +
                      " call; reading it back to see whether it landed");
  if (const KindDef* run = RunKindOf(rec, change.key.kind)) return ResolveUnknownStart(rec, *run, change, call);
  // The read itself may meet the same fault: a few tries with a growing pause.
  Result<std::optional<LiveObject>> live = Status(Code::kUnavailable, "not read yet");
  for (int attempt = 1; attempt <= 5; ++attempt) {
    live = rec->Get(change.key);
    if (live.ok() || live.status().terminal()) break;
    if (!ctx_.clock->SleepUnless(std::chrono::milliseconds(500 * attempt), options_.cancellation))
      return CancelledError(kInterruptedMessage);
  }
  if (!live.ok())
    return UnknownOutcomeError(call.message() + "; reading it back failed too: " +
                               live.status().message());
  bool landed;
  if (change.action == Action::kDelete) {
    landed = !live->has_value();
  } else if (!live->has_value()) {
    landed = false;
  } else {
    // Landed when the live object now matches the desired state (diffed as if just applied).
    json def = rec->Definition((*live)->Doc());
    const json desired = change.desired.Get();
    landed = rec->Diff(desired, def, desired).action == Action::kNoop;
  }
  if (landed) {
    ctx_.progress->Line(who + ": the " + std::string(ActionName(change.action)) +
                        " had landed; waiting for health");
    return Status::Ok();
  }
  ctx_.progress->Line(who + ": the " + std::string(ActionName(change.action)) +
                      " had not landed; sending it once more");
  ChangeRequest req{change.key, change.action, change.desired.Get(), change.live,
                    TimeoutFor(change.backend)};
  return rec->Apply(req);
}

ChangeResult Executor::ApplyOne(int64_t run, const PlannedChange& change) {
  ChangeResult result{change.key, change.action, Outcome::kFailed, "", 0, 0};
  auto started = ctx_.clock->Now();
  auto elapsed = [&] { return std::chrono::duration<double>(ctx_.clock->Now() - started).count(); };
  const std::string key = change.key.ToString();
  const std::string who = change.key.Display();
  store::Store& st = *ctx_.store;
  Reconciler* rec = ctx_.reconcilers.at(change.backend);

  auto entry = st.JournalIntent(run, key, change.backend, ActionName(change.action));
  if (!entry.ok()) {
    result.message = "journal: " + entry.status().ToString();
    result.status = entry.status();
    return result;
  }
  // Snapshot before the call that changes the object (safety rule 5). A create snapshots
  // "did not exist" so a rollback can remove it again.
  store::Snapshot snap;
  snap.key = key;
  snap.backend = change.backend;
  snap.doc = change.live;
  snap.spec_revision = change.revision;
  snap.git_commit = options_.git_commit;
  snap.reason = std::string("before ") + ActionName(change.action);
  snap.run_id = run;
  auto snap_id = st.SaveSnapshot(snap);
  if (!snap_id.ok()) {
    result.message = "snapshot not saved, change not attempted: " + snap_id.status().ToString();
    result.status = snap_id.status();
    (void)st.JournalUpdate(*entry, store::JournalState::kFailed, result.message);
    return result;
  }
  result.snapshot_id = *snap_id;
  (void)st.PruneSnapshots(key, options_.snapshot_retention);
  (void)st.JournalUpdate(*entry, store::JournalState::kInProgress, "", *snap_id);

  ctx_.progress->Line(who + ": " + Gerund(change.action) + "...");
  ChangeRequest req{change.key, change.action, change.desired.Get(), change.live,
                    TimeoutFor(change.backend)};
  const KindDef* run_kind = RunKindOf(rec, change.key.kind);
  if (run_kind != nullptr && change.action == Action::kDelete) {
    // A prune of a run kind: its runs still going are stopped (history is kept).
    auto stopped = runs::StopRuns(*rec->Runs(), *run_kind, change.live);
    result.seconds = elapsed();
    result.status = stopped.ok() ? Status::Ok() : stopped.status();
    result.outcome = stopped.ok() ? Outcome::kApplied : Outcome::kFailed;
    result.message = stopped.ok() ? *stopped : stopped.status().ToString();
    (void)st.JournalUpdate(*entry, stopped.ok() ? store::JournalState::kDone
                                                : store::JournalState::kFailed,
                           result.message, *snap_id);
    ctx_.progress->Line(who + ": " + result.message);
    return result;
  }
  Status call = run_kind != nullptr && change.action == Action::kRun
                    ? rec->Runs()->StartRun(run_kind->kind, change.desired.Get())
                    : rec->Apply(req);
  if (call.code() == Code::kUnknownOutcome) call = ResolveUnknownOutcome(rec, change, call);
  if (!call.ok()) {
    result.status = call;
    result.message = call.ToString();
    (void)st.JournalUpdate(*entry, store::JournalState::kFailed, result.message, *snap_id);
    ctx_.progress->Line(who + ": failed: " + result.message);
    result.seconds = elapsed();
    return result;
  }
  if (run_kind != nullptr && change.action == Action::kRun && !options_.wait_for_runs) {
    // `converge watch`: the run goes on without occupying this worker; RunFollower polls it.
    const std::string name = runs::RunName(*run_kind, change.desired.Get());
    result.status = Status::Ok();
    result.outcome = Outcome::kApplied;
    result.run_in_progress = true;
    result.message = "started " + name;
    (void)st.JournalUpdate(*entry, store::JournalState::kDone, result.message, *snap_id);
    result.seconds = elapsed();
    ctx_.progress->Line(who + ": started " + name + "; followed until it ends");
    return result;
  }
  json want = change.action == Action::kDelete ? json() : change.desired.Get();
  auto health = WaitHealthy(rec, change.backend, change.key, want, TimeoutFor(change, want),
                            Gerund(change.action));
  if (health.ok()) {
    result.status = Status::Ok();
    if (change.action == Action::kDelete) {
      (void)st.DeleteLastApplied(key);
    } else {
      store::LastApplied la;
      la.key = key;
      la.backend = change.backend;
      la.doc = change.desired.Get();
      la.spec_revision = change.revision;
      la.run_id = run;
      (void)st.SetLastApplied(la);
    }
    (void)st.ReleaseHold(key);  // a new spec revision applied cleanly: any old hold is over
    (void)st.JournalUpdate(*entry, store::JournalState::kDone, health->message, *snap_id);
    result.outcome = Outcome::kApplied;
    result.seconds = elapsed();
    result.message = health->message;
    ctx_.progress->Line(who + ": " + Past(change.action) + " (" + Seconds(result.seconds) + ")");
    return result;
  }
  std::string why = health.status().message();
  result.status = health.status();
  if (health.status().code() == Code::kCancelled) {
    // Stopping: the write was made, the outcome is unknown. No rollback; the next start
    // re-plans from live state.
    result.outcome = Outcome::kSkipped;
    result.message = "interrupted while waiting for health: converge is stopping";
    (void)st.JournalUpdate(*entry, store::JournalState::kInterrupted, result.message, *snap_id);
    result.seconds = elapsed();
    ctx_.progress->Line(who + ": " + result.message);
    return result;
  }
  ctx_.progress->Line(who + ": " + ActionName(change.action) + " failed: " + why);
  // A run is history: it is never rolled back (its lifecycle says so, not the backend); nor is
  // maintenance.
  const KindDef* kind = KindOf(change.key.kind);
  // Maintenance is not a change of the object's definition: a failure is recorded and tried
  // again after a back-off, never rolled back and never held.
  const bool can_roll_back = change.action != Action::kDelete &&
                             (kind == nullptr || kind->lifecycle == Lifecycle::kResource);
  if (!change.auto_rollback || !can_roll_back) {
    // A definitive failure (the backend said so) keeps its code, so that `converge watch` does
    // not repeat the same change until the spec changes.
    result.message = (health.status().terminal() ? health.status().ToString() : why) +
                     (!can_roll_back ? "" : " (autoRollback is off)");
    (void)st.JournalUpdate(*entry, store::JournalState::kFailed, result.message, *snap_id);
    result.seconds = elapsed();
    return result;
  }
  // Automatic rollback to the snapshot taken before the change.
  ctx_.progress->Line(who + ": rolling back to snapshot " + std::to_string(*snap_id) + "...");
  Status restored = rec->Restore(change.key, change.live);
  Result<Health> back = restored.ok() ? WaitHealthy(rec, change.backend, change.key, change.live,
                                                    TimeoutFor(change.backend), "rolling back")
                                      : Result<Health>(restored);
  store::Hold hold;
  hold.key = key;
  hold.spec_revision = change.revision;
  hold.snapshot_id = *snap_id;
  hold.reason = "rolled back automatically after a failed " + std::string(ActionName(change.action)) +
                " (" + why + ")";
  (void)st.PutHold(hold);
  if (back.ok()) {
    result.outcome = Outcome::kRolledBack;
    result.message = why + "; rolled back to snapshot " + std::to_string(*snap_id) + " and held";
    (void)st.JournalUpdate(*entry, store::JournalState::kRolledBack, result.message, *snap_id);
    ctx_.progress->Line(who + ": rolled back to snapshot " + std::to_string(*snap_id) +
                        "; held until the spec changes or `converge release " + key + "`");
  } else {
    result.outcome = Outcome::kRollbackFailed;
    result.message = why + "; rollback failed: " + back.status().message();
    (void)st.JournalUpdate(*entry, store::JournalState::kFailed, result.message, *snap_id);
    ctx_.progress->Line(who + ": rollback failed: " + back.status().message());
  }
  result.seconds = elapsed();
  return result;
}

std::vector<ChangeResult> Executor::Apply(int64_t run, const Plan& plan) {
  std::vector<ChangeResult> results(plan.changes.size());
  std::atomic<bool> stop{false};
  size_t i = 0;
  while (i < plan.changes.size()) {
    // One group = consecutive changes of the same wave, direction and dependency stage.
    size_t j = i;
    auto group_of = [&](size_t k) {
      const PlannedChange& c = plan.changes[k];
      return std::make_tuple(c.wave, c.action == Action::kDelete, c.stage);
    };
    while (j < plan.changes.size() && group_of(j) == group_of(i)) ++j;
    std::atomic<size_t> next{i};
    auto worker = [&] {
      while (true) {
        size_t k = next.fetch_add(1);
        if (k >= j) return;
        if (stop.load()) {
          results[k] = ChangeResult{plan.changes[k].key, plan.changes[k].action, Outcome::kSkipped,
                                    "skipped after an earlier failure (--fail-fast)", 0, 0};
          continue;
        }
        if (Stopping()) {
          results[k] = ChangeResult{plan.changes[k].key, plan.changes[k].action, Outcome::kSkipped,
                                    "not started: converge is stopping", 0, 0,
                                    CancelledError("not started: converge is stopping")};
          continue;
        }
        results[k] = ApplyOne(run, plan.changes[k]);
        if (results[k].outcome != Outcome::kApplied && options_.fail_fast) stop = true;
      }
    };
    int n = std::max(1, std::min<int>(options_.parallelism, static_cast<int>(j - i)));
    std::vector<std::thread> threads;
    for (int t = 1; t < n; ++t) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    i = j;
  }
  return results;
}

std::vector<ChangeResult> Executor::Settle(int64_t run,
                                          const std::vector<PlannedChange>& settle) {
  std::vector<ChangeResult> out;
  for (const auto& c : settle) {
    if (Stopping()) {
      out.push_back({c.key, Action::kNoop, Outcome::kSkipped, "not settled: converge is stopping", 0, 0});
      continue;
    }
    ChangeResult r{c.key, Action::kNoop, Outcome::kFailed, "", 0, 0};
    Reconciler* rec = ctx_.reconcilers.at(c.backend);
    const json desired = c.desired.Get();
    auto health = WaitHealthy(rec, c.backend, c.key, desired, TimeoutFor(c.backend), "settling");
    if (!health.ok()) {
      r.message = "matches its spec but is not healthy: " + health.status().message();
      ctx_.progress->Line(c.key.Display() + ": " + r.message);
      out.push_back(r);
      continue;
    }
    store::LastApplied la;
    la.key = c.key.ToString();
    la.backend = c.backend;
    la.doc = desired;
    la.spec_revision = c.revision;
    la.run_id = run;
    Status s = ctx_.store->SetLastApplied(la);
    r.outcome = s.ok() ? Outcome::kApplied : Outcome::kFailed;
    r.message = s.ok() ? "already matched its spec; recorded as applied" : s.ToString();
    out.push_back(r);
  }
  return out;
}

ChangeResult Executor::Rollback(int64_t run, const ResourceKey& key, const std::string& backend,
                                const store::Snapshot& to, const std::string& hold_revision) {
  ChangeResult result{key, Action::kUpdate, Outcome::kFailed, "", to.id, 0};
  auto started = ctx_.clock->Now();
  const std::string k = key.ToString();
  store::Store& st = *ctx_.store;
  Reconciler* rec = ctx_.reconcilers.at(backend);
  auto entry = st.JournalIntent(run, k, backend, "rollback");
  if (!entry.ok()) {
    result.message = entry.status().ToString();
    return result;
  }
  // Snapshot what is live now, so the rollback itself can be undone.
  auto live = rec->Get(key);
  if (!live.ok()) {
    result.message = "cannot read the live object: " + live.status().ToString();
    (void)st.JournalUpdate(*entry, store::JournalState::kFailed, result.message);
    return result;
  }
  store::Snapshot before;
  before.key = k;
  before.backend = backend;
  before.doc = live->has_value() ? rec->Definition((*live)->doc) : json();
  before.spec_revision = hold_revision;
  before.git_commit = options_.git_commit;
  before.reason = "before rollback to snapshot " + std::to_string(to.id);
  before.run_id = run;
  auto before_id = st.SaveSnapshot(before);
  if (!before_id.ok()) {
    result.message = "snapshot not saved, rollback not attempted: " + before_id.status().ToString();
    (void)st.JournalUpdate(*entry, store::JournalState::kFailed, result.message);
    return result;
  }
  (void)st.JournalUpdate(*entry, store::JournalState::kInProgress, "", *before_id);
  ctx_.progress->Line(key.Display() + ": restoring snapshot " + std::to_string(to.id) + " (" + to.taken_at +
                      ")...");
  Status s = rec->Restore(key, to.doc);
  Result<Health> h = s.ok() ? WaitHealthy(rec, backend, key, to.doc, TimeoutFor(backend), "restoring")
                            : Result<Health>(s);
  result.seconds = std::chrono::duration<double>(ctx_.clock->Now() - started).count();
  if (!h.ok()) {
    result.message = h.status().message();
    (void)st.JournalUpdate(*entry, store::JournalState::kFailed, result.message, *before_id);
    ctx_.progress->Line(key.Display() + ": rollback failed: " + result.message);
    return result;
  }
  store::Hold hold;
  hold.key = k;
  hold.spec_revision = hold_revision.empty() ? "*" : hold_revision;
  hold.snapshot_id = to.id;
  hold.reason = "rolled back to snapshot " + std::to_string(to.id) + " by `converge rollback`";
  (void)st.PutHold(hold);
  (void)st.JournalUpdate(*entry, store::JournalState::kDone,
                         "restored snapshot " + std::to_string(to.id), *before_id);
  result.outcome = Outcome::kRolledBack;
  result.message = "restored snapshot " + std::to_string(to.id) + " and held";
  ctx_.progress->Line(key.Display() + ": restored snapshot " + std::to_string(to.id) + " (" +
                      Seconds(result.seconds) + "); held until the spec changes or `converge release " +
                      k + "`");
  return result;
}

}  // namespace converge
