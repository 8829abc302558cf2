// Real inotify on a temporary directory: the events editors and git produce.
#include "controller/watch/inotify_watcher.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace converge::watch {
namespace {

namespace fs = std::filesystem;

class TreeWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("converge-inotify-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "sub");
    ASSERT_TRUE(watcher_.AddTree(root_.string()).ok());
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  // Collects events until `want` was reported or a generous deadline passed.
  WatchEvents WaitFor(const std::string& want, bool dir = false) {
    WatchEvents all;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      struct pollfd p = {watcher_.fd(), POLLIN, 0};
      poll(&p, 1, 100);
      WatchEvents ev = watcher_.Read();
      all.paths.insert(ev.paths.begin(), ev.paths.end());
      all.dirs.insert(ev.dirs.begin(), ev.dirs.end());
      all.overflow |= ev.overflow;
      all.root_gone |= ev.root_gone;
      if ((dir ? all.dirs : all.paths).count(want)) break;
    }
    return all;
  }

  fs::path root_;
  TreeWatcher watcher_;
};

TEST_F(TreeWatcherTest, FileWrittenInPlace) {
  Write(root_ / "a.yaml", "x: 1\n");
  auto ev = WaitFor((root_ / "a.yaml").string());
  EXPECT_TRUE(ev.paths.count((root_ / "a.yaml").string()));
}

TEST_F(TreeWatcherTest, AtomicRenameOverAFile) {
  Write(root_ / "a.yaml", "x: 1\n");
  WaitFor((root_ / "a.yaml").string());
  Write(root_ / ".a.yaml.tmp", "x: 2\n");  // hidden temp file: not reported
  fs::rename(root_ / ".a.yaml.tmp", root_ / "a.yaml");
  auto ev = WaitFor((root_ / "a.yaml").string());
  EXPECT_TRUE(ev.paths.count((root_ / "a.yaml").string()));
  EXPECT_FALSE(ev.paths.count((root_ / ".a.yaml.tmp").string()));
}

TEST_F(TreeWatcherTest, FilesInSubdirectoriesAndDeletes) {
  Write(root_ / "sub" / "b.yaml", "x: 1\n");
  WaitFor((root_ / "sub" / "b.yaml").string());
  fs::remove(root_ / "sub" / "b.yaml");
  auto ev = WaitFor((root_ / "sub" / "b.yaml").string());
  EXPECT_TRUE(ev.paths.count((root_ / "sub" / "b.yaml").string()));
}

TEST_F(TreeWatcherTest, NewDirectoriesAreWatchedAndTheirFilesReported) {
  fs::create_directories(root_ / "new" / "deeper");
  WaitFor((root_ / "new").string(), /*dir=*/true);
  Write(root_ / "new" / "deeper" / "c.yaml", "x: 1\n");
  auto ev = WaitFor((root_ / "new" / "deeper" / "c.yaml").string());
  EXPECT_TRUE(ev.paths.count((root_ / "new" / "deeper" / "c.yaml").string()));
}

TEST_F(TreeWatcherTest, ADirectoryMovedInIsScannedAndOneMovedOutIsDropped) {
  fs::path outside = root_.string() + "-outside";
  fs::remove_all(outside);
  fs::create_directories(outside / "inner");
  Write(outside / "inner" / "d.yaml", "x: 1\n");
  fs::rename(outside / "inner", root_ / "inner");
  auto ev = WaitFor((root_ / "inner" / "d.yaml").string());
  EXPECT_TRUE(ev.paths.count((root_ / "inner" / "d.yaml").string()));  // existed before the watch
  size_t watches = watcher_.WatchCount();
  fs::rename(root_ / "inner", outside / "inner");
  ev = WaitFor((root_ / "inner").string(), /*dir=*/true);
  EXPECT_TRUE(ev.dirs.count((root_ / "inner").string()));
  EXPECT_EQ(watcher_.WatchCount(), watches - 1);
  // Writes in the moved-out directory are not reported any more.
  Write(outside / "inner" / "e.yaml", "x: 1\n");
  Write(root_ / "marker.yaml", "x: 1\n");
  ev = WaitFor((root_ / "marker.yaml").string());
  for (const auto& p : ev.paths) EXPECT_EQ(p.find("e.yaml"), std::string::npos) << p;
  fs::remove_all(outside);
}

TEST_F(TreeWatcherTest, GitDirectoryIsIgnored) {
  fs::create_directories(root_ / ".git" / "refs");
  Write(root_ / ".git" / "HEAD", "ref: refs/heads/main\n");
  Write(root_ / "z.yaml", "x: 1\n");
  auto ev = WaitFor((root_ / "z.yaml").string());
  for (const auto& p : ev.paths) EXPECT_EQ(p.find(".git"), std::string::npos) << p;
}

TEST_F(TreeWatcherTest, RootDeletedIsReported) {
  fs::remove_all(root_);
  WatchEvents all;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!all.root_gone && std::chrono::steady_clock::now() < deadline) {
    struct pollfd p = {watcher_.fd(), POLLIN, 0};
    poll(&p, 1, 100);
    all.root_gone |= watcher_.Read().root_gone;
  }
  EXPECT_TRUE(all.root_gone);
}

}  // namespace
}  // namespace converge::watch
