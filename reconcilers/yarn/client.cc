#include "reconcilers/yarn/client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace converge::yarn {
namespace {

std::string TrimSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

bool DefaultIdempotent(const std::string& method) {
  return method != "POST" && method != "PATCH";
}

// The leading integer of a Refresh header ("3", "3;url=..."), or -1.
int RefreshSeconds(const std::string& value) {
  size_t i = 0;
  while (i < value.size() && std::isspace(static_cast<unsigned char>(value[i]))) ++i;
  size_t start = i;
  while (i < value.size() && std::isdigit(static_cast<unsigned char>(value[i]))) ++i;
  if (i == start || i - start > 6) return -1;
  return std::stoi(value.substr(start, i - start));
}

std::string Shorten(const std::string& s, size_t max = 300) {
  if (s.size() <= max) return s;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "…";
}

bool Contains(const std::string& haystack, const char* needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

Client::Client(std::vector<std::string> rm_urls, std::unique_ptr<http::Transport> transport,
               const ClientOptions& options, Clock& clock)
    : http_(std::make_unique<http::Client>(std::move(transport), options.retry, clock)),
      options_(options),
      clock_(clock) {
  for (auto& u : rm_urls) rms_.push_back(TrimSlashes(std::move(u)));
  http_->SetDefaultHeader("Accept", "application/json");
}

std::vector<std::string> Client::RmUrls(const BackendConfig& cfg) {
  std::vector<std::string> out;
  auto urls = cfg.spec.find("urls");
  if (urls != cfg.spec.end() && urls->is_array()) {
    for (const auto& u : *urls)
      if (u.is_string() && !u.get<std::string>().empty()) out.push_back(TrimSlashes(u));
  }
  if (out.empty() && !cfg.url.empty()) out.push_back(TrimSlashes(cfg.url));
  return out;
}

Result<std::unique_ptr<Client>> Client::FromBackend(const BackendConfig& cfg, Clock& clock,
                                                    const ClientOptions& options) {
  std::vector<std::string> rms = RmUrls(cfg);
  if (rms.empty())
    return InvalidError("backend " + cfg.name + ": yarn needs urls (the ResourceManagers) or url");
  ClientOptions opts = options;
  opts.transport.tls.ca_file = cfg.ca_file;
  opts.transport.tls.insecure_skip_verify = cfg.insecure_skip_verify;
  opts.transport.negotiate = cfg.auth_type == "spnego";
  auto client = std::make_unique<Client>(rms, http::NewCurlTransport(opts.transport), opts, clock);
  if (cfg.auth_type == "simple") {
    std::string user = cfg.username;
    if (auto a = cfg.spec.find("auth"); a != cfg.spec.end() && a->is_object())
      user = a->value("user", user);
    if (user.empty())
      return InvalidError("backend " + cfg.name + ": auth simple needs user (the user.name)");
    client->SetUser(user);
  }
  return client;
}

std::string Client::ActiveRm() const {
  return active_ ? rms_[*active_] : std::string();
}

Result<http::Response> Client::SendTo(size_t rm, const std::string& method, const std::string& path,
                                      const std::string& body, bool idempotent) {
  http::Request req;
  req.method = method;
  req.url = rms_[rm] + path;
  if (!user_.empty())
    req.url += std::string(path.find('?') == std::string::npos ? "?" : "&") +
               "user.name=" + http::UrlEncode(user_);
  req.idempotent = idempotent;
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = body;
  }
  return http_->Send(std::move(req));
}

Status Client::Discover(size_t start) {
  std::string errors;
  std::optional<size_t> answered;
  for (size_t n = 0; n < rms_.size(); ++n) {
    size_t k = (start + n) % rms_.size();
    auto resp = SendTo(k, "GET", "/ws/v1/cluster/info", "", true);
    if (!resp.ok()) {
      errors += "; " + rms_[k] + ": " + resp.status().message();
      continue;
    }
    if (resp->status != 200) {
      errors += "; " + rms_[k] + ": /ws/v1/cluster/info answered " + std::to_string(resp->status);
      continue;
    }
    json info = json::parse(resp->body, nullptr, false);
    std::string ha;
    if (info.is_object() && info.contains("clusterInfo") && info["clusterInfo"].is_object())
      ha = info["clusterInfo"].value("haState", "");
    spdlog::debug("yarn: ResourceManager {} reports haState {}", rms_[k], ha.empty() ? "-" : ha);
    if (ha.empty() || ha == "ACTIVE") {
      active_ = k;
      spdlog::debug("yarn: using active ResourceManager {}", rms_[k]);
      return Status::Ok();
    }
    if (!answered) answered = k;
  }
  if (answered) {  // only standbys answered: their redirects (or Refresh) will tell
    active_ = *answered;
    return Status::Ok();
  }
  return UnavailableError("no ResourceManager answered" + errors);
}

std::optional<std::pair<size_t, std::string>> Client::MatchRm(const std::string& location) const {
  for (size_t i = 0; i < rms_.size(); ++i) {
    const std::string& base = rms_[i];
    if (location.size() < base.size() || location.compare(0, base.size(), base) != 0) continue;
    if (location.size() > base.size() && location[base.size()] != '/' &&
        location[base.size()] != '?')
      continue;  // "/yarn-standby" is not under "/yarn"
    return std::make_pair(i, location.substr(base.size()));
  }
  return std::nullopt;
}

Result<RmResponse> Client::Call(const std::string& method, const std::string& path,
                                const json* body, std::optional<bool> idempotent) {
  const bool idem = idempotent.value_or(DefaultIdempotent(method));
  const std::string payload = body != nullptr && !body->is_null() ? body->dump() : "";
  const std::string what = method + " " + path;
  if (!active_) {
    Status st = Discover(0);
    if (!st.ok()) return st.Annotate(what);
  }
  int redirects = 0, refresh_waits = 0;
  size_t failovers = 0;
  while (true) {
    const size_t rm = *active_;
    auto resp = SendTo(rm, method, path, payload, idem);
    if (!resp.ok()) {
      const Status& st = resp.status();
      // Fail over only when repeating elsewhere is safe: nothing was sent, or the call is
      // idempotent. A lost reply to a write stays kUnknownOutcome for the executor to resolve.
      bool may_move = http::IsConnectError(st) ||
                      (idem && (st.code() == Code::kUnavailable || st.code() == Code::kTimeout));
      if (may_move && rms_.size() > 1 && failovers + 1 < rms_.size()) {
        ++failovers;
        spdlog::debug("yarn: ResourceManager {} does not answer ({}); failing over", rms_[rm],
                      st.message());
        if (Discover((rm + 1) % rms_.size()).ok()) continue;
      }
      return st.Annotate(what + " (ResourceManager " + rms_[rm] + ")");
    }
    spdlog::debug("yarn: {} → {} from {}", what, resp->status, rms_[rm]);
    if (resp->status == 307) {
      std::string refresh = resp->Header("refresh");
      std::string location = resp->Header("location");
      bool no_active = !refresh.empty() || location.empty();
      if (no_active) {
        if (refresh_waits >= options_.max_refresh_waits)
          return UnavailableError(what + ": no active ResourceManager after " +
                                  std::to_string(refresh_waits) + " waits (" + rms_[rm] + ": " +
                                  Shorten(resp->body, 120) + ")");
        ++refresh_waits;
        int secs = RefreshSeconds(refresh);
        auto delay = std::chrono::seconds(secs < 1 ? 1 : secs);
        delay = std::min(delay, options_.max_refresh_delay);
        spdlog::debug("yarn: {} has no active ResourceManager; retrying in {}s", rms_[rm],
                      delay.count());
        if (!clock_.SleepUnless(delay, options_.cancel))
          return CancelledError(what + ": cancelled while waiting for an active ResourceManager");
        continue;
      }
      auto target = MatchRm(location);
      if (!target)
        return UnavailableError(what + ": ResourceManager " + rms_[rm] + " redirected to " +
                                Shorten(location, 200) +
                                ", which is not one of the configured urls; add it to the "
                                "Backend's urls if it is a ResourceManager of this cluster");
      if (++redirects > options_.max_redirects)
        return UnavailableError(what + ": too many redirects between ResourceManagers");
      spdlog::debug("yarn: standby {} redirects to {}", rms_[rm], rms_[target->first]);
      active_ = target->first;
      continue;
    }
    RmResponse out;
    out.status = resp->status;
    out.text = std::move(resp->body);
    if (!out.text.empty()) out.body = json::parse(out.text, nullptr, false);
    if (out.body.is_discarded()) out.body = json();
    out.location = resp->Header("location");
    out.rm = rms_[rm];
    out.method = method;
    out.path = path;
    out.idempotent = idem;
    return out;
  }
}

Status Client::ProbeServicesApi() {
  if (probe_) return *probe_;
  auto r = Call("GET", "/app/v1/services/version");
  if (!r.ok()) return r.status();  // not remembered: the next call tries again
  if (r->status == 200) {
    probe_ = Status::Ok();
  } else if (r->status == 503) {
    probe_ = UnavailableError(
        "the YARN Services API of ResourceManager " + r->rm +
        " answered 503 to GET /app/v1/services/version: it is disabled "
        "(set yarn.webapp.api-service.enable=true on the ResourceManager) or unavailable");
  } else if (r->status == 404) {
    probe_ = InvalidError("ResourceManager " + r->rm +
                          " does not serve the YARN Services API (/app/v1/services: 404); it "
                          "needs Hadoop 3.1 or later with yarn.webapp.api-service.enable=true");
  } else {
    return StatusFromResponse(*r);
  }
  return *probe_;
}

std::string ServerMessage(const RmResponse& r) {
  const json& b = r.body;
  if (b.is_object()) {
    if (auto re = b.find("RemoteException"); re != b.end() && re->is_object()) {
      std::string msg = re->value("message", "");
      std::string ex = re->value("exception", "");
      return ex.empty() ? msg : ex + ": " + msg;
    }
    if (auto d = b.find("diagnostics"); d != b.end() && d->is_string())
      return d->get<std::string>();
    if (auto m = b.find("message"); m != b.end() && m->is_string()) return m->get<std::string>();
  }
  return Shorten(r.text);
}

Status StatusFromResponse(const RmResponse& r) {
  if (r.status >= 200 && r.status < 300) return Status::Ok();
  std::string msg = ServerMessage(r);
  std::string text = r.method + " " + r.path + " → " + std::to_string(r.status) +
                     (r.rm.empty() ? "" : " (" + r.rm + ")") + (msg.empty() ? "" : ": " + msg);
  Code code;
  if (r.status == 404 ||
      (r.status == 400 && (Contains(msg, "doesn't exist") || Contains(msg, "not found")))) {
    code = Code::kNotFound;
  } else if (r.status == 500 && Contains(msg, "already taken")) {
    code = Code::kConflict;
  } else if (r.status == 400 || r.status == 405 || r.status == 422) {
    code = Code::kInvalid;
  } else if (r.status == 401 || r.status == 403) {
    code = Code::kPermission;
  } else if (r.status == 409) {
    code = Code::kConflict;
  } else if (r.status >= 500 || r.status == 429) {
    code = http::CodeForHttpStatus(r.status, r.idempotent);
  } else {
    code = Code::kInternal;
  }
  return Status(code, text);
}

}  // namespace converge::yarn
