// Opening the store: the database file, its pragmas and the schema migrations.
#include "controller/store/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include "controller/store/database.h"

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
  // snapshot insert, which must be on disk before the backend call (safety rule 5), is committed
  // with FULL so it also survives power loss (and carries earlier commits with it).
  CONVERGE_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous = NORMAL"));
  return db->Exec("PRAGMA foreign_keys = ON");
}

}  // namespace

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

}  // namespace converge::store
