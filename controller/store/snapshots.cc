// Snapshots: taken durably before a change, pruned by retention (never one a hold refers to),
// and exported as private JSON files.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "controller/store/database.h"
#include "controller/store/store.h"

namespace converge::store {
namespace {

#define CONVERGE_SNAPSHOT_COLUMNS \
  "id, key, backend, doc, spec_revision, git_commit, taken_at, reason, run_id"

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

#undef CONVERGE_SNAPSHOT_COLUMNS

}  // namespace converge::store
