#include "reconcilers/yarn/client.h"

#include <gtest/gtest.h>

#include "tests/common/fake_clock.h"
#include "tests/common/fake_transport.h"

namespace converge::yarn {
namespace {

using test::Answer;
using test::FakeClock;
using test::FakeTransport;

const std::string kRm1 = "http://rm1:8088/yarn";
const std::string kRm2 = "http://rm2:8088/yarn";

http::Response Info(const std::string& ha) {
  return Answer(200, json{{"clusterInfo", {{"haState", ha}}}}.dump());
}

http::Response Redirect(const std::string& location) {
  return Answer(307, "This is standby RM. The redirect url is: " + location,
                {{"location", location}});
}

bool Starts(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

struct Fixture {
  FakeClock clock;
  FakeTransport fake;
  std::unique_ptr<Client> client;

  explicit Fixture(std::vector<std::string> rms = {kRm1, kRm2}) {
    ClientOptions o;
    o.retry.max_attempts = 2;
    client = std::make_unique<Client>(std::move(rms), fake.Borrow(), o, clock);
  }
  std::vector<std::string> Urls() const {
    std::vector<std::string> out;
    for (const auto& r : fake.requests()) out.push_back(r.method + " " + r.url);
    return out;
  }
};

// rm1 is the standby, rm2 the active one; the standby redirects everything but cluster/info.
Result<http::Response> StandbyFirst(const http::Request& r) {
  if (Starts(r.url, kRm1 + "/ws/v1/cluster/info")) return Info("STANDBY");
  if (Starts(r.url, kRm2 + "/ws/v1/cluster/info")) return Info("ACTIVE");
  if (Starts(r.url, kRm1)) return Redirect(kRm2 + r.url.substr(kRm1.size()));
  return Answer(200, R"({"apps": null})");
}

TEST(YarnClientTest, FindsTheActiveRmWhenTheStandbyIsListedFirst) {
  Fixture f;
  f.fake.SetHandler(StandbyFirst);
  auto r = f.client->Call("GET", "/ws/v1/cluster/apps?applicationTypes=yarn-service");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->rm, kRm2);
  EXPECT_TRUE(r->body["apps"].is_null());
  EXPECT_EQ(f.client->ActiveRm(), kRm2);
  EXPECT_EQ(f.Urls(),
            (std::vector<std::string>{
                "GET " + kRm1 + "/ws/v1/cluster/info", "GET " + kRm2 + "/ws/v1/cluster/info",
                "GET " + kRm2 + "/ws/v1/cluster/apps?applicationTypes=yarn-service"}));
  // Remembered: the next call goes straight to the active RM.
  f.fake.ClearRequests();
  ASSERT_TRUE(f.client->Call("GET", "/app/v1/services/x").ok());
  EXPECT_EQ(f.Urls(), std::vector<std::string>{"GET " + kRm2 + "/app/v1/services/x"});
}

TEST(YarnClientTest, FollowsAStandbyRedirectToAConfiguredRm) {
  Fixture f;
  bool switched = false;
  f.fake.SetHandler([&](const http::Request& r) -> Result<http::Response> {
    if (Starts(r.url, kRm1 + "/ws/v1/cluster/info")) return Info("ACTIVE");
    if (Starts(r.url, kRm1) && switched) return Redirect(kRm2 + r.url.substr(kRm1.size()));
    return Answer(200, "{}");
  });
  ASSERT_TRUE(f.client->Call("GET", "/app/v1/services/a").ok());
  switched = true;  // rm1 became the standby (failover between two calls)
  auto r = f.client->Call("GET", "/app/v1/services/b");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rm, kRm2);
  EXPECT_EQ(f.Urls().back(), "GET " + kRm2 + "/app/v1/services/b");
}

TEST(YarnClientTest, RefusesARedirectToAHostOutsideTheConfiguredSet) {
  Fixture f;
  f.fake.SetHandler([](const http::Request& r) -> Result<http::Response> {
    if (Starts(r.url, kRm1 + "/ws/v1/cluster/info")) return Info("STANDBY");
    if (Starts(r.url, kRm2 + "/ws/v1/cluster/info")) return Info("STANDBY");
    return Redirect("http://evil.example:8088/yarn/app/v1/services/x");
  });
  auto r = f.client->Call("GET", "/app/v1/services/x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("evil.example"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("not one of the configured urls"), std::string::npos);
  for (const auto& u : f.Urls()) EXPECT_EQ(u.find("evil"), std::string::npos) << u;
}

TEST(YarnClientTest, APathPrefixIsNotMatchedByALongerSibling) {
  // "/yarn-standby" is not under "/yarn": a redirect there is foreign unless configured.
  Fixture f({kRm1});
  f.fake.SetHandler([](const http::Request& r) -> Result<http::Response> {
    if (Starts(r.url, kRm1 + "/ws/v1/cluster/info")) return Info("STANDBY");
    return Redirect("http://rm1:8088/yarn-standby/app/v1/services/x");
  });
  auto r = f.client->Call("GET", "/app/v1/services/x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not one of the configured urls"), std::string::npos);
}

TEST(YarnClientTest, WaitsOutARefreshAnswerThroughTheClock) {
  Fixture f({kRm1});
  int refreshes = 2;
  f.fake.SetHandler([&](const http::Request& r) -> Result<http::Response> {
    if (Starts(r.url, kRm1 + "/ws/v1/cluster/info")) return Info("STANDBY");
    if (refreshes > 0) {
      --refreshes;
      return Answer(307, "Can not find any active RM. Will retry in next 3 seconds.",
                    {{"refresh", "3"}});
    }
    return Answer(200, "{}");
  });
  auto r = f.client->Call("GET", "/app/v1/services/x");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(f.clock.sleeps(), (std::vector<std::chrono::milliseconds>{std::chrono::seconds(3),
                                                                      std::chrono::seconds(3)}));
}

TEST(YarnClientTest, GivesUpAfterBoundedRefreshWaits) {
  Fixture f({kRm1});
  f.fake.SetHandler([&](const http::Request& r) -> Result<http::Response> {
    if (Starts(r.url, kRm1 + "/ws/v1/cluster/info")) return Info("STANDBY");
    return Answer(307, "There is no active RM right now.", {{"refresh", "120"}});
  });
  auto r = f.client->Call("GET", "/app/v1/services/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("no active ResourceManager"), std::string::npos);
  // Five waits, each capped at 30 s.
  EXPECT_EQ(f.clock.slept(), std::chrono::seconds(150));
}

TEST(YarnClientTest, FailsOverWhenTheActiveRmStopsAnswering) {
  Fixture f;
  bool rm1_down = false;
  f.fake.SetHandler([&](const http::Request& r) -> Result<http::Response> {
    if (Starts(r.url, kRm1)) {
      if (rm1_down) return http::ConnectError("connection refused");
      if (Starts(r.url, kRm1 + "/ws/v1/cluster/info")) return Info("ACTIVE");
      return Answer(200, "{}");
    }
    if (Starts(r.url, kRm2 + "/ws/v1/cluster/info")) return Info(rm1_down ? "ACTIVE" : "STANDBY");
    return Answer(200, R"({"from": "rm2"})");
  });
  ASSERT_EQ(f.client->Call("GET", "/app/v1/services/a")->rm, kRm1);
  rm1_down = true;
  auto r = f.client->Call("GET", "/app/v1/services/b");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rm, kRm2);
  EXPECT_EQ(r->body["from"], "rm2");
  EXPECT_EQ(f.client->ActiveRm(), kRm2);
}

TEST(YarnClientTest, AWriteWhoseReplyWasLostIsNotSentToAnotherRm) {
  Fixture f;
  f.fake.SetHandler([&](const http::Request& r) -> Result<http::Response> {
    if (Starts(r.url, kRm1 + "/ws/v1/cluster/info")) return Info("ACTIVE");
    if (Starts(r.url, kRm2 + "/ws/v1/cluster/info")) return Info("STANDBY");
    return Answer(202, "{}");
  });
  f.fake.DropRepliesAfterSending([](const http::Request& r) { return r.method == "POST"; });
  json body = {{"name", "x"}};
  auto r = f.client->Call("POST", "/app/v1/services", &body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnknownOutcome);
  int posts = 0;
  for (const auto& req : f.fake.requests()) posts += req.method == "POST";
  EXPECT_EQ(posts, 1);
}

TEST(YarnClientTest, SimpleAuthAddsUserNameToEveryQuery) {
  Fixture f({kRm1});
  f.client->SetUser("deploy");
  f.fake.SetHandler([](const http::Request& r) -> Result<http::Response> {
    if (r.url.find("/ws/v1/cluster/info") != std::string::npos) return Info("ACTIVE");
    return Answer(200, "{}");
  });
  ASSERT_TRUE(f.client->Call("GET", "/ws/v1/cluster/apps?applicationTypes=yarn-service").ok());
  ASSERT_TRUE(f.client->Call("DELETE", "/app/v1/services/x").ok());
  EXPECT_EQ(f.Urls(), (std::vector<std::string>{
                          "GET " + kRm1 + "/ws/v1/cluster/info?user.name=deploy",
                          "GET " + kRm1 +
                              "/ws/v1/cluster/apps?applicationTypes=yarn-service&user.name=deploy",
                          "DELETE " + kRm1 + "/app/v1/services/x?user.name=deploy"}));
}

TEST(YarnClientTest, FromBackendTakesUrlsOrUrlAndTheSimpleUser) {
  BackendConfig cfg;
  cfg.name = "hadoop";
  cfg.url = "http://one:8088/";
  EXPECT_EQ(Client::RmUrls(cfg), std::vector<std::string>{"http://one:8088"});
  cfg.spec = {{"urls", {"http://a:8088/p/", "http://b:8088/p"}}};
  EXPECT_EQ(Client::RmUrls(cfg), (std::vector<std::string>{"http://a:8088/p", "http://b:8088/p"}));
  FakeClock clock;
  cfg.auth_type = "simple";
  auto missing_user = Client::FromBackend(cfg, clock);
  ASSERT_FALSE(missing_user.ok());
  EXPECT_NE(missing_user.status().message().find("needs user"), std::string::npos);
  cfg.spec["auth"] = {{"type", "simple"}, {"user", "deploy"}};
  EXPECT_TRUE(Client::FromBackend(cfg, clock).ok());
}

TEST(YarnClientTest, ProbeSaysTheServicesApiIsDisabledOn503) {
  Fixture f({kRm1});
  f.fake.SetHandler([](const http::Request& r) -> Result<http::Response> {
    if (r.url.find("/ws/v1/cluster/info") != std::string::npos) return Info("ACTIVE");
    return Answer(503, "Service Unavailable");
  });
  Status st = f.client->ProbeServicesApi();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("yarn.webapp.api-service.enable"), std::string::npos)
      << st.ToString();
  EXPECT_NE(st.message().find("disabled"), std::string::npos);
  // Probed once: the answer is remembered.
  size_t n = f.fake.request_count();
  EXPECT_FALSE(f.client->ProbeServicesApi().ok());
  EXPECT_EQ(f.fake.request_count(), n);
}

TEST(YarnClientTest, StatusFromResponseMapsTheServersErrors) {
  auto status = [](int code, json body, const std::string& method = "POST") {
    RmResponse r;
    r.status = code;
    r.body = std::move(body);
    r.method = method;
    r.path = "/app/v1/services";
    r.idempotent = method != "POST";
    return StatusFromResponse(r);
  };
  EXPECT_TRUE(status(202, json()).ok());
  Status taken = status(500, {{"diagnostics", "Service name web is already taken."}});
  EXPECT_EQ(taken.code(), Code::kConflict);
  EXPECT_NE(taken.message().find("already taken"), std::string::npos);
  EXPECT_EQ(status(404, {{"diagnostics", "Service web not found"}, {"code", 404004}}, "GET").code(),
            Code::kNotFound);
  EXPECT_EQ(status(400, {{"diagnostics", "Service web doesn't exist"}}, "DELETE").code(),
            Code::kNotFound);
  EXPECT_EQ(status(400, {{"diagnostics", "Invalid number of containers"}}, "PUT").code(),
            Code::kInvalid);
  EXPECT_EQ(status(503, json(), "GET").code(), Code::kUnavailable);
  EXPECT_EQ(status(500, {{"diagnostics", "boom"}}).code(), Code::kUnknownOutcome);
  Status remote =
      status(403, {{"RemoteException", {{"exception", "ForbiddenException"}, {"message", "no"}}}});
  EXPECT_EQ(remote.code(), Code::kPermission);
  EXPECT_NE(remote.message().find("ForbiddenException: no"), std::string::npos);
}

}  // namespace
}  // namespace converge::yarn
