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

// Everything a reader of the whole-set result sees, in order.
std::string Describe(const LoadResult& r) {
  std::string out = "files " + std::to_string(r.files) + "\n";
  for (const Document& d : r.documents)
    out += "doc " + d.Key() + " @" + d.backend + " " + d.revision + " " + d.pos.ToString() + "\n";
  for (const Diagnostic& d : r.diagnostics) out += "diag " + d.ToString() + "\n";
  for (const std::string& f : r.failed_files) out += "failed " + f + "\n";
  return out;
}

std::string Backend(const std::string& name, int port) {
  return "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: " + name +
         "}\nspec: {type: marathon, url: \"http://127.0.0.1:" + std::to_string(port) +
         "/marathon\"}\n";
}

// After every kind of edit, the incremental result is exactly what a fresh LoadSpecs of the same
// files gives, and the affected keys are exactly those whose desired state differs.
TEST_F(SpecCacheTest, EveryEditMatchesAFullLoad) {
  SpecCache cache(root_.string(), DefaultKindRegistry());
  cache.Rescan();
  auto check = [&](const std::string& step, const std::set<std::string>& paths,
                   const std::set<std::string>& affected) {
    auto before = cache.Current();
    CacheUpdate u = cache.UpdatePaths(paths);
    LoadResult full = LoadSpecs(root_.string(), DefaultKindRegistry());
    EXPECT_EQ(Describe(*cache.Current()), Describe(full)) << step;
    EXPECT_EQ(u.affected, affected) << step;
    (void)before;
  };
  std::string d = Write("d.yaml", App("/c/d", "img/d:1"));
  check("add a file", {d}, {"App//c/d"});
  check("change it", {Write("d.yaml", App("/c/d", "img/d:2"))}, {"App//c/d"});
  check("two documents in it",
        {Write("d.yaml", App("/c/d", "img/d:2") + "---\n" + App("/c/e", "img/e:1"))}, {"App//c/e"});
  check("a duplicate of /c/a", {Write("dup.yaml", App("/c/a", "img/a:9"))}, {"App//c/a"});
  check("edit the duplicate", {Write("dup.yaml", App("/c/a", "img/a:8"))}, {});
  check("the duplicate renamed", {Write("dup.yaml", App("/c/f", "img/f:1"))},
        {"App//c/a", "App//c/f"});
  check("a broken file", {Write("b.yaml", "kind: App\nmetadata: {name: [\n")}, {"App//c/b"});
  check("fixed again", {Write("b.yaml", App("/c/b", "img/b:1"))}, {"App//c/b"});
  check("an unknown backend",
        {Write("g.yaml",
               "apiVersion: converge/v1\nkind: App\nmetadata: {name: /c/g, backend: "
               "nope}\nspec: {instances: 1, cpus: 0.1, mem: 32, container: {type: "
               "DOCKER, docker: {image: g}}}\n")},
        {});
  // A second marathon Backend: every App that leaves metadata.backend out is now ambiguous.
  check("a second backend", {Write("backend2.yaml", Backend("sb2", 3))},
        {"Backend/sb2", "App//c/a", "App//c/b", "App//c/d", "App//c/e", "App//c/f"});
  check("edit while ambiguous", {Write("a.yaml", App("/c/a", "img/a:3"))}, {});
  fs::remove(root_ / "backend2.yaml");
  check("the second backend removed", {(root_ / "backend2.yaml").string()},
        {"Backend/sb2", "App//c/a", "App//c/b", "App//c/d", "App//c/e", "App//c/f"});
  fs::remove(root_ / "d.yaml");
  check("a file removed", {(root_ / "d.yaml").string()}, {"App//c/d", "App//c/e"});
  // A key moving from one file to another in one update.
  fs::remove(root_ / "dup.yaml");
  check("moved", {(root_ / "dup.yaml").string(), Write("h.yaml", App("/c/f", "img/f:1"))}, {});
}

// One changed file among many: the other documents are the same objects in the new result (not
// copies), which is what keeps a re-plan in `converge watch` proportional to the change.
TEST_F(SpecCacheTest, UnchangedDocumentsAreShared) {
  for (int i = 0; i < 20; ++i)
    Write("many/" + std::to_string(i) + ".yaml", App("/m/" + std::to_string(i), "img:1"));
  SpecCache cache(root_.string(), DefaultKindRegistry());
  cache.Rescan();
  auto before = cache.Current();
  cache.UpdatePaths({Write("many/7.yaml", App("/m/7", "img:2"))});
  auto after = cache.Current();
  ASSERT_EQ(before->documents.size(), after->documents.size());
  size_t shared = 0;
  for (size_t i = 0; i < after->documents.size(); ++i)
    shared += before->documents.ptr(i) == after->documents.ptr(i);
  EXPECT_EQ(shared, after->documents.size() - 1);
}

}  // namespace
}  // namespace converge::watch
