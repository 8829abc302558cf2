// Client retry/backoff behaviour against a scripted Transport and a fake Clock: no sockets, no
// sleeping.
#include <gtest/gtest.h>

#include "reconcilers/common/http.h"
#include "tests/common/fake_clock.h"
#include "tests/common/fake_transport.h"

namespace converge::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using test::FakeClock;
using test::FakeTransport;

Response Answer(int status, std::map<std::string, std::string> headers = {},
                std::string body = "") {
  Response r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

class ClientTest : public ::testing::Test {
 protected:
  // A client whose backoff is deterministic enough to check: base 100ms, cap 1s.
  std::unique_ptr<Client> MakeClient(RetryPolicy policy = Policy()) {
    auto client = std::make_unique<Client>(transport_.Borrow(), policy, clock_, /*seed=*/42);
    client->SetRetryObserver(
        [this](const Request&, int attempt, milliseconds delay, const std::string& reason) {
          observed_.push_back({attempt, delay, reason});
        });
    return client;
  }
  static RetryPolicy Policy() {
    RetryPolicy p;
    p.max_attempts = 4;
    p.base_delay = milliseconds(100);
    p.max_delay = milliseconds(1000);
    p.max_retry_after = milliseconds(30000);
    return p;
  }
  static Request Get(const std::string& url = "http://marathon:8080/v2/apps") {
    Request r;
    r.url = url;
    return r;
  }
  static Request Post() {
    Request r;
    r.method = "POST";
    r.url = "http://marathon:8080/v2/apps";
    r.body = R"({"id":"/payments/api"})";
    r.idempotent = false;
    return r;
  }

  struct Observed {
    int attempt;
    milliseconds delay;
    std::string reason;
  };
  FakeTransport transport_;
  std::vector<Observed> observed_;
  FakeClock clock_;
};

TEST_F(ClientTest, RetriesOn503ThenSucceeds) {
  transport_.Script({Answer(503), Answer(200, {}, "ok")});
  auto client = MakeClient();
  Result<Response> r = client->Send(Get());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(transport_.request_count(), 2u);
  ASSERT_EQ(clock_.sleeps().size(), 1u);
  ASSERT_EQ(observed_.size(), 1u);
  EXPECT_EQ(observed_[0].attempt, 1);
  EXPECT_EQ(observed_[0].reason, "503 Service Unavailable");
  EXPECT_EQ(observed_[0].delay, clock_.sleeps()[0]);
  EXPECT_LE(clock_.sleeps()[0], milliseconds(100));
}

TEST_F(ClientTest, HonoursRetryAfterSeconds) {
  transport_.Script({Answer(503, {{"retry-after", "7"}}), Answer(200)});
  auto client = MakeClient();
  ASSERT_TRUE(client->Send(Get()).ok());
  ASSERT_EQ(clock_.sleeps().size(), 1u);
  EXPECT_EQ(clock_.sleeps()[0], seconds(7));
}

TEST_F(ClientTest, HonoursRetryAfterHttpDate) {
  // The fake wall clock reads 2026-01-01T00:00:00Z; the server asks for 12 seconds.
  transport_.Script({Answer(503, {{"retry-after", "Thu, 01 Jan 2026 00:00:12 GMT"}}), Answer(200)});
  auto client = MakeClient();
  ASSERT_TRUE(client->Send(Get()).ok());
  ASSERT_EQ(clock_.sleeps().size(), 1u);
  EXPECT_EQ(clock_.sleeps()[0], seconds(12));
}

TEST_F(ClientTest, CapsRetryAfter) {
  RetryPolicy p = Policy();
  p.max_retry_after = seconds(5);
  transport_.Script({Answer(429, {{"retry-after", "3600"}}), Answer(200)});
  auto client = MakeClient(p);
  ASSERT_TRUE(client->Send(Get()).ok());
  ASSERT_EQ(clock_.sleeps().size(), 1u);
  EXPECT_EQ(clock_.sleeps()[0], seconds(5));
}

TEST_F(ClientTest, RetriesOn429) {
  transport_.Script({Answer(429, {{"retry-after", "1"}}), Answer(429), Answer(201)});
  auto client = MakeClient();
  Result<Response> r = client->Send(Get());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 201);
  ASSERT_EQ(observed_.size(), 2u);
  EXPECT_EQ(observed_[0].reason, "429 Too Many Requests");
  EXPECT_EQ(clock_.sleeps()[0], seconds(1));
}

TEST_F(ClientTest, ExhaustedAttemptsReturnLastResponse) {
  transport_.Script({Answer(502), Answer(503), Answer(504), Answer(500, {}, "last")});
  auto client = MakeClient();
  Result<Response> r = client->Send(Get());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "last");
  EXPECT_EQ(transport_.request_count(), 4u);
  EXPECT_EQ(clock_.sleeps().size(), 3u);  // no sleep after the final attempt
}

TEST_F(ClientTest, RetriesConnectionErrorsForIdempotentRequests) {
  transport_.Script(
      {UnavailableError("connection reset by peer"), TimeoutError("timed out"), Answer(200)});
  auto client = MakeClient();
  Result<Response> r = client->Send(Get());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(transport_.request_count(), 3u);
  ASSERT_EQ(observed_.size(), 2u);
  EXPECT_EQ(observed_[0].reason, "connection reset by peer");
}

TEST_F(ClientTest, AttemptHooksSeeEveryAttemptAndItsStatus) {
  transport_.Script({UnavailableError("connection reset by peer"), Answer(503), Answer(200)});
  auto client = MakeClient();
  std::vector<std::string> events;
  AttemptHooks hooks;
  hooks.before = [&](const Request&) {
    events.push_back("before@" + std::to_string(transport_.request_count()));
  };
  hooks.after = [&](const Request&, int status) { events.push_back(std::to_string(status)); };
  client->SetAttemptHooks(hooks);
  ASSERT_TRUE(client->Send(Get()).ok());
  // `before` runs ahead of each round trip (a rate limiter may block there); 0 = no answer.
  EXPECT_EQ(events,
            (std::vector<std::string>{"before@0", "0", "before@1", "503", "before@2", "200"}));
}

TEST_F(ClientTest, ExhaustedConnectionErrorsReturnLastError) {
  transport_.Script({UnavailableError("refused 1"), UnavailableError("refused 2"),
                     UnavailableError("refused 3"), UnavailableError("refused 4")});
  auto client = MakeClient();
  Result<Response> r = client->Send(Get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().message(), "refused 4");
  EXPECT_EQ(transport_.request_count(), 4u);
}

TEST_F(ClientTest, PostNotRetriedOnAmbiguousErrors) {
  for (Result<Response> ambiguous :
       {Result<Response>(UnavailableError("reset after send")),
        Result<Response>(TimeoutError("operation timed out")), Result<Response>(Answer(500)),
        Result<Response>(Answer(502)), Result<Response>(Answer(504))}) {
    transport_.Script({ambiguous, Answer(201)});
    transport_.ClearRequests();
    auto client = MakeClient();
    Result<Response> r = client->Send(Post());
    EXPECT_EQ(transport_.request_count(), 1u);
    EXPECT_EQ(r.ok(), ambiguous.ok());
    EXPECT_TRUE(clock_.sleeps().empty());
  }
}

// The server carried the POST out but the reply was lost on the way back: the caller gets a
// kUnknownOutcome (the executor resolves it by reading the object back) and the request is not
// sent a second time.
TEST_F(ClientTest, PostWhoseReplyWasLostIsAnErrorAndNotRepeated) {
  int posts_carried_out = 0;
  transport_.SetHandler([&](const Request& req) -> Result<Response> {
    if (req.method == "POST") ++posts_carried_out;
    return Answer(201);
  });
  transport_.DropRepliesAfterSending([](const Request& req) { return req.method == "POST"; });
  auto client = MakeClient();
  Result<Response> r = client->Send(Post());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnknownOutcome);
  EXPECT_EQ(posts_carried_out, 1);
  EXPECT_EQ(transport_.request_count(), 1u);
  EXPECT_EQ(transport_.dropped(), 1);
  EXPECT_TRUE(clock_.sleeps().empty());
  // One reply was dropped, not every later one.
  Result<Response> again = client->Send(Post());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->status, 201);
  EXPECT_EQ(posts_carried_out, 2);
}

TEST_F(ClientTest, PostRetriedWhenNothingWasSentOrServerDeclined) {
  transport_.Script({ConnectError("connection refused"),
                     ConnectError("connect timeout", Code::kTimeout), Answer(503), Answer(201)});
  auto client = MakeClient();
  Result<Response> r = client->Send(Post());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(transport_.request_count(), 4u);
  for (const Request& req : transport_.requests()) EXPECT_EQ(req.body, R"({"id":"/payments/api"})");
}

TEST_F(ClientTest, PostRetriedOn429) {
  transport_.Script({Answer(429), Answer(201)});
  auto client = MakeClient();
  ASSERT_TRUE(client->Send(Post()).ok());
  EXPECT_EQ(transport_.request_count(), 2u);
}

TEST_F(ClientTest, ClientErrorsNotRetried) {
  for (int status : {400, 401, 403, 404, 409, 422}) {
    transport_.Script({Answer(status), Answer(200)});
    transport_.ClearRequests();
    auto client = MakeClient();
    Result<Response> r = client->Send(Get());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(transport_.request_count(), 1u) << status;
  }
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(ClientTest, TerminalErrorsNotRetried) {
  transport_.Script({InvalidError("malformed URL"), Answer(200)});
  auto client = MakeClient();
  EXPECT_FALSE(client->Send(Get()).ok());
  EXPECT_EQ(transport_.request_count(), 1u);
}

TEST_F(ClientTest, BackoffGrowsIsCappedAndJittered) {
  RetryPolicy p = Policy();  // base 100ms, cap 1000ms
  auto client = MakeClient(p);
  for (int attempt = 1; attempt <= 8; ++attempt) {
    int64_t bound = std::min<int64_t>(1000, 100LL << (attempt - 1));
    int64_t lo = bound, hi = 0;
    for (int i = 0; i < 2000; ++i) {
      int64_t d = client->BackoffDelay(attempt).count();
      ASSERT_GE(d, 0);
      ASSERT_LE(d, bound) << "attempt " << attempt;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Full jitter: samples spread over the whole window.
    EXPECT_LT(lo, bound / 10 + 1) << "attempt " << attempt;
    EXPECT_GT(hi, bound * 9 / 10) << "attempt " << attempt;
  }
  // Huge attempt numbers neither overflow nor exceed the cap.
  EXPECT_LE(client->BackoffDelay(1000).count(), 1000);
}

TEST_F(ClientTest, BackoffIsDeterministicForASeed) {
  auto a = MakeClient();
  auto b = MakeClient();
  for (int attempt = 1; attempt < 6; ++attempt) {
    EXPECT_EQ(a->BackoffDelay(attempt), b->BackoffDelay(attempt));
  }
}

TEST_F(ClientTest, SleepsUseBackoffWhenLongerThanRetryAfter) {
  RetryPolicy p = Policy();
  p.max_attempts = 6;
  p.base_delay = milliseconds(10000);
  p.max_delay = milliseconds(10000);
  transport_.Script({Answer(503, {{"retry-after", "0"}}), Answer(503), Answer(503), Answer(503),
                     Answer(503), Answer(503)});
  Client reference(transport_.Borrow(), p, clock_, 42);
  std::vector<milliseconds> expected;
  for (int attempt = 1; attempt < 6; ++attempt) expected.push_back(reference.BackoffDelay(attempt));
  auto client = MakeClient(p);
  Result<Response> r = client->Send(Get());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(clock_.sleeps(), expected);
}

TEST_F(ClientTest, CountsStats) {
  transport_.Script(
      {Answer(503), Answer(200), Answer(201), Answer(404), UnavailableError("down"), Answer(200)});
  auto client = MakeClient();
  ASSERT_TRUE(client->Send(Get()).ok());   // 2 attempts, 1 retry
  ASSERT_TRUE(client->Send(Post()).ok());  // 1 attempt, 1 write
  Request del = Get();
  del.method = "DELETE";
  ASSERT_TRUE(client->Send(del).ok());  // 404, not retried: 1 write
  Request put = Get();
  put.method = "PUT";
  ASSERT_TRUE(client->Send(put).ok());  // error then 200: 2 writes, 1 retry
  EXPECT_EQ(client->stats().requests.load(), 6);
  EXPECT_EQ(client->stats().writes.load(), 4);
  EXPECT_EQ(client->stats().retries.load(), 2);
}

TEST_F(ClientTest, AddsDefaultHeadersWithoutOverridingRequest) {
  transport_.Script({Answer(200), Answer(200)});
  auto client = MakeClient();
  client->SetDefaultHeader("Authorization", "token=old");
  client->SetDefaultHeader("authorization", "Bearer s3cret");
  client->SetDefaultHeader("Accept", "application/json");
  ASSERT_TRUE(client->Send(Get()).ok());
  Request custom = Get();
  custom.headers = {{"ACCEPT", "text/plain"}};
  ASSERT_TRUE(client->Send(custom).ok());

  using Headers = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(transport_.request(0).headers,
            (Headers{{"Authorization", "Bearer s3cret"}, {"Accept", "application/json"}}));
  EXPECT_EQ(transport_.request(1).headers,
            (Headers{{"ACCEPT", "text/plain"}, {"Authorization", "Bearer s3cret"}}));
}

TEST_F(ClientTest, RetryReasonNeverContainsSecrets) {
  transport_.Script({Answer(503, {}, "body"), Answer(200)});
  auto client = MakeClient();
  client->SetDefaultHeader("Authorization", "Bearer s3cret");
  Request req = Post();
  req.body = "password=hunter2";
  req.idempotent = true;
  ASSERT_TRUE(client->Send(req).ok());
  ASSERT_EQ(observed_.size(), 1u);
  EXPECT_EQ(observed_[0].reason.find("s3cret"), std::string::npos);
  EXPECT_EQ(observed_[0].reason.find("hunter2"), std::string::npos);
}

// The signer runs before every attempt on a fresh copy: each retry carries its own signature,
// never an accumulation of earlier ones, and the caller's request stays unsigned.
TEST_F(ClientTest, SignerSignsEveryAttemptAfresh) {
  transport_.Script({Answer(503), ConnectError("refused"), Answer(200)});
  auto client = MakeClient();
  client->SetDefaultHeader("Accept", "application/json");
  int signed_count = 0;
  client->SetRequestSigner([&](Request& r) {
    // Default headers are already there, so they can be signed.
    EXPECT_EQ(r.headers.size(), 1u);
    r.headers.emplace_back("X-Signature", std::to_string(++signed_count));
  });
  std::vector<std::string> observed_headers;
  client->SetRetryObserver([&](const Request& r, int, milliseconds, const std::string&) {
    observed_headers.push_back(std::to_string(r.headers.size()));
  });
  ASSERT_TRUE(client->Send(Get()).ok());
  ASSERT_EQ(transport_.request_count(), 3u);
  using Headers = std::vector<std::pair<std::string, std::string>>;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(transport_.request(i).headers,
              (Headers{{"Accept", "application/json"}, {"X-Signature", std::to_string(i + 1)}}));
  }
  EXPECT_EQ(observed_headers, (std::vector<std::string>{"1", "1"}));  // unsigned
}

// AWS throttling is HTTP 400 with a code in the body: the classifier makes it retryable, with
// the same backoff, Retry-After, observer and counters as a 503 — also for a POST.
TEST_F(ClientTest, ClassifierRetriesAnswersTheBuiltInRulesDoNot) {
  transport_.Script({Answer(400, {}, R"({"__type":"ThrottlingException"})"),
                     Answer(400, {{"retry-after", "2"}}, R"({"__type":"ThrottlingException"})"),
                     Answer(400, {}, R"({"__type":"ValidationException"})"), Answer(200)});
  auto client = MakeClient();
  std::vector<int> classified;
  client->SetRetryClassifier([&](const Request&, const Response& r) -> std::string {
    classified.push_back(r.status);
    if (r.body.find("Throttling") == std::string::npos) return "";
    return std::to_string(r.status) + " ThrottlingException";
  });
  Result<Response> r = client->Send(Post());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("ValidationException"), std::string::npos);
  EXPECT_EQ(transport_.request_count(), 3u);
  EXPECT_EQ(classified, (std::vector<int>{400, 400, 400}));
  ASSERT_EQ(observed_.size(), 2u);
  EXPECT_EQ(observed_[0].reason, "400 ThrottlingException");
  EXPECT_EQ(observed_[1].attempt, 2);
  EXPECT_LE(clock_.sleeps()[0], milliseconds(100));  // backoff with jitter, attempt 1
  EXPECT_EQ(clock_.sleeps()[1], seconds(2));         // Retry-After honoured
  EXPECT_EQ(client->stats().retries.load(), 2);
}

TEST_F(ClientTest, ClassifierRetriesAreBoundedByMaxAttempts) {
  for (int i = 0; i < 5; ++i) transport_.Push(Answer(400, {}, "throttled"));
  auto client = MakeClient();
  client->SetRetryClassifier([](const Request&, const Response&) { return std::string("t"); });
  Result<Response> r = client->Send(Get());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(transport_.request_count(), 4u);
  EXPECT_EQ(clock_.sleeps().size(), 3u);
}

// The classifier may also retry a non-idempotent 500 the built-in rules leave alone (an AWS
// InternalFailure body says the service did not act); 503/429 never reach it.
TEST_F(ClientTest, ClassifierSeesOnlyAnswersNotAlreadyRetried) {
  transport_.Script({Answer(503), Answer(500, {}, "aws-error"), Answer(201)});
  auto client = MakeClient();
  std::vector<int> classified;
  client->SetRetryClassifier([&](const Request&, const Response& r) {
    classified.push_back(r.status);
    return r.body == "aws-error" ? std::string("500 InternalFailure") : std::string();
  });
  Result<Response> r = client->Send(Post());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(classified, (std::vector<int>{500, 201}));
}

TEST(ConnectErrorTest, KeepsCodeAndIsRecognised) {
  Status s = ConnectError("GET http://x/: refused");
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_TRUE(IsConnectError(s));
  EXPECT_TRUE(IsConnectError(ConnectError("t", Code::kTimeout)));
  EXPECT_FALSE(IsConnectError(UnavailableError("reset")));
  EXPECT_FALSE(IsConnectError(InvalidError("connect failed: nope")));
  // The marker is a value, not text: context added to the message keeps it.
  EXPECT_TRUE(IsConnectError(s.Annotate("ctx")));
}

TEST(SensitiveHeaderTest, Names) {
  for (const char* name : {"Authorization", "proxy-authorization", "Cookie", "X-Auth-Token",
                           "X-Vault-Token", "client_secret", "DB-Password", "X-API-Key"}) {
    EXPECT_TRUE(IsSensitiveHeader(name)) << name;
  }
  for (const char* name : {"Accept", "Content-Type", "User-Agent", "X-Request-Id"}) {
    EXPECT_FALSE(IsSensitiveHeader(name)) << name;
  }
}

}  // namespace
}  // namespace converge::http

namespace converge::http {
namespace {

// A transport that cannot stream (a fake, a wrapper) still delivers a 2xx body to the request's
// stream — once, from the final answer — and an error answer stays in Response::body.
TEST_F(ClientTest, HandsABufferedTwoHundredBodyToTheStream) {
  transport_.Script({Answer(503, {}, "busy"), Answer(200, {}, R"({"apps":[]})")});
  auto client = MakeClient();
  int begins = 0;
  std::string got;
  BodyStream stream{[&] { ++begins; }, [&](std::string_view c) { got.append(c); }};
  Request req = Get();
  req.stream = &stream;
  auto r = client->Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->streamed);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(begins, 1);
  EXPECT_EQ(got, R"({"apps":[]})");

  transport_.Script({Answer(404, {}, "no such app")});
  begins = 0;
  auto missing = client->Send(req);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->streamed);
  EXPECT_EQ(missing->body, "no such app");
  EXPECT_EQ(begins, 0);
}

}  // namespace
}  // namespace converge::http
