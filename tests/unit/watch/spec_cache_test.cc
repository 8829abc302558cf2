#include "controller/watch/spec_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "controller/backends.h"

namespace converge::watch {
namespace {

namespace fs = std::filesystem;

std::string App(const std::string& name, const std::string& image) {
  return "apiVersion: converge/v1\nkind: App\nmetadata: {name: " + name +
         "}\nspec: {instances: 1, cpus: 0.1, mem: 32, container: {type: DOCKER, docker: {image: " +
         image + "}}}\n";
}

class SpecCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("converge-cache-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    Write("backend.yaml",
          "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: sb}\nspec: {type: marathon, "
          "url: \"http://127.0.0.1:1/marathon\"}\n");
    Write("a.yaml", App("/c/a", "img/a:1"));
    Write("b.yaml", App("/c/b", "img/b:1"));
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string Write(const std::string& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text;
    return (root_ / rel).string();
  }
  fs::path root_;
};

TEST_F(SpecCacheTest, MatchesLoadSpecsAndReparsesOnlyChangedFiles) {
  SpecCache cache(root_.string(), DefaultKindRegistry());
  CacheUpdate first = cache.Rescan();
  EXPECT_EQ(first.parsed, 3u);
  LoadResult full = LoadSpecs(root_.string(), DefaultKindRegistry());
  ASSERT_EQ(cache.Current()->documents.size(), full.documents.size());
  for (size_t i = 0; i < full.documents.size(); ++i) {
    EXPECT_EQ(cache.Current()->documents[i].Key(), full.documents[i].Key());
    EXPECT_EQ(cache.Current()->documents[i].revision, full.documents[i].revision);
  }

  std::string a = Write("a.yaml", App("/c/a", "img/a:2"));
  CacheUpdate u = cache.UpdatePaths({a});
  EXPECT_EQ(u.parsed, 1u);
  EXPECT_EQ(u.affected, std::set<std::string>{"App//c/a"});
  EXPECT_FALSE(u.backends_changed);

  // Same content again (an editor saving without changes): nothing affected.
  u = cache.UpdatePaths({Write("a.yaml", App("/c/a", "img/a:2"))});
  EXPECT_EQ(u.parsed, 0u);
  EXPECT_TRUE(u.affected.empty());
}

TEST_F(SpecCacheTest, ABrokenFileIsAFailedFileNotARemoval) {
  SpecCache cache(root_.string(), DefaultKindRegistry());
  cache.Rescan();
  std::string b = Write("b.yaml", "apiVersion: converge/v1\nkind: App\nmetadata: {name: [\n");
  CacheUpdate u = cache.UpdatePaths({b});
  EXPECT_EQ(u.affected, std::set<std::string>{"App//c/b"});
  EXPECT_EQ(cache.Current()->failed_files.count(b), 1u);  // blocks prunes in the planner
  EXPECT_EQ(cache.Current()->documents.size(), 2u);       // the backend and /c/a still load
}

TEST_F(SpecCacheTest, DirectoriesAndDuplicates) {
  SpecCache cache(root_.string(), DefaultKindRegistry());
  cache.Rescan();
  std::string c = Write("team/x/c.yaml", App("/c/c", "img/c:1"));
  CacheUpdate u = cache.UpdatePaths({(root_ / "team").string()});
  EXPECT_EQ(u.affected, std::set<std::string>{"App//c/c"});
  // A duplicate of /c/a makes both invalid: both affected.
  Write("dup.yaml", App("/c/a", "img/a:9"));
  u = cache.UpdatePaths({(root_ / "dup.yaml").string()});
  EXPECT_EQ(u.affected, std::set<std::string>{"App//c/a"});
  EXPECT_TRUE(cache.Current()->HasErrors());
  fs::remove_all(root_ / "team");
  u = cache.UpdatePaths({(root_ / "team").string()});
  EXPECT_EQ(u.affected, std::set<std::string>{"App//c/c"});
}

TEST_F(SpecCacheTest, BackendChangesAreFlagged) {
  SpecCache cache(root_.string(), DefaultKindRegistry());
  cache.Rescan();
  std::string be = Write("backend.yaml",
                         "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: sb}\nspec: "
                         "{type: marathon, url: \"http://127.0.0.1:2/marathon\"}\n");
  EXPECT_TRUE(cache.UpdatePaths({be}).backends_changed);
}

TEST_F(SpecCacheTest, AVanishedRootFailsTheLoad) {
  SpecCache cache(root_.string(), DefaultKindRegistry());
  cache.Rescan();
  fs::remove_all(root_);
  cache.Rescan();
  EXPECT_FALSE(cache.Current()->failed_files.empty());
}

TEST_F(SpecCacheTest, GitTreeReadsOnlyChangedBlobs) {
  SpecCache cache(root_.string(), DefaultKindRegistry());
  std::vector<std::string> asked;
  auto reader =
      [&](const std::vector<std::string>& blobs) -> Result<std::map<std::string, std::string>> {
    asked = blobs;
    std::map<std::string, std::string> out;
    for (const auto& b : blobs) out[b] = App("/g/" + b, "img/" + b + ":1");
    return out;
  };
  cache.UpdateFromTree({{"x.yaml", "x1"}, {"y.yaml", "y1"}}, reader);
  EXPECT_EQ(asked.size(), 2u);
  CacheUpdate u = cache.UpdateFromTree({{"x.yaml", "x1"}, {"y.yaml", "y2"}}, reader);
  EXPECT_EQ(asked, std::vector<std::string>{"y2"});
  EXPECT_EQ(u.parsed, 1u);
}

}  // namespace
}  // namespace converge::watch
