// Apply of a TablePolicy (reconciler.h): the lock, the tasks that fire, their records.
#include <cstring>
#include <random>

#include "reconcilers/iceberg/evaluate.h"
#include "reconcilers/iceberg/expire.h"
#include "reconcilers/iceberg/lock.h"
#include "reconcilers/iceberg/metadata.h"
#include "reconcilers/iceberg/reconciler.h"
#include "reconcilers/iceberg/small_files.h"

namespace converge::iceberg {

namespace {

int64_t NowMs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             clock.WallNow().time_since_epoch())
      .count();
}

std::string RandomToken() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

// A job name YARN accepts and that names the work: iceberg-<task>-<policy>-<main snapshot>.
std::string JobName(Task task, const std::string& policy, std::optional<int64_t> main,
                    int64_t attempt) {
  std::string out = std::string("iceberg-") + (task == Task::kCompact ? "compact" : "orphans") + "-";
  for (char c : policy) out += std::isalnum(static_cast<unsigned char>(c)) ? char(std::tolower(c)) : '-';
  char snap[24];
  std::snprintf(snap, sizeof snap, "-%llx", static_cast<unsigned long long>(main.value_or(0)));
  out += snap;
  if (attempt > 0) out += "-a" + std::to_string(attempt);
  return out;
}

// One shell word per argument (YARN runs the AM command through bash): plain words as they are,
// words with single quotes (the SQL) in double quotes when nothing in them is special there,
// anything else single-quoted.
std::string ShellJoin(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    bool plain = !a.empty(), double_ok = true;
    for (char c : a) {
      plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-_./=:,@%+", c));
      double_ok = double_ok && !std::strchr("\"$`\\!", c);
    }
    std::string word;
    if (plain) {
      word = a;
    } else if (double_ok) {
      word = "\"" + a + "\"";
    } else {
      word = "'";
      for (char c : a) word += c == '\'' ? std::string("'\\''") : std::string(1, c);
      word += "'";
    }
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

// The removeOrphanFiles job whose cut-off is fixed, and the "now" it was computed from.
constexpr char kOrphanJobProperty[] = "converge.maintenance.removeOrphanFiles.job";
constexpr char kOrphanJobNowProperty[] = "converge.maintenance.removeOrphanFiles.job-started-ms";

bool ParseInt64(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

Result<LoadedTable> Reconciler::CommitChecked(
    const TableIdent& table, const json& request,
    const std::function<bool(const TableMetadata&)>& landed) {
  auto r = client_->Commit(table, request, RandomToken() + RandomToken());
  if (r.ok() || r.status().code() != Code::kUnknownOutcome) return r;
  // The commit may have landed: look before anything else.
  auto after = Load(table, /*fresh=*/true);
  if (!after.ok()) return r.status().Annotate("and reloading the table failed: " + after.status().message());
  auto md = ParseMetadata(after->metadata);
  if (md.ok() && landed(*md)) return *after;
  return Status(Code::kConflict, r.status().message() + "; reloaded: it did not land");
}

Status Reconciler::RunJob(const std::string& policy, const TablePolicy& p, Task task,
                          const LoadedTable& before, std::chrono::milliseconds timeout,
                          const std::function<Status()>& keep_lock) {
  const TableIdent& table = p.table;
  const std::string executor_name =
      task == Task::kCompact ? p.compaction->executor : p.remove_orphan_files->executor;
  auto specs = Specs();
  auto ex = specs->executors.find(executor_name);
  if (ex == specs->executors.end())
    return InvalidError(std::string(TaskName(task)) + ": no Executor named " + executor_name +
                        " is bound to this backend");
  auto spec = ParseExecutor(ex->second);
  if (!spec.ok()) return spec.status();
  converge::Reconciler* runner_backend = nullptr;
  if (spec->type == ExecutorSpec::Type::kYarn) {
    runner_backend = peer_ ? peer_(spec->backend) : nullptr;
    if (runner_backend == nullptr)
      return InvalidError(std::string(TaskName(task)) + ": Executor " + executor_name +
                          " names backend " + spec->backend + ", which is not configured");
  }
  auto md = ParseMetadata(before.metadata);
  if (!md.ok()) return md.status();
  const int64_t snapshot = md->current_snapshot_id.value_or(0);
  Job job;
  job.name = JobName(task, policy, md->current_snapshot_id, AttemptCount(*md, task));
  // The orphan cut-off is exact (now - olderThan, to the millisecond) and fixed once per job: the
  // "now" is kept in the table, for the job it belongs to, before the job starts. A start
  // repeated after a crash or a lost reply reads it back, builds the same application and finds
  // the first one.
  int64_t job_now = NowMs(clock_);
  if (task == Task::kRemoveOrphanFiles) {
    auto named = md->properties.find(kOrphanJobProperty);
    auto at = md->properties.find(kOrphanJobNowProperty);
    int64_t recorded = 0;
    if (named != md->properties.end() && named->second == job.name &&
        at != md->properties.end() && ParseInt64(at->second, &recorded)) {
      job_now = recorded;
    } else {
      json req = {{"requirements", {{{"type", "assert-table-uuid"}, {"uuid", md->table_uuid}}}},
                  {"updates",
                   {{{"action", "set-properties"},
                     {"updates",
                      {{kOrphanJobProperty, job.name},
                       {kOrphanJobNowProperty, std::to_string(job_now)}}}}}}};
      auto r = CommitChecked(table, req, [&](const TableMetadata& m) {
        auto it = m.properties.find(kOrphanJobNowProperty);
        return it != m.properties.end() && it->second == std::to_string(job_now);
      });
      if (!r.ok()) return r.status().Annotate("removeOrphanFiles: record the cut-off");
    }
  }
  const auto values = PlaceholderValues(p, *spec, task, job_now, snapshot, job.name);
  if (spec->timeout_ms && std::chrono::milliseconds(*spec->timeout_ms) < timeout)
    timeout = std::chrono::milliseconds(*spec->timeout_ms);
  std::unique_ptr<JobRunner> runner;
  if (spec->type == ExecutorSpec::Type::kCommand) {
    auto argv = ExpandCommand(spec->command, values);
    if (!argv.ok()) return argv.status();
    runner = options_.command_jobs->Runner(*argv, spec->env);
  } else {
    auto argv = ExpandCommand(YarnLaunchTemplate(*spec), values);
    if (!argv.ok()) return argv.status();
    json application = {
        {"application-type", "SPARK"},
        {"resource", {{"memory", spec->memory_bytes >> 20}, {"vCores", spec->vcores}}},
        {"am-container-spec", {{"commands", {{"command", ShellJoin(*argv)}}}}}};
    if (!spec->queue.empty()) application["queue"] = spec->queue;
    if (!spec->env.empty()) {
      json entries = json::array();
      for (const auto& [k, v] : spec->env) entries.push_back({{"key", k}, {"value", v}});
      application["am-container-spec"]["environment"] = {{"entry", entries}};
    }
    runner = NewYarnJobRunner(runner_backend, application);
  }
  CONVERGE_RETURN_IF_ERROR(runner->Start(job));
  const auto deadline = clock_.Now() + timeout;
  while (true) {
    auto st = runner->Poll(job);
    if (!st.ok() && st.status().terminal()) return st.status();
    if (st.ok() && st->phase == JobPhase::kFailed)
      return Status(Code::kUnavailable, std::string(TaskName(task)) + " failed: " + st->message);
    if (st.ok() && st->phase == JobPhase::kSucceeded) break;
    StopReason why = StopReason::kLockLost;
    Status waiting = keep_lock();
    if (waiting.ok() && clock_.Now() >= deadline) {
      why = StopReason::kTimeout;
      waiting = TimeoutError(std::string(TaskName(task)) + ": " + job.name +
                             " still running after " + std::to_string(timeout.count() / 1000) + "s");
    }
    if (waiting.ok() && !clock_.SleepUnless(options_.poll_interval, options_.cancel)) {
      why = StopReason::kCancelled;
      waiting = CancelledError(std::string(TaskName(task)) + ": cancelled while waiting for " +
                               job.name);
    }
    if (!waiting.ok()) {
      // Not waited for any more: stopped where the executor can; the runner says what became
      // of the job.
      auto stopped = runner->Stop(job, why);
      const std::string outcome =
          stopped.ok() ? *stopped
                       : "the job may still be running (" + stopped.status().message() + ")";
      return Status(waiting.code(), waiting.message() + "; " + outcome);
    }
  }
  if (task != Task::kCompact) return Status::Ok();
  // The job says it succeeded: a compaction must have left a `replace` snapshot on main.
  auto after = Load(table, /*fresh=*/true);
  if (!after.ok()) return after.status();
  auto now_md = ParseMetadata(after->metadata);
  if (!now_md.ok()) return now_md.status();
  if (now_md->current_snapshot_id)
    for (const Snapshot* s : now_md->Ancestry(*now_md->current_snapshot_id)) {
      if (md->current_snapshot_id && s->id == *md->current_snapshot_id) break;
      if (s->operation == "replace") return Status::Ok();
    }
  return Status(Code::kUnavailable, "compact: " + job.name +
                                        " succeeded, but no replace snapshot landed on main");
}

Status Reconciler::KeepLock(const TableIdent& table, std::string* token, int64_t* expires_at_ms) {
  const int64_t now = NowMs(clock_);
  if (now < *expires_at_ms - options_.lock_ttl_ms / 2) return Status::Ok();
  auto loaded = Load(table, /*fresh=*/true);
  if (!loaded.ok()) return Status::Ok();  // try again at the next poll; the TTL has half left
  auto md = ParseMetadata(loaded->metadata);
  if (!md.ok()) return md.status();
  LockState ours = ReadLock(*md, *token, now);
  const bool still_ours = ours.kind == LockState::Kind::kHeldByUs ||
                          (ours.kind == LockState::Kind::kExpired && ours.token == *token &&
                           ours.has_token_tag);
  if (!still_ours)
    return Status(Code::kConflict, "the lock on table " + table.Dotted() +
                                       " was lost while waiting (it is " + ours.Describe() +
                                       "): stopped waiting");
  LockRequest req{options_.owner, RandomToken(), now, options_.lock_ttl_ms};
  auto body = RenewCommit(*md, ours, req);
  if (!body.ok()) return body.status();
  auto r = CommitChecked(table, *body, [&](const TableMetadata& m) {
    return ReadLock(m, req.token, now).kind == LockState::Kind::kHeldByUs;
  });
  if (!r.ok()) {
    if (r.status().code() == Code::kConflict)
      return Status(Code::kConflict, "the lock on table " + table.Dotted() +
                                         " was lost while waiting (renewing it got a conflict): "
                                         "stopped waiting");
    return Status::Ok();  // unreachable catalog: the next poll tries again
  }
  *token = req.token;
  *expires_at_ms = now + options_.lock_ttl_ms;
  return Status::Ok();
}

Status Reconciler::Resume(const ResourceKey& key) {
  if (key.kind != kTablePolicyKind) return Status::Ok();
  auto specs = Specs();
  auto p = specs->policies.find(key.name);
  if (p == specs->policies.end())
    return NotFoundError("no spec for " + key.Display() + ": its table is not known");
  auto table = TableIdent::Parse(p->second["spec"].value("table", ""));
  if (!table.ok()) return table.status();
  auto loaded = Load(*table, /*fresh=*/true);
  if (!loaded.ok()) return loaded.status().Annotate("resume " + key.Display());
  auto md = ParseMetadata(loaded->metadata);
  if (!md.ok()) return md.status();
  json update = ResumeUpdate(*md);
  if (update.is_null()) return Status::Ok();
  json req = {{"requirements", {{{"type", "assert-table-uuid"}, {"uuid", md->table_uuid}}}},
              {"updates", {update}}};
  auto done = CommitChecked(*table, req, [](const TableMetadata& m) {
    return ResumeUpdate(m).is_null();
  });
  return done.status().Annotate("resume " + key.Display());
}

Status Reconciler::RunTasks(const std::string& policy, const json& desired,
                            const TableIdent& table, std::chrono::milliseconds timeout,
                            std::vector<std::string>* done) {
  auto parsed = PolicyOf(desired);
  if (!parsed.ok()) return parsed.status();
  const TablePolicy& p = *parsed;
  auto loaded = Load(table, /*fresh=*/true);
  if (!loaded.ok()) return loaded.status();
  auto md = ParseMetadata(loaded->metadata);
  if (!md.ok()) return md.status();
  // What fires now (the plan may be old): only that runs.
  auto exact = SmallFilesOf(options_.small_files.get(), *md, p, table.Dotted());
  Evaluation ev = EvaluateFacts(FactsInput{&*md, &p, clock_.WallNow(), exact ? &*exact : nullptr});
  if (ev.fired.empty()) {
    done->push_back("nothing fires any more");
    return Status::Ok();
  }
  std::string token;
  int64_t lock_expires_ms = 0;
  if (p.lock) {
    token = RandomToken();
    LockRequest req{options_.owner, token, NowMs(clock_), options_.lock_ttl_ms};
    LockState seen = ReadLock(*md, "", req.now_ms);
    if (seen.kind == LockState::Kind::kHeldByOther)
      return Status(Code::kConflict, "table " + table.Dotted() + " is locked: " + seen.Describe());
    Result<json> body = seen.kind == LockState::Kind::kExpired
                            ? BreakAndAcquireCommit(*md, seen, req, /*grace_ms=*/60000)
                            : AcquireCommit(*md, req);
    if (!body.ok()) return body.status().Annotate("lock table " + table.Dotted());
    auto locked = CommitChecked(table, *body, [&](const TableMetadata& m) {
      return ReadLock(m, token, req.now_ms).kind == LockState::Kind::kHeldByUs;
    });
    if (!locked.ok())
      return locked.status().code() == Code::kConflict
                 ? Status(Code::kConflict, "table " + table.Dotted() +
                                               " was locked by someone else meanwhile")
                 : locked.status().Annotate("lock table " + table.Dotted());
    auto lmd = ParseMetadata(locked->metadata);
    if (!lmd.ok()) return lmd.status();
    loaded = *locked;
    md = std::move(lmd);
    lock_expires_ms = req.now_ms + req.ttl_ms;
  }
  bool lock_lost = false;
  auto keep_lock = [&]() -> Status {
    if (!p.lock) return Status::Ok();
    Status st = KeepLock(table, &token, &lock_expires_ms);
    lock_lost = !st.ok();
    return st;
  };
  json records = json::array();
  Status failed;
  for (const TaskVerdict& v : ev.fired) {
    if (v.task == Task::kExpireSnapshots) {
      ExpireOptions eo{p.expire_snapshots->max_snapshot_age_ms, p.expire_snapshots->retain_last};
      ExpirePlan plan = PlanExpiry(*md, eo, NowMs(clock_));
      for (int attempt = 0; !plan.empty(); ++attempt) {
        json body = ExpireCommit(*md, plan);
        const auto removed = plan.RemoveIds();
        auto r = CommitChecked(table, body, [&](const TableMetadata& m) {
          for (int64_t id : removed)
            if (m.FindSnapshot(id) != nullptr) return false;
          return true;
        });
        if (!r.ok() && r.status().code() == Code::kConflict && attempt == 0) {
          // 409: a writer committed meanwhile and nothing changed; reload and plan again, once.
          auto again = Load(table, /*fresh=*/true);
          auto m = again.ok() ? ParseMetadata(again->metadata) : Result<TableMetadata>(again.status());
          if (m.ok()) {
            loaded = *again;
            md = std::move(m);
            plan = PlanExpiry(*md, eo, NowMs(clock_));
            continue;
          }
        }
        if (!r.ok()) {
          failed = r.status().Annotate("expireSnapshots");
          records.push_back(RecordFailureUpdate(*md, v.task, p.revision, failed.message()));
          break;
        }
        loaded = *r;
        if (auto m = ParseMetadata(r->metadata); m.ok()) md = std::move(m);
        break;
      }
      if (!failed.ok()) break;
      done->push_back("expireSnapshots: removed " + std::to_string(plan.remove.size()) +
                      " snapshots, kept " + std::to_string(plan.keep.size()));
    } else {
      Status st = RunJob(policy, p, v.task, *loaded, timeout, keep_lock);
      // A lost lock is someone else's maintenance now: nothing to release or record.
      if (lock_lost) return st;
      auto r = Load(table, /*fresh=*/true);
      if (!r.ok()) return st.ok() ? r.status() : st;
      loaded = *r;
      if (auto m = ParseMetadata(r->metadata); m.ok()) md = std::move(m);
      if (!st.ok()) {
        failed = st;
        // A cancelled wait (converge stopped) is not the task's failure.
        if (st.code() != Code::kCancelled)
          records.push_back(RecordFailureUpdate(*md, v.task, p.revision, st.message()));
        break;
      }
      done->push_back(std::string(TaskName(v.task)) + ": done");
    }
    records.push_back(RecordRunUpdate(*md, v.task, NowMs(clock_), md->current_snapshot_id));
  }
  // Release the lock and record what ran, in one commit.
  json release = p.lock ? ReleaseCommit(*md, ReadLock(*md, token, NowMs(clock_)))
                        : json{{"requirements", {{{"type", "assert-table-uuid"},
                                                  {"uuid", md->table_uuid}}}},
                               {"updates", json::array()}};
  for (const json& u : records) release["updates"].push_back(u);
  if (!release["updates"].empty()) {
    auto r = CommitChecked(table, release, [&](const TableMetadata& m) {
      return !p.lock || ReadLock(m, token, NowMs(clock_)).kind != LockState::Kind::kHeldByUs;
    });
    if (!r.ok() && failed.ok()) failed = r.status().Annotate("release the lock and record the runs");
  }
  return failed;
}

Status Reconciler::Apply(const ChangeRequest& change) {
  if (change.key.kind != kTablePolicyKind) return Status::Ok();  // Executors are configuration
  if (change.action != Action::kRun)
    return InvalidError("iceberg: a TablePolicy is never " + std::string(ActionName(change.action)) +
                        "d: the table is not converge's");
  auto table = TableIdent::Parse(change.desired["spec"].value("table", ""));
  if (!table.ok()) return table.status();
  std::chrono::milliseconds timeout =
      change.timeout.count() > 0 ? std::chrono::milliseconds(change.timeout) : options_.job_timeout;
  std::vector<std::string> done;
  Status st = RunTasks(change.key.name, change.desired, *table, timeout, &done);
  std::string summary;
  for (const auto& d : done) summary += (summary.empty() ? "" : "; ") + d;
  std::lock_guard<std::mutex> lock(mu_);
  last_result_[change.key.name] = summary.empty() ? "done" : summary;
  return st;
}

}  // namespace converge::iceberg
