#include "reconcilers/sagemaker/client.h"
#include "specs/base/ascii.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include <strings.h>

namespace converge::sagemaker {
namespace {

constexpr char kAmzJson[] = "application/x-amz-json-1.1";
constexpr char kService[] = "sagemaker";
constexpr size_t kMaxMessage = 1000;  // an HTML error page from a proxy is not a message

// botocore/retries/standard.py _THROTTLED_ERROR_CODES (1.29.27).
constexpr std::array<std::string_view, 14> kThrottlingCodes = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};
// botocore/retries/standard.py _TRANSIENT_ERROR_CODES: the service did not finish reading the
// request, so it did not act.
constexpr std::array<std::string_view, 3> kTransientCodes = {
    "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"};

constexpr std::array<std::string_view, 14> kAuthCodes = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "AccessDeniedException",
    "AccessDenied",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "SignatureDoesNotMatch",
    "NotAuthorized",
    "AuthFailure",
};

template <size_t N>
bool OneOf(const std::array<std::string_view, N>& set, std::string_view code) {
  return std::find(set.begin(), set.end(), code) != set.end();
}

bool Contains(const std::string& lower_haystack, std::string_view needle) {
  return lower_haystack.find(needle) != std::string::npos;
}

bool StartsWithAny(const std::string& s, std::initializer_list<std::string_view> prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](std::string_view p) { return std::string_view(s).starts_with(p); });
}

std::string Target(const std::string& operation) {
  return std::string("SageMaker.") + operation;
}

// The operation of a request this client built (from X-Amz-Target).
std::string OperationOf(const http::Request& request) {
  for (const auto& [name, value] : request.headers) {
    if (AsciiLower(name) == "x-amz-target" && value.starts_with("SageMaker.")) return value.substr(10);
  }
  return "";
}

// True when the body (or header) is an AWS error document, i.e. the service itself answered.
bool HasAwsErrorCode(const http::Response& response) {
  if (!response.Header("x-amzn-query-error").empty()) return true;
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  return body.is_object() && body.contains("__type") && body["__type"].is_string();
}

// http::RetryClassifier for SageMaker answers the shared rules do not retry.
std::string ClassifyRetry(const http::Request& request, const http::Response& response) {
  if (response.status >= 200 && response.status < 300) return "";
  ApiError e = ParseError(response);
  if (OneOf(kThrottlingCodes, e.code) || OneOf(kTransientCodes, e.code)) {
    return std::to_string(response.status) + " " + e.code;
  }
  // SageMaker is eventually consistent: a model or config created a moment ago may not be
  // visible yet to the call that references it ("Could not find model ..."). Nothing was
  // created, so the call may repeat; a reference that really is wrong fails after the retries.
  if (e.code == "ValidationException" && e.message.starts_with("Could not find ")) {
    std::string target;
    for (const auto& [n, v] : request.headers)
      if (strcasecmp(n.c_str(), "X-Amz-Target") == 0) target = v;
    for (const char* op : {"SageMaker.CreateEndpointConfig", "SageMaker.CreateEndpoint",
                           "SageMaker.UpdateEndpoint", "SageMaker.CreateTransformJob"})
      if (target == op)
        return std::to_string(response.status) + " " + e.code + " (not visible yet?)";
  }
  // A 500/502/504 reaching the classifier belongs to a write (reads are retried by the shared
  // rules). With an AWS error body the service answered that it failed, as botocore assumes
  // when it retries every 5xx; a bare 502/504 from a proxy leaves the outcome unknown.
  if (response.status >= 500 && HasAwsErrorCode(response)) {
    return std::to_string(response.status) + " " + e.code;
  }
  return "";
}

std::string DefaultEndpoint(const std::string& region) {
  std::string suffix = region.starts_with("cn-") ? ".amazonaws.com.cn" : ".amazonaws.com";
  return "https://api.sagemaker." + region + suffix;
}

// The endpoint with its path kept and a trailing '/' (the JSON protocol posts to "/").
std::string RequestUrl(const std::string& endpoint) {
  std::string url = endpoint;
  size_t scheme = url.find("://");
  size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (path == std::string::npos) return url + "/";
  if (url.back() != '/') url += '/';
  return url;
}

thread_local ApiError last_error;

}  // namespace

ApiError ParseError(const http::Response& response) {
  ApiError e;
  e.http_status = response.status;
  e.request_id = response.Header("x-amzn-requestid");
  json body;
  if (!response.body.empty()) {
    body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    // botocore: a body that is not JSON becomes the message.
    if (body.is_discarded()) body = json{{"message", response.body}};
  }
  if (body.is_object()) {
    for (const char* key : {"message", "Message"}) {
      auto it = body.find(key);
      if (it != body.end()) {
        if (it->is_string()) e.message = it->get<std::string>();
        break;
      }
    }
  }
  // x-amzn-query-error: "Code;Sender", used only when it has exactly two parts.
  std::string query_error = response.Header("x-amzn-query-error");
  size_t semi = query_error.find(';');
  if (semi != std::string::npos && semi > 0 &&
      query_error.find(';', semi + 1) == std::string::npos) {
    e.code = query_error.substr(0, semi);
  } else if (body.is_object() && body.contains("__type") && body["__type"].is_string()) {
    e.code = body["__type"].get<std::string>();
  } else {
    e.code = std::to_string(response.status);
  }
  if (size_t hash = e.code.rfind('#'); hash != std::string::npos) e.code = e.code.substr(hash + 1);
  return e;
}

bool IsReadOnlyOperation(const std::string& operation);

Code MapError(const std::string& operation, const ApiError& error) {
  const std::string& code = error.code;
  const std::string msg = AsciiLower(error.message);
  if (OneOf(kAuthCodes, code) || error.http_status == 401 || error.http_status == 403) {
    return Code::kPermission;
  }
  if (OneOf(kThrottlingCodes, code)) return Code::kUnavailable;
  if (OneOf(kTransientCodes, code) || error.http_status >= 500) {
    // The service may have acted on a write it answered with a server error.
    return IsReadOnlyOperation(operation) || error.http_status == 503 ? Code::kUnavailable
                                                                       : Code::kUnknownOutcome;
  }
  if (code == "ResourceNotFound" || code == "ResourceNotFoundException" || code == "NotFound") {
    return Code::kNotFound;
  }
  if (code == "ResourceInUse" || code == "ConflictException") return Code::kConflict;
  if (code == "ValidationException") {
    if (Contains(msg, "cannot create already existing") || Contains(msg, "already exist")) {
      return Code::kConflict;
    }
    if (msg.starts_with("cannot ") && Contains(msg, " in-progress ")) return Code::kConflict;
    if (Contains(msg, "could not find") || Contains(msg, "does not exist") ||
        Contains(msg, "not found")) {
      return Code::kNotFound;
    }
  }
  if (error.http_status >= 400 && error.http_status < 500) return Code::kInvalid;
  return Code::kInternal;
}

bool IsReadOnlyOperation(const std::string& operation) {
  return StartsWithAny(operation, {"Describe", "List", "Get", "Search", "BatchDescribe"});
}

Client::Client(ClientOptions options, Clock& clock, std::unique_ptr<http::Transport> transport)
    : options_(std::move(options)), clock_(clock) {
  url_ =
      RequestUrl(options_.endpoint.empty() ? DefaultEndpoint(options_.region) : options_.endpoint);
  if (!transport) transport = http::NewCurlTransport(options_.transport);
  http_ = std::make_unique<http::Client>(std::move(transport), options_.retry, clock_);
  http_->SetRequestSigner([this](http::Request& r) { SignAttempt(r); });
  http_->SetRetryClassifier(ClassifyRetry);
}

Result<std::unique_ptr<Client>> Client::FromBackend(const BackendConfig& backend, Clock& clock,
                                                    const Environment& env, http::RetryPolicy retry,
                                                    http::TransportOptions transport) {
  std::string profile;
  if (backend.spec.is_object() && backend.spec.contains("auth") &&
      backend.spec["auth"].is_object()) {
    profile = backend.spec["auth"].value("profile", "");
  }
  std::string explicit_region =
      backend.spec.is_object() ? backend.spec.value("region", std::string()) : std::string();
  const std::string context = "backend " + backend.name;
  auto region = ResolveRegion(explicit_region, profile, env);
  if (!region.ok()) return region.status().Annotate(context);
  auto credentials = ResolveCredentials(profile, env);
  if (!credentials.ok()) return credentials.status().Annotate(context);
  ClientOptions options;
  options.region = *region;
  options.endpoint = backend.url;
  options.credentials = std::move(*credentials);
  options.refresh_credentials = [profile, env] { return ResolveCredentials(profile, env); };
  options.transport = transport;
  options.transport.tls.ca_file = backend.ca_file;
  options.transport.tls.insecure_skip_verify = backend.insecure_skip_verify;
  options.retry = retry;
  return std::make_unique<Client>(std::move(options), clock);
}

void Client::SetRetryObserver(http::RetryObserver observer) {
  http_->SetRetryObserver(std::move(observer));
}

const ApiError& Client::LastError() {
  return last_error;
}

// Runs before every attempt: counts it and signs it with the current time.
void Client::SignAttempt(http::Request& request) {
  requests_++;
  if (!IsReadOnlyOperation(OperationOf(request))) writes_++;
  const aws::Credentials credentials = CurrentCredentials();
  if (credentials.empty()) return;
  aws::SigningRequest s{request.method, request.url, std::move(request.headers),
                        std::move(request.body)};
  aws::Sign(s, credentials, options_.region, kService, clock_.WallNow());
  request.headers = std::move(s.headers);
  request.body = std::move(s.body);
}

std::string Client::Redact(std::string text) const {
  std::vector<aws::Credentials> all;
  {
    std::lock_guard<std::mutex> lock(credentials_mu_);
    all = retired_credentials_;
    all.push_back(options_.credentials);
  }
  for (const auto& c : all) {
    for (const std::string* secret : {&c.secret_access_key, &c.session_token, &c.access_key_id}) {
      if (secret->size() < 4) continue;  // too short to search for without mangling the text
      for (size_t at = text.find(*secret); at != std::string::npos; at = text.find(*secret, at)) {
        text.replace(at, secret->size(), "<redacted>");
      }
    }
  }
  if (text.size() > kMaxMessage) text = text.substr(0, kMaxMessage) + "…";
  return text;
}

aws::Credentials Client::CurrentCredentials() const {
  std::lock_guard<std::mutex> lock(credentials_mu_);
  return options_.credentials;
}

bool Client::RefreshCredentials() {
  if (!options_.refresh_credentials) return false;
  auto fresh = options_.refresh_credentials();
  if (!fresh.ok()) return false;
  std::lock_guard<std::mutex> lock(credentials_mu_);
  const aws::Credentials& cur = options_.credentials;
  if (fresh->access_key_id == cur.access_key_id &&
      fresh->secret_access_key == cur.secret_access_key &&
      fresh->session_token == cur.session_token)
    return false;
  retired_credentials_.push_back(cur);  // still redacted from messages
  if (retired_credentials_.size() > 16) retired_credentials_.erase(retired_credentials_.begin());
  options_.credentials = std::move(*fresh);
  return true;
}

Result<json> Client::Call(const std::string& operation, const json& input, ApiError* error) {
  const std::string where = "SageMaker " + operation;
  http::Request request;
  request.method = "POST";
  request.url = url_;
  request.headers = {{"X-Amz-Target", Target(operation)}, {"Content-Type", kAmzJson}};
  try {
    request.body = input.is_null() ? "{}" : input.dump();
  } catch (const json::exception& e) {  // invalid UTF-8 in a string
    return InvalidError(where + ": request cannot be encoded as JSON: " + e.what());
  }
  request.idempotent = IsReadOnlyOperation(operation);

  auto fail = [&](ApiError e, Code code, std::string text) -> Status {
    last_error = e;
    if (error) *error = std::move(e);
    return Status(code, Redact(std::move(text)));
  };

  const aws::Credentials signed_with = CurrentCredentials();
  Result<http::Response> response = http_->Send(request);
  if (response.ok() && response->status >= 400) {
    // Temporary credentials expired: pick up refreshed ones (or those another thread just
    // loaded) and send once more.
    ApiError e = ParseError(*response);
    if (e.code == "ExpiredToken" || e.code == "ExpiredTokenException") {
      const aws::Credentials now = CurrentCredentials();
      bool newer = now.access_key_id != signed_with.access_key_id ||
                   now.secret_access_key != signed_with.secret_access_key ||
                   now.session_token != signed_with.session_token;
      if (newer || RefreshCredentials()) response = http_->Send(request);
    }
  }
  if (!response.ok()) {
    // A write that reached the service without an answer is kUnknownOutcome (the HTTP client
    // says so): the executor reads the object back before repeating it.
    std::string text = where + ": " + response.status().message();
    ApiError e;
    e.message = response.status().message();
    return fail(std::move(e), response.status().code(), std::move(text));
  }
  if (response->status < 200 || response->status >= 300) {
    ApiError e = ParseError(*response);
    Code code = MapError(operation, e);
    std::string text = where + ": " + e.code + ": " + e.message;
    if (!e.request_id.empty()) text += " (request id " + e.request_id + ")";
    e.message = Redact(std::move(e.message));
    return fail(std::move(e), code, std::move(text));
  }
  last_error = ApiError{};
  if (response->body.empty()) return json::object();
  json out = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded() || !out.is_object()) {
    std::string text = where + ": unexpected answer (HTTP " + std::to_string(response->status) +
                       ", not a JSON object)";
    std::string request_id = response->Header("x-amzn-requestid");
    if (!request_id.empty()) text += " (request id " + request_id + ")";
    return fail(ApiError{response->status, "", "", request_id}, Code::kInternal, text);
  }
  return out;
}

Status Client::ListAll(const std::string& operation, json input, const std::string& member,
                       const std::function<Status(json&)>& visit) {
  if (input.is_null()) input = json::object();
  if (!input.contains("MaxResults")) input["MaxResults"] = 100;
  input.erase("NextToken");
  std::string previous_token;
  while (true) {
    Result<json> page = Call(operation, input);
    if (!page.ok()) return page.status();
    auto items = page->find(member);
    if (items != page->end() && !items->is_null()) {
      if (!items->is_array()) {
        return InternalError("SageMaker " + operation + ": unexpected answer (\"" + member +
                             "\" is not an array)");
      }
      for (json& item : *items) CONVERGE_RETURN_IF_ERROR(visit(item));
    }
    auto next = page->find("NextToken");
    if (next == page->end() || !next->is_string() || next->get<std::string>().empty()) {
      return Status::Ok();
    }
    std::string token = next->get<std::string>();
    // A server handing out the same token again would page forever.
    if (token == previous_token) {
      return InternalError("SageMaker " + operation +
                           ": pagination did not advance (NextToken "
                           "repeated)");
    }
    previous_token = token;
    input["NextToken"] = std::move(token);
  }
}

}  // namespace converge::sagemaker
