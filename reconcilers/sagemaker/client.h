// The Amazon SageMaker control-plane client: AWS JSON 1.1 over the shared HTTP client, SigV4
// signed (every attempt afresh), errors parsed as botocore parses them and mapped to Codes.
//
// Wire (../shared/upstream/sagemaker/NOTES.md): `POST <endpoint>/` with
// `X-Amz-Target: SageMaker.<Operation>`, `Content-Type: application/x-amz-json-1.1`, SigV4
// (service "sagemaker"), `X-Amz-Security-Token` with session credentials; the body is the input
// as compact JSON.
//
// Retries (http::Client backoff + full jitter, RetryPolicy): connection failures before
// sending, 429/503, throttling answers (HTTP 400 with ThrottlingException and the other codes
// botocore treats as throttling), transient codes (RequestTimeout...), and 500/502/504 — for
// Describe*/List*/Get*/Search* always, for writes only when the answer carries an AWS error body
// (the service answered that it failed). A write (Create*/Update*/Delete*/Stop*/AddTags/...)
// whose outcome is unknown — a timeout or reset after the request was sent, a bare 502 from a
// proxy — is NOT repeated: the error (kUnavailable/kTimeout) says the outcome is unknown, and the
// caller re-observes. Repeating is safe for the reconciler's own retries because names are
// unique: a Create that did happen answers "Cannot create already existing ..." (kConflict), a
// Delete that did happen answers "Could not find ..." (kNotFound).
//
// Status codes of a failed call (the message is always
// `SageMaker <Operation>: <Code>: <message> (request id <id>)`):
//   kNotFound    ResourceNotFound(Exception); ValidationException saying "Could not find",
//                "does not exist" or "not found" (SageMaker's not-found for hosting resources).
//                For a Create/Update it means a referenced object (model, config) is missing —
//                possibly created a moment ago (SageMaker reads references eventually
//                consistently).
//   kConflict    ResourceInUse, ConflictException, ValidationException "Cannot create already
//                existing ..." / "... already exists", "Cannot update/delete in-progress ...".
//   kPermission  HTTP 401/403 and the AWS auth codes (UnrecognizedClientException,
//                InvalidSignatureException, MissingAuthenticationToken, AccessDenied(Exception),
//                ExpiredToken(Exception), InvalidClientTokenId, SignatureDoesNotMatch, ...).
//   kInvalid     any other 4xx, ResourceLimitExceeded included: a quota is not raised by retrying
//                within a run (the next apply tries again), so it is terminal.
//   kUnavailable 5xx and throttling once retries are exhausted; connection errors.
//   kInternal    a 2xx answer that is not a JSON object; an unexpected status (1xx/3xx).
// Credentials (key id, secret, token) never appear in a message: they are redacted even when a
// service echoes them (InvalidSignatureException can quote the canonical request, token included).
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <vector>
#include <memory>
#include <string>

#include "specs/base/clock.h"
#include "specs/base/status.h"
#include "reconcilers/common/aws_sigv4.h"
#include "reconcilers/common/http.h"
#include "reconcilers/sagemaker/credentials.h"
#include "specs/backend.h"

namespace converge::sagemaker {

struct ClientOptions {
  std::string region;  // required
  // URL override: a VPC endpoint, another SageMaker-compatible endpoint, the sandbox
  // ("http://127.0.0.1:PORT/sagemaker"); its path is kept and requests go to "<path>/".
  // Empty: https://api.sagemaker.<region>.amazonaws.com (amazonaws.com.cn for cn-* regions).
  std::string endpoint;
  // Empty credentials: requests are sent unsigned (only useful against a test server).
  aws::Credentials credentials;
  // Re-reads the credentials (the chain of credentials.h) when the service answers
  // ExpiredToken: temporary credentials refreshed in ~/.aws/credentials or the environment by
  // another process are picked up, and the call is sent once more. Unset: no refresh.
  std::function<Result<aws::Credentials>()> refresh_credentials;
  http::TransportOptions transport;  // timeouts, TLS (ca_file, insecure_skip_verify)
  http::RetryPolicy retry;
};

// One failed call as the service described it (botocore's Error.Code / Message / RequestId).
struct ApiError {
  int http_status = 0;  // 0: no HTTP answer (connection error)
  std::string code;     // "ValidationException"; the HTTP status as text when the body has none
  std::string message;  // credentials redacted
  std::string request_id;
};

// Parses an error answer like botocore's JSON parser: code from `x-amzn-query-error`
// ("Code;Sender") else `__type` else the HTTP status, anything up to the last '#' dropped;
// message from `message` or `Message` (the raw body when it is not JSON); request id from
// `x-amzn-RequestId`. Public for tests and the emulator's tests.
ApiError ParseError(const http::Response& response);

// The Code a failed call maps to (table above). `operation` is not used for the mapping today;
// it is there so the mapping can stay in one place if an operation ever needs its own rule.
Code MapError(const std::string& operation, const ApiError& error);

// True for Describe*/List*/Get*/Search*/BatchDescribe* — operations that change nothing and may
// be repeated after any failure. Everything else counts as a write.
bool IsReadOnlyOperation(const std::string& operation);

class Client {
 public:
  // `transport` null: libcurl with options.transport.
  Client(ClientOptions options, Clock& clock, std::unique_ptr<http::Transport> transport = nullptr);

  // A client for a `type: sagemaker` Backend: region from spec.region (else the environment /
  // config file), endpoint from spec.url, credentials from spec.auth.profile or the environment
  // (credentials.h), TLS from spec.tls.
  static Result<std::unique_ptr<Client>> FromBackend(
      const BackendConfig& backend, Clock& clock, const Environment& env = Environment::Process(),
      http::RetryPolicy retry = {}, http::TransportOptions transport = {});

  // One operation, e.g. Call("CreateModel", {{"ModelName", "m"}, ...}). Returns the output
  // JSON object ({} for operations without output). On failure, `error` (when not null)
  // receives the parsed AWS error; LastError() has it too. Thread-safe.
  Result<json> Call(const std::string& operation, const json& input, ApiError* error = nullptr);

  // Pages a List* operation (NextToken in and out, MaxResults 100 unless `input` sets it) and
  // calls `visit` for each element of the output array `member` ("Models", "Endpoints",
  // "Tags", ...); stops at the first non-OK Status `visit` returns and returns it. A missing
  // member is an empty page.
  Status ListAll(const std::string& operation, json input, const std::string& member,
                 const std::function<Status(json&)>& visit);

  // The ApiError of the last failed Call on this thread (any Client); cleared by a success.
  static const ApiError& LastError();

  // Attempts sent (retries included) and those of them that were writes.
  long RequestCount() const { return requests_.load(); }
  long WriteCount() const { return writes_.load(); }

  // Reports each retry ("400 ThrottlingException", "503 Service Unavailable", connection
  // errors) before its sleep. Call before sharing the client between threads.
  void SetRetryObserver(http::RetryObserver observer);
  // Around every HTTP attempt (rate limiting, metrics); call before sharing the client.
  void SetAttemptHooks(http::AttemptHooks hooks) { http_->SetAttemptHooks(std::move(hooks)); }

  const std::string& url() const { return url_; }  // where requests go, e.g. https://…/
  const std::string& region() const { return options_.region; }

 private:
  void SignAttempt(http::Request& request);
  std::string Redact(std::string text) const;

  aws::Credentials CurrentCredentials() const;
  // True when fresh credentials (different from the ones in use) were loaded.
  bool RefreshCredentials();

  ClientOptions options_;  // options_.credentials: guarded by credentials_mu_
  mutable std::mutex credentials_mu_;
  std::vector<aws::Credentials> retired_credentials_;  // still redacted from messages
  Clock& clock_;
  std::string url_;
  std::unique_ptr<http::Client> http_;
  std::atomic<long> requests_{0};
  std::atomic<long> writes_{0};
};

}  // namespace converge::sagemaker
