#include "reconcilers/marathon/diff.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace converge::marathon {
namespace {

namespace fs = std::filesystem;

// Golden cases: reconcilers/marathon/testdata/diff/<case>/{desired,live,last_applied?,expected}
// .json. Regenerate with CONVERGE_UPDATE_GOLDEN=1 and review the diff of expected.json files.
fs::path GoldenRoot() {
  return fs::path(CONVERGE_SOURCE_DIR) / "reconcilers" / "marathon" / "testdata" / "diff";
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json ReadJson(const fs::path& path) {
  return json::parse(ReadText(path));
}

const char* ActionText(Action a) {
  switch (a) {
    case Action::kNoop:
      return "noop";
    case Action::kCreate:
      return "create";
    case Action::kUpdate:
      return "update";
    case Action::kScale:
      return "scale";
    case Action::kReplace:
      return "replace";
    case Action::kDelete:
      return "delete";
    case Action::kRun:
      return "run";
  }
  return "?";
}

json ToJson(const DiffResult& r) {
  json fields = json::array();
  for (const FieldChange& f : r.fields) {
    fields.push_back({{"path", f.path}, {"before", f.before}, {"after", f.after}});
  }
  return {{"action", ActionText(r.action)}, {"reason", r.reason}, {"fields", fields}};
}

std::vector<std::string> GoldenCases() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(GoldenRoot(), ec)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class DiffGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DiffGoldenTest, MatchesExpected) {
  const fs::path dir = GoldenRoot() / GetParam();
  const json desired = ReadJson(dir / "desired.json");
  const json live = ReadJson(dir / "live.json");
  const json last =
      fs::exists(dir / "last_applied.json") ? ReadJson(dir / "last_applied.json") : json();
  const json got = ToJson(DiffApp(desired, live, last));
  const char* update = std::getenv("CONVERGE_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(dir / "expected.json") << got.dump(2) << "\n";
    GTEST_SKIP() << "regenerated " << (dir / "expected.json").string();
  }
  ASSERT_TRUE(fs::exists(dir / "expected.json")) << "run with CONVERGE_UPDATE_GOLDEN=1";
  // Compare serialisations: json == would treat 512 and 512.0 as equal.
  EXPECT_EQ(got.dump(2), ReadJson(dir / "expected.json").dump(2));
  // Pure: the same inputs give the same answer.
  EXPECT_EQ(ToJson(DiffApp(desired, live, last)).dump(), got.dump());
}

INSTANTIATE_TEST_SUITE_P(Cases, DiffGoldenTest, ::testing::ValuesIn(GoldenCases()),
                         [](const auto& info) { return info.param; });

TEST(DiffGoldenSetTest, HasEnoughCases) {
  EXPECT_GE(GoldenCases().size(), 15u);
}

// ----- AppDefinition / AppDefault --------------------------------------------------------------

TEST(AppDefinitionTest, StripsServerPopulatedMembersAndNulls) {
  json info = json::parse(R"({
    "id": "/a", "cmd": "sleep 1", "args": null, "user": null, "container": null,
    "instances": 2, "labels": {}, "env": {"A": null},
    "version": "2015-09-25T15:13:48.343Z",
    "versionInfo": {"lastScalingAt": "x", "lastConfigChangeAt": "y"},
    "tasksStaged": 0, "tasksRunning": 2, "tasksHealthy": 2, "tasksUnhealthy": 0,
    "deployments": [{"id": "d1"}], "readinessCheckResults": [], "tasks": [{"id": "t"}],
    "lastTaskFailure": {"message": "boom"}, "tasksStats": {}, "counts": {}
  })");
  EXPECT_EQ(AppDefinition(info), json::parse(R"({"id": "/a", "cmd": "sleep 1", "instances": 2,
                                                 "labels": {}, "env": {"A": null}})"));
  EXPECT_EQ(AppDefinition(json()), json());
}

TEST(AppDefinitionTest, UpstreamAppListEntryBecomesValidDefinition) {
  json list = ReadJson(fs::path(CONVERGE_MARATHON_UPSTREAM_DIR) / "raml/v2/examples/app_list.json");
  json def = AppDefinition(list["apps"][0]);
  for (const char* m : {"version", "versionInfo", "tasksRunning", "deployments", "args", "user",
                        "container", "acceptedResourceRoles"}) {
    EXPECT_FALSE(def.contains(m)) << m;
  }
  EXPECT_EQ(def["instances"], 3);
  // Diffing a live app against its own definition changes nothing.
  EXPECT_EQ(DiffApp(def, list["apps"][0], json()).action, Action::kNoop);
}

TEST(AppDefaultTest, KnownAndUnknownMembers) {
  EXPECT_EQ(AppDefault("cpus"), 1);
  EXPECT_EQ(AppDefault("mem"), 128);
  EXPECT_EQ(AppDefault("instances"), 1);
  EXPECT_EQ(AppDefault("backoffFactor"), 1.15);
  EXPECT_EQ(AppDefault("env"), json::object());
  EXPECT_EQ(AppDefault("constraints"), json::array());
  EXPECT_EQ(AppDefault("upgradeStrategy"),
            json::parse(R"({"minimumHealthCapacity": 1, "maximumOverCapacity": 1})"));
  EXPECT_TRUE(AppDefault("cmd").is_null());
  EXPECT_TRUE(AppDefault("nonsense").is_null());
}

// ----- details the goldens do not pin down -----------------------------------------------------

TEST(DiffAppTest, PathsQuoteKeysThatAreNotPlain) {
  json desired = {{"id", "/a"}, {"labels", {{"a.b/c", "1"}, {"q\"k", "2"}, {"", "3"}}}};
  json live = {{"id", "/a"}, {"labels", json::object()}};
  DiffResult r = DiffApp(desired, live, json());
  ASSERT_EQ(r.fields.size(), 3u);
  EXPECT_EQ(r.fields[0].path, "labels[\"\"]");
  EXPECT_EQ(r.fields[1].path, "labels[\"a.b/c\"]");
  EXPECT_EQ(r.fields[2].path, "labels[\"q\\\"k\"]");
}

TEST(DiffAppTest, IndicesSortNumerically) {
  json checks = json::array();
  for (int i = 0; i < 12; ++i) checks.push_back({{"path", "/h" + std::to_string(i)}});
  json desired = {{"id", "/a"}, {"healthChecks", checks}};
  json live = desired;
  live["healthChecks"][2]["path"] = "/old";
  live["healthChecks"][10]["path"] = "/old";
  DiffResult r = DiffApp(desired, live, json());
  ASSERT_EQ(r.fields.size(), 2u);
  EXPECT_EQ(r.fields[0].path, "healthChecks[2].path");
  EXPECT_EQ(r.fields[1].path, "healthChecks[10].path");
  EXPECT_EQ(r.reason, "healthChecks[2].path and 1 other field changed");
}

TEST(DiffAppTest, BothAbsentIsNoop) {
  DiffResult r = DiffApp(json(), json(), json());
  EXPECT_EQ(r.action, Action::kNoop);
  EXPECT_TRUE(r.fields.empty());
}

TEST(DiffAppTest, LongValuesAreCutInTheReason) {
  json desired = {{"id", "/a"}, {"cmd", std::string(100, 'x')}};
  json live = {{"id", "/a"}, {"cmd", "y"}};
  DiffResult r = DiffApp(desired, live, json());
  EXPECT_EQ(r.reason, "cmd \"y\" → \"" + std::string(39, 'x') + "…");
}

json Deep(int depth, const std::string& leaf) {
  json v = leaf;
  for (int i = 0; i < depth; ++i) {
    json a = json::array();
    a.push_back(std::move(v));
    v = std::move(a);
  }
  return v;
}

TEST(DiffAppTest, DeepValuesStayBounded) {
  json desired = {{"id", "/a"}};
  desired["labels"]["x"] = Deep(100000, "a");
  json live = {{"id", "/a"}};
  live["labels"]["x"] = Deep(100000, "b");
  DiffResult r = DiffApp(desired, live, json());
  ASSERT_EQ(r.fields.size(), 1u);
  EXPECT_EQ(r.action, Action::kUpdate);
  json same = {{"id", "/a"}};
  same["labels"]["x"] = Deep(100000, "a");
  EXPECT_EQ(DiffApp(desired, same, json()).action, Action::kNoop);
  EXPECT_EQ(DiffApp(desired, json(), json()).fields.size(), 2u);  // create: id + the deep leaf
}

}  // namespace
}  // namespace converge::marathon
