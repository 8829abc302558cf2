// The YARN emulator's Services API: the real server's status codes (NOTES.md §2, §5),
// containers over time, a failing image, flex, stop/start/destroy, upgrades, persistence.
#include "tests/unit/emulator/yarn_emulator_fixture.h"

namespace converge::yarn {
namespace {

using json = nlohmann::json;

constexpr char kU[] = "?user.name=bob";

json Spec(const std::string& name, int count = 2, const std::string& image = "nginx:1") {
  return {{"name", name},
          {"version", "1.0.0"},
          {"description", "Demo Service"},
          {"lifetime", "3600"},
          {"components",
           {{{"name", "web"},
             {"number_of_containers", count},
             {"artifact", {{"id", image}, {"type", "DOCKER"}}},
             {"launch_command", "./start.sh"},
             {"resource", {{"cpus", 1}, {"memory", 256}}}}}}};
}

class YarnServicesTest : public YarnEmulatorTest {
 protected:
  YarnResp Post(const json& spec) {
    return Call("POST", std::string("/yarn/app/v1/services") + kU, spec.dump());
  }
  json Get(const std::string& name) {
    return Call("GET", "/yarn/app/v1/services/" + name + kU).body;
  }
  YarnResp Put(const std::string& path, const json& body) {
    return Call("PUT", "/yarn/app/v1/services/" + path + kU, body.dump());
  }
  std::vector<std::string> States(const json& service) {
    std::vector<std::string> out;
    for (const json& c : service["components"][0]["containers"]) out.push_back(c["state"]);
    return out;
  }
};

TEST_F(YarnServicesTest, CreateAnswers202AndContainersBecomeReadyOverTime) {
  StartServer();
  EXPECT_EQ(Call("GET", "/yarn/app/v1/services/version").status, 200);
  YarnResp r = Post(Spec("demo"));
  ASSERT_EQ(r.status, 202) << r.raw;
  EXPECT_EQ(r.body["state"], "ACCEPTED");
  EXPECT_EQ(r.body["uri"], "/app/v1/services/demo");
  EXPECT_EQ(r.body["diagnostics"].get<std::string>().rfind("Application ID: application_", 0), 0u);

  json s = Get("demo");
  EXPECT_EQ(s["state"], "ACCEPTED");
  EXPECT_EQ(s["lifetime"], 3600);                              // a string is accepted
  EXPECT_EQ(s["components"][0]["resource"]["memory"], "256");  // Resource.memory is a String
  Advance(3 * kStep);  // the AM runs: containers appear one per step
  s = Get("demo");
  EXPECT_EQ(s["state"], "STARTED");
  EXPECT_EQ(States(s), std::vector<std::string>{"RUNNING_BUT_UNREADY"});
  Advance(kStep);
  EXPECT_EQ(States(Get("demo")), (std::vector<std::string>{"READY", "RUNNING_BUT_UNREADY"}));
  Advance(kStep);
  s = Get("demo");
  EXPECT_EQ(s["state"], "STABLE");
  EXPECT_EQ(s["components"][0]["state"], "STABLE");
  const json& c = s["components"][0]["containers"][1];
  EXPECT_EQ(c["component_instance_name"], "web-1");
  EXPECT_TRUE(c["launch_time"].is_number_integer());
  EXPECT_TRUE(c["bare_host"].is_string());
  EXPECT_EQ(c["id"].get<std::string>().rfind("container_", 0), 0u);

  YarnResp again = Post(Spec("demo"));
  EXPECT_EQ(again.status, 500);
  EXPECT_EQ(again.body["diagnostics"], "Service name demo is already taken.");
}

TEST_F(YarnServicesTest, InvalidSpecsAnswer400) {
  StartServer();
  json no_version = Spec("demo");
  no_version.erase("version");
  EXPECT_EQ(Post(no_version).body["diagnostics"],
            "Version of service demo is either empty or not provided");
  json upper = Spec("Demo");
  EXPECT_EQ(Post(upper).status, 400);
  json no_command = Spec("demo");
  no_command["components"][0].erase("launch_command");
  no_command["components"][0].erase("artifact");
  EXPECT_EQ(Post(no_command).status, 400);
  json no_resource = Spec("demo");
  no_resource["components"][0].erase("resource");
  EXPECT_EQ(Post(no_resource).status, 400);
  no_resource["resource"] = {{"cpus", 1}, {"memory", "128"}};  // a service-level one will do
  EXPECT_EQ(Post(no_resource).status, 202);
  EXPECT_EQ(Call("POST", std::string("/yarn/app/v1/services"), Spec("x").dump()).status, 403);
}

TEST_F(YarnServicesTest, UnknownServicesAnswer404OnGetAnd400OnDelete) {
  StartServer();
  YarnResp r = Call("GET", std::string("/yarn/app/v1/services/ghost") + kU);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, json({{"diagnostics", "Service ghost not found"}, {"code", 404004}}));
  YarnResp d = Call("DELETE", std::string("/yarn/app/v1/services/ghost") + kU);
  EXPECT_EQ(d.status, 400);
  EXPECT_EQ(d.body["diagnostics"], "Service ghost doesn't exist");
}

TEST_F(YarnServicesTest, AFailingImageNeverBecomesReady) {
  EmulatorOptions o;
  o.failing_images = {"broken:1"};
  StartServer(o);
  ASSERT_EQ(Post(Spec("bad", 1, "broken:1")).status, 202);
  Advance(50 * kStep);
  json s = Get("bad");
  EXPECT_EQ(s["state"], "STARTED");
  EXPECT_EQ(s["components"][0]["state"], "FLEXING");
  EXPECT_EQ(States(s), std::vector<std::string>{"RUNNING_BUT_UNREADY"});
}

TEST_F(YarnServicesTest, FlexStopStartAndDestroy) {
  StartServer();
  ASSERT_EQ(Post(Spec("demo", 1)).status, 202);
  Advance(5 * kStep);
  YarnResp flex = Put("demo/components/web", {{"number_of_containers", 3}});
  EXPECT_EQ(flex.status, 200);
  EXPECT_EQ(flex.body["diagnostics"], "Updating component (web) size from 1 to 3");
  EXPECT_EQ(Put("demo/components/web", {{"name", "db"}, {"number_of_containers", 3}}).status, 400);
  EXPECT_EQ(Put("demo/components/web", {{"number_of_containers", -1}}).status, 400);
  EXPECT_EQ(Get("demo")["state"], "STARTED");
  Advance(3 * kStep);
  EXPECT_EQ(Get("demo")["state"], "STABLE");
  EXPECT_EQ(Get("demo")["components"][0]["number_of_containers"], 3);
  YarnResp service_flex =
      Put("demo",
          {{"state", "FLEX"}, {"components", {{{"name", "web"}, {"number_of_containers", 1}}}}});
  EXPECT_EQ(service_flex.status, 202);
  EXPECT_EQ(Get("demo")["components"][0]["containers"].size(), 1u);
  EXPECT_EQ(Put("demo", {{"lifetime", "7200"}}).status, 200);
  EXPECT_EQ(Get("demo")["lifetime"], 7200);

  YarnResp stop = Put("demo", {{"state", "STOPPED"}});
  EXPECT_EQ(stop.status, 200);
  EXPECT_EQ(stop.body["diagnostics"], "Successfully stopped service demo");
  EXPECT_EQ(Put("demo", {{"state", "STOPPED"}}).status, 400);
  EXPECT_EQ(Get("demo")["state"], "STOPPED");
  YarnResp start = Put("demo", {{"state", "STARTED"}});
  EXPECT_EQ(start.status, 200);
  EXPECT_EQ(start.body["state"], "ACCEPTED");
  Advance(5 * kStep);
  EXPECT_EQ(Get("demo")["state"], "STABLE");
  YarnResp del = Call("DELETE", std::string("/yarn/app/v1/services/demo") + kU);
  EXPECT_EQ(del.status, 200);
  EXPECT_EQ(del.body["diagnostics"], "Successfully destroyed service demo");
  EXPECT_EQ(Call("GET", std::string("/yarn/app/v1/services/demo") + kU).status, 404);
}

TEST_F(YarnServicesTest, ServicesAreYarnServiceApplicationsWithLowercasedTags) {
  StartServer();
  ASSERT_EQ(Post(Spec("demo")).status, 202);
  json saved = Spec("later");
  saved["state"] = "STOPPED";
  YarnResp s = Post(saved);
  EXPECT_EQ(s.status, 202);
  EXPECT_EQ(s.body["diagnostics"], "Service later version 1.0.0 saved.");
  EXPECT_EQ(Get("later")["state"], "STOPPED");
  json apps = Call("GET", "/yarn/ws/v1/cluster/apps?applicationTypes=yarn-service").body;
  ASSERT_EQ(apps["apps"]["app"].size(), 1u);  // a saved service runs no application
  const json& app = apps["apps"]["app"][0];
  EXPECT_EQ(app["name"], "demo");
  EXPECT_EQ(app["user"], "bob");
  EXPECT_EQ(app["applicationTags"], "description: demo service,name: demo,version: 1.0.0");
  Advance(3 * kStep);
  EXPECT_EQ(app["id"], Get("demo")["id"]);
  EXPECT_EQ(
      Call("GET", "/yarn/ws/v1/cluster/apps/" + app["id"].get<std::string>()).body["app"]["state"],
      "RUNNING");
  Put("demo", {{"state", "STOPPED"}});
  json stopped = Call("GET", "/yarn/ws/v1/cluster/apps/" + app["id"].get<std::string>()).body;
  EXPECT_EQ(stopped["app"]["state"], "FINISHED");
}

TEST_F(YarnServicesTest, ThreeStepUpgrade) {
  StartServer();
  ASSERT_EQ(Post(Spec("demo", 2, "nginx:1")).status, 202);
  Advance(6 * kStep);
  ASSERT_EQ(Get("demo")["state"], "STABLE");
  json next = Spec("demo", 2, "nginx:2");
  next["version"] = "2.0.0";
  next["state"] = "UPGRADING";
  YarnResp init = Put("demo", next);
  ASSERT_EQ(init.status, 202) << init.raw;
  json s = Get("demo");
  EXPECT_EQ(s["state"], "UPGRADING");
  EXPECT_EQ(s["components"][0]["state"], "NEEDS_UPGRADE");
  EXPECT_EQ(States(s), (std::vector<std::string>{"NEEDS_UPGRADE", "NEEDS_UPGRADE"}));
  // A START finalizes; before every instance is upgraded it changes nothing.
  EXPECT_EQ(Put("demo", {{"state", "STARTED"}}).status, 200);
  EXPECT_EQ(Get("demo")["state"], "UPGRADING");

  YarnResp inst =
      Put("demo/component-instances",
          json::array({{{"component_instance_name", "web-0"}, {"state", "UPGRADING"}},
                       {{"component_instance_name", "web-1"}, {"state", "UPGRADING"}}}));
  EXPECT_EQ(inst.status, 200) << inst.raw;
  EXPECT_EQ(States(Get("demo")), (std::vector<std::string>{"UPGRADING", "UPGRADING"}));
  Advance(kStep);
  EXPECT_EQ(States(Get("demo")), (std::vector<std::string>{"READY", "READY"}));
  json listed = Call("GET", std::string("/yarn/app/v1/services/demo/component-instances") + kU +
                                "&version=2.0.0")
                    .body;
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["containers"].size(), 2u);
  EXPECT_EQ(Put("demo", {{"state", "STARTED"}}).status, 200);
  s = Get("demo");
  EXPECT_EQ(s["version"], "2.0.0");
  EXPECT_EQ(s["components"][0]["artifact"]["id"], "nginx:2");
  EXPECT_EQ(s["state"], "STABLE");
}

TEST_F(YarnServicesTest, AutoFinalizeUpgradeAndDisabledUpgrade) {
  StartServer();
  ASSERT_EQ(Post(Spec("demo", 2, "nginx:1")).status, 202);
  Advance(6 * kStep);
  json next = Spec("demo", 2, "nginx:2");
  next["version"] = "2.0.0";
  next["state"] = "UPGRADING_AUTO_FINALIZE";
  ASSERT_EQ(Put("demo", next).status, 202);
  EXPECT_EQ(Get("demo")["state"], "UPGRADING_AUTO_FINALIZE");
  Advance(3 * kStep);
  json s = Get("demo");
  EXPECT_EQ(s["state"], "STABLE");
  EXPECT_EQ(s["version"], "2.0.0");

  ASSERT_EQ(Call("POST", "/_admin/yarn/options", R"({"upgrade_disabled":true})").status, 200);
  next["version"] = "3.0.0";
  YarnResp off = Put("demo", next);
  EXPECT_EQ(off.status, 400);
  EXPECT_EQ(off.body["diagnostics"], "Service upgrade is disabled.");
}

TEST_F(YarnServicesTest, CancelUpgradeGoesBackToThePreviousVersion) {
  StartServer();
  ASSERT_EQ(Post(Spec("demo", 1, "nginx:1")).status, 202);
  Advance(6 * kStep);
  json next = Spec("demo", 1, "nginx:2");
  next["version"] = "2.0.0";
  next["state"] = "UPGRADING";
  ASSERT_EQ(Put("demo", next).status, 202);
  Put("demo/component-instances", json::array({{{"component_instance_name", "web-0"}}}));
  Advance(kStep);
  EXPECT_EQ(Put("demo", {{"state", "CANCEL_UPGRADING"}}).status, 202);
  EXPECT_EQ(Get("demo")["state"], "CANCEL_UPGRADING");
  Advance(2 * kStep);
  json s = Get("demo");
  EXPECT_EQ(s["state"], "STABLE");
  EXPECT_EQ(s["version"], "1.0.0");
}

TEST_F(YarnServicesTest, DisabledServicesApiAnswers503) {
  EmulatorOptions o;
  o.services_api_disabled = true;
  StartServer(o);
  EXPECT_EQ(Call("GET", "/yarn/app/v1/services/version").status, 503);
  EXPECT_EQ(Post(Spec("demo")).status, 503);
}

TEST_F(YarnServicesTest, StateRoundTrips) {
  StartServer();
  ASSERT_EQ(Post(Spec("demo")).status, 202);
  std::string app = Submit();
  Advance(5 * kStep);
  json before = Get("demo");
  json state = emulator_->ExportState();
  emulator_->Reset();
  EXPECT_EQ(Call("GET", std::string("/yarn/app/v1/services/demo") + kU).status, 404);
  ASSERT_TRUE(emulator_->ImportState(state).ok());
  EXPECT_EQ(Get("demo"), before);
  EXPECT_EQ(Call("GET", "/yarn/ws/v1/cluster/apps/" + app).status, 200);
  EXPECT_FALSE(emulator_->ImportState(json{{"apps", 3}}).ok());
  // The next application id continues after the imported ones.
  std::string next = Submit();
  EXPECT_GT(next, app);
}

TEST_F(YarnServicesTest, FaultAnswersFollowTheApi) {
  StartServer();
  httplib::Request rm, services;
  rm.path = "/yarn/ws/v1/cluster/apps";
  services.path = "/yarn/app/v1/services/x";
  httplib::Response res;
  EXPECT_EQ(emulator_->FaultTarget(services), "services");
  emulator_->AnswerFault(503, "", res);
  EXPECT_TRUE(json::parse(res.body).contains("diagnostics"));
  EXPECT_EQ(emulator_->FaultTarget(rm), "rm");
  emulator_->AnswerFault(500, "", res);
  EXPECT_TRUE(json::parse(res.body).contains("RemoteException"));
}

}  // namespace
}  // namespace converge::yarn
