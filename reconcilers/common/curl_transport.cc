// The libcurl Transport. A pool of easy handles per transport: a request takes an idle handle (or
// makes one), so concurrent requests run side by side and each handle keeps its own connection
// alive between requests; only taking and returning a handle is under a mutex. Error messages
// name the method and URL (without credentials) and curl's explanation, never headers or bodies.
#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <cstdlib>
#include <mutex>
#include <string_view>
#include <vector>

#include "reconcilers/common/http.h"
#include "specs/base/ascii.h"

namespace converge::http {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Drops "user:password@" from a URL so it can appear in an error message.
std::string UrlForMessage(const std::string& url) {
  size_t scheme = url.find("://");
  size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", host);
  size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < host) return url;
  return url.substr(0, host) + url.substr(at + 1);
}

// Collects one response's headers. Status lines ("HTTP/1.1 100 Continue", a redirect's answer)
// start a new header block, so only the final response's headers are kept.
size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<Response*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    response->headers.clear();
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;  // blank line ending the block
  std::string name(TrimAsciiSpace(line.substr(0, colon)));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string value(TrimAsciiSpace(line.substr(colon + 1)));
  auto [it, inserted] = response->headers.emplace(name, value);
  if (!inserted) it->second += ", " + value;
  return size * count;
}

// Where OnBody puts one attempt's body: Response::body, or the request's stream for a 2xx answer.
struct BodyTarget {
  Response* response;
  const Request* request;
  CURL* handle;
  long decided_for = -1;  // the status the current choice was made for
  bool to_stream = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* target = static_cast<BodyTarget*>(user);
  Response* response = target->response;
  if (target->request->stream != nullptr) {
    long code = 0;
    curl_easy_getinfo(target->handle, CURLINFO_RESPONSE_CODE, &code);
    if (code != target->decided_for) {  // the first chunk, or a later answer (after a 401)
      target->decided_for = code;
      target->to_stream = code >= 200 && code < 300;
      response->body.clear();
      if (target->to_stream) target->request->stream->begin();
      response->streamed = target->to_stream;
    }
    if (target->to_stream) {
      target->request->stream->write(std::string_view(data, size * count));
      return size * count;
    }
  }
  if (response->body.empty()) {
    // Size the buffer once from Content-Length: growing an 8 MB answer by doubling would hold
    // up to twice that at the peak (a 10,000-app list).
    auto it = response->headers.find("content-length");
    if (it != response->headers.end()) {
      unsigned long long n = std::strtoull(it->second.c_str(), nullptr, 10);
      if (n > 0 && n <= (256ull << 20)) response->body.reserve(n);
    }
  }
  response->body.append(data, size * count);
  return size * count;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

class CurlTransport : public Transport {
 public:
  explicit CurlTransport(const TransportOptions& options) : options_(options) { GlobalInit(); }
  ~CurlTransport() override {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Result<Response> RoundTrip(const Request& request) override {
    Lease lease(this);
    CURL* h = lease.handle;
    if (h == nullptr) return InternalError("curl_easy_init failed");
    // Reset keeps the connection cache, so the next request to the same host reuses the socket.
    curl_easy_reset(h);
    Response response;
    Slist headers = BuildHeaders(request);
    char error[CURL_ERROR_SIZE] = {};
    BodyTarget target{&response, &request, h};
    SetOptions(h, request, headers.get(), &response, &target, error);
    CURLcode code = curl_easy_perform(h);
    if (code != CURLE_OK) return ErrorStatus(h, request, code, error);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return response;
  }

 private:
  // Idle handles kept for reuse (and so their connections); more concurrent requests than this
  // still run, their handles are closed afterwards.
  static constexpr size_t kMaxIdle = 64;

  // One request's handle: the most recently used idle one (its connection is the likeliest to
  // be alive), or a new one; returned to the pool afterwards.
  struct Lease {
    explicit Lease(CurlTransport* t) : owner(t) {
      {
        std::lock_guard<std::mutex> lock(t->mu_);
        if (!t->idle_.empty()) {
          handle = t->idle_.back();
          t->idle_.pop_back();
        }
      }
      if (handle == nullptr) handle = curl_easy_init();
    }
    ~Lease() {
      if (handle == nullptr) return;
      {
        std::lock_guard<std::mutex> lock(owner->mu_);
        if (owner->idle_.size() < kMaxIdle) {
          owner->idle_.push_back(handle);
          return;
        }
      }
      curl_easy_cleanup(handle);
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    CurlTransport* owner;
    CURL* handle = nullptr;
  };

  static Slist BuildHeaders(const Request& request) {
    curl_slist* list = nullptr;
    for (const auto& [name, value] : request.headers) {
      // "Name;" is curl's way to send a header with an empty value.
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      list = curl_slist_append(list, line.c_str());
    }
    // No "Expect: 100-continue" round trip before larger bodies.
    list = curl_slist_append(list, "Expect:");
    return Slist(list);
  }

  void SetOptions(CURL* h, const Request& request, curl_slist* headers, Response* response,
                  BodyTarget* target, char* error) {
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    SetTlsOptions(h);
    if (options_.negotiate) {
      curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_NEGOTIATE));
      curl_easy_setopt(h, CURLOPT_USERPWD, ":");  // the user comes from the Kerberos ticket
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, response);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, target);
    SetMethod(h, request);
  }

  void SetTlsOptions(CURL* h) {
    if (options_.tls.insecure_skip_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
      return;
    }
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.tls.ca_file.empty()) {
      curl_easy_setopt(h, CURLOPT_CAINFO, options_.tls.ca_file.c_str());
    }
  }

  void SetMethod(CURL* h, const Request& request) {
    // libcurl silently sends a request again when a reused keep-alive connection turns out dead
    // before any answer byte. For a write that may have been carried out (the server acted, then
    // the connection dropped) that would be a second write: a non-idempotent request always
    // goes on a fresh connection, so a lost reply reaches the caller as kUnknownOutcome.
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, request.idempotent ? 0L : 1L);
    if (request.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (request.method == "GET" && request.body.empty()) {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      // Any other method (or a GET with a body): send the body as POST data, then let
      // CUSTOMREQUEST put the real method on the request line.
      bool has_body = !request.body.empty() || request.method == "POST" ||
                      request.method == "PUT" || request.method == "PATCH";
      if (has_body) {  // an empty PUT still sends "Content-Length: 0"
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
      }
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  }

  // Whether the failure happened before any byte of the request went out.
  static bool NothingSent(CURL* h, CURLcode code) {
    switch (code) {
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
      case CURLE_COULDNT_CONNECT:
        return true;
      case CURLE_OPERATION_TIMEDOUT:
      case CURLE_SSL_CONNECT_ERROR: {
        long sent = 0;
        return curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent == 0;
      }
      default:
        return false;
    }
  }

  static Status ErrorStatus(CURL* h, const Request& request, CURLcode code, const char* error) {
    std::string message = request.method + " " + UrlForMessage(request.url) + ": " +
                          (error[0] != '\0' ? error : curl_easy_strerror(code));
    Code status_code = code == CURLE_OPERATION_TIMEDOUT ? Code::kTimeout : Code::kUnavailable;
    if (NothingSent(h, code)) return ConnectError(message, status_code);
    return Status(status_code, message);
  }

  const TransportOptions options_;
  std::mutex mu_;              // guards idle_ only; requests run outside it
  std::vector<CURL*> idle_;    // most recently returned last
};

}  // namespace

std::unique_ptr<Transport> NewCurlTransport(const TransportOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

}  // namespace converge::http
