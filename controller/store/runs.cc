// Runs and the per-change journal, and the recovery of runs a killed converge left behind.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "controller/store/database.h"
#include "controller/store/store.h"

namespace converge::store {
namespace {

// Column lists shared by the SELECTs below and the matching Read* functions.
#define CONVERGE_RUN_COLUMNS \
  "id, command, started_at, finished_at, status, git_commit, summary, pid"
#define CONVERGE_JOURNAL_COLUMNS \
  "id, run_id, key, action, backend, state, detail, updated_at, snapshot_id"

// ---------------------------------------------------------------------------------------------
// Process liveness, for RecoverInterrupted.

std::optional<std::chrono::system_clock::time_point> ParseIsoTime(const std::string& s) {
  int y, mo, d, h, mi, sec, ms = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &y, &mo, &d, &h, &mi, &sec, &ms) < 6) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::milliseconds(ms);
}

// When the process `pid` started (Linux /proc), and whether it is a zombie.
struct ProcInfo {
  std::chrono::system_clock::time_point started;
  bool zombie = false;
};

std::optional<ProcInfo> ReadProcInfo(int pid) {
  std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat_file, line)) return std::nullopt;
  size_t paren = line.rfind(')');  // the command name may contain spaces and parentheses
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(paren + 1));
  std::string state;
  fields >> state;  // field 3
  std::string skip;
  for (int field = 4; field < 22; ++field) fields >> skip;
  unsigned long long start_ticks = 0;  // field 22: start time in clock ticks since boot
  if (!(fields >> start_ticks)) return std::nullopt;

  std::ifstream proc_stat("/proc/stat");
  long long boot_time = -1;
  while (std::getline(proc_stat, line)) {
    if (line.rfind("btime ", 0) == 0) boot_time = std::stoll(line.substr(6));
  }
  long ticks = sysconf(_SC_CLK_TCK);
  if (boot_time < 0 || ticks <= 0) return std::nullopt;
  ProcInfo info;
  info.started = std::chrono::system_clock::from_time_t(boot_time) +
                 std::chrono::milliseconds(start_ticks * 1000 / ticks);
  info.zombie = state == "Z";
  return info;
}

// Whether the process that began a run at `started_at` is gone. A pid that now belongs to
// another user's process, or to a process started after the run began (pid reuse), is not ours.
bool RunProcessGone(int pid, const std::string& started_at) {
  if (pid == getpid()) return false;
  if (pid <= 0) return true;
  if (kill(pid, 0) != 0) return true;  // ESRCH: gone; EPERM: someone else's process
  auto info = ReadProcInfo(pid);
  if (!info) return false;  // no /proc: trust kill()
  if (info->zombie) return true;
  auto started = ParseIsoTime(started_at);
  // Slack for the coarse /proc clock and the time between process start and BeginRun.
  return started && info->started > *started + std::chrono::seconds(2);
}

RunRecord ReadRun(const Stmt& s) {
  RunRecord r;
  r.id = s.Int(0);
  r.command = s.Text(1);
  r.started_at = s.Text(2);
  r.finished_at = s.Text(3);
  r.status = s.Text(4);
  r.git_commit = s.Text(5);
  r.summary = s.Text(6);
  r.pid = static_cast<int>(s.Int(7));
  return r;
}

JournalEntry ReadJournal(const Stmt& s) {
  JournalEntry e;
  e.id = s.Int(0);
  e.run_id = s.Int(1);
  e.key = s.Text(2);
  e.action = s.Text(3);
  e.backend = s.Text(4);
  e.state = ParseJournalState(s.Text(5)).value_or(JournalState::kFailed);
  e.detail = s.Text(6);
  e.updated_at = s.Text(7);
  e.snapshot_id = s.Int(8);
  return e;
}

bool IsRunFinalStatus(const std::string& s) {
  return s == "succeeded" || s == "failed" || s == "interrupted";
}

}  // namespace

const char* JournalStateName(JournalState state) {
  switch (state) {
    case JournalState::kIntent:
      return "intent";
    case JournalState::kInProgress:
      return "in_progress";
    case JournalState::kDone:
      return "done";
    case JournalState::kFailed:
      return "failed";
    case JournalState::kRolledBack:
      return "rolled_back";
    case JournalState::kInterrupted:
      return "interrupted";
  }
  return "unknown";
}

std::optional<JournalState> ParseJournalState(std::string_view name) {
  for (JournalState s :
       {JournalState::kIntent, JournalState::kInProgress, JournalState::kDone,
        JournalState::kFailed, JournalState::kRolledBack, JournalState::kInterrupted}) {
    if (name == JournalStateName(s)) return s;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Runs

Result<int64_t> Store::BeginRun(const std::string& command, const std::string& git_commit) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare(
      "INSERT INTO runs (command, started_at, status, git_commit, pid) "
      "VALUES (?1, ?2, 'running', ?3, ?4)");
  if (!s.ok()) return s.status();
  CONVERGE_RETURN_IF_ERROR(
      s->Bind(1, command).Bind(2, Now()).Bind(3, git_commit).Bind(4, int64_t{getpid()}).Run());
  return db_->LastId();
}

Status Store::FinishRun(int64_t run, const std::string& status, const std::string& summary) {
  if (!IsRunFinalStatus(status)) return InvalidError("invalid run status '" + status + "'");
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s =
      db_->Prepare("UPDATE runs SET status = ?2, summary = ?3, finished_at = ?4 WHERE id = ?1");
  if (!s.ok()) return s.status();
  CONVERGE_RETURN_IF_ERROR(s->Bind(1, run).Bind(2, status).Bind(3, summary).Bind(4, Now()).Run());
  if (db_->Changes() == 0) return NotFoundError("run " + std::to_string(run) + " not found");
  return Status::Ok();
}

Result<std::vector<RunRecord>> Store::Runs(int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s =
      db_->Prepare("SELECT " CONVERGE_RUN_COLUMNS " FROM runs ORDER BY id DESC LIMIT ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, SqlLimit(limit));
  return Collect<RunRecord>(*s, ReadRun);
}

Result<std::optional<RunRecord>> Store::GetRun(int64_t run) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("SELECT " CONVERGE_RUN_COLUMNS " FROM runs WHERE id = ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, run);
  return CollectOne<RunRecord>(*s, ReadRun);
}

Result<std::vector<JournalEntry>> Store::RecoverInterrupted() {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_.get());
  CONVERGE_RETURN_IF_ERROR(tx.Begin());

  std::vector<RunRecord> dead;
  {
    Result<Stmt> s = db_->Prepare("SELECT " CONVERGE_RUN_COLUMNS
                                  " FROM runs WHERE status = 'running' ORDER BY id");
    if (!s.ok()) return s.status();
    Result<std::vector<RunRecord>> running = Collect<RunRecord>(*s, ReadRun);
    if (!running.ok()) return running.status();
    for (RunRecord& r : *running) {
      if (RunProcessGone(r.pid, r.started_at)) dead.push_back(std::move(r));
    }
  }

  std::vector<JournalEntry> recovered;
  const std::string now = Now();
  for (const RunRecord& run : dead) {
    Result<Stmt> mark = db_->Prepare(
        "UPDATE runs SET status = 'interrupted', finished_at = ?2, summary = ?3 WHERE id = ?1");
    if (!mark.ok()) return mark.status();
    std::string summary = "interrupted: process " + std::to_string(run.pid) +
                          " exited without finishing" +
                          (run.summary.empty() ? "" : " (" + run.summary + ")");
    CONVERGE_RETURN_IF_ERROR(mark->Bind(1, run.id).Bind(2, now).Bind(3, summary).Run());

    Result<Stmt> q = db_->Prepare("SELECT " CONVERGE_JOURNAL_COLUMNS
                                  " FROM journal WHERE run_id = ?1 AND state IN "
                                  "('intent', 'in_progress') ORDER BY id");
    if (!q.ok()) return q.status();
    q->Bind(1, run.id);
    Result<std::vector<JournalEntry>> open = Collect<JournalEntry>(*q, ReadJournal);
    if (!open.ok()) return open.status();
    for (JournalEntry& e : *open) {
      e.detail = std::string("interrupted while ") + JournalStateName(e.state) +
                 (e.detail.empty() ? "" : ": " + e.detail);
      e.state = JournalState::kInterrupted;
      e.updated_at = now;
      Result<Stmt> u = db_->Prepare(
          "UPDATE journal SET state = 'interrupted', detail = ?2, updated_at = ?3 WHERE id = ?1");
      if (!u.ok()) return u.status();
      CONVERGE_RETURN_IF_ERROR(u->Bind(1, e.id).Bind(2, e.detail).Bind(3, now).Run());
      recovered.push_back(std::move(e));
    }
  }
  CONVERGE_RETURN_IF_ERROR(tx.Commit());
  return recovered;
}

Result<int64_t> Store::JournalIntent(int64_t run, const std::string& key,
                                     const std::string& backend, const std::string& action) {
  if (key.empty()) return InvalidError("journal entry without a key");
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare(
      "INSERT INTO journal (run_id, key, action, backend, state, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, 'intent', ?5)");
  if (!s.ok()) return s.status();
  Status st = s->Bind(1, run).Bind(2, key).Bind(3, action).Bind(4, backend).Bind(5, Now()).Run();
  if (st.code() == Code::kNotFound)
    return NotFoundError("run " + std::to_string(run) + " not found");
  CONVERGE_RETURN_IF_ERROR(st);
  return db_->LastId();
}

Status Store::JournalUpdate(int64_t entry, JournalState state, const std::string& detail,
                            int64_t snapshot_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare(
      "UPDATE journal SET state = ?2, detail = ?3, updated_at = ?4, "
      "snapshot_id = CASE WHEN ?5 = 0 THEN snapshot_id ELSE ?5 END WHERE id = ?1");
  if (!s.ok()) return s.status();
  CONVERGE_RETURN_IF_ERROR(s->Bind(1, entry)
                               .Bind(2, JournalStateName(state))
                               .Bind(3, detail)
                               .Bind(4, Now())
                               .Bind(5, snapshot_id)
                               .Run());
  if (db_->Changes() == 0) {
    return NotFoundError("journal entry " + std::to_string(entry) + " not found");
  }
  return Status::Ok();
}

Result<std::vector<JournalEntry>> Store::Journal(int64_t run) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("SELECT " CONVERGE_JOURNAL_COLUMNS
                                " FROM journal WHERE run_id = ?1 ORDER BY id");
  if (!s.ok()) return s.status();
  s->Bind(1, run);
  return Collect<JournalEntry>(*s, ReadJournal);
}

Result<std::vector<JournalEntry>> Store::History(const std::string& key, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = key.empty()
                       ? db_->Prepare("SELECT " CONVERGE_JOURNAL_COLUMNS
                                      " FROM journal ORDER BY id DESC LIMIT ?2")
                       : db_->Prepare("SELECT " CONVERGE_JOURNAL_COLUMNS
                                      " FROM journal WHERE key = ?1 ORDER BY id DESC LIMIT ?2");
  if (!s.ok()) return s.status();
  if (!key.empty()) s->Bind(1, key);
  s->Bind(2, SqlLimit(limit));
  return Collect<JournalEntry>(*s, ReadJournal);
}

#undef CONVERGE_RUN_COLUMNS
#undef CONVERGE_JOURNAL_COLUMNS

}  // namespace converge::store
