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
std::string JobName(Task task, const std::string& policy, std::optional<int64_t> main) {
  std::string out = std::string("iceberg-") + (task == Task::kCompact ? "compact" : "orphans") + "-";
  for (char c : policy) out += std::isalnum(static_cast<unsigned char>(c)) ? char(std::tolower(c)) : '-';
  char snap[24];
  std::snprintf(snap, sizeof snap, "-%llx", static_cast<unsigned long long>(main.value_or(0)));
  return out + snap;
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
                          const LoadedTable& before, std::chrono::milliseconds timeout) {
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
  if (spec->type != ExecutorSpec::Type::kYarn)
    return InvalidError(std::string(TaskName(task)) + ": Executor " + executor_name +
                        " is of type command, which this converge does not run yet");
  converge::Reconciler* runner_backend = peer_ ? peer_(spec->backend) : nullptr;
  if (runner_backend == nullptr)
    return InvalidError(std::string(TaskName(task)) + ": Executor " + executor_name +
                        " names backend " + spec->backend + ", which is not configured");
  auto md = ParseMetadata(before.metadata);
  if (!md.ok()) return md.status();
  const int64_t snapshot = md->current_snapshot_id.value_or(0);
  Job job;
  job.name = JobName(task, policy, md->current_snapshot_id);
  // The orphan cut-off is taken on the hour, so that a start repeated within it (a crash, a lost
  // reply) submits the same application and finds the first one.
  const int64_t hour = 3600 * 1000;
  auto argv = ExpandCommand(YarnLaunchTemplate(*spec),
                            PlaceholderValues(p, *spec, task, NowMs(clock_) / hour * hour, snapshot));
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
  if (spec->timeout_ms && std::chrono::milliseconds(*spec->timeout_ms) < timeout)
    timeout = std::chrono::milliseconds(*spec->timeout_ms);
  auto runner = NewYarnJobRunner(runner_backend, application);
  CONVERGE_RETURN_IF_ERROR(runner->Start(job));
  const auto deadline = clock_.Now() + timeout;
  while (true) {
    auto st = runner->Poll(job);
    if (!st.ok() && st.status().terminal()) return st.status();
    if (st.ok() && st->phase == JobPhase::kFailed)
      return Status(Code::kUnavailable, std::string(TaskName(task)) + " failed: " + st->message);
    if (st.ok() && st->phase == JobPhase::kSucceeded) break;
    if (clock_.Now() >= deadline)
      return TimeoutError(std::string(TaskName(task)) + ": " + job.name + " still running after " +
                          std::to_string(timeout.count() / 1000) + "s");
    if (!clock_.SleepUnless(options_.poll_interval, options_.cancel))
      return CancelledError(std::string(TaskName(task)) + ": cancelled while waiting for " + job.name);
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
  }
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
      Status st = RunJob(policy, p, v.task, *loaded, timeout);
      if (!st.ok()) {
        failed = st;
        break;
      }
      auto r = Load(table, /*fresh=*/true);
      if (!r.ok()) return r.status();
      loaded = *r;
      if (auto m = ParseMetadata(r->metadata); m.ok()) md = std::move(m);
      done->push_back(std::string(TaskName(v.task)) + ": done");
    }
    records.push_back(RecordRunUpdate(v.task, NowMs(clock_), md->current_snapshot_id));
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
