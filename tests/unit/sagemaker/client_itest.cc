// The SageMaker client over the real libcurl transport against a local cpp-httplib server that
// checks every request the way AWS does: re-signs what it received (headers, body bytes, the
// time from X-Amz-Date) with the secret it knows for the access key and compares signatures.
//
// Needs cpp-httplib in the sagemaker_tests binary; it is named *_itest.cc so the *_test.cc glob
// does not pick it up before that link line exists (tests/CMakeLists.txt:
//   target_sources(sagemaker_tests PRIVATE
//   ${CMAKE_CURRENT_SOURCE_DIR}/unit/sagemaker/client_itest.cc)
//   target_link_libraries(sagemaker_tests PRIVATE PkgConfig::HTTPLIB)).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "reconcilers/common/aws_sigv4.h"
#include "reconcilers/sagemaker/client.h"

namespace converge::sagemaker {
namespace {

using std::chrono::milliseconds;

constexpr char kItestAccessKey[] = "AKIDLOCALTEST";
constexpr char kItestSecret[] = "local/secret+key/for/this/test/only";
constexpr char kItestToken[] = "local-session-token";

// Replies like SageMaker: 200 + JSON, or 400 + {"__type", "message"} with x-amzn-RequestId.
void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_header("x-amzn-RequestId", "local-" + std::to_string(status));
  res.set_content(body.dump(), "application/x-amz-json-1.1");
}

class SageMakerCurlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.set_tcp_nodelay(true);
    server_.Post("/sagemaker/",
                 [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(milliseconds(1));
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // What the emulator does: verify by re-signing, then dispatch on X-Amz-Target.
  void Handle(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    ++requests_;
    auto auth = aws::ParseAuthorization(req.get_header_value("Authorization"));
    if (!auth) {
      return Reply(res, 400,
                   {{"__type", "MissingAuthenticationTokenException"},
                    {"message", "Missing Authentication Token"}});
    }
    if (auth->access_key_id != kItestAccessKey) {
      return Reply(res, 400,
                   {{"__type", "UnrecognizedClientException"},
                    {"message", "The security token included in the request is invalid."}});
    }
    aws::SigningRequest received;
    received.method = req.method;
    received.url = "http://127.0.0.1:" + std::to_string(port_) + req.path;
    for (const auto& [name, value] : req.headers) received.headers.emplace_back(name, value);
    received.body = req.body;
    std::string want =
        aws::Signature(received, {kItestAccessKey, kItestSecret, kItestToken}, auth->region, auth->service,
                       req.get_header_value("X-Amz-Date"), auth->signed_headers);
    if (want != auth->signature || auth->service != "sagemaker" || auth->region != "eu-west-1" ||
        req.get_header_value("X-Amz-Security-Token") != kItestToken) {
      return Reply(res, 400,
                   {{"__type", "InvalidSignatureException"},
                    {"message",
                     "The request signature we calculated does not match "
                     "the signature you provided."}});
    }
    ++verified_;
    signed_headers_ = auth->signed_headers;
    content_type_ = req.get_header_value("Content-Type");
    const std::string target = req.get_header_value("X-Amz-Target");
    json in = json::parse(req.body, nullptr, false);
    if (target == "SageMaker.ListModels") {
      if (!in.contains("NextToken")) {
        return Reply(
            res, 200,
            {{"Models", {{{"ModelName", "a"}}, {{"ModelName", "b"}}}}, {"NextToken", "page2"}});
      }
      return Reply(res, 200, {{"Models", {{{"ModelName", "c"}}}}});
    }
    if (target == "SageMaker.CreateModel") {
      if (throttle_next_ > 0) {
        --throttle_next_;
        return Reply(res, 400, {{"__type", "ThrottlingException"}, {"message", "Rate exceeded"}});
      }
      return Reply(res, 200,
                   {{"ModelArn", "arn:aws:sagemaker:eu-west-1:123456789012:model/" +
                                     in.value("ModelName", "")}});
    }
    if (target == "SageMaker.DeleteModel") {
      res.status = 200;
      return;  // empty body, as for operations without output
    }
    Reply(res, 400,
          {{"__type", "ValidationException"},
           {"message", "Could not find model \"" + in.value("ModelName", "") + "\"."}});
  }

  std::unique_ptr<Client> Make(aws::Credentials credentials) {
    ClientOptions o;
    o.region = "eu-west-1";
    o.endpoint = "http://127.0.0.1:" + std::to_string(port_) + "/sagemaker";
    o.credentials = std::move(credentials);
    o.retry.base_delay = milliseconds(1);
    o.retry.max_delay = milliseconds(5);
    return std::make_unique<Client>(o, SystemClock());
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  int requests_ = 0;
  int verified_ = 0;
  int throttle_next_ = 0;
  std::vector<std::string> signed_headers_;
  std::string content_type_;
};

TEST_F(SageMakerCurlTest, SignedRequestsVerifyServerSide) {
  auto client = Make({kItestAccessKey, kItestSecret, kItestToken});
  auto out = client->Call(
      "CreateModel",
      {{"ModelName", "m-1"}, {"ExecutionRoleArn", "arn:aws:iam::123456789012:role/r"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["ModelArn"], "arn:aws:sagemaker:eu-west-1:123456789012:model/m-1");
  EXPECT_EQ(content_type_, "application/x-amz-json-1.1");
  EXPECT_EQ(signed_headers_, (std::vector<std::string>{"content-type", "host", "x-amz-date",
                                                       "x-amz-security-token", "x-amz-target"}));

  std::vector<std::string> names;
  Status s = client->ListAll("ListModels", {}, "Models", [&](json& m) {
    names.push_back(m["ModelName"]);
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));

  auto deleted = client->Call("DeleteModel", {{"ModelName", "m-1"}});
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, json::object());

  auto missing = client->Call("DescribeModel", {{"ModelName", "nope"}});
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "SageMaker DescribeModel: ValidationException: Could not find model \"nope\". "
            "(request id local-400)");
  EXPECT_EQ(verified_, 5);
  EXPECT_EQ(client->RequestCount(), 5);
  EXPECT_EQ(client->WriteCount(), 2);
}

TEST_F(SageMakerCurlTest, ThrottledRetriesAreSignedAgain) {
  throttle_next_ = 2;
  auto client = Make({kItestAccessKey, kItestSecret, kItestToken});
  std::vector<std::string> reasons;
  client->SetRetryObserver([&](const http::Request&, int, milliseconds, const std::string& why) {
    reasons.push_back(why);
  });
  auto out = client->Call("CreateModel", {{"ModelName", "m-2"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(reasons,
            (std::vector<std::string>{"400 ThrottlingException", "400 ThrottlingException"}));
  EXPECT_EQ(verified_, 3);
}

TEST_F(SageMakerCurlTest, WrongSecretIsAPermissionErrorWithoutSecrets) {
  auto client = Make({kItestAccessKey, "not-the-secret", kItestToken});
  auto out = client->Call("ListModels", {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kPermission);
  EXPECT_TRUE(out.status().message().starts_with(
      "SageMaker ListModels: InvalidSignatureException: The request signature we calculated"))
      << out.status().message();
  EXPECT_EQ(out.status().message().find("not-the-secret"), std::string::npos);
  EXPECT_EQ(requests_, 1);  // not retried
}

}  // namespace
}  // namespace converge::sagemaker
