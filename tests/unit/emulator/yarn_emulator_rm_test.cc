// The YARN emulator's ResourceManager side: HA (standby 307 and its exceptions), the apps API's
// status codes and bodies (rm-rest-examples/), the application state machine over time.
#include "tests/unit/emulator/yarn_emulator_fixture.h"

namespace converge::yarn {
namespace {

using json = nlohmann::json;

TEST_F(YarnEmulatorTest, StandbyRedirectsToTheActiveRmExceptInfoAndIsActive) {
  StartServer();
  YarnResp r = Call("GET", "/yarn-standby/ws/v1/cluster/apps?states=RUNNING&user.name=a");
  EXPECT_EQ(r.status, 307);
  const std::string want = Url("/yarn/ws/v1/cluster/apps?states=RUNNING&user.name=a");
  EXPECT_EQ(r.Header("Location"), want);
  EXPECT_EQ(r.raw, "This is standby RM. The redirect url is: " + want);
  EXPECT_EQ(Call("POST", "/yarn-standby/app/v1/services?user.name=a", "{}").status, 307);

  YarnResp info = Call("GET", "/yarn-standby/ws/v1/cluster/info");
  EXPECT_EQ(info.status, 200);
  EXPECT_EQ(info.body["clusterInfo"]["haState"], "STANDBY");
  EXPECT_EQ(Call("GET", "/yarn/ws/v1/cluster/info").body["clusterInfo"]["haState"], "ACTIVE");
  EXPECT_EQ(Call("GET", "/yarn-standby/isActive").status, 405);
  YarnResp active = Call("GET", "/yarn/isActive");
  EXPECT_EQ(active.status, 200);
  EXPECT_EQ(active.raw, "I am Active!");
}

TEST_F(YarnEmulatorTest, AdminSwapsRolesAndCanLeaveNoActiveRm) {
  StartServer();
  EXPECT_EQ(Call("POST", "/_admin/yarn/ha", R"({"active":"standby"})").status, 200);
  YarnResp r = Call("GET", "/yarn/ws/v1/cluster/apps");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(r.Header("Location"), Url("/yarn-standby/ws/v1/cluster/apps"));
  EXPECT_EQ(Call("GET", "/yarn-standby/ws/v1/cluster/apps").status, 200);

  EXPECT_EQ(Call("POST", "/_admin/yarn/ha", R"({"active":"none"})").status, 200);
  for (const char* p : {"/yarn/ws/v1/cluster/apps", "/yarn-standby/ws/v1/cluster/apps"}) {
    YarnResp none = Call("GET", p);
    EXPECT_EQ(none.status, 307) << p;
    EXPECT_EQ(none.Header("Refresh"), "3");
    EXPECT_EQ(none.Header("Location"), "");
    EXPECT_NE(none.raw.find("Can not find any active RM"), std::string::npos);
  }
  EXPECT_EQ(Call("POST", "/_admin/yarn/ha", R"({"active":"sideways"})").status, 400);
}

TEST_F(YarnEmulatorTest, NewApplicationAndSubmitNeedAUser) {
  StartServer();
  YarnResp r = Call("POST", "/yarn/ws/v1/cluster/apps/new-application");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body["RemoteException"]["exception"], "AuthorizationException");
  EXPECT_EQ(r.body["RemoteException"]["message"],
            "Unable to obtain user name, user not authenticated");
  YarnResp id = Call("POST", "/yarn/ws/v1/cluster/apps/new-application?user.name=alice");
  ASSERT_EQ(id.status, 200);
  std::string app_id = id.body["application-id"];
  EXPECT_EQ(app_id.rfind("application_", 0), 0u);
  EXPECT_EQ(app_id.substr(app_id.size() - 5), "_0001");
  EXPECT_EQ(id.body["maximum-resource-capability"], json({{"memory", 8192}, {"vCores", 32}}));
  json body = {{"application-id", app_id}};
  EXPECT_EQ(Call("POST", "/yarn/ws/v1/cluster/apps", body.dump()).status, 401);
  YarnResp ok = Call("POST", "/yarn/ws/v1/cluster/apps?user.name=alice", body.dump());
  EXPECT_EQ(ok.status, 202);
  EXPECT_EQ(ok.raw, "");
  EXPECT_EQ(ok.Header("Location"), Url("/yarn/ws/v1/cluster/apps/" + app_id));
  // A repeated submission of the same id is accepted again and creates nothing new.
  EXPECT_EQ(Call("POST", "/yarn/ws/v1/cluster/apps?user.name=alice", body.dump()).status, 202);
  EXPECT_EQ(Call("GET", "/yarn/ws/v1/cluster/apps").body["apps"]["app"].size(), 1u);
}

TEST_F(YarnEmulatorTest, SubmitRejectsUnknownIdsAndResourcesOverTheMaximum) {
  StartServer();
  YarnResp r = Call("POST", "/yarn/ws/v1/cluster/apps?user.name=alice",
                    R"({"application-id":"application_1_0042"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["RemoteException"]["exception"], "BadRequestException");
  std::string id = Call("POST", "/yarn/ws/v1/cluster/apps/new-application?user.name=alice")
                       .body["application-id"];
  json big = {{"application-id", id}, {"resource", {{"memory", 9000}, {"vCores", 1}}}};
  YarnResp over = Call("POST", "/yarn/ws/v1/cluster/apps?user.name=alice", big.dump());
  EXPECT_EQ(over.status, 400);
  EXPECT_NE(over.body["RemoteException"]["message"].get<std::string>().find("maximum allowed"),
            std::string::npos);
}

TEST_F(YarnEmulatorTest, AnApplicationRunsThroughItsStatesAndFinishes) {
  StartServer();
  std::string id = Submit({{"application-type", "MAPREDUCE"},
                           {"queue", "default"},
                           {"application-tags", {{"tag", {"Converge.IO/Managed-By=Prod", "B"}}}}});
  const std::string path = "/yarn/ws/v1/cluster/apps/" + id;
  YarnResp app = Call("GET", path);
  ASSERT_EQ(app.status, 200);
  for (const char* member : {"id", "user", "name", "queue", "state", "finalStatus", "progress",
                             "diagnostics", "applicationType", "applicationTags", "startedTime",
                             "finishedTime", "elapsedTime", "trackingUrl", "amContainerLogs"}) {
    EXPECT_TRUE(app.body["app"].contains(member)) << member;
  }
  EXPECT_EQ(app.body["app"]["user"], "alice");
  EXPECT_EQ(app.body["app"]["applicationType"], "MAPREDUCE");
  EXPECT_EQ(app.body["app"]["applicationTags"], "b,converge.io/managed-by=prod");
  std::vector<std::string> seen;
  for (int i = 0; i < 8; ++i) {
    seen.push_back(Call("GET", path + "/state").body["state"]);
    Advance(kStep);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"NEW", "SUBMITTED", "ACCEPTED", "RUNNING", "RUNNING",
                                            "RUNNING", "RUNNING", "FINISHED"}));
  app = Call("GET", path);
  EXPECT_EQ(app.body["app"]["finalStatus"], "SUCCEEDED");
  EXPECT_EQ(app.body["app"]["progress"], 100);
  EXPECT_GT(app.body["app"]["finishedTime"].get<int64_t>(), 0);
}

TEST_F(YarnEmulatorTest, ListFiltersAndAnEmptyListIsNull) {
  StartServer();
  EXPECT_EQ(Call("GET", "/yarn/ws/v1/cluster/apps").raw, R"({"apps":null})");
  Submit({{"application-tags", {{"tag", {"converge.io/managed-by=prod"}}}}});
  Submit({{"application-type", "SPARK"}, {"queue", "default"}}, "bob");
  auto count = [this](const std::string& q) {
    json apps = Call("GET", "/yarn/ws/v1/cluster/apps" + q).body["apps"];
    return apps.is_null() ? 0 : static_cast<int>(apps["app"].size());
  };
  EXPECT_EQ(count(""), 2);
  // An unencoded '=' inside a tag and a mixed-case query both match (tags are lowercased).
  EXPECT_EQ(count("?applicationTags=Converge.io/managed-by=prod"), 1);
  EXPECT_EQ(count("?applicationTags=converge.io%2Fmanaged-by%3Dprod"), 1);
  EXPECT_EQ(count("?applicationTags=other,converge.io/managed-by=prod"), 1);
  EXPECT_EQ(count("?applicationTypes=spark"), 1);
  EXPECT_EQ(count("?applicationTypes=YARN,SPARK"), 2);
  EXPECT_EQ(count("?user=bob"), 1);
  EXPECT_EQ(count("?queue=default"), 2);
  EXPECT_EQ(count("?limit=1"), 1);
  EXPECT_EQ(count("?states=RUNNING"), 0);
  EXPECT_EQ(count("?states=NEW,RUNNING"), 2);
  EXPECT_EQ(Call("GET", "/yarn/ws/v1/cluster/apps?states=FINISHED").raw, R"({"apps":null})");
}

TEST_F(YarnEmulatorTest, KillAnswers202ThenKilled) {
  StartServer();
  std::string id = Submit();
  Advance(3 * kStep);
  const std::string path = "/yarn/ws/v1/cluster/apps/" + id + "/state";
  EXPECT_EQ(Call("PUT", path, R"({"state":"KILLED"})").status, 401);
  YarnResp bad = Call("PUT", path + "?user.name=alice", R"({"state":"FINISHED"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["RemoteException"]["message"], "Only 'KILLED' is allowed as a target state.");
  YarnResp first = Call("PUT", path + "?user.name=alice", R"({"state":"KILLED"})");
  EXPECT_EQ(first.status, 202);
  EXPECT_EQ(first.body, json({{"state", "ACCEPTED"}}));
  EXPECT_EQ(first.Header("Location"), Url("/yarn/ws/v1/cluster/apps/" + id));
  Advance(kStep);
  YarnResp done = Call("PUT", path + "?user.name=alice", R"({"state":"KILLED"})");
  EXPECT_EQ(done.status, 200);
  EXPECT_EQ(done.body, json({{"state", "KILLED"}}));
  json app = Call("GET", "/yarn/ws/v1/cluster/apps/" + id).body["app"];
  EXPECT_EQ(app["finalStatus"], "KILLED");
  Advance(10 * kStep);
  EXPECT_EQ(Call("GET", path).body["state"], "KILLED");  // a kill outlives the run time
}

TEST_F(YarnEmulatorTest, FailingAmCommandAndUnknownQueueFail) {
  EmulatorOptions o;
  o.failing_images = {"broken/image:1"};
  StartServer(o);
  std::string bad =
      Submit({{"am-container-spec", {{"commands", {{"command", "docker run broken/image:1 x"}}}}}});
  std::string queue = Submit({{"queue", "nosuchqueue"}});
  Advance(10 * kStep);
  json app = Call("GET", "/yarn/ws/v1/cluster/apps/" + bad).body["app"];
  EXPECT_EQ(app["state"], "FAILED");
  EXPECT_EQ(app["finalStatus"], "FAILED");
  EXPECT_NE(app["diagnostics"].get<std::string>().find("exitCode"), std::string::npos);
  json q = Call("GET", "/yarn/ws/v1/cluster/apps/" + queue).body["app"];
  EXPECT_EQ(q["state"], "FAILED");
  EXPECT_NE(q["diagnostics"].get<std::string>().find("unknown queue: nosuchqueue"),
            std::string::npos);
}

TEST_F(YarnEmulatorTest, UnknownAndMalformedApplicationIds) {
  StartServer();
  YarnResp missing = Call("GET", "/yarn/ws/v1/cluster/apps/application_1_0009");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body["RemoteException"]["exception"], "NotFoundException");
  EXPECT_EQ(Call("GET", "/yarn/ws/v1/cluster/apps/banana").status, 400);
}

TEST_F(YarnEmulatorTest, StaticUserStandsInForAMissingUserName) {
  EmulatorOptions o;
  o.static_user = "dr.who";
  StartServer(o);
  YarnResp id = Call("POST", "/yarn/ws/v1/cluster/apps/new-application");
  ASSERT_EQ(id.status, 200);
  json body = {{"application-id", id.body["application-id"]}};
  EXPECT_EQ(Call("POST", "/yarn/ws/v1/cluster/apps", body.dump()).status, 202);
  EXPECT_EQ(Call("GET", "/yarn/ws/v1/cluster/apps").body["apps"]["app"][0]["user"], "dr.who");
}

}  // namespace
}  // namespace converge::yarn

namespace converge::yarn {
namespace {

TEST_F(YarnEmulatorTest, AnAmCommandRunsOnceThroughTheSandboxWhenTheApplicationWouldSucceed) {
  StartServer();
  std::vector<std::string> ran;
  emulator_->SetCommandRunner([&ran](const std::string& command) -> std::optional<Status> {
    ran.push_back(command);
    if (command.find("rewrite broken.table") != std::string::npos)
      return InvalidError("Cannot commit: table broken.table has changed");
    if (command.find("rewrite") != std::string::npos) return Status::Ok();
    return std::nullopt;  // nobody's command: the application just runs
  });
  auto am = [](const std::string& command) {
    return json{{"am-container-spec", {{"commands", {{"command", command}}}}}};
  };
  std::string ok = Submit(am("spark-sql -e rewrite lake.events"));
  std::string bad = Submit(am("spark-sql -e rewrite broken.table"));
  std::string plain = Submit(am("sleep 1"));
  Advance(3 * kStep);
  EXPECT_EQ(Call("GET", "/yarn/ws/v1/cluster/apps/" + ok).body["app"]["state"], "RUNNING");
  EXPECT_TRUE(ran.empty()) << "a command runs when its application ends, not before";
  Advance(10 * kStep);
  for (int i = 0; i < 3; ++i) Call("GET", "/yarn/ws/v1/cluster/apps");  // polled again: once only
  EXPECT_EQ(ran.size(), 3u);
  json a = Call("GET", "/yarn/ws/v1/cluster/apps/" + ok).body["app"];
  EXPECT_EQ(a["finalStatus"], "SUCCEEDED");
  json b = Call("GET", "/yarn/ws/v1/cluster/apps/" + bad).body["app"];
  EXPECT_EQ(b["state"], "FAILED");
  EXPECT_NE(b["diagnostics"].get<std::string>().find("table broken.table has changed"),
            std::string::npos);
  EXPECT_EQ(Call("GET", "/yarn/ws/v1/cluster/apps/" + plain).body["app"]["finalStatus"], "SUCCEEDED");
  emulator_->SetCommandRunner(nullptr);
}

}  // namespace
}  // namespace converge::yarn
