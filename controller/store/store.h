// The state store: what converge remembers between runs, in an embedded SQLite database.
//
// A state directory holds `state.db` (WAL mode, synchronous=FULL: a committed write, e.g. the
// snapshot taken before a backend call, is on disk before the call is made) and `lock`, the
// one-writer-per-directory lock (StateLock). It records runs, a per-change journal (intent ->
// in progress -> done/failed/rolled back), snapshots of live objects taken before they are changed,
// the last applied document per object (for three-way diffs) and holds (objects pinned to a
// snapshot after a rollback until the spec changes).
//
// Objects are identified by key strings such as "App//payments/api". Times are ISO-8601 UTC
// (FormatIsoTime). All methods return Status/Result and are safe to call from several threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "specs/base/status.h"

namespace converge::store {

class Database;  // the SQLite connection (database.h, internal to the store)

using json = nlohmann::json;

// Snapshots kept per key by the default retention policy.
inline constexpr int kDefaultSnapshotRetention = 20;

struct RunRecord {
  int64_t id = 0;
  std::string command;
  std::string started_at, finished_at;  // finished_at empty while running
  std::string status;                   // running|succeeded|failed|interrupted
  std::string git_commit;
  std::string summary;
  int pid = 0;
};

enum class JournalState { kIntent, kInProgress, kDone, kFailed, kRolledBack, kInterrupted };

// "intent", "in_progress", "done", "failed", "rolled_back", "interrupted".
const char* JournalStateName(JournalState state);
std::optional<JournalState> ParseJournalState(std::string_view name);

struct JournalEntry {
  int64_t id = 0, run_id = 0;
  std::string key;  // "App//payments/api"
  std::string action, backend;
  JournalState state = JournalState::kIntent;
  std::string detail;
  std::string updated_at;
  int64_t snapshot_id = 0;  // 0 = none
};

struct Snapshot {
  int64_t id = 0;  // assigned by SaveSnapshot
  std::string key, backend;
  json doc;  // null: the object did not exist
  std::string spec_revision, git_commit;
  std::string taken_at;  // empty: SaveSnapshot stamps the current time
  std::string reason;
  int64_t run_id = 0;  // 0 = not taken by a run
};

struct Hold {
  std::string key;
  std::string spec_revision;  // the spec revision that was rolled back; a new one lifts the hold
  int64_t snapshot_id = 0;
  std::string reason;
  std::string created_at;  // empty: PutHold stamps the current time
};

struct LastApplied {
  std::string key, backend;
  json doc;
  std::string spec_revision;
  std::string applied_at;  // empty: SetLastApplied stamps the current time
  int64_t run_id = 0;
};

// A last-applied document as a plan reads every one of them: its JSON text as stored (checked to
// be JSON, not parsed: 10,000 parsed documents take six times the memory of their text).
struct LastAppliedText {
  std::string doc;  // "" = null
  std::string spec_revision;
};

class Store {
 public:
  // Opens (creating the directory with mode 0700 and the database if needed) and migrates the
  // schema. Does not take the StateLock: readers may open a store that a writer holds.
  static Result<std::unique_ptr<Store>> Open(const std::string& state_dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Runs. BeginRun records this process's pid and status "running".
  Result<int64_t> BeginRun(const std::string& command, const std::string& git_commit);
  // `status` is succeeded, failed or interrupted.
  Status FinishRun(int64_t run, const std::string& status, const std::string& summary);
  Result<std::vector<RunRecord>> Runs(int limit);  // newest first; limit <= 0: all
  Result<std::optional<RunRecord>> GetRun(int64_t run);
  // Marks runs left "running" by a process that is gone (or whose pid now belongs to another
  // process) as interrupted, and their unfinished (intent/in progress) journal entries as
  // interrupted with the earlier state kept in the detail ("interrupted while in_progress: ...").
  // Returns those entries as updated. Call while holding the StateLock.
  Result<std::vector<JournalEntry>> RecoverInterrupted();

  // Journal.
  Result<int64_t> JournalIntent(int64_t run, const std::string& key, const std::string& backend,
                                const std::string& action);
  // Replaces state and detail; snapshot_id 0 keeps the entry's current snapshot.
  Status JournalUpdate(int64_t entry, JournalState state, const std::string& detail,
                       int64_t snapshot_id = 0);
  Result<std::vector<JournalEntry>> Journal(int64_t run);  // oldest first
  // All runs, newest first; empty key = every key; limit <= 0: all.
  Result<std::vector<JournalEntry>> History(const std::string& key, int limit);

  // Snapshots. SaveSnapshot commits durably (synchronous=FULL) before returning the new id.
  Result<int64_t> SaveSnapshot(const Snapshot& s);
  Result<std::vector<Snapshot>> Snapshots(const std::string& key);  // newest first
  Result<std::optional<Snapshot>> GetSnapshot(int64_t id);
  Result<std::vector<Snapshot>> SnapshotsOfRun(int64_t run);  // oldest first
  // Keeps the newest `keep` snapshots of `key` (empty key: of every key) and any snapshot a hold
  // refers to; deletes the rest.
  Status PruneSnapshots(const std::string& key, int keep = kDefaultSnapshotRetention);

  // What converge last applied to each object.
  Status SetLastApplied(const LastApplied& la);
  Status DeleteLastApplied(const std::string& key);
  Result<std::optional<LastApplied>> GetLastApplied(const std::string& key);
  Result<std::map<std::string, LastApplied>> AllLastApplied();
  // One query, for the planner: every row as text, or only the rows of `keys`.
  Result<std::map<std::string, LastAppliedText>> AllLastAppliedText(
      const std::set<std::string>* keys = nullptr);

  // Holds.
  Status PutHold(const Hold& h);  // inserts or replaces the hold on h.key
  Status ReleaseHold(const std::string& key);
  Result<std::optional<Hold>> GetHold(const std::string& key);
  Result<std::map<std::string, Hold>> AllHolds();

  // Writes one JSON file per snapshot of `key` (empty key: all snapshots) into out_dir, created
  // with mode 0700 if missing; files are named "<id>-<key with unsafe characters as _>.json".
  Status ExportSnapshots(const std::string& key, const std::string& out_dir);

  const std::string& path() const { return path_; }  // the state.db file

 private:
  Store(std::string path, std::unique_ptr<Database> db);

  std::string path_;
  std::mutex mu_;  // one connection, one statement at a time
  std::unique_ptr<Database> db_;
};

// One writer per state directory: flock(LOCK_EX|LOCK_NB) on <dir>/lock. The holder writes
// "pid=<pid> host=<hostname> since=<iso time> command=<cmd>" into the file. The lock is released
// on destruction, and by the kernel if the process dies (even by SIGKILL). Failing to get it is
// a kLocked Status naming the holder.
class StateLock {
 public:
  static Result<std::unique_ptr<StateLock>> Acquire(const std::string& state_dir,
                                                    const std::string& command);
  ~StateLock();
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace converge::store
