#include "controller/store/store.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <type_traits>
#include <unordered_map>

#include "specs/base/clock.h"

namespace converge::store {
namespace {

// ---------------------------------------------------------------------------------------------
// Schema. kMigrations[i] moves the schema from version i to i+1 (PRAGMA user_version). Never
// edit a released migration: append a new one.

const char* const kMigrations[] = {
    // 0 -> 1: initial schema.
    R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  command TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
  git_commit TEXT NOT NULL DEFAULT '',
  summary TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL
) STRICT;
CREATE INDEX runs_by_status ON runs (status);

CREATE TABLE journal (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL REFERENCES runs (id),
  key TEXT NOT NULL,
  action TEXT NOT NULL,
  backend TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('intent', 'in_progress', 'done', 'failed', 'rolled_back',
                                       'interrupted')),
  detail TEXT NOT NULL DEFAULT '',
  updated_at TEXT NOT NULL,
  snapshot_id INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX journal_by_run ON journal (run_id, id);
CREATE INDEX journal_by_key ON journal (key, id);

-- doc is NULL when the object did not exist when the snapshot was taken.
CREATE TABLE snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL,
  backend TEXT NOT NULL,
  doc TEXT,
  spec_revision TEXT NOT NULL DEFAULT '',
  git_commit TEXT NOT NULL DEFAULT '',
  taken_at TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  run_id INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX snapshots_by_key ON snapshots (key, id);
CREATE INDEX snapshots_by_run ON snapshots (run_id, id);

CREATE TABLE last_applied (
  key TEXT PRIMARY KEY,
  backend TEXT NOT NULL,
  doc TEXT,
  spec_revision TEXT NOT NULL DEFAULT '',
  applied_at TEXT NOT NULL,
  run_id INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE holds (
  key TEXT PRIMARY KEY,
  spec_revision TEXT NOT NULL DEFAULT '',
  snapshot_id INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
) STRICT;
)sql",
};
constexpr int kSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

// Column lists shared by the SELECTs below and the matching Read* functions.
#define CONVERGE_RUN_COLUMNS \
  "id, command, started_at, finished_at, status, git_commit, summary, pid"
#define CONVERGE_JOURNAL_COLUMNS \
  "id, run_id, key, action, backend, state, detail, updated_at, snapshot_id"
#define CONVERGE_SNAPSHOT_COLUMNS \
  "id, key, backend, doc, spec_revision, git_commit, taken_at, reason, run_id"
#define CONVERGE_LAST_APPLIED_COLUMNS "key, backend, doc, spec_revision, applied_at, run_id"
#define CONVERGE_HOLD_COLUMNS "key, spec_revision, snapshot_id, reason, created_at"

std::string Now() {
  return FormatIsoTime(std::chrono::system_clock::now());
}

std::string OrNow(const std::string& t) {
  return t.empty() ? Now() : t;
}

Status SqliteStatus(sqlite3* db, int rc, const std::string& what) {
  // The connection's message is more specific ("UNIQUE constraint failed: ...") when it is about
  // this error.
  bool specific = db != nullptr && sqlite3_extended_errcode(db) == rc;
  std::string message =
      "state store: " + what + ": " + (specific ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return UnavailableError(message);
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return NotFoundError(message);
      return InvalidError(message);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return Status(Code::kPermission, message);
    default:
      return InternalError(message);
  }
}

Status ErrnoStatus(const std::string& what, int err) {
  std::string message = what + ": " + std::strerror(err);
  if (err == EACCES || err == EPERM) return Status(Code::kPermission, message);
  return InternalError(message);
}

// Creates `dir` (and its parents) if missing; the directory itself gets mode 0700 because
// snapshots may hold secrets (environment variables of apps).
Status EnsureDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::path(dir).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "state/" names "state"
  if (std::filesystem::is_directory(p, ec)) return Status::Ok();
  if (!p.parent_path().empty()) {
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) return InternalError("cannot create " + p.parent_path().string() + ": " + ec.message());
  }
  if (mkdir(p.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus("cannot create directory " + dir, errno);
  }
  if (!std::filesystem::is_directory(p, ec)) return InvalidError(dir + " is not a directory");
  return Status::Ok();
}

std::string DumpJson(const json& doc, int indent = -1) {
  // Replace invalid UTF-8 instead of throwing: no exceptions leave this module.
  return doc.dump(indent, ' ', false, json::error_handler_t::replace);
}

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

// ---------------------------------------------------------------------------------------------
// A statement borrowed from the cache; reset and unbound when it goes out of scope. Bind errors
// are remembered and reported by the first Step.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_), bind_rc_(o.bind_rc_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt() {
    if (s_ != nullptr) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }

  Stmt& Bind(int i, int64_t v) { return Check(sqlite3_bind_int64(s_, i, v)); }
  Stmt& Bind(int i, const std::string& v) {
    return Check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string(v)); }
  // A null document is stored as SQL NULL.
  Stmt& BindJson(int i, const json& doc) {
    if (doc.is_null()) return Check(sqlite3_bind_null(s_, i));
    return Bind(i, DumpJson(doc));
  }

  // True when a row is available, false when done.
  Result<bool> Step() {
    if (bind_rc_ != SQLITE_OK) return SqliteStatus(db_, bind_rc_, "bind");
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteStatus(db_, rc, sqlite3_sql(s_));
  }
  // Runs a statement that returns no rows.
  Status Run() {
    Result<bool> r = Step();
    return r.ok() ? Status::Ok() : r.status();
  }

  int64_t Int(int c) const { return sqlite3_column_int64(s_, c); }
  std::string Text(int c) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(s_, c));
  }
  Result<json> Json(int c) const {
    if (sqlite3_column_type(s_, c) == SQLITE_NULL) return json(nullptr);
    json doc = json::parse(Text(c), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return InternalError("state store: corrupt JSON document");
    return doc;
  }

 private:
  Stmt& Check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
  }
  sqlite3* db_;
  sqlite3_stmt* s_;
  int bind_rc_ = SQLITE_OK;
};

}  // namespace

// The connection and its prepared-statement cache. Used only under Store::mu_.
class Database {
 public:
  explicit Database(sqlite3* db) : db_(db) {}
  ~Database() {
    for (auto& [sql, s] : cache_) sqlite3_finalize(s);
    sqlite3_close_v2(db_);
  }

  Result<Stmt> Prepare(const char* sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* s = nullptr;
      int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
      if (rc != SQLITE_OK) return SqliteStatus(db_, rc, std::string("prepare ") + sql);
      it = cache_.emplace(sql, s).first;
    } else if (sqlite3_stmt_busy(it->second)) {
      // The same cached statement borrowed twice at once would corrupt both uses.
      return InternalError(std::string("state store: statement already in use: ") + sql);
    }
    return Stmt(db_, it->second);
  }

  // For fixed SQL without parameters (pragmas, migrations, transaction control).
  Status Exec(const std::string& sql) {
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::Ok() : SqliteStatus(db_, rc, sql.substr(0, 60));
  }

  int64_t Changes() const { return sqlite3_changes64(db_); }
  int64_t LastId() const { return sqlite3_last_insert_rowid(db_); }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

namespace {

// BEGIN IMMEDIATE ... COMMIT; rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(Database* db) : db_(db) {}
  ~Transaction() {
    if (begun_ && !committed_) (void)db_->Exec("ROLLBACK");
  }
  Status Begin() {
    CONVERGE_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
    begun_ = true;
    return Status::Ok();
  }
  Status Commit() {
    CONVERGE_RETURN_IF_ERROR(db_->Exec("COMMIT"));
    committed_ = true;
    return Status::Ok();
  }

 private:
  Database* db_;
  bool begun_ = false, committed_ = false;
};

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

Result<Snapshot> ReadSnapshot(const Stmt& s) {
  Snapshot snap;
  snap.id = s.Int(0);
  snap.key = s.Text(1);
  snap.backend = s.Text(2);
  Result<json> doc = s.Json(3);
  if (!doc.ok()) return doc.status().Annotate("snapshot " + std::to_string(snap.id));
  snap.doc = std::move(doc).value();
  snap.spec_revision = s.Text(4);
  snap.git_commit = s.Text(5);
  snap.taken_at = s.Text(6);
  snap.reason = s.Text(7);
  snap.run_id = s.Int(8);
  return snap;
}

Result<LastApplied> ReadLastApplied(const Stmt& s) {
  LastApplied la;
  la.key = s.Text(0);
  la.backend = s.Text(1);
  Result<json> doc = s.Json(2);
  if (!doc.ok()) return doc.status().Annotate("last applied " + la.key);
  la.doc = std::move(doc).value();
  la.spec_revision = s.Text(3);
  la.applied_at = s.Text(4);
  la.run_id = s.Int(5);
  return la;
}

Hold ReadHold(const Stmt& s) {
  Hold h;
  h.key = s.Text(0);
  h.spec_revision = s.Text(1);
  h.snapshot_id = s.Int(2);
  h.reason = s.Text(3);
  h.created_at = s.Text(4);
  return h;
}

// Steps through every row of `s`, appending read(s) to `out`.
template <typename T, typename Reader>
Status CollectRows(Stmt& s, Reader read, std::vector<T>* out) {
  for (;;) {
    Result<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    if constexpr (std::is_same_v<decltype(read(s)), T>) {
      out->push_back(read(s));
    } else {
      auto item = read(s);
      if (!item.ok()) return item.status();
      out->push_back(std::move(item).value());
    }
  }
}

template <typename T, typename Reader>
Result<std::vector<T>> Collect(Stmt& s, Reader read) {
  std::vector<T> out;
  CONVERGE_RETURN_IF_ERROR(CollectRows(s, read, &out));
  return out;
}

// The first row, if any.
template <typename T, typename Reader>
Result<std::optional<T>> CollectOne(Stmt& s, Reader read) {
  Result<std::vector<T>> rows = Collect<T>(s, read);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<T>();
  return std::optional<T>(std::move(rows->front()));
}

int64_t SqlLimit(int limit) {
  return limit <= 0 ? -1 : limit;
}  // LIMIT -1: no limit

Result<int> UserVersion(Database* db) {
  Result<Stmt> q = db->Prepare("PRAGMA user_version");
  if (!q.ok()) return q.status();
  Result<bool> row = q->Step();
  if (!row.ok()) return row.status();
  return *row ? static_cast<int>(q->Int(0)) : 0;
}

// Runs migrations one at a time, each in its own write transaction, re-reading the version under
// the lock so two processes opening a fresh directory do not both migrate.
Status Migrate(Database* db) {
  for (;;) {
    Transaction tx(db);
    CONVERGE_RETURN_IF_ERROR(tx.Begin());
    Result<int> current = UserVersion(db);
    if (!current.ok()) return current.status();
    int version = *current;
    if (version > kSchemaVersion) {
      return InternalError("state.db has schema version " + std::to_string(version) +
                           ", newer than this converge understands (" +
                           std::to_string(kSchemaVersion) + "); use a newer converge");
    }
    if (version == kSchemaVersion) return tx.Commit();
    CONVERGE_RETURN_IF_ERROR(db->Exec(kMigrations[version]));
    // PRAGMA takes no bound parameters; the value is our own integer.
    CONVERGE_RETURN_IF_ERROR(db->Exec("PRAGMA user_version = " + std::to_string(version + 1)));
    CONVERGE_RETURN_IF_ERROR(tx.Commit());
  }
}

Status Configure(Database* db) {
  // WAL lets readers (status, history) run while a writer applies; FULL makes every commit
  // durable, so a snapshot is on disk before the backend call it protects.
  Result<Stmt> wal = db->Prepare("PRAGMA journal_mode = WAL");
  if (!wal.ok()) return wal.status();
  Result<bool> row = wal->Step();
  if (!row.ok()) return row.status();
  if (!*row || wal->Text(0) != "wal") {
    return InternalError("state store: cannot enable WAL journal mode");
  }
  // NORMAL in WAL mode: every commit survives a crash of this process (kill -9); only the
  // snapshot insert, which must be on disk before the backend call (DESIGN §5.5), is committed
  // with FULL so it also survives power loss (and carries earlier commits with it).
  CONVERGE_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous = NORMAL"));
  return db->Exec("PRAGMA foreign_keys = ON");
}

bool IsRunFinalStatus(const std::string& s) {
  return s == "succeeded" || s == "failed" || s == "interrupted";
}

// A file name for a snapshot export: the id, then the key with anything but [A-Za-z0-9._-]
// replaced by '_'.
std::string ExportFileName(const Snapshot& s) {
  std::string name = std::to_string(s.id) + "-";
  for (char c : s.key) {
    bool safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
    name += safe ? c : '_';
  }
  return name + ".json";
}

json SnapshotToJson(const Snapshot& s) {
  return json{{"id", s.id},
              {"key", s.key},
              {"backend", s.backend},
              {"doc", s.doc},
              {"spec_revision", s.spec_revision},
              {"git_commit", s.git_commit},
              {"taken_at", s.taken_at},
              {"reason", s.reason},
              {"run_id", s.run_id}};
}

// Writes `content` to `path` with mode 0600 (snapshots may contain secrets).
Status WritePrivateFile(const std::string& path, const std::string& content) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot write " + path, errno);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return ErrnoStatus("cannot write " + path, err);
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0) return ErrnoStatus("cannot write " + path, errno);
  return Status::Ok();
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
// Store

Store::Store(std::string path, std::unique_ptr<Database> db)
    : path_(std::move(path)), db_(std::move(db)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const std::string& state_dir) {
  CONVERGE_RETURN_IF_ERROR(EnsureDir(state_dir));
  std::string path = state_dir + "/state.db";
  bool existed = access(path.c_str(), F_OK) == 0;
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  auto db = std::make_unique<Database>(raw);  // closes `raw` on every path, even a failed open
  if (rc != SQLITE_OK) return SqliteStatus(raw, rc, "open " + path);
  if (!existed) chmod(path.c_str(), 0600);  // before any WAL file copies its mode
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 10000);
  CONVERGE_RETURN_IF_ERROR(Configure(db.get()).Annotate(path));
  CONVERGE_RETURN_IF_ERROR(Migrate(db.get()).Annotate(path));
  return std::unique_ptr<Store>(new Store(path, std::move(db)));
}

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

Result<int64_t> Store::SaveSnapshot(const Snapshot& snap) {
  if (snap.key.empty()) return InvalidError("snapshot without a key");
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare(
      "INSERT INTO snapshots (key, backend, doc, spec_revision, git_commit, taken_at, reason, "
      "run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!s.ok()) return s.status();
  // An autocommit INSERT: with synchronous=FULL the WAL is fsynced before sqlite3_step returns.
  CONVERGE_RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous = FULL"));
  struct RestoreNormal {
    Database* db;
    ~RestoreNormal() { (void)db->Exec("PRAGMA synchronous = NORMAL"); }
  } restore{db_.get()};
  CONVERGE_RETURN_IF_ERROR(s->Bind(1, snap.key)
                               .Bind(2, snap.backend)
                               .BindJson(3, snap.doc)
                               .Bind(4, snap.spec_revision)
                               .Bind(5, snap.git_commit)
                               .Bind(6, OrNow(snap.taken_at))
                               .Bind(7, snap.reason)
                               .Bind(8, snap.run_id)
                               .Run());
  return db_->LastId();
}

Result<std::vector<Snapshot>> Store::Snapshots(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("SELECT " CONVERGE_SNAPSHOT_COLUMNS
                                " FROM snapshots WHERE key = ?1 ORDER BY id DESC");
  if (!s.ok()) return s.status();
  s->Bind(1, key);
  return Collect<Snapshot>(*s, ReadSnapshot);
}

Result<std::optional<Snapshot>> Store::GetSnapshot(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s =
      db_->Prepare("SELECT " CONVERGE_SNAPSHOT_COLUMNS " FROM snapshots WHERE id = ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, id);
  return CollectOne<Snapshot>(*s, ReadSnapshot);
}

Result<std::vector<Snapshot>> Store::SnapshotsOfRun(int64_t run) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("SELECT " CONVERGE_SNAPSHOT_COLUMNS
                                " FROM snapshots WHERE run_id = ?1 ORDER BY id");
  if (!s.ok()) return s.status();
  s->Bind(1, run);
  return Collect<Snapshot>(*s, ReadSnapshot);
}

Status Store::PruneSnapshots(const std::string& key, int keep) {
  if (keep < 0) return InvalidError("snapshot retention must be >= 0");
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s =
      key.empty() ? db_->Prepare(
                        "DELETE FROM snapshots WHERE id IN ("
                        "  SELECT id FROM (SELECT id, ROW_NUMBER() OVER ("
                        "    PARTITION BY key ORDER BY id DESC) AS n FROM snapshots) WHERE n > ?2)"
                        " AND id NOT IN (SELECT snapshot_id FROM holds)")
                  : db_->Prepare(
                        "DELETE FROM snapshots WHERE key = ?1 AND id NOT IN ("
                        "  SELECT id FROM snapshots WHERE key = ?1 ORDER BY id DESC LIMIT ?2)"
                        " AND id NOT IN (SELECT snapshot_id FROM holds)");
  if (!s.ok()) return s.status();
  if (!key.empty()) s->Bind(1, key);
  return s->Bind(2, int64_t{keep}).Run();
}

Status Store::SetLastApplied(const LastApplied& la) {
  if (la.key.empty()) return InvalidError("last applied document without a key");
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s =
      db_->Prepare("INSERT OR REPLACE INTO last_applied (" CONVERGE_LAST_APPLIED_COLUMNS
                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!s.ok()) return s.status();
  return s->Bind(1, la.key)
      .Bind(2, la.backend)
      .BindJson(3, la.doc)
      .Bind(4, la.spec_revision)
      .Bind(5, OrNow(la.applied_at))
      .Bind(6, la.run_id)
      .Run();
}

Status Store::DeleteLastApplied(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("DELETE FROM last_applied WHERE key = ?1");
  if (!s.ok()) return s.status();
  return s->Bind(1, key).Run();
}

Result<std::optional<LastApplied>> Store::GetLastApplied(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s =
      db_->Prepare("SELECT " CONVERGE_LAST_APPLIED_COLUMNS " FROM last_applied WHERE key = ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, key);
  return CollectOne<LastApplied>(*s, ReadLastApplied);
}

Result<std::map<std::string, LastApplied>> Store::AllLastApplied() {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("SELECT " CONVERGE_LAST_APPLIED_COLUMNS " FROM last_applied");
  if (!s.ok()) return s.status();
  Result<std::vector<LastApplied>> rows = Collect<LastApplied>(*s, ReadLastApplied);
  if (!rows.ok()) return rows.status();
  std::map<std::string, LastApplied> out;
  for (LastApplied& la : *rows) out.emplace(la.key, std::move(la));
  return out;
}

Status Store::PutHold(const Hold& h) {
  if (h.key.empty()) return InvalidError("hold without a key");
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("INSERT OR REPLACE INTO holds (" CONVERGE_HOLD_COLUMNS
                                ") VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!s.ok()) return s.status();
  return s->Bind(1, h.key)
      .Bind(2, h.spec_revision)
      .Bind(3, h.snapshot_id)
      .Bind(4, h.reason)
      .Bind(5, OrNow(h.created_at))
      .Run();
}

Status Store::ReleaseHold(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("DELETE FROM holds WHERE key = ?1");
  if (!s.ok()) return s.status();
  return s->Bind(1, key).Run();
}

Result<std::optional<Hold>> Store::GetHold(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("SELECT " CONVERGE_HOLD_COLUMNS " FROM holds WHERE key = ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, key);
  return CollectOne<Hold>(*s, ReadHold);
}

Result<std::map<std::string, Hold>> Store::AllHolds() {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("SELECT " CONVERGE_HOLD_COLUMNS " FROM holds");
  if (!s.ok()) return s.status();
  Result<std::vector<Hold>> rows = Collect<Hold>(*s, ReadHold);
  if (!rows.ok()) return rows.status();
  std::map<std::string, Hold> out;
  for (Hold& h : *rows) out.emplace(h.key, std::move(h));
  return out;
}

Status Store::ExportSnapshots(const std::string& key, const std::string& out_dir) {
  Result<std::vector<Snapshot>> snaps = std::vector<Snapshot>();
  if (key.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    Result<Stmt> s =
        db_->Prepare("SELECT " CONVERGE_SNAPSHOT_COLUMNS " FROM snapshots ORDER BY id");
    if (!s.ok()) return s.status();
    snaps = Collect<Snapshot>(*s, ReadSnapshot);
  } else {
    snaps = Snapshots(key);
  }
  if (!snaps.ok()) return snaps.status();
  CONVERGE_RETURN_IF_ERROR(EnsureDir(out_dir));
  for (const Snapshot& snap : *snaps) {
    CONVERGE_RETURN_IF_ERROR(WritePrivateFile(out_dir + "/" + ExportFileName(snap),
                                              DumpJson(SnapshotToJson(snap), 2) + "\n"));
  }
  return Status::Ok();
}

#undef CONVERGE_RUN_COLUMNS
#undef CONVERGE_JOURNAL_COLUMNS
#undef CONVERGE_SNAPSHOT_COLUMNS
#undef CONVERGE_LAST_APPLIED_COLUMNS
#undef CONVERGE_HOLD_COLUMNS

// ---------------------------------------------------------------------------------------------
// StateLock

namespace {

std::string ReadFd(int fd) {
  std::string out;
  char buf[512];
  off_t offset = 0;
  for (;;) {
    ssize_t n = pread(fd, buf, sizeof buf, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
    offset += n;
    if (out.size() > 4096) return out;  // a holder line is short; do not read a huge file
  }
}

std::string HostName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "unknown";
  return host;
}

// Value of "name=" in the holder line "pid=.. host=.. since=.. command=..". The command comes
// last and runs to the end of the line, so it may contain spaces (and even "pid=").
std::string HolderField(const std::string& line, const std::string& name) {
  size_t command_at = line.find(" command=");
  std::string needle = name + "=";
  size_t at;
  if (name == "command") {
    at = command_at == std::string::npos ? std::string::npos : command_at + 1;
  } else {
    std::string head = line.substr(0, command_at);
    at = head.rfind(needle, 0) == 0 ? 0 : head.find(" " + needle);
    if (at != std::string::npos && at != 0) ++at;
  }
  if (at == std::string::npos) return "";
  size_t begin = at + needle.size();
  size_t end = name == "command" ? line.find('\n', begin) : line.find_first_of(" \n", begin);
  return line.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

std::string LockedMessage(const std::string& state_dir, const std::string& holder) {
  std::string pid = HolderField(holder, "pid");
  std::string who;
  if (pid.empty()) {
    who = "holder unknown";
  } else {
    who = "pid " + pid;
    std::string host = HolderField(holder, "host");
    if (!host.empty() && host != HostName()) who += " on " + host;
    std::string command = HolderField(holder, "command");
    if (!command.empty()) who += ", " + command;
    std::string since = HolderField(holder, "since");
    if (!since.empty()) who += ", since " + since;
  }
  return "state directory " + state_dir + " is locked by another converge (" + who +
         "); wait for it to finish";
}

}  // namespace

Result<std::unique_ptr<StateLock>> StateLock::Acquire(const std::string& state_dir,
                                                      const std::string& command) {
  CONVERGE_RETURN_IF_ERROR(EnsureDir(state_dir));
  std::string path = state_dir + "/lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot open " + path, errno);
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EINTR) continue;
    std::string holder = ReadFd(fd);
    close(fd);
    if (err == EWOULDBLOCK) return Status(Code::kLocked, LockedMessage(state_dir, holder));
    return ErrnoStatus("cannot lock " + path, err);
  }
  // The lock is ours; the kernel drops it when the descriptor closes, even on SIGKILL.
  auto lock = std::unique_ptr<StateLock>(new StateLock(fd));
  std::string line = "pid=" + std::to_string(getpid()) + " host=" + HostName() + " since=" + Now() +
                     " command=" + command + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, line.data(), line.size(), 0) < 0) {
    return ErrnoStatus("cannot write " + path, errno);
  }
  return lock;
}

StateLock::~StateLock() {
  // Clear the holder line while still holding the lock, so nobody reads a stale holder.
  (void)ftruncate(fd_, 0);
  close(fd_);
}

}  // namespace converge::store
