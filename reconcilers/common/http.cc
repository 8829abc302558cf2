// The retrying HTTP client (transport-independent parts). The libcurl transport lives in
// curl_transport.cc.
#include "reconcilers/common/http.h"
#include "specs/base/ascii.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <string_view>

namespace converge::http {
namespace {

constexpr std::string_view kConnectPrefix = "connect failed: ";

bool SameHeaderName(std::string_view a, std::string_view b) {
  return AsciiLower(a) == AsciiLower(b);
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

std::string StatusReason(int status) {
  std::string reason = std::to_string(status);
  const char* phrase = ReasonPhrase(status);
  if (*phrase != '\0') reason += std::string(" ") + phrase;
  return reason;
}

// 429 and 503 mean the server did not process the request, so any request may repeat. 500, 502
// and 504 are ambiguous: the server may have acted, so only idempotent requests repeat.
bool RetryableStatus(int status, bool idempotent) {
  if (status == 429 || status == 503) return true;
  if (status == 500 || status == 502 || status == 504) return idempotent;
  return false;
}

bool RetryableError(const Status& status, bool idempotent) {
  if (status.code() != Code::kUnavailable && status.code() != Code::kTimeout) return false;
  return idempotent || IsConnectError(status);
}

bool IsWrite(const std::string& method) {
  return method != "GET" && method != "HEAD";
}

// Parses "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate).
std::optional<std::chrono::system_clock::time_point> ParseImfFixdate(std::string_view v) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char wkday[4] = {}, mon[4] = {}, zone[4] = {};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0, consumed = 0;
  std::string text(v);
  if (std::sscanf(text.c_str(), "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3[A-Z]%n", wkday, &day,
                  mon, &year, &hh, &mm, &ss, zone, &consumed) != 8 ||
      static_cast<size_t>(consumed) != text.size() || std::string_view(zone) != "GMT") {
    return std::nullopt;
  }
  auto it = std::find(std::begin(kMonths), std::end(kMonths), std::string_view(mon));
  if (it == std::end(kMonths) || hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  unsigned month = static_cast<unsigned>(it - std::begin(kMonths)) + 1;
  std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{month},
                                   std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days{date} + std::chrono::hours{hh} + std::chrono::minutes{mm} +
         std::chrono::seconds{ss};
}

// A write that reached the server and got no answer may have been carried out: its outcome is
// unknown, and the caller must observe before repeating it.
Result<Response> Unknown(const Request& request, const Result<Response>& result) {
  if (result.ok() || request.idempotent || result.status().nothing_sent() ||
      (result.status().code() != Code::kUnavailable && result.status().code() != Code::kTimeout))
    return result;
  return UnknownOutcomeError(result.status().message() +
                             " (sent, but no reply came: it may have been carried out)");
}

}  // namespace

Code CodeForHttpStatus(int status, bool idempotent) {
  if (status == 401 || status == 403) return Code::kPermission;
  if (status == 404) return Code::kNotFound;
  if (status == 409) return Code::kConflict;
  if (status == 429 || status == 503) return Code::kUnavailable;
  if (status == 500 || status == 502 || status == 504)
    return idempotent ? Code::kUnavailable : Code::kUnknownOutcome;
  if (status >= 500) return Code::kUnavailable;
  return Code::kInvalid;
}

Status ConnectError(const std::string& message, Code code) {
  return Status::NothingSent(code, std::string(kConnectPrefix) + message);
}

bool IsConnectError(const Status& status) {
  return (status.code() == Code::kUnavailable || status.code() == Code::kTimeout) &&
         status.nothing_sent();
}

bool IsSensitiveHeader(const std::string& name) {
  std::string n = AsciiLower(name);
  if (n == "authorization" || n == "proxy-authorization" || n == "cookie" || n == "set-cookie") {
    return true;
  }
  for (std::string_view word : {"token", "secret", "password", "api-key", "apikey"}) {
    if (n.find(word) != std::string::npos) return true;
  }
  return false;
}

Client::Client(std::unique_ptr<Transport> transport, RetryPolicy policy, Clock& clock,
               uint64_t seed)
    : transport_(std::move(transport)), policy_(policy), clock_(clock), rng_(seed) {}

void Client::SetDefaultHeader(const std::string& name, const std::string& value) {
  for (auto& [n, v] : default_headers_) {
    if (SameHeaderName(n, name)) {
      v = value;
      return;
    }
  }
  default_headers_.emplace_back(name, value);
}

std::chrono::milliseconds Client::BackoffDelay(int attempt) {
  using std::chrono::milliseconds;
  const int64_t max_ms = std::max<int64_t>(0, policy_.max_delay.count());
  int64_t cap = std::max<int64_t>(0, policy_.base_delay.count());
  // Double up to the cap without overflowing.
  for (int i = 1; i < attempt && cap < max_ms; ++i) cap = cap > max_ms / 2 ? max_ms : cap * 2;
  cap = std::min(cap, max_ms);
  std::uniform_int_distribution<int64_t> dist(0, cap);
  std::lock_guard<std::mutex> lock(rng_mu_);
  return milliseconds(dist(rng_));
}

Result<Response> Client::Send(Request request) {
  for (const auto& header : default_headers_) {  // no structured binding: clang 14 cannot capture one
    bool present = std::any_of(request.headers.begin(), request.headers.end(),
                               [&](const auto& h) { return SameHeaderName(h.first, header.first); });
    if (!present) request.headers.emplace_back(header.first, header.second);
  }
  const int max_attempts = std::max(1, policy_.max_attempts);
  for (int attempt = 1;; ++attempt) {
    stats_.requests++;
    if (IsWrite(request.method)) stats_.writes++;
    if (hooks_.before) hooks_.before(request);
    Result<Response> result = [&] {
      if (!signer_) return transport_->RoundTrip(request);
      Request signed_request = request;  // each attempt is signed afresh from the caller's request
      signer_(signed_request);
      return transport_->RoundTrip(signed_request);
    }();
    if (hooks_.after) hooks_.after(request, result.ok() ? result->status : 0);

    std::chrono::milliseconds retry_after{0};
    std::string reason;
    if (result.ok()) {
      if (RetryableStatus(result->status, request.idempotent)) {
        reason = StatusReason(result->status);
      } else if (classifier_) {
        reason = classifier_(request, *result);
      }
      if (reason.empty()) {
        if (request.stream && !result->streamed && result->status >= 200 && result->status < 300) {
          request.stream->begin();
          request.stream->write(result->body);
          std::string().swap(result->body);
          result->streamed = true;
        }
        return result;
      }
      retry_after = ParseRetryAfter(result->Header("retry-after"), clock_.WallNow());
    } else {
      if (!RetryableError(result.status(), request.idempotent)) return Unknown(request, result);
      reason = result.status().message();
    }
    if (attempt >= max_attempts) return result.ok() ? result : Unknown(request, result);

    retry_after = std::min(retry_after, policy_.max_retry_after);
    std::chrono::milliseconds delay = std::max(retry_after, BackoffDelay(attempt));
    if (observer_) observer_(request, attempt, delay, reason);
    stats_.retries++;
    clock_.SleepFor(delay);
  }
}

std::chrono::milliseconds ParseRetryAfter(const std::string& value,
                                          std::chrono::system_clock::time_point now) {
  using std::chrono::milliseconds;
  std::string_view v = TrimAsciiSpace(value);
  if (v.empty()) return milliseconds(0);
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // Saturate absurd values instead of overflowing; the caller caps the delay anyway.
    if (v.size() > 9) return std::chrono::hours(24 * 365);
    return std::chrono::seconds(std::stol(std::string(v)));
  }
  auto date = ParseImfFixdate(v);
  if (!date || *date <= now) return milliseconds(0);
  // Round up so that a retry never lands before the instant the server named.
  return std::chrono::ceil<milliseconds>(*date - now);
}

std::string UrlEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

}  // namespace converge::http
