#include "reconcilers/iceberg/storage.h"

#include <filesystem>
#include <fstream>

namespace converge::iceberg {

namespace {

// SHA-256 of the empty body: an S3 GET signs its (empty) payload with this hash.
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Scheme(const std::string& uri) {
  size_t colon = uri.find("://");
  if (colon == std::string::npos) return "";
  std::string s = uri.substr(0, colon);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The path of a file:// URI (file:///a/b and file:/a/b; a host other than localhost is refused).
std::optional<std::string> FilePath(const std::string& uri) {
  if (uri.rfind("file://", 0) == 0) {
    std::string rest = uri.substr(7);
    if (rest.empty() || rest.front() == '/') return rest;
    if (rest.rfind("localhost/", 0) == 0) return rest.substr(9);
    return std::nullopt;
  }
  if (uri.rfind("file:/", 0) == 0) return uri.substr(5);
  return std::nullopt;
}

// The percent-decoding of a URI path (file:// URIs may encode spaces and the like).
std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// S3's own error code from an error body (<Error><Code>ExpiredToken</Code>...).
std::string S3ErrorCode(const std::string& body) {
  size_t b = body.find("<Code>");
  size_t e = body.find("</Code>");
  if (b == std::string::npos || e == std::string::npos || e < b) return "";
  return body.substr(b + 6, e - b - 6);
}

bool CredentialsExpired(const http::Response& r) {
  if (r.status != 400 && r.status != 403) return false;
  const std::string code = S3ErrorCode(r.body);
  return code == "ExpiredToken" || code == "TokenRefreshRequired" ||
         code == "InvalidAccessKeyId" || code == "RequestExpired";
}

// One transport behind the two clients (plain and S3-signed): the connection is reused.
class Forward : public http::Transport {
 public:
  explicit Forward(http::Transport* to) : to_(to) {}
  Result<http::Response> RoundTrip(const http::Request& r) override { return to_->RoundTrip(r); }

 private:
  http::Transport* to_;
};

http::RetryPolicy Retry() {
  return {4, std::chrono::milliseconds(200), std::chrono::milliseconds(5000)};
}

}  // namespace

json StorageSchema() {
  return json::parse(R"json({
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "s3": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "region": {"type": "string", "minLength": 1},
          "endpoint": {"type": "string", "minLength": 1},
          "pathStyle": {"type": "boolean"},
          "profile": {"type": "string", "minLength": 1}
        }
      }
    }
  })json");
}

void ValidateStorage(const json& spec, std::vector<PathDiagnostic>& out) {
  if (!spec.is_object() || !spec.contains("storage") || !spec["storage"].is_object()) return;
  const json& s = spec["storage"];
  if (!s.contains("s3") || !s["s3"].is_object()) return;
  const json& s3 = s["s3"];
  if (s3.contains("endpoint") && s3["endpoint"].is_string()) {
    const std::string e = s3["endpoint"].get<std::string>();
    if (e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0)
      out.push_back({"/spec/storage/s3/endpoint",
                     "storage.s3.endpoint must be an http:// or https:// URL (got \"" + e + "\")"});
  }
}

std::optional<StorageOptions> StorageOptionsOf(const json& spec) {
  if (!spec.is_object() || !spec.contains("storage") || !spec["storage"].is_object())
    return std::nullopt;
  StorageOptions o;
  const json& s = spec["storage"];
  if (s.contains("s3") && s["s3"].is_object()) {
    const json& s3 = s["s3"];
    o.s3_region = s3.value("region", "");
    o.s3_endpoint = s3.value("endpoint", "");
    while (!o.s3_endpoint.empty() && o.s3_endpoint.back() == '/') o.s3_endpoint.pop_back();
    o.s3_path_style = s3.value("pathStyle", false);
    o.s3_profile = s3.value("profile", "");
  }
  return o;
}

std::optional<S3Object> ParseS3Uri(const std::string& uri) {
  const std::string scheme = Scheme(uri);
  if (scheme != "s3" && scheme != "s3a" && scheme != "s3n") return std::nullopt;
  std::string rest = uri.substr(scheme.size() + 3);
  size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= rest.size()) return std::nullopt;
  return S3Object{rest.substr(0, slash), rest.substr(slash + 1)};
}

Storage::Storage(StorageOptions options, std::unique_ptr<http::Transport> transport, Clock& clock,
                 aws::Environment env)
    : options_(std::move(options)),
      transport_(std::move(transport)),
      http_(std::make_unique<http::Client>(std::make_unique<Forward>(transport_.get()), Retry(),
                                           clock)),
      s3_(std::make_unique<http::Client>(std::make_unique<Forward>(transport_.get()), Retry(),
                                         clock)),
      clock_(clock),
      env_(std::move(env)) {
  // S3 requests are signed per attempt (the signature carries the time). The URL's path is
  // already the canonical one (each key segment encoded once), so it is signed as sent.
  s3_->SetRequestSigner([this](http::Request& r) {
    aws::Credentials creds;
    std::string region;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!credentials_) return;
      creds = *credentials_;
      region = region_;
    }
    size_t host = r.url.find("://");
    size_t path = host == std::string::npos ? std::string::npos : r.url.find('/', host + 3);
    std::string canonical = path == std::string::npos ? "/" : r.url.substr(path);
    if (size_t q = canonical.find('?'); q != std::string::npos) canonical.resize(q);
    aws::SigningRequest s{r.method, r.url, r.headers, r.body, canonical};
    aws::Sign(s, creds, region, "s3", clock_.WallNow());
    r.headers = std::move(s.headers);
  });
}

Result<std::string> Storage::Read(const std::string& uri) {
  const std::string scheme = uri.rfind("file:", 0) == 0 ? "file" : Scheme(uri);
  if (scheme.empty()) return ReadLocal(uri);
  if (scheme == "file") {
    auto path = FilePath(uri);
    if (!path) return InvalidError("storage: cannot read " + uri + " (a file:// URI of another host)");
    return ReadLocal(PercentDecode(*path));
  }
  if (scheme == "http" || scheme == "https") return ReadHttp(uri);
  if (auto object = ParseS3Uri(uri)) return ReadS3(uri, *object);
  return InvalidError("storage: cannot read " + uri + " (supported: local paths, file://, s3://, " +
                      "http(s)://)");
}

Result<std::string> Storage::ReadLocal(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Status(Code::kNotFound, "storage: cannot read " + path + ": " + ec.message());
  if (size > options_.max_file_bytes)
    return InvalidError("storage: " + path + " has " + std::to_string(size) +
                        " bytes, more than the limit of " + std::to_string(options_.max_file_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kNotFound, "storage: cannot open " + path);
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<size_t>(in.gcount()) != size)
    return UnavailableError("storage: " + path + " changed while it was read");
  return bytes;
}

Result<std::string> Storage::Bounded(const std::string& uri, const http::Response& r) {
  if (r.status == 404) return Status(Code::kNotFound, "storage: " + uri + ": HTTP 404");
  if (r.status == 401 || r.status == 403)
    return Status(Code::kPermission, "storage: " + uri + ": HTTP " + std::to_string(r.status) +
                                         (S3ErrorCode(r.body).empty() ? "" : " " + S3ErrorCode(r.body)));
  if (r.status != 200 && r.status != 206)
    return UnavailableError("storage: " + uri + ": HTTP " + std::to_string(r.status));
  if (r.body.size() > options_.max_file_bytes)
    return InvalidError("storage: " + uri + " has more than the limit of " +
                        std::to_string(options_.max_file_bytes) + " bytes");
  return r.body;
}

Result<std::string> Storage::ReadHttp(const std::string& uri) {
  http::Request req;
  req.method = "GET";
  req.url = uri;
  req.headers.push_back({"Range", "bytes=0-" + std::to_string(options_.max_file_bytes)});
  auto r = http_->Send(std::move(req));
  if (!r.ok()) return r.status().Annotate("storage: " + uri);
  return Bounded(uri, *r);
}

Status Storage::EnsureCredentials(bool refresh) {
  std::lock_guard<std::mutex> lock(mu_);
  if (credentials_ && !refresh) return Status::Ok();
  auto c = aws::ResolveCredentials(options_.s3_profile, env_);
  if (!c.ok()) return c.status().Annotate("storage (s3)");
  auto region = aws::ResolveRegion(options_.s3_region, options_.s3_profile, env_);
  region_ = region.ok() && !region->empty() ? *region : "us-east-1";
  credentials_ = *c;
  return Status::Ok();
}

Storage::S3Url Storage::S3UrlOf(const S3Object& object, const std::string& region) const {
  std::string key;  // each segment encoded once; S3 signs the path as sent
  size_t start = 0;
  while (true) {
    size_t slash = object.key.find('/', start);
    key += http::UrlEncode(object.key.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) break;
    key += '/';
    start = slash + 1;
  }
  S3Url u;
  std::string endpoint =
      options_.s3_endpoint.empty() ? "https://s3." + region + ".amazonaws.com" : options_.s3_endpoint;
  if (options_.s3_path_style) {
    u.canonical_path = "/" + http::UrlEncode(object.bucket) + "/" + key;
    u.url = endpoint + u.canonical_path;
  } else {
    size_t host = endpoint.find("://") + 3;
    u.canonical_path = "/" + key;
    u.url = endpoint.substr(0, host) + object.bucket + "." + endpoint.substr(host) + u.canonical_path;
  }
  return u;
}

Result<std::string> Storage::ReadS3(const std::string& uri, const S3Object& object) {
  for (int attempt = 0;; ++attempt) {
    CONVERGE_RETURN_IF_ERROR(EnsureCredentials(/*refresh=*/attempt > 0));
    std::string region;
    {
      std::lock_guard<std::mutex> lock(mu_);
      region = region_;
    }
    S3Url u = S3UrlOf(object, region);
    http::Request req;
    req.method = "GET";
    req.url = u.url;
    req.headers.push_back({"Range", "bytes=0-" + std::to_string(options_.max_file_bytes)});
    req.headers.push_back({"x-amz-content-sha256", kEmptySha256});
    auto r = s3_->Send(std::move(req));
    if (!r.ok()) return r.status().Annotate("storage: " + uri);
    if (attempt == 0 && CredentialsExpired(*r)) continue;
    return Bounded(uri, *r);
  }
}

}  // namespace converge::iceberg
