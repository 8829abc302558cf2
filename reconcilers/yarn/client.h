// The YARN ResourceManager client: one Call() for both REST APIs converge uses (the RM apps API
// under /ws/v1/cluster and the Services API under /app/v1/services), on the shared HTTP client.
//
// What it promises:
//  * RM HA: the Backend lists several RM base URLs (a path prefix allowed). The first call finds
//    the active one (GET /ws/v1/cluster/info, clusterInfo.haState == ACTIVE) and remembers it.
//    A standby's 307 is followed only when its Location lies under one of the configured RMs
//    (else an error naming the foreign address); a 307 carrying `Refresh: N` ("no active RM
//    right now") is waited out through the Clock and retried, a bounded number of times; when
//    the active RM stops answering (a connection error, or any transport error of an idempotent
//    call) the client fails over: it rediscovers starting from the next RM. A write whose reply
//    was lost is never re-sent to another RM (the http client reports kUnknownOutcome).
//  * auth simple adds `user.name=<user>` to every query; auth spnego uses libcurl's Negotiate.
//  * Every answer says which RM gave it (RmResponse::rm; spdlog debug lines, the `-v` output).
//  * The Services API is probed once (GET /app/v1/services/version): a 503 there means it is
//    disabled (yarn.webapp.api-service.enable=false) and ProbeServicesApi's error says so.
// Errors never carry credentials (no headers are logged).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/common/http.h"
#include "specs/backend.h"
#include "specs/base/clock.h"

namespace converge::yarn {

// One answer from a ResourceManager.
struct RmResponse {
  int status = 0;
  json body;             // the parsed body (null when empty or not JSON)
  std::string text;      // the raw body
  std::string location;  // the Location header (a submit's 202 names the new app)
  std::string rm;        // which configured RM answered (its base URL)
  // The request, for error messages: "PUT /app/v1/services/web".
  std::string method;
  std::string path;
  bool idempotent = true;
};

struct ClientOptions {
  // Attempts per RM (connection errors, 5xx/429 of idempotent calls) before failing over.
  http::RetryPolicy retry{3, std::chrono::milliseconds(200), std::chrono::milliseconds(2000)};
  http::TransportOptions transport;
  // `Refresh: N` answers (no active RM) waited out per call, and the longest wait honoured.
  int max_refresh_waits = 5;
  std::chrono::seconds max_refresh_delay{30};
  // Standby redirects followed per call.
  int max_redirects = 4;
  const Cancellation* cancel = nullptr;  // cuts a Refresh wait short; may be null
};

class Client {
 public:
  // `rm_urls`: the configured RM base URLs, in the order they are tried.
  Client(std::vector<std::string> rm_urls, std::unique_ptr<http::Transport> transport,
         const ClientOptions& options, Clock& clock);

  // From a Backend: `urls` (or the common `url` as a one-element list), auth simple
  // ({type: simple, user: deploy}; `username` is accepted too) or spnego, tls.
  static Result<std::unique_ptr<Client>> FromBackend(const BackendConfig& cfg, Clock& clock,
                                                     const ClientOptions& options = {});
  // The RM list of a Backend spec (urls, else url), trailing slashes dropped.
  static std::vector<std::string> RmUrls(const BackendConfig& cfg);

  // `path` is relative to an RM base ("/ws/v1/cluster/apps?states=RUNNING",
  // "/app/v1/services/x"); `body` null = no body (sent as JSON otherwise). `idempotent` unset =
  // GET/PUT/DELETE are, POST is not. Any HTTP answer is a RmResponse (map it with
  // StatusFromResponse); the error is a transport failure on every RM tried, a redirect to a
  // host outside the configured set, or no active RM after the Refresh waits.
  Result<RmResponse> Call(const std::string& method, const std::string& path,
                          const json* body = nullptr, std::optional<bool> idempotent = {});

  // GET /app/v1/services/version, once per client (the result is remembered).
  Status ProbeServicesApi();

  // Simple auth: the user named in every query (empty = none).
  void SetUser(std::string user) { user_ = std::move(user); }
  // The RM currently believed active ("" before the first call).
  std::string ActiveRm() const;
  const std::vector<std::string>& rms() const { return rms_; }

  http::Client& http() { return *http_; }
  long RequestCount() const { return http_->stats().requests.load(); }
  long WriteCount() const { return http_->stats().writes.load(); }

 private:
  // Finds the active RM, trying the configured ones from `start` on (wrapping around).
  Status Discover(size_t start);
  // One request to RM `rm` (user.name added), no HA handling.
  Result<http::Response> SendTo(size_t rm, const std::string& method, const std::string& path,
                                const std::string& body, bool idempotent);
  // The configured RM whose base URL `location` lies under, and the path below it.
  std::optional<std::pair<size_t, std::string>> MatchRm(const std::string& location) const;

  std::vector<std::string> rms_;
  std::unique_ptr<http::Client> http_;
  ClientOptions options_;
  Clock& clock_;
  std::string user_;
  std::optional<size_t> active_;
  std::optional<Status> probe_;
};

// The Status of an answer: Ok for 2xx; else a code from the status and the body
// (RemoteException or ServiceStatus diagnostics): 404 and 400 "doesn't exist" kNotFound, 500
// "already taken" kConflict, 400 kInvalid, 401/403 kPermission, 409 kConflict, 503/429
// kUnavailable, other 5xx per http::CodeForHttpStatus (kUnknownOutcome for a write). The message
// names the request, the status, the RM and the server's words.
Status StatusFromResponse(const RmResponse& r);
// The server's own words in an answer: RemoteException.message, ServiceStatus diagnostics, or
// the start of the text.
std::string ServerMessage(const RmResponse& r);

}  // namespace converge::yarn
