// The Marathon emulator served in-process on an ephemeral port, driven by httplib::Client. Time is
// a fake clock advanced by the tests, so deployment timing needs no sleeps.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "reconcilers/marathon/emulator.h"
#include "tests/common/fake_clock.h"
#include "reconcilers/marathon/validate.h"

namespace converge::marathon {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

struct Resp {
  int status = 0;
  json body;
  std::string raw;
  httplib::Headers headers;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class EmulatorTest : public ::testing::Test {
 protected:
  void TearDown() override { StopServer(); }

  // Starts an emulator at /marathon with the fake clock unless options.now is set.
  void StartServer(EmulatorOptions options = {}) {
    if (!options.now) options.now = [this] { return clock_.Now(); };
    emulator_ = std::make_unique<Emulator>(options);
    server_ = std::make_unique<httplib::Server>();
    emulator_->Mount(*server_, "/marathon");
    int port = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(milliseconds(1));
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port);
    client_->set_read_timeout(30, 0);
  }

  void StopServer() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    client_.reset();
    server_.reset();
    emulator_.reset();
  }

  Resp Call(const std::string& method, const std::string& path, const std::string& body = "",
            httplib::Headers headers = {}) {
    httplib::Result r(nullptr, httplib::Error::Unknown);
    std::string p = "/marathon" + path;
    if (method == "GET") r = client_->Get(p.c_str(), headers);
    if (method == "POST") r = client_->Post(p.c_str(), headers, body, "application/json");
    if (method == "PUT") r = client_->Put(p.c_str(), headers, body, "application/json");
    if (method == "PATCH") r = client_->Patch(p.c_str(), headers, body, "application/json");
    if (method == "DELETE") r = client_->Delete(p.c_str(), headers, body, "application/json");
    Resp out;
    if (!r) {
      ADD_FAILURE() << method << " " << path << ": no response";
      return out;
    }
    out.status = r->status;
    out.raw = r->body;
    out.headers = r->headers;
    out.body = json::parse(r->body, nullptr, false);
    return out;
  }

  // Creates an app and lets its deployment finish.
  json CreateReady(const json& app) {
    Resp r = Call("POST", "/v2/apps", app.dump());
    EXPECT_EQ(r.status, 201) << r.raw;
    clock_.Advance(milliseconds(5000));
    std::string id = app["id"];
    return GetApp(id[0] == '/' ? id : "/" + id);
  }

  json GetApp(const std::string& id) {
    Resp r = Call("GET", "/v2/apps" + id);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body["app"];
  }

  json Deployments() { return Call("GET", "/v2/deployments").body; }

  // Advanced by the tests; the emulator only reads Now().
  test::FakeClock clock_{test::FakeClock::DefaultWall(),
                         std::chrono::steady_clock::time_point(std::chrono::hours(1000))};
  std::unique_ptr<Emulator> emulator_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
};

TEST_F(EmulatorTest, CreateAppAppliesMarathonDefaults) {
  StartServer();
  Resp r = Call("POST", "/v2/apps", R"({"id": "/web", "cmd": "sleep 100"})");
  ASSERT_EQ(r.status, 201) << r.raw;
  const json& app = r.body;
  EXPECT_EQ(r.Header("Location"), "/web");
  std::string deployment = r.Header("Marathon-Deployment-Id");
  ASSERT_FALSE(deployment.empty());
  EXPECT_EQ(app["deployments"], json::array({{{"id", deployment}}}));
  EXPECT_EQ(app["id"], "/web");
  EXPECT_EQ(app["cmd"], "sleep 100");
  EXPECT_FALSE(app.contains("args"));
  EXPECT_EQ(app["cpus"], 1);
  EXPECT_EQ(app["mem"], 128);
  EXPECT_EQ(app["disk"], 0);
  EXPECT_EQ(app["gpus"], 0);
  EXPECT_EQ(app["instances"], 1);
  EXPECT_EQ(app["env"], json::object());
  EXPECT_EQ(app["labels"], json::object());
  EXPECT_EQ(app["constraints"], json::array());
  EXPECT_EQ(app["fetch"], json::array());
  EXPECT_EQ(app["healthChecks"], json::array());
  EXPECT_EQ(app["readinessChecks"], json::array());
  EXPECT_EQ(app["dependencies"], json::array());
  EXPECT_EQ(app["upgradeStrategy"],
            (json{{"minimumHealthCapacity", 1}, {"maximumOverCapacity", 1}}));
  EXPECT_EQ(app["backoffSeconds"], 1);
  EXPECT_DOUBLE_EQ(app["backoffFactor"].get<double>(), 1.15);
  EXPECT_EQ(app["maxLaunchDelaySeconds"], 300);
  EXPECT_EQ(app["requirePorts"], false);
  EXPECT_EQ(app["executor"], "");
  EXPECT_EQ(app["killSelection"], "YOUNGEST_FIRST");
  EXPECT_EQ(app["unreachableStrategy"],
            (json{{"inactiveAfterSeconds", 0}, {"expungeAfterSeconds", 0}}));
  EXPECT_EQ(app["networks"], json::parse(R"([{"mode": "host"}])"));
  ASSERT_EQ(app["portDefinitions"].size(), 1u);
  EXPECT_GE(app["portDefinitions"][0]["port"].get<int>(), 10000);
  EXPECT_EQ(app["portDefinitions"][0]["protocol"], "tcp");
  ASSERT_TRUE(app["version"].is_string());
  EXPECT_EQ(app["versionInfo"]["lastScalingAt"], app["version"]);
  EXPECT_EQ(app["versionInfo"]["lastConfigChangeAt"], app["version"]);
  for (const char* k : {"tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy"}) {
    EXPECT_EQ(app[k], 0) << k;
  }
}

TEST_F(EmulatorTest, ServicePortsAreUniqueAndKeptOnUpdate) {
  StartServer();
  json a = CreateReady({{"id", "/a"}, {"cmd", "x"}});
  json b = CreateReady(
      {{"id", "/b"}, {"cmd", "x"}, {"portDefinitions", {{{"port", 0}}, {{"port", 0}}}}});
  int pa = a["portDefinitions"][0]["port"];
  EXPECT_NE(pa, b["portDefinitions"][0]["port"].get<int>());
  EXPECT_NE(b["portDefinitions"][0]["port"], b["portDefinitions"][1]["port"]);
  ASSERT_EQ(Call("PUT", "/v2/apps/a", R"({"cmd": "y"})").status, 200);
  EXPECT_EQ(GetApp("/a")["portDefinitions"][0]["port"], pa);
}

TEST_F(EmulatorTest, DuplicateCreateIsConflict) {
  StartServer();
  CreateReady({{"id", "/dup"}, {"cmd", "sleep 1"}});
  Resp r = Call("POST", "/v2/apps", R"({"id": "dup", "cmd": "sleep 1"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, json::parse(R"({"message": "An app with id [/dup] already exists."})"));
}

TEST_F(EmulatorTest, UnknownAppIs404WithUpstreamBody) {
  StartServer();
  Resp r = Call("GET", "/v2/apps/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, json::parse(R"({"message": "App '/nope' does not exist"})"));
  EXPECT_EQ(Call("GET", "/v2/apps/nope/versions").status, 404);
  EXPECT_EQ(Call("DELETE", "/v2/apps/nope").status, 404);
  EXPECT_EQ(Call("PATCH", "/v2/apps/nope", R"({"cmd": "x"})").status, 404);
  EXPECT_EQ(Call("POST", "/v2/apps/nope/restart").status, 404);
}

TEST_F(EmulatorTest, ValidationErrorsHaveUpstreamShape) {
  StartServer();
  auto details_for = [](const json& body, const std::string& path) {
    for (const json& d : body["details"]) {
      if (d["path"] == path) return d["errors"];
    }
    return json();
  };
  Resp r = Call("POST", "/v2/apps",
                R"({"id": "/a", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 1.5}})");
  ASSERT_EQ(r.status, 422) << r.raw;
  EXPECT_EQ(r.body["message"], "Object is not valid");
  EXPECT_EQ(details_for(r.body, "/upgradeStrategy/minimumHealthCapacity"),
            json::array({"is greater than 1"}));

  r = Call("POST", "/v2/apps", R"({"id": "/a", "cmd": "x", "args": ["y"]})");
  EXPECT_EQ(r.status, 422) << r.raw;

  r = Call("POST", "/v2/apps", R"({"id": "/a", "cmd": "x", "instances": -1, "cpus": -2})");
  EXPECT_EQ(r.status, 422) << r.raw;
  EXPECT_FALSE(details_for(r.body, "/instances").is_null());
  EXPECT_FALSE(details_for(r.body, "/cpus").is_null());

  r = Call("POST", "/v2/apps", R"({"id": "/a", "cmd": "x", "mem": -1})");
  EXPECT_EQ(r.status, 422);

  r = Call("POST", "/v2/apps", R"({"id": "/a", "cmd": "x", "colour": "blue"})");
  ASSERT_EQ(r.status, 422);
  ASSERT_EQ(r.body["details"].size(), 1u);
  EXPECT_NE(r.body["details"][0]["errors"][0].get<std::string>().find("colour"), std::string::npos);

  for (const char* id : {"/Upper", "/a_b", "/-a", "/a/", "/a//b/-"}) {
    r = Call("POST", "/v2/apps", json{{"id", id}, {"cmd", "x"}}.dump());
    if (std::string(id) == "/a/") {
      EXPECT_EQ(r.status, 201) << id;  // a trailing slash is dropped
      continue;
    }
    ASSERT_EQ(r.status, 422) << id << r.raw;
    EXPECT_EQ(r.body["details"][0]["path"], "/id");
  }
  // Neither cmd, args nor container.
  EXPECT_EQ(Call("POST", "/v2/apps", R"({"id": "/nothing"})").status, 422);
  // Nothing was created by the rejected calls.
  EXPECT_EQ(Call("GET", "/v2/apps").body["apps"].size(), 1u);
}

// The emulator judges app bodies by the schema `converge validate` uses: whatever validate
// rejects, the emulator rejects (400 or 422 in Marathon's words), and what it accepts is created.
TEST_F(EmulatorTest, ValidatesWithTheSameSchemaAsConvergeValidate) {
  StartServer();
  const std::vector<std::string> bodies = {
      R"({"cmd": "x"})",
      R"({"cmd": "x", "instances": -1})",
      R"({"cmd": "x", "constraints": [["hostname", "IS", "a"]]})",
      R"({"cmd": "x", "constraints": [["hostname", "UNIQUE"]]})",
      R"({"cmd": "x", "tty": true, "role": "r"})",
      R"({"cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 2}})",
      R"({"cmd": "x", "colour": 1})",
      R"({"cmd": "x", "healthChecks": [{"protocol": "HTTPX"}]})",
      R"({"cmd": "x", "container": {"type": "DOCKER", "docker": {}}})",
      R"({"cmd": "x", "container": {"type": "DOCKER", "docker": {"image": "i:1"}}})",
      R"({"cmd": "x", "env": {"A": {"secret": "s"}, "B": "b"}})",
      R"({"cmd": "x", "env": {"A": 3}})",
      R"({"cmd": "x", "labels": {"a": 1}})",
      R"({"cmd": "x", "unreachableStrategy": "disabled"})",
      R"({"cmd": "x", "unreachableStrategy": "sometimes"})",
      R"({"cmd": "x", "unreachableStrategy": {"inactiveAfterSeconds": 1, "colour": 2}})",
      R"({"cmd": "x", "resourceLimits": {"cpus": "unlimited"}})",
      R"({"cmd": "", "instances": 1})",
  };
  int n = 0;
  for (const std::string& text : bodies) {
    json app = json::parse(text);
    std::vector<PathDiagnostic> diags;
    ValidateApp(app, "", diags);
    const bool valid = diags.empty();
    app["id"] = "/same/app" + std::to_string(n++);
    Resp r = Call("POST", "/v2/apps", app.dump());
    if (valid) {
      EXPECT_EQ(r.status, 201) << text << " " << r.raw;
    } else {
      EXPECT_TRUE(r.status == 400 || r.status == 422) << text << " " << r.raw;
      EXPECT_TRUE(r.body["message"] == "Invalid JSON" || r.body["message"] == "Object is not valid")
          << r.raw;
      EXPECT_FALSE(r.body["details"].empty()) << r.raw;
    }
  }
}

TEST_F(EmulatorTest, SchemaViolationsInMarathonsWords) {
  StartServer();
  auto one = [this](const std::string& body) {
    Resp r = Call("POST", "/v2/apps", body);
    return std::make_pair(r.status, r.body["details"]);
  };
  EXPECT_EQ(one(R"({"id": "/a", "cmd": "x", "constraints": [["hostname", "IS", "a"]]})"),
            std::make_pair(422, json::parse(R"j([{"path": "/constraints(0)(1)",
                "errors": ["is not one of (UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER)"]
}])j")));
  EXPECT_EQ(one(R"({"id": "/a", "cmd": "x", "instances": -1})"),
            std::make_pair(422, json::parse(R"j([{"path": "/instances",
                "errors": ["is less than 0"]}])j")));
  EXPECT_EQ(one(R"({"id": "/a", "cmd": "x", "container": {"docker": {}}})"),
            std::make_pair(400, json::parse(R"j([{"path": "/container/docker/image",
                "errors": ["error.path.missing"]}])j")));
  EXPECT_EQ(one(R"({"id": "/a", "cmd": "x", "healthChecks": [{"portIndex": "0"}]})"),
            std::make_pair(400, json::parse(R"j([{"path": "/healthChecks(0)/portIndex",
                "errors": ["error.expected.jsnumber"]}])j")));
  EXPECT_EQ(one(R"({"id": "/a", "cmd": "x", "unreachableStrategy": 5})"),
            std::make_pair(400, json::parse(R"j([{"path": "/unreachableStrategy",
                "errors": ["error.expected.jsobject"]}])j")));
  EXPECT_EQ(one(R"({"id": "/a", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 0.5,
                    "speed": 1}})"),
            std::make_pair(422, json::parse(R"j([{"path": "/upgradeStrategy", "errors": [
                "object instance has properties which are not allowed by the schema: [\"speed\"]"]}])j")));
  Resp r = Call("POST", "/v2/apps", R"({"id": "/a", "cmd": "x", "args": ["y"]})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["details"], json::parse(R"j([{"path": "/",
      "errors": ["must not specify both cmd and args"]}])j"));
}

TEST_F(EmulatorTest, BadJsonAndWrongTypesAre400) {
  StartServer();
  Resp r = Call("POST", "/v2/apps", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["message"], "Invalid JSON");
  r = Call("POST", "/v2/apps", R"({"id": 5, "cmd": "x"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, json::parse(R"({"message":"Invalid JSON",
      "details":[{"path":"/id","errors":["error.expected.jsstring"]}]})"));
  r = Call("POST", "/v2/apps", R"({"id": "/a", "cmd": "x", "instances": "3"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["details"][0]["path"], "/instances");
  r = Call("POST", "/v2/apps", R"({"id": "/a", "cmd": "x", "labels": {"a": 1}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["details"][0]["path"], "/labels/a");
}

TEST_F(EmulatorTest, RelativeIdsAndGroupedIdsRoute) {
  StartServer();
  json app = CreateReady({{"id", "group/sub/app"}, {"cmd", "x"}, {"dependencies", {"../db"}}});
  EXPECT_EQ(app["id"], "/group/sub/app");
  EXPECT_EQ(app["dependencies"], json::array({"/group/db"}));
  ASSERT_EQ(Call("PUT", "/v2/apps/group/sub/app", R"({"cmd": "y"})").status, 200);
  Resp versions = Call("GET", "/v2/apps/group/sub/app/versions");
  ASSERT_EQ(versions.status, 200) << versions.raw;
  EXPECT_EQ(versions.body["versions"].size(), 2u);
  Resp one = Call(
      "GET", "/v2/apps/group/sub/app/versions/" + versions.body["versions"][1].get<std::string>());
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.body["id"], "/group/sub/app");
  EXPECT_EQ(one.body["cmd"], "x");
  EXPECT_EQ(Call("GET", "/v2/apps/group/sub/app/tasks").status, 200);
  EXPECT_EQ(Call("POST", "/v2/apps/group/sub/app/restart?force=true").status, 200);
  EXPECT_EQ(Call("GET", "/v2/apps/group/sub").status, 404);
  EXPECT_EQ(Call("GET", "/v2/apps/group/sub/app/").body["app"]["id"], "/group/sub/app");
}

TEST_F(EmulatorTest, PartialUpdateKeepsFieldsAndFullReplaceResetsThem) {
  StartServer();
  CreateReady({{"id", "/p"},
               {"cmd", "sleep 1"},
               {"mem", 64},
               {"labels", {{"team", "a"}}},
               {"env", {{"X", "1"}}}});
  Resp r = Call("PUT", "/v2/apps/p", R"({"cmd": "sleep 2"})");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_TRUE(r.body.contains("deploymentId"));
  EXPECT_TRUE(r.body.contains("version"));
  EXPECT_EQ(r.Header("Marathon-Deployment-Id"), r.body["deploymentId"]);
  clock_.Advance(milliseconds(2000));
  json app = GetApp("/p");
  EXPECT_EQ(app["cmd"], "sleep 2");
  EXPECT_EQ(app["mem"], 64);
  EXPECT_EQ(app["labels"], json({{"team", "a"}}));
  EXPECT_EQ(app["env"], json({{"X", "1"}}));

  r = Call("PUT", "/v2/apps/p?partialUpdate=false", R"({"cmd": "sleep 3"})");
  ASSERT_EQ(r.status, 200) << r.raw;
  app = GetApp("/p");
  EXPECT_EQ(app["cmd"], "sleep 3");
  EXPECT_EQ(app["mem"], 128);
  EXPECT_EQ(app["labels"], json::object());
  EXPECT_EQ(app["env"], json::object());
  EXPECT_EQ(app["id"], "/p");
}

TEST_F(EmulatorTest, PutCreatesWith201AndPatchUpdates) {
  StartServer();
  Resp r = Call("PUT", "/v2/apps/new", R"({"cmd": "sleep 1", "instances": 2})");
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.Header("Location"), "/new");
  clock_.Advance(milliseconds(2000));
  r = Call("PATCH", "/v2/apps/new", R"({"id": "/ignored", "mem": 32})");
  ASSERT_EQ(r.status, 200) << r.raw;
  json app = GetApp("/new");
  EXPECT_EQ(app["mem"], 32);
  EXPECT_EQ(app["instances"], 2);
  EXPECT_EQ(Call("GET", "/v2/apps/ignored").status, 404);
}

TEST_F(EmulatorTest, ScaleIsAScaleApplicationStep) {
  StartServer();
  json before = CreateReady({{"id", "/s"}, {"cmd", "x"}});
  clock_.Advance(milliseconds(10));
  Resp r = Call("PUT", "/v2/apps/s", R"({"instances": 3})");
  ASSERT_EQ(r.status, 200);
  json deps = Deployments();
  ASSERT_EQ(deps.size(), 1u);
  EXPECT_EQ(deps[0]["id"], r.body["deploymentId"]);
  EXPECT_EQ(deps[0]["steps"],
            json::parse(R"([{"actions":[{"action":"ScaleApplication","app":"/s"}]}])"));
  EXPECT_EQ(deps[0]["affectedApps"], json::array({"/s"}));
  json app = GetApp("/s");
  EXPECT_EQ(app["instances"], 3);
  EXPECT_EQ(app["versionInfo"]["lastConfigChangeAt"], before["versionInfo"]["lastConfigChangeAt"]);
  EXPECT_NE(app["versionInfo"]["lastScalingAt"], before["versionInfo"]["lastScalingAt"]);
  EXPECT_EQ(app["version"], r.body["version"]);
}

TEST_F(EmulatorTest, DeploymentProgressFollowsTheClock) {
  EmulatorOptions o;
  o.transition_ms = 1000;
  StartServer(o);
  Resp r = Call("POST", "/v2/apps",
                R"({"id": "/h", "cmd": "x", "instances": 4,
                    "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health"}]})");
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(r.body["healthChecks"][0]["gracePeriodSeconds"], 300);
  EXPECT_EQ(r.body["healthChecks"][0]["intervalSeconds"], 60);
  json deps = Deployments();
  ASSERT_EQ(deps.size(), 1u);
  EXPECT_EQ(deps[0]["totalSteps"], 2);
  EXPECT_EQ(deps[0]["currentStep"], 1);
  EXPECT_EQ(deps[0]["currentActions"][0]["action"], "StartApplication");
  clock_.Advance(milliseconds(600));
  json app = GetApp("/h");
  EXPECT_GT(app["tasksRunning"].get<int>(), 0);
  EXPECT_LT(app["tasksRunning"].get<int>(), 4);
  EXPECT_EQ(app["deployments"].size(), 1u);
  EXPECT_EQ(Deployments()[0]["currentStep"], 2);
  clock_.Advance(milliseconds(400));
  app = GetApp("/h");
  EXPECT_EQ(app["deployments"], json::array());
  EXPECT_EQ(app["tasksRunning"], 4);
  EXPECT_EQ(app["tasksHealthy"], 4);
  EXPECT_EQ(app["tasksStaged"], 0);
  EXPECT_EQ(app["tasksUnhealthy"], 0);
  EXPECT_EQ(app["tasks"].size(), 4u);
  EXPECT_EQ(Deployments(), json::array());

  // Without health checks tasksHealthy stays 0.
  json plain = CreateReady({{"id", "/plain"}, {"cmd", "x"}, {"instances", 2}});
  EXPECT_EQ(plain["tasksRunning"], 2);
  EXPECT_EQ(plain["tasksHealthy"], 0);
}

TEST_F(EmulatorTest, ZeroDeployTimeFinishesOnTheNextCall) {
  EmulatorOptions o;
  o.transition_ms = 0;
  StartServer(o);
  ASSERT_EQ(Call("POST", "/v2/apps", R"({"id": "/z", "cmd": "x", "instances": 2})").status, 201);
  json app = GetApp("/z");
  EXPECT_EQ(app["deployments"], json::array());
  EXPECT_EQ(app["tasksRunning"], 2);
}

TEST_F(EmulatorTest, RunningDeploymentLocksTheAppUnlessForced) {
  StartServer();
  Resp created = Call("POST", "/v2/apps", R"({"id": "/l", "cmd": "x"})");
  std::string first = created.Header("Marathon-Deployment-Id");
  Resp r = Call("PUT", "/v2/apps/l", R"({"cmd": "y"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, (json{{"message",
                           "App is locked by one or more deployments. Override with the option "
                           "'?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'."},
                          {"deployments", {{{"id", first}}}}}));
  EXPECT_EQ(Call("POST", "/v2/apps/l/restart").status, 409);
  EXPECT_EQ(Call("DELETE", "/v2/apps/l?force=false").status, 409);
  EXPECT_EQ(GetApp("/l")["cmd"], "x");

  r = Call("PUT", "/v2/apps/l?force=true", R"({"cmd": "y"})");
  ASSERT_EQ(r.status, 200) << r.raw;
  json deps = Deployments();
  ASSERT_EQ(deps.size(), 1u);
  EXPECT_EQ(deps[0]["id"], r.body["deploymentId"]);
  EXPECT_NE(deps[0]["id"], first);
  EXPECT_EQ(deps[0]["steps"][0]["actions"][0]["action"], "RestartApplication");
  EXPECT_EQ(GetApp("/l")["cmd"], "y");
}

TEST_F(EmulatorTest, DeleteRemovesTheAppWhenItsDeploymentEnds) {
  StartServer();
  CreateReady({{"id", "/d"}, {"cmd", "x"}, {"instances", 2}});
  Resp r = Call("DELETE", "/v2/apps/d");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.Header("Marathon-Deployment-Id"), r.body["deploymentId"]);
  json deps = Deployments();
  ASSERT_EQ(deps.size(), 1u);
  EXPECT_EQ(deps[0]["steps"][0]["actions"][0]["action"], "StopApplication");
  EXPECT_EQ(GetApp("/d")["deployments"][0]["id"], r.body["deploymentId"]);
  clock_.Advance(milliseconds(1000));
  EXPECT_EQ(Call("GET", "/v2/apps/d").status, 404);
  EXPECT_EQ(Deployments(), json::array());
  // The id is free again.
  EXPECT_EQ(Call("POST", "/v2/apps", R"({"id": "/d", "cmd": "x"})").status, 201);
  // DELETE defaults to force=true: it overrides the running create.
  EXPECT_EQ(Call("DELETE", "/v2/apps/d").status, 200);
}

TEST_F(EmulatorTest, VersionsAreListedNewestFirst) {
  StartServer();
  json v1 = CreateReady({{"id", "/v"}, {"cmd", "one"}});
  clock_.Advance(milliseconds(5));
  ASSERT_EQ(Call("PUT", "/v2/apps/v", R"({"cmd": "two"})").status, 200);
  Resp r = Call("GET", "/v2/apps/v/versions");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.body["versions"].size(), 2u);
  EXPECT_EQ(r.body["versions"][1], v1["version"]);
  EXPECT_GT(r.body["versions"][0].get<std::string>(), r.body["versions"][1].get<std::string>());
  Resp old = Call("GET", "/v2/apps/v/versions/" + v1["version"].get<std::string>());
  ASSERT_EQ(old.status, 200);
  EXPECT_EQ(old.body["cmd"], "one");
  EXPECT_FALSE(old.body.contains("tasksRunning"));
  Resp missing = Call("GET", "/v2/apps/v/versions/2000-01-01T00:00:00.000Z");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body["message"], "App '/v' does not exist in version 2000-01-01T00:00:00.000Z");

  // Rollback to a version with {"version": ...}.
  clock_.Advance(milliseconds(2000));
  Resp rb = Call("PUT", "/v2/apps/v", json{{"version", v1["version"]}}.dump());
  ASSERT_EQ(rb.status, 200) << rb.raw;
  EXPECT_EQ(GetApp("/v")["cmd"], "one");
}

TEST_F(EmulatorTest, DeletingADeploymentRollsBackOrJustCancels) {
  StartServer();
  CreateReady({{"id", "/r"}, {"cmd", "old"}});
  Resp update = Call("PUT", "/v2/apps/r", R"({"cmd": "new"})");
  ASSERT_EQ(update.status, 200);
  Resp r = Call("DELETE", "/v2/deployments/" + update.body["deploymentId"].get<std::string>());
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_TRUE(r.body.contains("deploymentId"));
  EXPECT_TRUE(r.body.contains("version"));
  EXPECT_EQ(GetApp("/r")["cmd"], "old");
  json deps = Deployments();
  ASSERT_EQ(deps.size(), 1u);
  EXPECT_EQ(deps[0]["id"], r.body["deploymentId"]);

  r = Call("DELETE", "/v2/deployments/" + deps[0]["id"].get<std::string>() + "?force=true");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.raw, "");
  EXPECT_EQ(Deployments(), json::array());
  EXPECT_EQ(GetApp("/r")["deployments"], json::array());

  r = Call("DELETE", "/v2/deployments/unknown");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["message"], "DeploymentPlan unknown does not exist");

  // Rolling back a create removes the app.
  Resp created = Call("POST", "/v2/apps", R"({"id": "/fresh", "cmd": "x"})");
  ASSERT_EQ(Call("DELETE", "/v2/deployments/" + created.Header("Marathon-Deployment-Id")).status,
            200);
  clock_.Advance(milliseconds(1000));
  EXPECT_EQ(Call("GET", "/v2/apps/fresh").status, 404);
}

TEST_F(EmulatorTest, FailingImagesNeverGetHealthy) {
  EmulatorOptions o;
  o.failing_images = {"repo/app:bad"};
  StartServer(o);
  const char* kBad = R"({"id": "/u", "instances": 2,
      "container": {"type": "DOCKER", "docker": {"image": "repo/app:bad"}},
      "healthChecks": [{"protocol": "MESOS_TCP"}]})";
  ASSERT_EQ(Call("POST", "/v2/apps", kBad).status, 201);
  clock_.Advance(milliseconds(60000));
  json app = GetApp("/u");
  EXPECT_EQ(app["deployments"].size(), 1u);
  EXPECT_EQ(app["tasksRunning"], 2);
  EXPECT_EQ(app["tasksHealthy"], 0);
  EXPECT_EQ(app["tasksUnhealthy"], 2);
  EXPECT_EQ(Deployments().size(), 1u);

  // Recovery: a forced update to a good image.
  ASSERT_EQ(Call("PUT", "/v2/apps/u?force=true",
                 R"({"container": {"type": "DOCKER", "docker": {"image": "repo/app:good"}}})")
                .status,
            200);
  clock_.Advance(milliseconds(1000));
  app = GetApp("/u");
  EXPECT_EQ(app["deployments"], json::array());
  EXPECT_EQ(app["tasksHealthy"], 2);
  EXPECT_EQ(app["tasksUnhealthy"], 0);

  // Without health checks the tasks keep failing.
  ASSERT_EQ(Call("POST", "/v2/apps",
                 R"({"id": "/crash", "container": {"docker": {"image": "repo/app:bad"}}})")
                .status,
            201);
  clock_.Advance(milliseconds(60000));
  app = GetApp("/crash");
  EXPECT_EQ(app["tasksRunning"], 0);
  EXPECT_EQ(app["deployments"].size(), 1u);
  ASSERT_TRUE(app.contains("lastTaskFailure"));
  EXPECT_EQ(app["lastTaskFailure"]["appId"], "/crash");
  EXPECT_EQ(app["lastTaskFailure"]["state"], "TASK_FAILED");
  // Cancelling the stuck deployment, then updating, also recovers.
  std::string stuck = app["deployments"][0]["id"];
  EXPECT_EQ(Call("DELETE", "/v2/deployments/" + stuck + "?force=true").status, 202);
  ASSERT_EQ(
      Call("PUT", "/v2/apps/crash", R"({"container": {"docker": {"image": "repo/app:good"}}})")
          .status,
      200);
  clock_.Advance(milliseconds(1000));
  app = GetApp("/crash");
  EXPECT_EQ(app["tasksRunning"], 1);
  EXPECT_EQ(app["deployments"], json::array());
}

TEST_F(EmulatorTest, ListFiltersByIdCmdAndLabels) {
  EmulatorOptions o;
  o.transition_ms = 0;
  StartServer(o);
  Call("POST", "/v2/apps",
       R"({"id": "/prod/web", "cmd": "python -m http.server",
          "labels": {"env": "prod", "tier": "front end"}})");
  Call("POST", "/v2/apps", R"({"id": "/prod/db", "cmd": "postgres", "labels": {"env": "prod"}})");
  Call("POST", "/v2/apps",
       R"({"id": "/stage/web", "cmd": "python app.py", "labels": {"env": "stage"}})");
  Call("POST", "/v2/apps", R"({"id": "/other", "cmd": "sleep 1"})");
  auto ids = [&](const std::string& query) {
    std::set<std::string> out;
    Resp r = Call("GET", "/v2/apps" + query);
    EXPECT_EQ(r.status, 200) << query << r.raw;
    for (const json& a : r.body["apps"]) out.insert(a["id"].get<std::string>());
    return out;
  };
  using S = std::set<std::string>;
  EXPECT_EQ(ids(""), (S{"/prod/web", "/prod/db", "/stage/web", "/other"}));
  EXPECT_EQ(ids("?id=/prod"), (S{"/prod/web", "/prod/db"}));
  EXPECT_EQ(ids("?id=web"), (S{"/prod/web", "/stage/web"}));
  EXPECT_EQ(ids("?cmd=python"), (S{"/prod/web", "/stage/web"}));
  EXPECT_EQ(ids("?label=env"), (S{"/prod/web", "/prod/db", "/stage/web"}));
  EXPECT_EQ(ids("?label=env==prod"), (S{"/prod/web", "/prod/db"}));
  EXPECT_EQ(ids("?label=env!=prod"), (S{"/stage/web"}));
  EXPECT_EQ(ids("?label=env==prod,tier"), (S{"/prod/web"}));
  EXPECT_EQ(ids("?label=tier==front%5C%20end"), (S{"/prod/web"}));
  EXPECT_EQ(ids("?label=env%20in%20(stage,%20dev)"), (S{"/stage/web"}));
  EXPECT_EQ(ids("?label=env%20notin%20(stage)"), (S{"/prod/web", "/prod/db"}));
  EXPECT_EQ(Call("GET", "/v2/apps?label=env==(").status, 400);
}

TEST_F(EmulatorTest, EmbedControlsTasksAndStats) {
  EmulatorOptions o;
  o.transition_ms = 0;
  StartServer(o);
  Call("POST", "/v2/apps", R"({"id": "/e", "cmd": "x", "instances": 2})");
  json plain = Call("GET", "/v2/apps").body["apps"][0];
  EXPECT_FALSE(plain.contains("tasks"));
  EXPECT_TRUE(plain.contains("tasksRunning"));
  EXPECT_TRUE(plain.contains("deployments"));
  json embedded = Call("GET", "/v2/apps?embed=apps.tasks&embed=apps.taskStats&embed=apps.readiness")
                      .body["apps"][0];
  ASSERT_EQ(embedded["tasks"].size(), 2u);
  EXPECT_EQ(embedded["tasksStats"]["totalSummary"]["stats"]["counts"]["running"], 2);
  EXPECT_EQ(embedded["readinessCheckResults"], json::array());

  Resp tasks = Call("GET", "/v2/apps/e/tasks");
  ASSERT_EQ(tasks.status, 200);
  ASSERT_EQ(tasks.body["tasks"].size(), 2u);
  const json& t = tasks.body["tasks"][0];
  EXPECT_EQ(t["appId"], "/e");
  EXPECT_EQ(t["state"], "TASK_RUNNING");
  EXPECT_EQ(t["id"].get<std::string>().rfind("e.instance-", 0), 0u);
  for (const char* k : {"host", "ports", "slaveId", "stagedAt", "startedAt", "version"}) {
    EXPECT_TRUE(t.contains(k)) << k;
  }
  // Task ids are stable between calls.
  EXPECT_EQ(Call("GET", "/v2/apps/e/tasks").body["tasks"][0]["id"], t["id"]);
  // Killing with scale=true scales down.
  Resp killed = Call("DELETE", "/v2/apps/e/tasks/" + t["id"].get<std::string>() + "?scale=true");
  ASSERT_EQ(killed.status, 200) << killed.raw;
  EXPECT_TRUE(killed.body.contains("deploymentId"));
  EXPECT_EQ(GetApp("/e")["instances"], 1);
}

TEST_F(EmulatorTest, MultiAppPutIsOneDeployment) {
  StartServer();
  Resp r =
      Call("PUT", "/v2/apps",
           R"([{"id": "/m/a", "cmd": "x"}, {"id": "/m/b", "cmd": "y", "dependencies": ["/m/a"]}])");
  ASSERT_EQ(r.status, 200) << r.raw;
  json deps = Deployments();
  ASSERT_EQ(deps.size(), 1u);
  EXPECT_EQ(deps[0]["affectedApps"].size(), 2u);
  EXPECT_EQ(GetApp("/m/b")["deployments"][0]["id"], r.body["deploymentId"]);
}

TEST_F(EmulatorTest, AuthRequiresBasicOrToken) {
  EmulatorOptions o;
  o.basic_auth = "alice:secret";
  o.token = "tok123";
  StartServer(o);
  Resp r = Call("GET", "/v2/apps");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, json::parse(R"({"message": "Invalid username or password."})"));
  EXPECT_EQ(Call("GET", "/v2/apps", "", {{"Authorization", "Basic YWxpY2U6d3Jvbmc="}}).status, 401);
  EXPECT_EQ(Call("GET", "/v2/apps", "", {{"Authorization", "Basic YWxpY2U6c2VjcmV0"}}).status, 200);
  EXPECT_EQ(Call("GET", "/v2/apps", "", {{"Authorization", "token=tok123"}}).status, 200);
  EXPECT_EQ(Call("GET", "/v2/apps", "", {{"Authorization", "token=nope"}}).status, 401);
  EXPECT_EQ(Call("POST", "/v2/apps", R"({"id": "/x", "cmd": "x"})").status, 401);
  EXPECT_EQ(Call("GET", "/ping").raw, "pong");
}

TEST_F(EmulatorTest, InfoAndPing) {
  StartServer();
  Resp ping = Call("GET", "/ping");
  EXPECT_EQ(ping.status, 200);
  EXPECT_EQ(ping.raw, "pong");
  Resp info = Call("GET", "/v2/info");
  ASSERT_EQ(info.status, 200);
  for (const char* k : {"name", "version", "elected", "leader", "frameworkId", "marathon_config",
                        "zookeeper_config", "http_config"}) {
    EXPECT_TRUE(info.body.contains(k)) << k;
  }
  EXPECT_EQ(info.body["name"], "marathon");
  EXPECT_EQ(Call("GET", "/v2/unknown").status, 404);
}

TEST_F(EmulatorTest, StateSurvivesExportAndImport) {
  StartServer();
  CreateReady({{"id", "/keep"}, {"cmd", "x"}, {"instances", 2}});
  ASSERT_EQ(Call("PUT", "/v2/apps/keep", R"({"cmd": "y"})").status, 200);
  json state = emulator_->ExportState();
  json before = GetApp("/keep");

  Emulator other;
  ASSERT_TRUE(other.ImportState(state).ok());
  json round_trip = other.ExportState();
  EXPECT_EQ(round_trip["apps"], state["apps"]);
  EXPECT_EQ(round_trip["deployments"].size(), 1u);
  EXPECT_FALSE(other.ImportState(json{{"format", "nope"}}).ok());
  EXPECT_FALSE(other.ImportState(json{{"format", "converge-marathon-emulator/1"}}).ok());

  emulator_->Reset();
  EXPECT_EQ(Call("GET", "/v2/apps/keep").status, 404);
  ASSERT_TRUE(emulator_->ImportState(state).ok());
  json after = GetApp("/keep");
  EXPECT_EQ(after["version"], before["version"]);
  EXPECT_EQ(after["cmd"], "y");
  EXPECT_EQ(after["deployments"], before["deployments"]);
}

// Speed is measured by bench/plan_bench (against a floor in the same run), never asserted here.
TEST_F(EmulatorTest, ListsTenThousandApps) {
  EmulatorOptions o;
  o.transition_ms = 0;
  StartServer(o);
  json apps = json::array();
  for (int i = 0; i < 10000; ++i) {
    apps.push_back({{"id", "/bulk/app-" + std::to_string(i)},
                    {"cmd", "sleep 1000"},
                    {"labels", {{"team", i % 2 ? "odd" : "even"}}}});
  }
  Resp r = Call("PUT", "/v2/apps", apps.dump());
  ASSERT_EQ(r.status, 200) << r.raw.substr(0, 500);
  Resp list = Call("GET", "/v2/apps");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body["apps"].size(), 10000u);
  EXPECT_EQ(Call("GET", "/v2/apps?label=team==odd").body["apps"].size(), 5000u);
}

}  // namespace
}  // namespace converge::marathon
