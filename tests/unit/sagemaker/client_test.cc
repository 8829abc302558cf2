// The SageMaker JSON 1.1 client against a scripted Transport and a fake Clock: the requests it
// sends (target, content type, body, SigV4), paging, botocore-compatible error parsing, the
// Code mapping, retries of throttling / 5xx, and that no credential ever reaches an error.
#include "reconcilers/sagemaker/client.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/common/fake_clock.h"
#include "tests/common/fake_transport.h"

namespace converge::sagemaker {
namespace {

using std::chrono::milliseconds;

constexpr char kAccessKey[] = "AKIDEXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kToken[] = "FwoGZXIvYXdzSESSIONTOKENEXAMPLE";

using test::FakeTransport;

using test::FakeClock;

// SigV4 dates in these tests are 2024-01-02T03:00:00Z.
const std::chrono::system_clock::time_point kSigningTime =
    std::chrono::sys_days{std::chrono::year{2024} / 1 / 2} + std::chrono::hours{3};

http::Response Answer(int status, std::string body = "",
                      std::map<std::string, std::string> headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  if (!r.headers.count("x-amzn-requestid")) r.headers["x-amzn-requestid"] = "req-1";
  return r;
}

http::Response AwsError(int status, const std::string& type, const std::string& message) {
  return Answer(status, json{{"__type", type}, {"message", message}}.dump());
}

std::string HeaderOf(const http::Request& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "<absent>";
}

class SageMakerClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<Client> Make(std::string endpoint = "", std::string token = "") {
    ClientOptions o;
    o.region = "us-east-1";
    o.endpoint = std::move(endpoint);
    o.credentials = {kAccessKey, kSecret, std::move(token)};
    o.retry.max_attempts = 4;
    o.retry.base_delay = milliseconds(100);
    o.retry.max_delay = milliseconds(1000);
    auto c = std::make_unique<Client>(o, clock_, transport_.Borrow());
    c->SetRetryObserver([this](const http::Request&, int, milliseconds, const std::string& reason) {
      reasons_.push_back(reason);
    });
    return c;
  }

  FakeTransport transport_;
  std::vector<std::string> reasons_;
  FakeClock clock_{kSigningTime};
};

// The request botocore would send, signed so that re-signing what was received verifies.
TEST_F(SageMakerClientTest, SendsSignedJson11Request) {
  transport_.Script(
      {Answer(200, R"({"ModelArn":"arn:aws:sagemaker:us-east-1:123456789012:model/m-1"})")});
  auto client = Make();
  json input = {{"ModelName", "m-1"}, {"ExecutionRoleArn", "arn:aws:iam::123456789012:role/r"}};
  auto out = client->Call("CreateModel", input);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["ModelArn"], "arn:aws:sagemaker:us-east-1:123456789012:model/m-1");

  ASSERT_EQ(transport_.request_count(), 1u);
  const http::Request& r = transport_.request(0);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://api.sagemaker.us-east-1.amazonaws.com/");
  EXPECT_EQ(HeaderOf(r, "X-Amz-Target"), "SageMaker.CreateModel");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(HeaderOf(r, "X-Amz-Date"), "20240102T030000Z");
  EXPECT_EQ(HeaderOf(r, "X-Amz-Security-Token"), "<absent>");
  EXPECT_EQ(r.body, input.dump());
  EXPECT_EQ(r.body.find(' '), std::string::npos);  // compact
  EXPECT_FALSE(r.idempotent);

  auto auth = aws::ParseAuthorization(HeaderOf(r, "Authorization"));
  ASSERT_TRUE(auth.has_value()) << HeaderOf(r, "Authorization");
  EXPECT_EQ(auth->access_key_id, kAccessKey);
  EXPECT_EQ(auth->region, "us-east-1");
  EXPECT_EQ(auth->service, "sagemaker");
  EXPECT_EQ(auth->signed_headers,
            (std::vector<std::string>{"content-type", "host", "x-amz-date", "x-amz-target"}));
  aws::SigningRequest received{r.method, r.url, r.headers, r.body};
  EXPECT_EQ(aws::Signature(received, {kAccessKey, kSecret, ""}, "us-east-1", "sagemaker",
                           HeaderOf(r, "X-Amz-Date"), auth->signed_headers),
            auth->signature);
  EXPECT_EQ(client->RequestCount(), 1);
  EXPECT_EQ(client->WriteCount(), 1);
}

TEST_F(SageMakerClientTest, SessionTokenEndpointPathAndEmptyOutput) {
  transport_.Script({Answer(200, ""), Answer(200, "{}")});
  auto client = Make("http://127.0.0.1:8080/sagemaker", kToken);
  EXPECT_EQ(client->url(), "http://127.0.0.1:8080/sagemaker/");
  auto out = client->Call("DeleteModel", {{"ModelName", "m-1"}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, json::object());
  out = client->Call("ListModels", nullptr);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(transport_.request(1).body, "{}");
  EXPECT_TRUE(transport_.request(1).idempotent);

  const http::Request& r = transport_.request(0);
  EXPECT_EQ(r.url, "http://127.0.0.1:8080/sagemaker/");
  EXPECT_EQ(HeaderOf(r, "X-Amz-Security-Token"), kToken);
  auto auth = aws::ParseAuthorization(HeaderOf(r, "Authorization"));
  ASSERT_TRUE(auth.has_value());
  EXPECT_EQ(auth->signed_headers,
            (std::vector<std::string>{"content-type", "host", "x-amz-date", "x-amz-security-token",
                                      "x-amz-target"}));
  // The host header a server sees carries the port.
  aws::SigningRequest received{r.method, r.url, r.headers, r.body};
  received.headers.emplace_back("Host", "127.0.0.1:8080");
  EXPECT_EQ(aws::Signature(received, {kAccessKey, kSecret, kToken}, "us-east-1", "sagemaker",
                           HeaderOf(r, "X-Amz-Date"), auth->signed_headers),
            auth->signature);
  EXPECT_EQ(client->RequestCount(), 2);
  EXPECT_EQ(client->WriteCount(), 1);
}

TEST_F(SageMakerClientTest, DefaultEndpoints) {
  ClientOptions o;
  o.region = "cn-north-1";
  Client cn(o, clock_, transport_.Borrow());
  EXPECT_EQ(cn.url(), "https://api.sagemaker.cn-north-1.amazonaws.com.cn/");
  o.region = "eu-west-1";
  o.endpoint = "https://vpce-1.api.sagemaker.eu-west-1.vpce.amazonaws.com";
  Client vpce(o, clock_, transport_.Borrow());
  EXPECT_EQ(vpce.url(), "https://vpce-1.api.sagemaker.eu-west-1.vpce.amazonaws.com/");
}

TEST_F(SageMakerClientTest, ListAllPages) {
  transport_.Script(
      {Answer(200, R"({"Models":[{"ModelName":"a"},{"ModelName":"b"}],"NextToken":"t1"})"),
       Answer(200, R"({"Models":[{"ModelName":"c"}],"NextToken":""})")});
  auto client = Make();
  std::vector<std::string> names;
  Status s = client->ListAll("ListModels", {{"NameContains", "x"}}, "Models", [&](json& m) {
    names.push_back(m["ModelName"]);
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(transport_.request_count(), 2u);
  EXPECT_EQ(json::parse(transport_.request(0).body),
            (json{{"NameContains", "x"}, {"MaxResults", 100}}));
  EXPECT_EQ(json::parse(transport_.request(1).body),
            (json{{"NameContains", "x"}, {"MaxResults", 100}, {"NextToken", "t1"}}));
  EXPECT_EQ(client->WriteCount(), 0);
}

TEST_F(SageMakerClientTest, ListAllStopsOnVisitorErrorAndBadPages) {
  transport_.Script({Answer(200, R"({"Tags":[{"Key":"a"},{"Key":"b"}],"NextToken":"t1"})")});
  auto client = Make();
  int visited = 0;
  Status s =
      client->ListAll("ListTags", {{"ResourceArn", "arn"}, {"MaxResults", 50}}, "Tags", [&](json&) {
        ++visited;
        return InvalidError("stop");
      });
  EXPECT_EQ(s.message(), "stop");
  EXPECT_EQ(visited, 1);
  EXPECT_EQ(json::parse(transport_.request(0).body)["MaxResults"], 50);

  // A missing member is an empty page; a repeated token is an error rather than a loop.
  transport_.Script(
      {Answer(200, R"({"NextToken":"same"})"), Answer(200, R"({"NextToken":"same"})")});
  s = client->ListAll("ListTags", {{"ResourceArn", "arn"}}, "Tags",
                      [](json&) { return Status::Ok(); });
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_NE(s.message().find("pagination did not advance"), std::string::npos);

  transport_.Script({Answer(200, R"({"Endpoints":{}})")});
  s = client->ListAll("ListEndpoints", {}, "Endpoints", [](json&) { return Status::Ok(); });
  EXPECT_EQ(s.code(), Code::kInternal);

  transport_.Script({AwsError(400, "ValidationException", "bad MaxResults")});
  s = client->ListAll("ListEndpoints", {}, "Endpoints", [](json&) { return Status::Ok(); });
  EXPECT_EQ(s.code(), Code::kInvalid);
}

// Like botocore's BaseJSONParser._do_error_parse.
TEST(SageMakerParseErrorTest, CodeFromHeaderTypeOrStatus) {
  http::Response r;
  r.status = 400;
  r.headers = {{"x-amzn-requestid", "rid-7"},
               {"x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender"}};
  r.body = R"({"__type":"com.amazonaws.sagemaker#ValidationException","message":"m1"})";
  ApiError e = ParseError(r);
  EXPECT_EQ(e.code, "AWS.SimpleQueueService.NonExistentQueue");
  EXPECT_EQ(e.message, "m1");
  EXPECT_EQ(e.request_id, "rid-7");
  EXPECT_EQ(e.http_status, 400);

  r.headers.erase("x-amzn-query-error");
  EXPECT_EQ(ParseError(r).code, "ValidationException");  // up to the last '#' dropped
  r.headers["x-amzn-query-error"] = "NoSender";          // not "Code;Sender": ignored
  EXPECT_EQ(ParseError(r).code, "ValidationException");

  r.body = R"({"Message":"capital"})";
  e = ParseError(r);
  EXPECT_EQ(e.code, "400");  // no code anywhere: the status
  EXPECT_EQ(e.message, "capital");

  r.status = 502;
  r.body = "<html>Bad Gateway</html>";
  e = ParseError(r);
  EXPECT_EQ(e.code, "502");
  EXPECT_EQ(e.message, "<html>Bad Gateway</html>");  // not JSON: the body is the message
}

TEST(SageMakerMapErrorTest, Table) {
  struct Case {
    int status;
    std::string code, message;
    Code want;
  };
  const Case cases[] = {
      {400, "ValidationException", "Could not find model \"arn:aws:sagemaker:r:1:model/m\".",
       Code::kNotFound},
      {400, "ValidationException", "Could not find endpoint \"arn:...:endpoint/e\".",
       Code::kNotFound},
      {400, "ValidationException", "Endpoint config x does not exist.", Code::kNotFound},
      {400, "ValidationException", "Requested resource not found.", Code::kNotFound},
      {400, "ResourceNotFound", "Requested resource not found", Code::kNotFound},
      {400, "ValidationException",
       "Cannot create already existing endpoint \"arn:aws:sagemaker:r:1:endpoint/e\".",
       Code::kConflict},
      {400, "ValidationException",
       "Cannot create already existing endpoint configuration \"arn:...\".", Code::kConflict},
      {400, "ValidationException", "Cannot update in-progress endpoint \"arn:...\".",
       Code::kConflict},
      {400, "ResourceInUse", "Training job names must be unique", Code::kConflict},
      {409, "ConflictException", "x", Code::kConflict},
      {400, "ResourceLimitExceeded", "The account-level service limit ...", Code::kInvalid},
      {400, "ValidationException", "1 validation error detected: Value 'x' at 'endpointName'",
       Code::kInvalid},
      {400, "UnrecognizedClientException", "The security token included ...", Code::kPermission},
      {400, "InvalidSignatureException", "The request signature ...", Code::kPermission},
      {403, "MissingAuthenticationToken", "Missing Authentication Token", Code::kPermission},
      {400, "AccessDeniedException", "User ... is not authorized", Code::kPermission},
      {400, "ExpiredTokenException", "The security token included in the request is expired",
       Code::kPermission},
      {403, "403", "", Code::kPermission},
      {400, "ThrottlingException", "Rate exceeded", Code::kUnavailable},
      {500, "InternalFailure", "", Code::kUnknownOutcome},  // a write ("Op") may have landed
      {503, "ServiceUnavailable", "", Code::kUnavailable},
      {404, "UnknownOperationException", "", Code::kInvalid},
      {302, "302", "", Code::kInternal},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MapError("Op", ApiError{c.status, c.code, c.message, ""}), c.want)
        << c.code << ": " << c.message;
  }
  // A read answered 500 did nothing: it is simply unavailable (and retried).
  EXPECT_EQ(MapError("DescribeModel", ApiError{500, "InternalFailure", "", ""}),
            Code::kUnavailable);
}

TEST_F(SageMakerClientTest, ErrorMessageAndApiError) {
  transport_.Script(
      {AwsError(400, "ValidationException",
                "Could not find endpoint \"arn:aws:sagemaker:us-east-1:1:endpoint/e\".")});
  auto client = Make();
  ApiError e;
  auto out = client->Call("DescribeEndpoint", {{"EndpointName", "e"}}, &e);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kNotFound);
  EXPECT_EQ(out.status().message(),
            "SageMaker DescribeEndpoint: ValidationException: Could not find endpoint "
            "\"arn:aws:sagemaker:us-east-1:1:endpoint/e\". (request id req-1)");
  EXPECT_EQ(e.code, "ValidationException");
  EXPECT_EQ(e.request_id, "req-1");
  EXPECT_EQ(Client::LastError().code, "ValidationException");
  EXPECT_EQ(transport_.request_count(), 1u);  // a 400 is not retried

  transport_.Script({Answer(200, "{}")});
  ASSERT_TRUE(client->Call("DescribeEndpoint", {{"EndpointName", "e"}}).ok());
  EXPECT_EQ(Client::LastError().code, "");

  transport_.Script({Answer(200, "[1]")});
  out = client->Call("DescribeEndpoint", {{"EndpointName", "e"}});
  EXPECT_EQ(out.status().code(), Code::kInternal);
}

TEST_F(SageMakerClientTest, NonRetryableClientErrorsAreNotRetried) {
  for (auto answer :
       {AwsError(400, "ValidationException", "bad"), AwsError(400, "ResourceLimitExceeded", "q"),
        AwsError(400, "AccessDeniedException", "no"), Answer(403, "")}) {
    transport_.Script({answer, Answer(200, "{}")});
    transport_.ClearRequests();
    auto client = Make();
    EXPECT_FALSE(client->Call("CreateEndpoint", {{"EndpointName", "e"}}).ok());
    EXPECT_EQ(transport_.request_count(), 1u);
  }
  EXPECT_TRUE(clock_.sleeps().empty());
}

// Throttling (HTTP 400) is retried with backoff, and every attempt is signed afresh.
TEST_F(SageMakerClientTest, ThrottlingRetriedThenSucceeds) {
  transport_.Script({AwsError(400, "ThrottlingException", "Rate exceeded"),
                     Answer(400, R"({"__type":"ThrottlingException"})", {{"retry-after", "2"}}),
                     Answer(200, R"({"ModelArn":"arn"})")});
  auto client = Make();
  auto out = client->Call("CreateModel", {{"ModelName", "m"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(transport_.request_count(), 3u);
  EXPECT_EQ(reasons_,
            (std::vector<std::string>{"400 ThrottlingException", "400 ThrottlingException"}));
  ASSERT_EQ(clock_.sleeps().size(), 2u);
  EXPECT_LE(clock_.sleeps()[0], milliseconds(100));
  EXPECT_EQ(clock_.sleeps()[1], std::chrono::seconds(2));
  EXPECT_NE(HeaderOf(transport_.request(2), "X-Amz-Date"),
            HeaderOf(transport_.request(0), "X-Amz-Date"));
  for (const auto& r : transport_.requests()) {
    int auth_headers = 0;
    for (const auto& h : r.headers) auth_headers += h.first == "Authorization";
    EXPECT_EQ(auth_headers, 1);
  }
  EXPECT_EQ(client->RequestCount(), 3);
  EXPECT_EQ(client->WriteCount(), 3);
}

// Eventual consistency: a config referencing a model created a moment ago is retried; the same
// message on a read (a model that does not exist) is an answer.
TEST_F(SageMakerClientTest, NotYetVisibleReferencesAreRetriedOnCreates) {
  transport_.Script({AwsError(400, "ValidationException", "Could not find model \"arn:m\"."),
                     Answer(200, R"({"EndpointConfigArn":"arn:c"})")});
  auto client = Make();
  ASSERT_TRUE(client->Call("CreateEndpointConfig", {{"EndpointConfigName", "c"}}).ok());
  EXPECT_EQ(transport_.request_count(), 2u);
  transport_.Script(
      {AwsError(400, "ValidationException", "Could not find model \"arn:m\"."), Answer(200, "{}")});
  transport_.ClearRequests();
  auto d = client->Call("DescribeModel", {{"ModelName", "m"}});
  EXPECT_EQ(d.status().code(), Code::kNotFound);
  EXPECT_EQ(transport_.request_count(), 1u);
}

// Expired temporary credentials are re-read (another process refreshed them) and the call is
// sent once more, signed with the new ones; the old ones stay redacted.
TEST_F(SageMakerClientTest, ExpiredTokenRefreshesCredentialsOnce) {
  ClientOptions o;
  o.region = "us-east-1";
  o.credentials = {"AKIDOLDOLDOLD", "old-secret-value", "old-token-value"};
  int refreshes = 0;
  o.refresh_credentials = [&]() -> Result<aws::Credentials> {
    ++refreshes;
    return aws::Credentials{"AKIDNEWNEWNEW", "new-secret-value", "new-token-value"};
  };
  Client client(o, clock_, transport_.Borrow());
  transport_.Script({AwsError(400, "ExpiredTokenException",
                              "The security token included in the request is expired"),
                     Answer(200, "{}")});
  ASSERT_TRUE(client.Call("ListModels", json::object()).ok());
  ASSERT_EQ(transport_.request_count(), 2u);
  EXPECT_NE(HeaderOf(transport_.request(0), "Authorization").find("AKIDOLDOLDOLD"),
            std::string::npos);
  EXPECT_NE(HeaderOf(transport_.request(1), "Authorization").find("AKIDNEWNEWNEW"),
            std::string::npos);
  EXPECT_EQ(HeaderOf(transport_.request(1), "X-Amz-Security-Token"), "new-token-value");
  // Expired again with nothing newer to load: an error, no loop.
  transport_.Script({AwsError(400, "ExpiredTokenException", "expired: old-secret-value")});
  auto r = client.Call("ListModels", json::object());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(refreshes, 2);
  EXPECT_EQ(r.status().message().find("old-secret-value"), std::string::npos);
}

TEST_F(SageMakerClientTest, ThrottlingExhausted) {
  for (int i = 0; i < 4; ++i)
    transport_.Push(AwsError(400, "ThrottlingException", "Rate exceeded"));
  auto client = Make();
  auto out = client->Call("DescribeEndpoint", {{"EndpointName", "e"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kUnavailable);
  EXPECT_EQ(out.status().message(),
            "SageMaker DescribeEndpoint: ThrottlingException: Rate exceeded (request id req-1)");
  EXPECT_EQ(transport_.request_count(), 4u);
  EXPECT_EQ(clock_.sleeps().size(), 3u);
}

TEST_F(SageMakerClientTest, ServerErrorsRetried) {
  // A read is retried on any 5xx; a write only when the service answered with an error body.
  transport_.Script({Answer(500, ""), Answer(502, "<html/>"), Answer(200, "{}")});
  auto client = Make();
  ASSERT_TRUE(client->Call("DescribeModel", {{"ModelName", "m"}}).ok());
  EXPECT_EQ(transport_.request_count(), 3u);

  transport_.ClearRequests();
  transport_.Script({AwsError(500, "InternalFailure", "oops"),
                     AwsError(503, "ServiceUnavailable", ""), Answer(200, "{}")});
  ASSERT_TRUE(client->Call("CreateEndpoint", {{"EndpointName", "e"}}).ok());
  EXPECT_EQ(transport_.request_count(), 3u);
  EXPECT_EQ(reasons_.back(), "503 Service Unavailable");

  transport_.ClearRequests();
  transport_.Script({Answer(502, "<html>proxy</html>"), Answer(200, "{}")});
  auto out = client->Call("CreateEndpoint", {{"EndpointName", "e"}});
  ASSERT_FALSE(out.ok());
  // A proxy's 502 to a write: the service may have acted, so the outcome is unknown (the
  // executor reads the endpoint back before repeating the call).
  EXPECT_EQ(out.status().code(), Code::kUnknownOutcome);
  EXPECT_EQ(transport_.request_count(), 1u);
}

// A write whose outcome is unknown is not repeated, and the error says so; a read is repeated.
TEST_F(SageMakerClientTest, AmbiguousTransportFailures) {
  transport_.Script({TimeoutError("operation timed out after 30000 ms"), Answer(200, "{}")});
  auto client = Make();
  auto out = client->Call("CreateEndpoint", {{"EndpointName", "e"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kUnknownOutcome);
  EXPECT_EQ(out.status().message(),
            "SageMaker CreateEndpoint: operation timed out after 30000 ms (sent, but no reply "
            "came: it may have been carried out)");
  EXPECT_EQ(transport_.request_count(), 1u);

  transport_.ClearRequests();
  transport_.Script({http::ConnectError("connection refused"), Answer(200, "{}")});
  ASSERT_TRUE(client->Call("CreateEndpoint", {{"EndpointName", "e"}}).ok());
  EXPECT_EQ(transport_.request_count(), 2u);

  transport_.ClearRequests();
  transport_.Script({TimeoutError("timed out"), Answer(200, "{}")});
  ASSERT_TRUE(client->Call("DescribeEndpoint", {{"EndpointName", "e"}}).ok());
  EXPECT_EQ(transport_.request_count(), 2u);
}

TEST_F(SageMakerClientTest, SecretsNeverInErrors) {
  // InvalidSignatureException quotes the canonical request, the session token included.
  std::string echoed = std::string(
                           "The request signature we calculated does not match. The "
                           "Canonical String for this request should have been 'POST\n/\n"
                           "\nx-amz-security-token:") +
                       kToken + "\n' key " + kSecret + " id " + kAccessKey;
  transport_.Script({AwsError(400, "InvalidSignatureException", echoed)});
  auto client = Make("", kToken);
  ApiError e;
  auto out = client->Call("ListModels", {}, &e);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kPermission);
  for (const std::string& text : {out.status().message(), e.message}) {
    EXPECT_EQ(text.find(kToken), std::string::npos) << text;
    EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
    EXPECT_EQ(text.find(kAccessKey), std::string::npos) << text;
    EXPECT_EQ(text.find("AWS4-HMAC-SHA256 Credential"), std::string::npos) << text;
    EXPECT_NE(text.find("<redacted>"), std::string::npos) << text;
  }
}

TEST_F(SageMakerClientTest, InvalidUtf8InputIsAnError) {
  auto client = Make();
  auto out = client->Call("CreateModel", {{"ModelName", std::string("\xff\xfe")}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kInvalid);
  EXPECT_TRUE((transport_.request_count() == 0));
}

TEST_F(SageMakerClientTest, FromBackendResolvesRegionCredentialsAndEndpoint) {
  std::map<std::string, std::string> vars = {{"AWS_ACCESS_KEY_ID", "AKIAENV"},
                                             {"AWS_SECRET_ACCESS_KEY", "s"},
                                             {"AWS_DEFAULT_REGION", "ap-south-1"},
                                             {"HOME", "/nonexistent"}};
  Environment env{[&](const char* n) -> const char* {
    auto it = vars.find(n);
    return it == vars.end() ? nullptr : it->second.c_str();
  }};
  BackendConfig b;
  b.name = "ml";
  b.type = "sagemaker";
  b.url = "http://127.0.0.1:9/sagemaker";
  b.spec = {{"type", "sagemaker"}};
  auto c = Client::FromBackend(b, clock_, env);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->region(), "ap-south-1");
  EXPECT_EQ((*c)->url(), "http://127.0.0.1:9/sagemaker/");

  b.spec["region"] = "eu-west-1";
  b.url = "";
  c = Client::FromBackend(b, clock_, env);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->url(), "https://api.sagemaker.eu-west-1.amazonaws.com/");

  b.spec["auth"] = {{"type", "aws"}, {"profile", "missing"}};
  c = Client::FromBackend(b, clock_, env);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().message().starts_with("backend ml: AWS profile \"missing\" not found"))
      << c.status().message();
}

}  // namespace
}  // namespace converge::sagemaker
