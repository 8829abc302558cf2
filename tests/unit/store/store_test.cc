#include "controller/store/store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "specs/base/clock.h"

namespace converge::store {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "converge-store-XXXXXX").string();
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Direct SQL access to state.db, to fake what another (dead) process left behind.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close(db_); }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
  }
  std::string Query(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW)
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
  }
  int64_t LastId() { return sqlite3_last_insert_rowid(db_); }

 private:
  sqlite3* db_ = nullptr;
};

// The pid of a process that has exited and been reaped.
int DeadPid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}

std::string IsoAgo(std::chrono::seconds ago) {
  return FormatIsoTime(std::chrono::system_clock::now() - ago);
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::Open(dir_.path() + "/state");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::string StateDir() const { return dir_.path() + "/state"; }
  Snapshot MakeSnapshot(const std::string& key, json doc, int64_t run = 0) {
    Snapshot s;
    s.key = key;
    s.backend = "marathon";
    s.doc = std::move(doc);
    s.spec_revision = "rev-1";
    s.git_commit = "abc123";
    s.reason = "before update";
    s.run_id = run;
    return s;
  }
  int64_t MustBeginRun(const std::string& command = "apply") {
    auto run = store_->BeginRun(command, "abc123");
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    return run.ok() ? *run : 0;
  }
  int64_t MustIntent(int64_t run, const std::string& key, const std::string& action = "update") {
    auto e = store_->JournalIntent(run, key, "marathon", action);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? *e : 0;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, OpenCreatesPrivateDirectoryWalDatabase) {
  struct stat st {};
  ASSERT_EQ(stat(StateDir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);
  ASSERT_EQ(stat((StateDir() + "/state.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0);
  EXPECT_EQ(store_->path(), StateDir() + "/state.db");
  RawDb raw(store_->path());
  EXPECT_EQ(raw.Query("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "1");
}

TEST(StoreOpenTest, CreatesNestedDirectoriesAndRejectsFiles) {
  TempDir dir;
  std::string nested = dir.path() + "/a/b/state/";
  auto s = Store::Open(nested);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  struct stat st {};
  ASSERT_EQ(stat((dir.path() + "/a/b/state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);

  std::ofstream(dir.path() + "/file") << "x";
  EXPECT_FALSE(Store::Open(dir.path() + "/file").ok());
}

TEST_F(StoreTest, RefusesANewerSchema) {
  store_.reset();
  RawDb(StateDir() + "/state.db").Exec("PRAGMA user_version = 99");
  auto s = Store::Open(StateDir());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("newer"), std::string::npos) << s.status().ToString();
}

TEST_F(StoreTest, RunsRoundTripNewestFirst) {
  int64_t a = MustBeginRun("plan");
  int64_t b = MustBeginRun("apply");
  int64_t c = MustBeginRun("rollback");
  ASSERT_TRUE(store_->FinishRun(b, "succeeded", "3 changed").ok());
  ASSERT_TRUE(store_->FinishRun(a, "failed", "boom").ok());

  auto runs = store_->Runs(2);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].id, c);
  EXPECT_EQ((*runs)[0].status, "running");
  EXPECT_EQ((*runs)[0].finished_at, "");
  EXPECT_EQ((*runs)[0].pid, getpid());
  EXPECT_EQ((*runs)[1].id, b);
  EXPECT_EQ((*runs)[1].command, "apply");
  EXPECT_EQ((*runs)[1].git_commit, "abc123");
  EXPECT_EQ((*runs)[1].status, "succeeded");
  EXPECT_EQ((*runs)[1].summary, "3 changed");
  EXPECT_FALSE((*runs)[1].finished_at.empty());
  EXPECT_LE((*runs)[1].started_at, (*runs)[1].finished_at);
  EXPECT_EQ(store_->Runs(0)->size(), 3u);

  auto got = store_->GetRun(a);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->status, "failed");
  EXPECT_FALSE(store_->GetRun(999)->has_value());
}

TEST_F(StoreTest, FinishRunValidates) {
  int64_t run = MustBeginRun();
  EXPECT_EQ(store_->FinishRun(run, "done", "").code(), Code::kInvalid);
  EXPECT_EQ(store_->FinishRun(run, "running", "").code(), Code::kInvalid);
  EXPECT_EQ(store_->FinishRun(run + 100, "failed", "").code(), Code::kNotFound);
}

TEST_F(StoreTest, JournalLifecycle) {
  int64_t run = MustBeginRun();
  int64_t e1 = MustIntent(run, "App//payments/api");
  int64_t e2 = MustIntent(run, "App//payments/worker", "create");
  auto snap = store_->SaveSnapshot(MakeSnapshot("App//payments/api", json{{"instances", 2}}));
  ASSERT_TRUE(snap.ok());
  ASSERT_TRUE(store_->JournalUpdate(e1, JournalState::kInProgress, "deploying", *snap).ok());
  ASSERT_TRUE(store_->JournalUpdate(e1, JournalState::kDone, "deployment d1 finished").ok());
  ASSERT_TRUE(store_->JournalUpdate(e2, JournalState::kFailed, "422: bad cpus").ok());

  auto journal = store_->Journal(run);
  ASSERT_TRUE(journal.ok());
  ASSERT_EQ(journal->size(), 2u);
  const JournalEntry& first = (*journal)[0];
  EXPECT_EQ(first.id, e1);
  EXPECT_EQ(first.run_id, run);
  EXPECT_EQ(first.key, "App//payments/api");
  EXPECT_EQ(first.backend, "marathon");
  EXPECT_EQ(first.action, "update");
  EXPECT_EQ(first.state, JournalState::kDone);
  EXPECT_EQ(first.detail, "deployment d1 finished");
  EXPECT_EQ(first.snapshot_id, *snap);  // 0 in the last update kept the snapshot
  EXPECT_FALSE(first.updated_at.empty());
  EXPECT_EQ((*journal)[1].state, JournalState::kFailed);
  EXPECT_EQ((*journal)[1].snapshot_id, 0);

  EXPECT_EQ(store_->JournalUpdate(9999, JournalState::kDone, "").code(), Code::kNotFound);
  EXPECT_EQ(store_->JournalIntent(run + 100, "App//x", "marathon", "create").status().code(),
            Code::kNotFound);
  EXPECT_EQ(store_->JournalIntent(run, "", "marathon", "create").status().code(), Code::kInvalid);
}

TEST_F(StoreTest, HistoryIsNewestFirstAcrossRuns) {
  int64_t r1 = MustBeginRun();
  MustIntent(r1, "App//a");
  MustIntent(r1, "App//b");
  int64_t r2 = MustBeginRun();
  int64_t latest_a = MustIntent(r2, "App//a", "delete");

  auto a = store_->History("App//a", 10);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].id, latest_a);
  EXPECT_EQ((*a)[0].run_id, r2);
  EXPECT_EQ((*a)[1].run_id, r1);

  auto all = store_->History("", 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, latest_a);
  EXPECT_EQ(store_->History("", 2)->size(), 2u);
  EXPECT_TRUE(store_->History("App//none", 10)->empty());
}

TEST_F(StoreTest, SnapshotsRoundTrip) {
  int64_t run = MustBeginRun();
  json doc = {{"id", "/payments/api"}, {"env", {{"GREETING", "h\u00e9llo"}}}, {"cpus", 0.5}};
  auto s1 = store_->SaveSnapshot(MakeSnapshot("App//payments/api", nullptr, run));
  auto s2 = store_->SaveSnapshot(MakeSnapshot("App//payments/api", doc, run));
  auto s3 = store_->SaveSnapshot(MakeSnapshot("App//other", json::array()));
  ASSERT_TRUE(s1.ok() && s2.ok() && s3.ok());

  auto snaps = store_->Snapshots("App//payments/api");
  ASSERT_TRUE(snaps.ok());
  ASSERT_EQ(snaps->size(), 2u);
  EXPECT_EQ((*snaps)[0].id, *s2);  // newest first
  EXPECT_EQ((*snaps)[0].doc, doc);
  EXPECT_EQ((*snaps)[0].backend, "marathon");
  EXPECT_EQ((*snaps)[0].spec_revision, "rev-1");
  EXPECT_EQ((*snaps)[0].git_commit, "abc123");
  EXPECT_EQ((*snaps)[0].reason, "before update");
  EXPECT_EQ((*snaps)[0].run_id, run);
  EXPECT_FALSE((*snaps)[0].taken_at.empty());
  EXPECT_TRUE((*snaps)[1].doc.is_null());  // the object did not exist

  auto got = store_->GetSnapshot(*s3);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->doc, json::array());
  EXPECT_FALSE(store_->GetSnapshot(12345)->has_value());

  auto of_run = store_->SnapshotsOfRun(run);
  ASSERT_TRUE(of_run.ok());
  ASSERT_EQ(of_run->size(), 2u);
  EXPECT_EQ((*of_run)[0].id, *s1);

  Snapshot explicit_time = MakeSnapshot("App//t", nullptr);
  explicit_time.taken_at = "2026-01-02T03:04:05.006Z";
  auto s4 = store_->SaveSnapshot(explicit_time);
  ASSERT_TRUE(s4.ok());
  EXPECT_EQ((*store_->GetSnapshot(*s4))->taken_at, "2026-01-02T03:04:05.006Z");
  EXPECT_EQ(store_->SaveSnapshot(MakeSnapshot("", nullptr)).status().code(), Code::kInvalid);
}

TEST_F(StoreTest, PruneKeepsNewestPerKeyAndHeldSnapshots) {
  std::vector<int64_t> a_ids;
  for (int i = 0; i < 25; ++i) {
    a_ids.push_back(*store_->SaveSnapshot(MakeSnapshot("App//a", json{{"v", i}})));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store_->SaveSnapshot(MakeSnapshot("App//b", json{{"v", i}})).ok());
  }
  Hold hold;
  hold.key = "App//a";
  hold.snapshot_id = a_ids[0];
  ASSERT_TRUE(store_->PutHold(hold).ok());

  ASSERT_TRUE(store_->PruneSnapshots("App//a").ok());  // default retention: 20
  auto a = store_->Snapshots("App//a");
  ASSERT_EQ(a->size(), 21u);
  EXPECT_EQ(a->front().id, a_ids.back());
  EXPECT_EQ(a->back().id, a_ids[0]);  // held, so kept
  EXPECT_EQ((*a)[19].id, a_ids[5]);
  EXPECT_EQ(store_->Snapshots("App//b")->size(), 3u);

  ASSERT_TRUE(store_->PruneSnapshots("", 1).ok());  // every key
  EXPECT_EQ(store_->Snapshots("App//a")->size(), 2u);
  EXPECT_EQ(store_->Snapshots("App//b")->size(), 1u);
  EXPECT_EQ(store_->Snapshots("App//b")->front().doc, json({{"v", 2}}));
  EXPECT_EQ(store_->PruneSnapshots("App//a", -1).code(), Code::kInvalid);
}

TEST_F(StoreTest, LastAppliedRoundTrip) {
  LastApplied la;
  la.key = "App//payments/api";
  la.backend = "marathon";
  la.doc = {{"instances", 3}};
  la.spec_revision = "rev-7";
  la.run_id = 4;
  ASSERT_TRUE(store_->SetLastApplied(la).ok());
  la.key = "App//other";
  la.doc = {{"instances", 1}};
  ASSERT_TRUE(store_->SetLastApplied(la).ok());
  la.key = "App//payments/api";
  la.doc = {{"instances", 5}};
  la.applied_at = "2026-01-01T00:00:00.000Z";
  ASSERT_TRUE(store_->SetLastApplied(la).ok());  // replaces

  auto got = store_->GetLastApplied("App//payments/api");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->doc, json({{"instances", 5}}));
  EXPECT_EQ((*got)->spec_revision, "rev-7");
  EXPECT_EQ((*got)->applied_at, "2026-01-01T00:00:00.000Z");
  EXPECT_EQ((*got)->run_id, 4);
  EXPECT_EQ((*got)->backend, "marathon");

  auto all = store_->AllLastApplied();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at("App//other").doc, json({{"instances", 1}}));
  EXPECT_FALSE(all->at("App//other").applied_at.empty());

  ASSERT_TRUE(store_->DeleteLastApplied("App//other").ok());
  EXPECT_FALSE(store_->GetLastApplied("App//other")->has_value());
  EXPECT_EQ(store_->AllLastApplied()->size(), 1u);
}

// What a plan reads: the documents as their stored text, all or some, a null as "", and a row
// that is not JSON as an error naming it (as the parsed read does).
TEST_F(StoreTest, LastAppliedAsText) {
  LastApplied la;
  la.backend = "marathon";
  la.key = "App//a";
  la.doc = {{"instances", 3}, {"env", {{"B", "x"}, {"A", "\u00e9"}}}};
  la.spec_revision = "rev-a";
  ASSERT_TRUE(store_->SetLastApplied(la).ok());
  la.key = "App//b";
  la.doc = nullptr;
  la.spec_revision = "rev-b";
  ASSERT_TRUE(store_->SetLastApplied(la).ok());

  auto all = store_->AllLastAppliedText();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(json::parse(all->at("App//a").doc), store_->GetLastApplied("App//a")->value().doc);
  EXPECT_EQ(all->at("App//a").spec_revision, "rev-a");
  EXPECT_EQ(all->at("App//b").doc, "");
  EXPECT_EQ(all->at("App//b").spec_revision, "rev-b");

  const std::set<std::string> only{"App//b", "App//absent"};
  auto some = store_->AllLastAppliedText(&only);
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->size(), 1u);
  EXPECT_EQ(some->count("App//b"), 1u);

  RawDb raw(store_->path());
  raw.Exec("UPDATE last_applied SET doc = '{\"instances\": ' WHERE key = 'App//a'");
  auto broken = store_->AllLastAppliedText();
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("last applied App//a"), std::string::npos)
      << broken.status().message();
  EXPECT_TRUE(store_->AllLastAppliedText(&only).ok());  // the broken row is not one asked for
}

TEST_F(StoreTest, HoldsRoundTrip) {
  Hold h;
  h.key = "App//payments/api";
  h.spec_revision = "rev-3";
  h.snapshot_id = 12;
  h.reason = "rolled back: health checks failed";
  ASSERT_TRUE(store_->PutHold(h).ok());
  h.snapshot_id = 13;
  ASSERT_TRUE(store_->PutHold(h).ok());  // replaces
  Hold other = h;
  other.key = "App//b";
  ASSERT_TRUE(store_->PutHold(other).ok());

  auto got = store_->GetHold("App//payments/api");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->snapshot_id, 13);
  EXPECT_EQ((*got)->spec_revision, "rev-3");
  EXPECT_EQ((*got)->reason, "rolled back: health checks failed");
  EXPECT_FALSE((*got)->created_at.empty());
  EXPECT_EQ(store_->AllHolds()->size(), 2u);

  ASSERT_TRUE(store_->ReleaseHold("App//payments/api").ok());
  EXPECT_FALSE(store_->GetHold("App//payments/api")->has_value());
  EXPECT_EQ(store_->AllHolds()->count("App//b"), 1u);
}

TEST_F(StoreTest, ExportWritesOnePrivateJsonFilePerSnapshot) {
  auto s1 = store_->SaveSnapshot(MakeSnapshot("App//payments/api", json{{"v", 1}}));
  auto s2 = store_->SaveSnapshot(MakeSnapshot("App//payments/api", nullptr));
  ASSERT_TRUE(store_->SaveSnapshot(MakeSnapshot("App//other", json{{"v", 3}})).ok());
  std::string out = dir_.path() + "/export";
  ASSERT_TRUE(store_->ExportSnapshots("App//payments/api", out).ok());

  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(out)) {
    names.insert(entry.path().filename().string());
    struct stat st {};
    ASSERT_EQ(stat(entry.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0077, 0);
  }
  std::string first = std::to_string(*s1) + "-App__payments_api.json";
  EXPECT_EQ(names, (std::set<std::string>{first, std::to_string(*s2) + "-App__payments_api.json"}));
  std::ifstream in(out + "/" + first);
  json exported = json::parse(in);
  EXPECT_EQ(exported["id"], *s1);
  EXPECT_EQ(exported["key"], "App//payments/api");
  EXPECT_EQ(exported["doc"], json({{"v", 1}}));
  EXPECT_EQ(exported["spec_revision"], "rev-1");

  std::string all = dir_.path() + "/export-all";
  ASSERT_TRUE(store_->ExportSnapshots("", all).ok());
  EXPECT_EQ(std::distance(fs::directory_iterator(all), fs::directory_iterator()), 3);
}

TEST_F(StoreTest, ReopenKeepsEverything) {
  int64_t run = MustBeginRun();
  MustIntent(run, "App//a");
  ASSERT_TRUE(store_->SaveSnapshot(MakeSnapshot("App//a", json{{"v", 1}})).ok());
  LastApplied la;
  la.key = "App//a";
  la.doc = {{"v", 2}};
  ASSERT_TRUE(store_->SetLastApplied(la).ok());
  Hold h;
  h.key = "App//a";
  ASSERT_TRUE(store_->PutHold(h).ok());
  ASSERT_TRUE(store_->FinishRun(run, "succeeded", "ok").ok());
  store_.reset();

  auto reopened = Store::Open(StateDir());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  Store& s = **reopened;
  EXPECT_EQ(s.Runs(0)->front().status, "succeeded");
  EXPECT_EQ(s.Journal(run)->size(), 1u);
  EXPECT_EQ(s.Snapshots("App//a")->front().doc, json({{"v", 1}}));
  EXPECT_EQ((*s.GetLastApplied("App//a"))->doc, json({{"v", 2}}));
  EXPECT_TRUE(s.GetHold("App//a")->has_value());
}

TEST_F(StoreTest, RecoverInterruptedMarksRunsOfDeadProcesses) {
  int64_t ours = MustBeginRun();  // this process is alive: never recovered
  MustIntent(ours, "App//ours");

  // A run left behind by a process that died (kill -9) mid-apply.
  RawDb raw(store_->path());
  raw.Exec("INSERT INTO runs (command, started_at, status, pid) VALUES ('apply', '" +
           IsoAgo(std::chrono::seconds(60)) + "', 'running', " + std::to_string(DeadPid()) + ")");
  int64_t dead_run = raw.LastId();
  int64_t intent = MustIntent(dead_run, "App//a", "create");
  int64_t in_progress = MustIntent(dead_run, "App//b");
  int64_t done = MustIntent(dead_run, "App//c");
  ASSERT_TRUE(
      store_->JournalUpdate(in_progress, JournalState::kInProgress, "deploying d7", 5).ok());
  ASSERT_TRUE(store_->JournalUpdate(done, JournalState::kDone, "").ok());

  auto recovered = store_->RecoverInterrupted();
  ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
  ASSERT_EQ(recovered->size(), 2u);
  EXPECT_EQ((*recovered)[0].id, intent);
  EXPECT_EQ((*recovered)[0].state, JournalState::kInterrupted);
  EXPECT_EQ((*recovered)[0].detail, "interrupted while intent");
  EXPECT_EQ((*recovered)[1].id, in_progress);
  EXPECT_EQ((*recovered)[1].detail, "interrupted while in_progress: deploying d7");
  EXPECT_EQ((*recovered)[1].snapshot_id, 5);

  auto journal = store_->Journal(dead_run);
  EXPECT_EQ((*journal)[1].state, JournalState::kInterrupted);
  EXPECT_EQ((*journal)[2].state, JournalState::kDone);
  auto run = store_->GetRun(dead_run);
  EXPECT_EQ((*run)->status, "interrupted");
  EXPECT_FALSE((*run)->finished_at.empty());
  EXPECT_EQ((*store_->GetRun(ours))->status, "running");
  EXPECT_EQ((*store_->Journal(ours))[0].state, JournalState::kIntent);

  // Idempotent: nothing left to recover.
  EXPECT_TRUE(store_->RecoverInterrupted()->empty());
}

TEST_F(StoreTest, RecoverInterruptedDetectsReusedPids) {
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  RawDb raw(store_->path());
  // The same live pid: a run that began an hour before the process existed (the pid was reused)
  // and a run that began just now (its process is still working).
  raw.Exec("INSERT INTO runs (command, started_at, status, pid) VALUES ('apply', '" +
           IsoAgo(std::chrono::hours(1)) + "', 'running', " + std::to_string(child) + ")");
  int64_t reused = raw.LastId();
  raw.Exec("INSERT INTO runs (command, started_at, status, pid) VALUES ('apply', '" +
           IsoAgo(std::chrono::seconds(0)) + "', 'running', " + std::to_string(child) + ")");
  int64_t live = raw.LastId();

  auto recovered = store_->RecoverInterrupted();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_TRUE(recovered.ok());
  EXPECT_EQ((*store_->GetRun(reused))->status, "interrupted");
  EXPECT_EQ((*store_->GetRun(live))->status, "running");
}

TEST_F(StoreTest, ConcurrentWritesFromThreads) {
  int64_t run = MustBeginRun();
  constexpr int kThreads = 8, kPerThread = 20;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "App//t" + std::to_string(t) + "/" + std::to_string(i);
        auto e = store_->JournalIntent(run, key, "marathon", "create");
        auto snap = store_->SaveSnapshot(MakeSnapshot(key, json{{"i", i}}, run));
        LastApplied la;
        la.key = key;
        la.doc = {{"i", i}};
        bool ok = e.ok() && snap.ok() &&
                  store_->JournalUpdate(*e, JournalState::kDone, "ok", *snap).ok() &&
                  store_->SetLastApplied(la).ok() && store_->History(key, 1).ok();
        if (!ok) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto journal = store_->Journal(run);
  ASSERT_EQ(journal->size(), size_t{kThreads * kPerThread});
  for (const JournalEntry& e : *journal) {
    EXPECT_EQ(e.state, JournalState::kDone);
    EXPECT_NE(e.snapshot_id, 0);
  }
  EXPECT_EQ(store_->SnapshotsOfRun(run)->size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(store_->AllLastApplied()->size(), size_t{kThreads * kPerThread});
}

TEST_F(StoreTest, TwoConnectionsShareTheDatabase) {
  auto second = Store::Open(StateDir());
  ASSERT_TRUE(second.ok());
  int64_t run = MustBeginRun();
  EXPECT_EQ((*second)->Runs(1)->front().id, run);
  ASSERT_TRUE((*second)->FinishRun(run, "failed", "x").ok());
  EXPECT_EQ((*store_->GetRun(run))->status, "failed");
}

TEST(JournalStateTest, NamesRoundTrip) {
  for (JournalState s :
       {JournalState::kIntent, JournalState::kInProgress, JournalState::kDone,
        JournalState::kFailed, JournalState::kRolledBack, JournalState::kInterrupted}) {
    EXPECT_EQ(ParseJournalState(JournalStateName(s)), s);
  }
  EXPECT_EQ(std::string(JournalStateName(JournalState::kInProgress)), "in_progress");
  EXPECT_FALSE(ParseJournalState("bogus").has_value());
}

// ---------------------------------------------------------------------------------------------
// StateLock

TEST(StateLockTest, SecondAcquisitionFailsNamingTheHolder) {
  TempDir dir;
  std::string state = dir.path() + "/state";
  auto first = StateLock::Acquire(state, "apply");
  ASSERT_TRUE(first.ok()) << first.status().ToString();

  std::ifstream in(state + "/lock");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line.rfind("pid=" + std::to_string(getpid()) + " host=", 0), 0u) << line;
  EXPECT_NE(line.find(" since="), std::string::npos);
  EXPECT_NE(line.find(" command=apply"), std::string::npos);

  auto second = StateLock::Acquire(state, "rollback");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kLocked);
  const std::string& m = second.status().message();
  EXPECT_EQ(m.rfind("state directory " + state + " is locked by another converge (pid " +
                        std::to_string(getpid()) + ", apply, since ",
                    0),
            0u)
      << m;
  EXPECT_NE(m.find("wait for it to finish"), std::string::npos) << m;

  first->reset();  // released on destruction
  auto third = StateLock::Acquire(state, "rollback");
  EXPECT_TRUE(third.ok()) << third.status().ToString();
}

TEST(StateLockTest, CommandWithSpacesIsReportedWhole) {
  TempDir dir;
  auto first = StateLock::Acquire(dir.path() + "/", "apply --only App//a pid=7");
  ASSERT_TRUE(first.ok());
  auto second = StateLock::Acquire(dir.path(), "plan");
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("(pid " + std::to_string(getpid()) +
                                           ", apply --only App//a pid=7, since "),
            std::string::npos)
      << second.status().message();
}

TEST(StateLockTest, ReleasedWhenTheHolderIsKilled) {
  TempDir dir;
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    auto lock = StateLock::Acquire(dir.path(), "apply");
    char ok = lock.ok() ? 'y' : 'n';
    (void)!write(ready[1], &ok, 1);
    for (;;) pause();  // hold the lock until killed
  }
  close(ready[1]);
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  close(ready[0]);
  ASSERT_EQ(ok, 'y');

  auto blocked = StateLock::Acquire(dir.path(), "apply");
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.status().code(), Code::kLocked);
  EXPECT_NE(blocked.status().message().find("pid " + std::to_string(child)), std::string::npos)
      << blocked.status().message();

  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));

  auto after = StateLock::Acquire(dir.path(), "apply");
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

}  // namespace
}  // namespace converge::store
