// AWS Signature Version 4, written to produce exactly what botocore's SigV4Auth produces
// (botocore/auth.py, 1.29.27 and 1.43.11 agree), because the only way to know a signature is right
// without talking to AWS is to compare it with the reference implementation.
#include "reconcilers/common/aws_sigv4.h"
#include "specs/base/ascii.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <string_view>
#include <vector>

namespace converge::aws {
namespace {

constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";

// Headers botocore never signs (SIGNED_HEADERS_BLACKLIST); authorization is replaced, not signed.
bool NeverSigned(std::string_view lower_name) {
  return lower_name == "expect" || lower_name == "user-agent" || lower_name == "x-amzn-trace-id" ||
         lower_name == "authorization";
}

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 0xF];
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(digest, sizeof digest);
}

std::string HmacSha256(std::string_view key, std::string_view msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// The parts of an absolute URL SigV4 needs (what Python's urlsplit gives botocore).
struct UrlParts {
  std::string scheme;  // lower-case
  std::string host;    // lower-case; IPv6 literals keep their brackets
  int port = -1;       // -1: none in the URL
  std::string path;
  std::string query;
};

UrlParts SplitUrl(std::string_view url) {
  UrlParts parts;
  size_t scheme_end = url.find("://");
  std::string_view rest = url;
  if (scheme_end != std::string_view::npos) {
    parts.scheme = AsciiLower(url.substr(0, scheme_end));
    rest = url.substr(scheme_end + 3);
  }
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);  // userinfo is never part of the host header
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    host = authority.substr(0, close == std::string_view::npos ? authority.size() : close + 1);
    if (close != std::string_view::npos && close + 1 < authority.size() &&
        authority[close + 1] == ':') {
      port = authority.substr(close + 2);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  parts.host = AsciiLower(host);
  if (!port.empty() && port.size() <= 5 &&
      std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    parts.port = std::stoi(std::string(port));
  }
  size_t q = rest.find('?');
  parts.path = std::string(rest.substr(0, q));
  if (q != std::string_view::npos) parts.query = std::string(rest.substr(q + 1));
  return parts;
}

// botocore's _host_from_url: the port only when it is not the scheme's default.
std::string HostFromUrl(const UrlParts& url) {
  int default_port = url.scheme == "http" ? 80 : url.scheme == "https" ? 443 : -2;
  if (url.port >= 0 && url.port != default_port) return url.host + ":" + std::to_string(url.port);
  return url.host;
}

// botocore's remove_dot_segments: RFC 3986 5.2.4, and empty segments ("//") dropped as AWS wants.
std::string RemoveDotSegments(const std::string& path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> out;
  std::string_view rest = path;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!seg.empty() && seg != ".") {
      out.push_back(seg);
    }
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  std::string result = path.front() == '/' ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i > 0) result += '/';
    result += out[i];
  }
  if (path.back() == '/' && !out.empty()) result += '/';
  return result;
}

// Python's quote(path, safe='/~'): everything but unreserved characters and '/' is
// percent-encoded, '%' included (for non-S3 services the path is encoded twice, by design).
std::string QuotePath(const std::string& path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

// botocore's _canonical_query_string_url: pairs from the URL as they are (already encoded),
// sorted by key then value.
std::string CanonicalQuery(const std::string& query) {
  if (query.empty()) return "";
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string_view rest = query;
  while (true) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    pairs.emplace_back(std::string(pair.substr(0, eq)),
                       eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

// Trimall: leading/trailing whitespace dropped, inner runs collapsed to one space.
std::string TrimAll(std::string_view v) {
  std::string out;
  bool pending_space = false;
  for (char c : v) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out += ' ';
      pending_space = false;
      out += c;
    }
  }
  return out;
}

void RemoveHeader(std::vector<std::pair<std::string, std::string>>& headers,
                  std::string_view lower_name) {
  std::erase_if(headers, [&](const auto& h) { return AsciiLower(h.first) == lower_name; });
}

// The header names Sign signs: every header botocore would sign, plus host (from the URL unless
// the request sets it).
std::vector<std::string> HeadersToSign(const SigningRequest& request) {
  std::vector<std::string> names{"host"};
  for (const auto& [name, value] : request.headers) {
    std::string lower = AsciiLower(name);
    if (!NeverSigned(lower)) names.push_back(lower);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string Join(const std::vector<std::string>& names, char sep) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += sep;
    out += n;
  }
  return out;
}

std::string CanonicalRequest(const SigningRequest& request,
                             const std::vector<std::string>& signed_headers) {
  UrlParts url = SplitUrl(request.url);
  std::string method = request.method;
  for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string path = request.canonical_path.empty()
                               ? QuotePath(RemoveDotSegments(url.path))
                               : request.canonical_path;
  std::string out = method + "\n" + path + "\n" +
                    CanonicalQuery(url.query) + "\n";
  std::string payload_hash;
  for (const auto& name : signed_headers) {
    // Repeated headers are joined with ',' in the order they appear.
    std::string value;
    bool found = false;
    for (const auto& [n, v] : request.headers) {
      if (AsciiLower(n) != name) continue;
      if (found) value += ',';
      value += TrimAll(v);
      found = true;
    }
    if (!found && name == "host") value = HostFromUrl(url);
    out += name + ":" + value + "\n";
  }
  for (const auto& [n, v] : request.headers) {
    if (AsciiLower(n) == "x-amz-content-sha256") payload_hash = v;  // botocore trusts a caller's hash
  }
  if (payload_hash.empty()) payload_hash = Sha256Hex(request.body);
  out += "\n" + Join(signed_headers, ';') + "\n" + payload_hash;
  return out;
}

}  // namespace

std::string AmzDate(std::chrono::system_clock::time_point now) {
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}


std::string Signature(const SigningRequest& request, const Credentials& credentials,
                      const std::string& region, const std::string& service,
                      const std::string& amz_date, const std::vector<std::string>& signed_headers) {
  std::string date = amz_date.substr(0, 8);
  std::string scope = date + "/" + region + "/" + service + "/aws4_request";
  std::string string_to_sign = std::string(kAlgorithm) + "\n" + amz_date + "\n" + scope + "\n" +
                               Sha256Hex(CanonicalRequest(request, signed_headers));
  std::string key = HmacSha256("AWS4" + credentials.secret_access_key, date);
  key = HmacSha256(key, region);
  key = HmacSha256(key, service);
  key = HmacSha256(key, "aws4_request");
  std::string sig = HmacSha256(key, string_to_sign);
  return Hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

void Sign(SigningRequest& request, const Credentials& credentials, const std::string& region,
          const std::string& service, std::chrono::system_clock::time_point now) {
  // A retry re-signs the same request: drop what an earlier signing added.
  RemoveHeader(request.headers, "authorization");
  RemoveHeader(request.headers, "x-amz-date");
  RemoveHeader(request.headers, "x-amz-security-token");
  std::string amz_date = AmzDate(now);
  request.headers.emplace_back("X-Amz-Date", amz_date);
  if (!credentials.session_token.empty()) {
    request.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  std::vector<std::string> signed_headers = HeadersToSign(request);
  std::string signature =
      Signature(request, credentials, region, service, amz_date, signed_headers);
  request.headers.emplace_back(
      "Authorization", std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                           amz_date.substr(0, 8) + "/" + region + "/" + service +
                           "/aws4_request, SignedHeaders=" + Join(signed_headers, ';') +
                           ", Signature=" + signature);
}

std::optional<Authorization> ParseAuthorization(const std::string& header) {
  std::string_view h = header;
  std::string_view prefix = "AWS4-HMAC-SHA256 ";
  if (!h.starts_with(prefix)) return std::nullopt;
  h.remove_prefix(prefix.size());
  std::string credential, signed_headers, signature;
  while (!h.empty()) {
    size_t comma = h.find(',');
    std::string_view item = TrimAsciiSpace(h.substr(0, comma));
    h = comma == std::string_view::npos ? std::string_view() : h.substr(comma + 1);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "Credential") credential = value;
    if (key == "SignedHeaders") signed_headers = value;
    if (key == "Signature") signature = value;
  }
  // Credential=<access key>/<date>/<region>/<service>/aws4_request; the access key has no '/'.
  std::vector<std::string> scope;
  std::string_view rest = credential;
  while (true) {
    size_t slash = rest.find('/');
    scope.emplace_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  if (scope.size() != 5 || scope[4] != "aws4_request" || scope[0].empty() || scope[1].size() != 8 ||
      signed_headers.empty() || signature.empty()) {
    return std::nullopt;
  }
  Authorization auth{scope[0], scope[1], scope[2], scope[3], {}, signature};
  rest = signed_headers;
  while (true) {
    size_t semi = rest.find(';');
    auth.signed_headers.emplace_back(rest.substr(0, semi));
    if (semi == std::string_view::npos) break;
    rest = rest.substr(semi + 1);
  }
  return auth;
}

}  // namespace converge::aws
