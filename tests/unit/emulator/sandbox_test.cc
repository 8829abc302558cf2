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

#include "reconcilers/marathon/emulator.h"
#include "reconcilers/sagemaker/emulator.h"

namespace converge::sandbox {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// What `converge sandbox` serves, with flag values per backend as --<backend>-<flag> gives them.
struct Flags {  // not "Setup": gtest reserves that name
  std::string listen = "127.0.0.1:0";
  std::string state_file;
  emulator::EmulatorFlagValues marathon;
  emulator::EmulatorFlagValues sagemaker;
};

Options Make(const Flags& s) {
  Options o;
  o.listen = s.listen;
  o.state_file = s.state_file;
  auto m = marathon::MakeEmulator(s.marathon);
  auto sm = sagemaker::MakeEmulator(s.sagemaker);
  EXPECT_TRUE(m.ok() && sm.ok());
  o.emulators.push_back({"marathon", std::move(m).value()});
  o.emulators.push_back({"sagemaker", std::move(sm).value()});
  return o;
}

class SandboxTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_) server_->Stop();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  void Start(const Flags& setup = {}) {
    server_ = std::make_unique<Server>(Make(setup));
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
  Flags o;
  o.marathon["transition-ms"] = {"60000"};
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
  Flags o;
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
  Flags o;
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
  Flags o;
  o.sagemaker["access-key"] = {""};  // no signature check
  o.sagemaker["transition-ms"] = {"60000"};
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
  Flags o;
  o.sagemaker["access-key"] = {""};
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
  Flags o;
  o.state_file = state;
  o.sagemaker["access-key"] = {""};
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
  server_ = std::make_unique<Server>(Make(o));
  EXPECT_TRUE(server_->Start().ok());
}

TEST_F(SandboxTest, AfterFaultCarriesTheWriteOutAndWithholdsTheReply) {
  Start();
  json rule = Admin("POST", "/_admin/faults",
                    {{"backend", "marathon"},
                     {"method", "PUT"},
                     {"path_regex", "^/v2/apps/"},
                     {"after", true},
                     {"count", 1}});
  EXPECT_EQ(rule["after"], true);
  auto r = client_->Put("/marathon/v2/apps/landed", R"({"cmd": "x"})", "application/json");
  EXPECT_FALSE(r) << "the client got a reply: " << (r ? r->body : "");
  // The write happened although its reply was lost.
  auto app = client_->Get("/marathon/v2/apps/landed");
  ASSERT_TRUE(app);
  EXPECT_EQ(app->status, 200);
  json apps = json::parse(client_->Get("/marathon/v2/apps")->body)["apps"];
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0]["id"], "/landed");
  json faults = Admin("GET", "/_admin/faults")["faults"];
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0]["after"], true);
  EXPECT_EQ(faults[0]["fired"], 1);
  EXPECT_EQ(faults[0]["remaining"], 0);
  // Logged as dropped (status 0), like a reset.
  json log = Admin("GET", "/_admin/requests")["log"];
  ASSERT_GE(log.size(), 1u);
  EXPECT_EQ(log[0], (json{{"method", "PUT"}, {"path", "/marathon/v2/apps/landed"}, {"status", 0}}));
  // Spent: the next write is answered.
  r = client_->Put("/marathon/v2/apps/landed?force=true", R"({"cmd": "y"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // "after" cannot also answer or reset.
  for (const char* bad :
       {R"({"after": true, "status": 503})", R"({"after": true, "reset_connection": true})"}) {
    auto b = client_->Post("/_admin/faults", bad, "application/json");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->status, 400) << bad;
  }
}

TEST_F(SandboxTest, AfterFaultOnASageMakerOperation) {
  Flags o;
  o.sagemaker["access-key"] = {""};
  Start(o);
  Admin("POST", "/_admin/faults",
        {{"backend", "sagemaker"}, {"target", "SageMaker.CreateModel"}, {"after", true}});
  auto r =
      SageMakerCall(*client_, "CreateModel",
                    R"({"ModelName": "m", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r",
                             "PrimaryContainer": {"Image": "img:1"}})");
  EXPECT_FALSE(r);
  r = SageMakerCall(*client_, "DescribeModel", R"({"ModelName": "m"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(SageMakerCall(*client_, "ListModels")->status, 200);  // other operations answer
}

TEST_F(SandboxTest, SharedKnobRoutesAndTheirOldNames) {
  Flags o;
  o.marathon["transition-ms"] = {"1234"};
  o.sagemaker["transition-ms"] = {"60000"};
  o.sagemaker["failing-image"] = {"img:a", "img:b"};
  Start(o);
  EXPECT_EQ(Admin("GET", "/_admin/marathon/transition-ms")["ms"], 1234);
  EXPECT_EQ(Admin("GET", "/_admin/sagemaker/transition-ms")["ms"], 60000);
  EXPECT_EQ(Admin("GET", "/_admin/sagemaker/failing-images")["images"],
            json::array({"img:a", "img:b"}));
  // The generic names.
  EXPECT_EQ(Admin("POST", "/_admin/marathon/transition-ms", {{"ms", 5}})["ms"], 5);
  EXPECT_EQ(Admin("POST", "/_admin/marathon/failing-images", {{"images", {"img:x"}}})["images"],
            json::array({"img:x"}));
  EXPECT_EQ(server_->Find("marathon")->TransitionMs(), 5);
  EXPECT_EQ(server_->Get<marathon::Emulator>("marathon").FailingImages(),
            std::vector<std::string>{"img:x"});
  // The old names reach the same knobs.
  EXPECT_EQ(Admin("GET", "/_admin/marathon/deploy-ms")["ms"], 5);
  EXPECT_EQ(Admin("GET", "/_admin/marathon/unhealthy-images")["images"], json::array({"img:x"}));
  EXPECT_EQ(Admin("POST", "/_admin/marathon/deploy-ms", {{"ms", 7}})["ms"], 7);
  EXPECT_EQ(Admin("GET", "/_admin/marathon/transition-ms")["ms"], 7);
  Admin("POST", "/_admin/marathon/unhealthy-images", {{"images", json::array()}});
  EXPECT_EQ(Admin("GET", "/_admin/marathon/failing-images")["images"], json::array());
  EXPECT_EQ(Admin("POST", "/_admin/sagemaker/delay-ms", {{"ms", 9}})["ms"], 9);
  EXPECT_EQ(Admin("GET", "/_admin/sagemaker/transition-ms")["ms"], 9);
  EXPECT_EQ(server_->Get<sagemaker::Emulator>("sagemaker").TransitionMs(), 9);
  // Bad values and unknown backends.
  for (const char* path : {"/_admin/marathon/transition-ms", "/_admin/marathon/deploy-ms",
                           "/_admin/sagemaker/transition-ms"}) {
    EXPECT_EQ(client_->Post(path, R"({"ms": -1})", "application/json")->status, 400) << path;
    EXPECT_EQ(client_->Post(path, R"({"ms": "5"})", "application/json")->status, 400) << path;
  }
  EXPECT_EQ(
      client_->Post("/_admin/marathon/failing-images", R"({"images": [1]})", "application/json")
          ->status,
      400);
  EXPECT_EQ(client_->Get("/_admin/nope/transition-ms")->status, 404);
  EXPECT_EQ(client_->Get("/_admin/sagemaker/deploy-ms")->status, 404);  // Marathon's old name
  EXPECT_EQ(server_->Find("nope"), nullptr);
}

TEST_F(SandboxTest, LoadsAStateFileWrittenBeforeTheKnobsWereShared) {
  // Written by `converge sandbox` before this change: Marathon's deployMs / unhealthyImages.
  std::string state = TempDir() + "/state.json";
  fs::copy_file(std::string(CONVERGE_SOURCE_DIR) +
                    "/tests/unit/emulator/testdata/sandbox_state_before_shared_knobs.json",
                state);
  Flags o;
  o.state_file = state;
  o.sagemaker["access-key"] = {""};
  for (int run = 0; run < 2; ++run) {  // the state it writes back loads too
    Start(o);
    auto r = client_->Get("/marathon/v2/apps/old/app");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    json app = json::parse(r->body)["app"];
    EXPECT_EQ(app["instances"], 2);
    EXPECT_EQ(app["labels"], (json{{"a", "b"}}));
    EXPECT_EQ(Admin("GET", "/_admin/marathon/failing-images")["images"],
              json::array({"img:old-bad"}));
    EXPECT_EQ(Admin("GET", "/_admin/marathon/transition-ms")["ms"], 0);
    r = SageMakerCall(*client_, "DescribeModel", R"({"ModelName": "old-model"})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    server_->Stop();
  }
  std::ifstream in(state);
  json saved = json::parse(in);
  EXPECT_EQ(saved["format"], "converge-sandbox/1");
  EXPECT_EQ(saved["marathon"]["failingImages"], json::array({"img:old-bad"}));
}

TEST_F(SandboxTest, StateOfABackendNotMountedIsKept) {
  std::string state = TempDir() + "/state.json";
  std::ofstream(state) << R"({"format": "converge-sandbox/1", "yarn": {"services": [1, 2]}})";
  Flags setup;
  setup.state_file = state;
  Start(setup);
  server_->Stop();
  std::ifstream in(state);
  json saved = json::parse(in);
  EXPECT_EQ(saved["yarn"], (json{{"services", {1, 2}}}));
  EXPECT_TRUE(saved.contains("marathon"));
}

TEST_F(SandboxTest, EmulatorFlagsAreChecked) {
  EXPECT_FALSE(marathon::MakeEmulator({{"transition-ms", {"-1"}}}).ok());
  EXPECT_FALSE(sagemaker::MakeEmulator({{"transition-ms", {"soon"}}}).ok());
  EXPECT_FALSE(sagemaker::MakeEmulator({{"transition-ms", {"86400001"}}}).ok());
  auto m = marathon::MakeEmulator({{"transition-ms", {"3"}}, {"failing-image", {"a", "b"}}});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->TransitionMs(), 3);
  EXPECT_EQ((*m)->FailingImages(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ((*sagemaker::MakeEmulator({}))->TransitionMs(), 2000);
  std::vector<std::string> names;
  for (const auto& f : sagemaker::EmulatorFlags()) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"access-key", "secret-key", "region"}));
}

TEST_F(SandboxTest, StartupErrors) {
  Flags bad;
  bad.listen = "nonsense";
  EXPECT_FALSE(Server(Make(bad)).Start().ok());
  bad.listen = "127.0.0.1:99999";
  EXPECT_FALSE(Server(Make(bad)).Start().ok());

  Start();
  Flags taken;
  taken.listen = "127.0.0.1:" + std::to_string(server_->port());
  EXPECT_FALSE(Server(Make(taken)).Start().ok());

  std::string garbage = TempDir() + "/garbage.json";
  std::ofstream(garbage) << "this is not json";
  Flags unreadable;
  unreadable.state_file = garbage;
  Status st = Server(Make(unreadable)).Start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("garbage.json"), std::string::npos);
}

TEST_F(SandboxTest, MarathonAuthFromOptions) {
  Flags o;
  o.marathon["token"] = {"t0k"};
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
