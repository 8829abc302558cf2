// converge::sandbox::Server in-process: fault injection, request accounting, admin endpoints and
// state persistence.
#include "controller/sandbox/sandbox.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace converge::sandbox {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

class SandboxTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_) server_->Stop();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  void Start(Options options = {}) {
    server_ = std::make_unique<Server>(options);
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(10, 0);
  }

  std::string TempDir() {
    char tmpl[] = "/tmp/converge-sandbox-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    return dir_;
  }

  json Admin(const std::string& method, const std::string& path, const json& body = nullptr) {
    httplib::Result r(nullptr, httplib::Error::Unknown);
    std::string b = body.is_null() ? "" : body.dump();
    if (method == "GET") r = client_->Get(path.c_str());
    if (method == "POST") r = client_->Post(path.c_str(), b, "application/json");
    if (method == "DELETE") r = client_->Delete(path.c_str());
    EXPECT_TRUE(r) << method << " " << path;
    if (!r) return nullptr;
    EXPECT_LT(r->status, 300) << r->body;
    return json::parse(r->body, nullptr, false);
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<httplib::Client> client_;
  std::string dir_;
};

TEST_F(SandboxTest, ServesMarathonUnderPrefix) {
  Start();
  EXPECT_EQ(server_->url(), "http://127.0.0.1:" + std::to_string(server_->port()));
  auto r = client_->Get("/marathon/ping");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "pong");
  r = client_->Post("/marathon/v2/apps", R"({"id": "/a", "cmd": "x"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  r = client_->Get("/marathon/v2/apps/a");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(client_->Get("/v2/apps")->status, 404);
}

TEST_F(SandboxTest, FaultsFireCountTimesWithStatusAndRetryAfter) {
  Start();
  json rule = Admin("POST", "/_admin/faults",
                    {{"backend", "marathon"},
                     {"method", "GET"},
                     {"path_regex", "^/v2/apps$"},
                     {"status", 503},
                     {"count", 2},
                     {"retry_after", "2"}});
  EXPECT_EQ(rule["id"], 1);
  for (int i = 0; i < 2; ++i) {
    auto r = client_->Get("/marathon/v2/apps");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->get_header_value("Retry-After"), "2");
  }
  auto ok = client_->Get("/marathon/v2/apps");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  // Other methods and paths were never affected.
  EXPECT_EQ(client_->Get("/marathon/v2/deployments")->status, 200);
  json faults = Admin("GET", "/_admin/faults");
  ASSERT_EQ(faults["faults"].size(), 1u);
  EXPECT_EQ(faults["faults"][0]["fired"], 2);
  EXPECT_EQ(faults["faults"][0]["remaining"], 0);
  EXPECT_EQ(Admin("DELETE", "/_admin/faults")["cleared"], 1);
  EXPECT_EQ(Admin("GET", "/_admin/faults")["faults"].size(), 0u);
}

TEST_F(SandboxTest, FaultRateAndCustomBody) {
  Start();
  Admin("POST", "/_admin/faults",
        {{"method", "PUT"}, {"status", 500}, {"rate", 0.0}, {"body", "boom"}});
  auto r = client_->Put("/marathon/v2/apps/x", R"({"cmd": "x"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  Admin("DELETE", "/_admin/faults");
  Admin("POST", "/_admin/faults",
        {{"method", "PUT"}, {"status", 500}, {"rate", 1.0}, {"body", "boom"}});
  r = client_->Put("/marathon/v2/apps/x", R"({"cmd": "y"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "boom");
  auto bad = client_->Post("/_admin/faults", R"({"status": 503, "rate": 2})", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  bad =
      client_->Post("/_admin/faults", R"({"status": 503, "path_regex": "("})", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
}

TEST_F(SandboxTest, ResetConnectionGivesTheClientNoAnswer) {
  Start();
  Admin("POST", "/_admin/faults",
        {{"path_regex", "^/v2/info"}, {"reset_connection", true}, {"count", 1}});
  auto r = client_->Get("/marathon/v2/info");
  EXPECT_FALSE(r);
  auto again = client_->Get("/marathon/v2/info");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  json log = Admin("GET", "/_admin/requests")["log"];
  ASSERT_GE(log.size(), 2u);
  EXPECT_EQ(log[0]["status"], 0);
  EXPECT_EQ(log[1]["status"], 200);
}

TEST_F(SandboxTest, LatencyDelaysButStillAnswers) {
  Start();
  Admin("POST", "/_admin/faults", {{"latency_ms", 150}, {"count", 1}});
  auto start = std::chrono::steady_clock::now();
  auto r = client_->Get("/marathon/v2/apps");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 140);
}

TEST_F(SandboxTest, RequestsAreCounted) {
  Start();
  client_->Get("/marathon/v2/apps");
  client_->Post("/marathon/v2/apps", R"({"id": "/c", "cmd": "x"})", "application/json");
  client_->Put("/marathon/v2/apps/c?force=true", R"({"cmd": "y"})", "application/json");
  client_->Get("/marathon/v2/apps/c");
  json stats = Admin("GET", "/_admin/requests");
  EXPECT_EQ(stats["total"], 4);
  EXPECT_EQ(stats["writes"], 2);
  EXPECT_EQ(stats["by_method"]["GET"], 2);
  EXPECT_EQ(stats["by_method"]["POST"], 1);
  EXPECT_EQ(stats["by_method"]["PUT"], 1);
  ASSERT_EQ(stats["log"].size(), 4u);
  EXPECT_EQ(stats["log"][1],
            (json{{"method", "POST"}, {"path", "/marathon/v2/apps"}, {"status", 201}}));
  Admin("DELETE", "/_admin/requests");
  stats = Admin("GET", "/_admin/requests");
  EXPECT_EQ(stats["total"], 0);
  EXPECT_EQ(stats["log"].size(), 0u);
}

TEST_F(SandboxTest, AdminControlsTheEmulator) {
  Options o;
  o.marathon_deploy_ms = 60000;
  Start(o);
  Admin("POST", "/_admin/marathon/deploy-ms", {{"ms", 0}});
  EXPECT_EQ(Admin("POST", "/_admin/marathon/unhealthy-images", {{"images", {"img:bad"}}})["images"],
            json::array({"img:bad"}));
  client_->Post("/marathon/v2/apps",
                R"({"id": "/bad", "container": {"docker": {"image": "img:bad"}},
                    "healthChecks": [{"protocol": "MESOS_TCP"}]})",
                "application/json");
  client_->Post("/marathon/v2/apps", R"({"id": "/good", "cmd": "x"})", "application/json");
  json deployments = json::parse(client_->Get("/marathon/v2/deployments")->body);
  ASSERT_EQ(deployments.size(), 1u);  // the good app finished at once, the bad one never does
  EXPECT_EQ(deployments[0]["affectedApps"], json::array({"/bad"}));
  Admin("POST", "/_admin/reset");
  EXPECT_EQ(json::parse(client_->Get("/marathon/v2/apps")->body)["apps"].size(), 0u);
}

TEST_F(SandboxTest, StatePersistsAcrossRestarts) {
  std::string state = TempDir() + "/state.json";
  Options o;
  o.state_file = state;
  Start(o);
  ASSERT_EQ(client_
                ->Post("/marathon/v2/apps", R"({"id": "/p", "cmd": "x", "instances": 3})",
                       "application/json")
                ->status,
            201);
  json before = json::parse(client_->Get("/marathon/v2/apps/p")->body)["app"];
  server_->Stop();
  ASSERT_TRUE(fs::exists(state));
  EXPECT_FALSE(fs::exists(state + ".tmp"));

  Start(o);
  auto r = client_->Get("/marathon/v2/apps/p");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  json after = json::parse(r->body)["app"];
  EXPECT_EQ(after["version"], before["version"]);
  EXPECT_EQ(after["instances"], 3);
  EXPECT_EQ(after["portDefinitions"], before["portDefinitions"]);
}

TEST_F(SandboxTest, StateIsSavedAfterMutationsWhileRunning) {
  std::string state = TempDir() + "/state.json";
  Options o;
  o.state_file = state;
  Start(o);
  client_->Post("/marathon/v2/apps", R"({"id": "/live", "cmd": "x"})", "application/json");
  bool saved = false;
  for (int i = 0; i < 200 && !saved; ++i) {
    std::ifstream in(state);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    saved = text.find("/live") != std::string::npos;
    if (!saved) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(saved);
}

// An unsigned SageMaker call (the sandbox's signature check is turned off in these tests).
httplib::Result SageMakerCall(httplib::Client& client, const std::string& op,
                              const std::string& body = "{}") {
  return client.Post("/sagemaker/", httplib::Headers{{"X-Amz-Target", "SageMaker." + op}}, body,
                     "application/x-amz-json-1.1");
}

TEST_F(SandboxTest, ServesSageMakerUnderPrefixWithAdminControls) {
  Options o;
  o.sagemaker_access_key = "";  // no signature check
  o.sagemaker_delay_ms = 60000;
  Start(o);
  auto r = SageMakerCall(*client_, "ListModels");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"Models":[]})");
  EXPECT_EQ(Admin("GET", "/_admin/sagemaker/delay-ms")["ms"], 60000);
  EXPECT_EQ(Admin("POST", "/_admin/sagemaker/delay-ms", {{"ms", 0}})["ms"], 0);
  EXPECT_EQ(
      client_->Post("/_admin/sagemaker/delay-ms", R"({"ms": -1})", "application/json")->status,
      400);
  EXPECT_EQ(Admin("POST", "/_admin/sagemaker/failing-images", {{"images", {"img:bad"}}})["images"],
            json::array({"img:bad"}));
  EXPECT_EQ(Admin("GET", "/_admin/sagemaker/failing-images")["images"], json::array({"img:bad"}));
  ASSERT_EQ(
      SageMakerCall(*client_, "CreateModel",
                    R"({"ModelName": "m", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r",
                              "PrimaryContainer": {"Image": "img:bad"}})")
          ->status,
      200);
  json log = Admin("GET", "/_admin/sagemaker/requests")["requests"];
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1]["operation"], "CreateModel");
  EXPECT_EQ(log[1]["body"]["ModelName"], "m");
  Admin("DELETE", "/_admin/sagemaker/requests");
  EXPECT_EQ(Admin("GET", "/_admin/sagemaker/requests")["requests"].size(), 0u);
  Admin("POST", "/_admin/reset");
  EXPECT_EQ(SageMakerCall(*client_, "ListModels")->body, R"({"Models":[]})");
  // Counted with the other backends' requests.
  EXPECT_GE(Admin("GET", "/_admin/requests")["total"], 3);
}

TEST_F(SandboxTest, SageMakerFaultsSelectAnOperationByTarget) {
  Options o;
  o.sagemaker_access_key = "";
  Start(o);
  json rule = Admin("POST", "/_admin/faults",
                    {{"backend", "sagemaker"},
                     {"target", "SageMaker.CreateEndpoint"},
                     {"status", 400},
                     {"count", 1},
                     {"body", R"({"__type":"ThrottlingException","message":"Rate exceeded"})"}});
  EXPECT_EQ(rule["target"], "SageMaker.CreateEndpoint");
  EXPECT_EQ(SageMakerCall(*client_, "ListEndpoints")->status, 200);  // another operation
  auto r = SageMakerCall(*client_, "CreateEndpoint",
                         R"({"EndpointName": "e", "EndpointConfigName": "c"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_TRUE(r->has_header("x-amzn-RequestId"));
  EXPECT_EQ(json::parse(r->body)["__type"], "ThrottlingException");
  // Spent: the emulator answers (the config does not exist).
  r = SageMakerCall(*client_, "CreateEndpoint",
                    R"({"EndpointName": "e", "EndpointConfigName": "c"})");
  EXPECT_EQ(json::parse(r->body)["__type"], "ValidationException");
  EXPECT_EQ(
      client_->Post("/_admin/faults", R"({"backend": "nope", "status": 500})", "application/json")
          ->status,
      400);
}

TEST_F(SandboxTest, SageMakerRequiresSignaturesByDefault) {
  Start();
  auto r = SageMakerCall(*client_, "ListModels");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(json::parse(r->body)["__type"], "MissingAuthenticationTokenException");
}

TEST_F(SandboxTest, SageMakerStatePersistsAcrossRestarts) {
  std::string state = TempDir() + "/state.json";
  Options o;
  o.state_file = state;
  o.sagemaker_access_key = "";
  Start(o);
  ASSERT_EQ(
      SageMakerCall(*client_, "CreateModel",
                    R"({"ModelName": "kept", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r",
                              "PrimaryContainer": {"Image": "img:1"}})")
          ->status,
      200);
  server_->Stop();
  Start(o);
  auto r = SageMakerCall(*client_, "DescribeModel", R"({"ModelName": "kept"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  // A state file from before SageMaker existed still loads.
  server_->Stop();
  {
    std::ifstream in(state);
    json saved = json::parse(in);
    ASSERT_TRUE(saved.contains("sagemaker"));
    saved.erase("sagemaker");
    std::ofstream out(state);
    out << saved.dump();
  }
  server_ = std::make_unique<Server>(o);
  EXPECT_TRUE(server_->Start().ok());
}

TEST_F(SandboxTest, StartupErrors) {
  Options bad;
  bad.listen = "nonsense";
  EXPECT_FALSE(Server(bad).Start().ok());
  bad.listen = "127.0.0.1:99999";
  EXPECT_FALSE(Server(bad).Start().ok());

  Start();
  Options taken;
  taken.listen = "127.0.0.1:" + std::to_string(server_->port());
  EXPECT_FALSE(Server(taken).Start().ok());

  std::string garbage = TempDir() + "/garbage.json";
  std::ofstream(garbage) << "this is not json";
  Options unreadable;
  unreadable.state_file = garbage;
  Status st = Server(unreadable).Start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("garbage.json"), std::string::npos);
}

TEST_F(SandboxTest, MarathonAuthFromOptions) {
  Options o;
  o.marathon_token = "t0k";
  Start(o);
  auto r = client_->Get("/marathon/v2/apps");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = client_->Get("/marathon/v2/apps", {{"Authorization", "token=t0k"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace converge::sandbox
