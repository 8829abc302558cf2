// The HTTP client shared by every backend: one libcurl handle per client (connection reuse),
// timeouts, TLS verification on by default, retries with exponential backoff and full jitter on
// connection errors, 5xx and 429 (honouring Retry-After) and on answers a backend-specific
// classifier calls retryable (AWS throttling); an optional signer signs every attempt afresh.
// Secrets (Authorization headers, bodies marked sensitive) are never logged.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "specs/base/clock.h"
#include "specs/base/status.h"

namespace converge::http {

// A 2xx answer's body handed over as it arrives instead of being kept in Response::body (a
// 10,000-app Marathon list is 12 MB). `begin` is called before the first chunk of every attempt
// that answers 2xx — a retry after a connection reset mid-body begins again, so the consumer
// starts over; an answer of any other status is buffered in Response::body as usual.
struct BodyStream {
  std::function<void()> begin;
  std::function<void(std::string_view chunk)> write;
};

struct Request {
  std::string method = "GET";
  std::string url;  // absolute
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Whether repeating the request after an ambiguous failure (timeout, reset after sending) is
  // safe. GET/PUT/DELETE are idempotent; POST is not unless the caller says so. The client
  // trusts this flag, so callers set it to false for a POST (or PATCH) that must not repeat.
  bool idempotent = true;
  // Where a 2xx answer's body goes (owned by the caller; lives until Send returns). nullptr:
  // kept in Response::body. A transport that cannot stream leaves the body in Response::body and
  // Client::Send hands it to the stream.
  BodyStream* stream = nullptr;
};

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool streamed = false;  // the body went to Request::stream (and `body` is empty)
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct TlsOptions {
  std::string ca_file;                // empty: system CA bundle
  bool insecure_skip_verify = false;  // never the default
};

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  TlsOptions tls;
  // SPNEGO (Kerberos) via libcurl's Negotiate auth, with the ticket of the process's credential
  // cache (kinit); Hadoop clusters with kerberos HTTP authentication need it.
  bool negotiate = false;
};

// One attempt at one request. A connection-level failure is an kUnavailable Status (or
// kTimeout); any HTTP answer, even 500, is a Response. A failure that certainly happened before
// anything was sent (DNS, connection refused, connect timeout) is made with ConnectError so that
// even a non-idempotent request may be retried.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual Result<Response> RoundTrip(const Request& request) = 0;
};

// libcurl transport: a pool of easy handles, so concurrent requests do not wait for each other;
// each handle keeps its connection alive between requests.
std::unique_ptr<Transport> NewCurlTransport(const TransportOptions& options);

// A transport error for a request that never reached the server. The Status keeps its code
// (kUnavailable, or kTimeout for a connect timeout); the message starts with "connect failed: ".
Status ConnectError(const std::string& message, Code code = Code::kUnavailable);
bool IsConnectError(const Status& status);

// The Code of an HTTP error answer: 500/502/504 to a non-idempotent request is kUnknownOutcome
// (the server may have acted), 429/503 kUnavailable (it did not), 4xx per their meaning.
Code CodeForHttpStatus(int status, bool idempotent);

// True for headers whose values must never be logged: Authorization, Proxy-Authorization, Cookie
// and any name containing "token", "secret", "password" or "api-key" (case-insensitive).
bool IsSensitiveHeader(const std::string& name);

struct RetryPolicy {
  int max_attempts = 6;
  std::chrono::milliseconds base_delay{200};
  std::chrono::milliseconds max_delay{10000};
  // Cap on a server-sent Retry-After we are willing to honour per attempt.
  std::chrono::milliseconds max_retry_after{60000};
};

// Counters a benchmark or the CLI can read: requests sent (attempts) by method and status.
struct HttpStats {
  std::atomic<long> requests{0};
  std::atomic<long> writes{0};  // non-GET/HEAD attempts
  std::atomic<long> retries{0};
};

// Called before each retry sleep so long waits can be reported ("retrying in 1.6s: 503").
using RetryObserver = std::function<void(
    const Request&, int attempt, std::chrono::milliseconds delay, const std::string& reason)>;

// Called before every attempt (the first and each retry) on a copy of the request, default
// headers already added; what it changes is sent on that attempt only. Request signing lives
// here because a signature carries a timestamp (AWS SigV4: X-Amz-Date, valid 15 minutes) and a
// retry after a long backoff must be signed afresh. Observers and errors see the unsigned request.
using RequestSigner = std::function<void(Request&)>;

// Consulted for an HTTP answer the built-in rules would not retry (anything but 429/503, and
// 500/502/504 of an idempotent request). Returns a non-empty reason ("400 ThrottlingException")
// when the answer means the server did not act and the request may repeat — e.g. AWS throttling,
// which comes as HTTP 400 with an error code in the body. Such retries use the same backoff,
// jitter, Retry-After and observer as the built-in ones.
using RetryClassifier = std::function<std::string(const Request&, const Response&)>;

// Called around every attempt (retries included): `before` may block (a rate limiter), `after`
// sees the HTTP status (0 when no answer came: connection error, timeout). `converge watch` uses
// them for its per-backend request rate limit and request metrics.
struct AttemptHooks {
  std::function<void(const Request&)> before;
  std::function<void(const Request&, int status)> after;
};

class Client {
 public:
  Client(std::unique_ptr<Transport> transport, RetryPolicy policy, Clock& clock,
         uint64_t seed = std::random_device{}());

  // Sends with retries. Returns the final Response (which may be a 4xx/5xx after retries are
  // exhausted: callers map statuses to errors) or the last connection error.
  Result<Response> Send(Request request);

  // Headers added to every request unless the request sets the same name (e.g. Authorization).
  // Values are never logged. Call SetDefaultHeader and SetRetryObserver before sharing the client
  // between threads; Send itself is thread-safe.
  void SetDefaultHeader(const std::string& name, const std::string& value);
  void SetRetryObserver(RetryObserver observer) { observer_ = std::move(observer); }
  // Like SetRetryObserver: call before the client is shared between threads.
  void SetRequestSigner(RequestSigner signer) { signer_ = std::move(signer); }
  void SetRetryClassifier(RetryClassifier classifier) { classifier_ = std::move(classifier); }
  void SetAttemptHooks(AttemptHooks hooks) { hooks_ = std::move(hooks); }
  HttpStats& stats() { return stats_; }

  // Delay before retry number `attempt` (1-based): full jitter over
  // min(max_delay, base_delay * 2^(attempt-1)). Public for tests.
  std::chrono::milliseconds BackoffDelay(int attempt);

 private:
  std::unique_ptr<Transport> transport_;
  RetryPolicy policy_;
  Clock& clock_;
  std::mt19937_64 rng_;
  std::mutex rng_mu_;
  std::vector<std::pair<std::string, std::string>> default_headers_;
  RetryObserver observer_;
  RequestSigner signer_;
  RetryClassifier classifier_;
  AttemptHooks hooks_;
  HttpStats stats_;
};

// Parses a Retry-After header value (delta-seconds or an HTTP-date) into a delay; 0 if absent or
// unparseable.
std::chrono::milliseconds ParseRetryAfter(const std::string& value,
                                          std::chrono::system_clock::time_point now);

// Percent-encodes a query parameter value.
std::string UrlEncode(const std::string& s);

}  // namespace converge::http
