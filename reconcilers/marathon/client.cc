#include "reconcilers/marathon/client.h"

#include "reconcilers/common/json_stream.h"

namespace converge::marathon {
namespace {

std::string Base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(k[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(k[((val << 8) >> (bits + 8)) & 0x3F]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

json ParseBody(const std::string& body) {
  return json::parse(body, nullptr, /*allow_exceptions=*/false);
}

}  // namespace

Client::Client(std::string base_url, std::unique_ptr<http::Transport> transport,
               const ClientOptions& options, Clock& clock)
    : base_url_(std::move(base_url)),
      http_(std::make_unique<http::Client>(std::move(transport), options.retry, clock)),
      options_(options),
      clock_(clock) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

Result<std::unique_ptr<Client>> Client::FromBackend(const BackendConfig& backend,
                                                    const ClientOptions& options, Clock& clock) {
  ClientOptions opts = options;
  opts.transport.tls.ca_file = backend.ca_file;
  opts.transport.tls.insecure_skip_verify = backend.insecure_skip_verify;
  auto client = std::make_unique<Client>(backend.url, http::NewCurlTransport(opts.transport), opts,
                                         clock);
  if (backend.auth_type == "basic") {
    auto password = ResolveSecret(backend.password);
    if (!password.ok())
      return password.status().Annotate("backend " + backend.name + " password");
    client->http_->SetDefaultHeader("Authorization",
                                    "Basic " + Base64(backend.username + ":" + *password));
  } else if (backend.auth_type == "dcos-token") {
    auto token = ResolveSecret(backend.token);
    if (!token.ok()) return token.status().Annotate("backend " + backend.name + " token");
    client->http_->SetDefaultHeader("Authorization", "token=" + *token);
  }
  client->http_->SetDefaultHeader("Accept", "application/json");
  return client;
}

std::string Client::AppUrl(const std::string& id) const {
  // Ids are absolute paths appended as-is (route {id:.+}); encode each segment.
  std::string out = base_url_ + "/v2/apps";
  size_t i = 0;
  while (i < id.size()) {
    size_t j = id.find('/', i + 1);
    std::string seg = id.substr(i + 1, j == std::string::npos ? std::string::npos : j - i - 1);
    if (!seg.empty()) out += "/" + http::UrlEncode(seg);
    if (j == std::string::npos) break;
    i = j;
  }
  return out;
}

Status Client::ErrorFrom(const http::Request& req, const http::Response& resp) const {
  json body = ParseBody(resp.body);
  std::string msg = body.is_object() && body.contains("message") && body["message"].is_string()
                        ? body["message"].get<std::string>()
                        : resp.body.substr(0, 300);
  if (body.is_object() && body.contains("details") && body["details"].is_array()) {
    for (const auto& d : body["details"]) {
      if (!d.is_object()) continue;
      msg += "; " + d.value("path", std::string("")) + ": ";
      if (d.contains("errors") && d["errors"].is_array())
        for (const auto& e : d["errors"]) msg += e.is_string() ? e.get<std::string>() + " " : "";
    }
  }
  // Never include request headers (credentials) in errors.
  std::string where = req.method + " " + req.url.substr(base_url_.size());
  std::string text = where + " → " + std::to_string(resp.status) + ": " + msg;
  switch (resp.status) {
    case 400:
    case 422: return Status(Code::kInvalid, text);
    case 401:
    case 403: return Status(Code::kPermission, text);
    case 404: return Status(Code::kNotFound, text);
    case 409: return Status(Code::kConflict, text);
    default:
      // 500/502/504 to a write: Marathon may have acted (kUnknownOutcome, resolved by observing).
      return Status(resp.status >= 500 || resp.status == 429
                        ? http::CodeForHttpStatus(resp.status, req.idempotent)
                        : Code::kInternal,
                    text);
  }
}

Result<http::Response> Client::SendWaitingOutLocks(http::Request req) {
  auto deadline = clock_.Now() + options_.lock_wait;
  while (true) {
    auto resp = http_->Send(req);
    if (!resp.ok()) return resp.status();
    if (resp->status != 409) return resp;
    json body = ParseBody(resp->body);
    std::string msg = body.is_object() ? body.value("message", std::string()) : "";
    if (msg.find("locked") == std::string::npos) return resp;  // e.g. duplicate id
    if (clock_.Now() >= deadline) {
      return Status(Code::kTimeout, req.method + " " + req.url.substr(base_url_.size()) +
                                        ": still locked by a deployment after waiting " +
                                        std::to_string(options_.lock_wait.count() / 1000) + "s");
    }
    // Wait for the blocking deployments to finish, then repeat the call.
    std::vector<std::string> blocking;
    if (body.contains("deployments") && body["deployments"].is_array())
      for (const auto& d : body["deployments"])
        if (d.is_object() && d.contains("id")) blocking.push_back(d["id"].get<std::string>());
    while (clock_.Now() < deadline) {
      clock_.SleepFor(options_.poll_interval);
      auto running = RunningDeployments();
      if (!running.ok()) break;
      bool any = false;
      for (const auto& id : blocking)
        any = any || std::find(running->begin(), running->end(), id) != running->end();
      if (!any) break;
    }
  }
}

Status Client::ListApps(const std::function<void(json&& app)>& visit,
                        const std::function<void()>& restart) {
  http::Request req{"GET", base_url_ + "/v2/apps?embed=apps.deployments&embed=apps.counts"};
  // Each app is parsed and handed on as it arrives: neither the 12 MB body of 10,000 apps nor
  // its tree is ever held whole. A retry after a reset mid-body starts the list again.
  bool delivered = false;
  http::JsonArrayStream apps("apps", [&](json&& app) {
    delivered = true;
    visit(std::move(app));
  });
  http::BodyStream stream = apps.AsBodyStream();
  stream.begin = [&] {
    if (delivered && restart) restart();
    delivered = false;
    apps.Reset();
  };
  req.stream = &stream;
  auto resp = http_->Send(req);
  if (!resp.ok()) return resp.status();
  if (resp->status != 200) return ErrorFrom(req, *resp);
  if (Status st = apps.Finish(); !st.ok())
    return InternalError("GET /v2/apps: unexpected answer (" + st.message() + ")");
  return Status::Ok();
}

Result<std::optional<json>> Client::GetApp(const std::string& id) {
  http::Request req{"GET", AppUrl(id) + "?embed=app.deployments&embed=app.counts"};
  auto resp = http_->Send(req);
  if (!resp.ok()) return resp.status();
  if (resp->status == 404) return std::optional<json>();
  if (resp->status != 200) return ErrorFrom(req, *resp);
  json body = ParseBody(resp->body);
  if (!body.is_object() || !body.contains("app"))
    return InternalError("GET /v2/apps" + id + ": unexpected answer (no \"app\")");
  return std::optional<json>(std::move(body["app"]));
}

Result<DeploymentRef> Client::PutApp(const std::string& id, const json& body, bool partial_update,
                                     bool force) {
  http::Request req{"PUT", AppUrl(id) + "?partialUpdate=" + (partial_update ? "true" : "false") +
                               (force ? "&force=true" : "")};
  req.headers.push_back({"Content-Type", "application/json"});
  req.body = body.dump();
  auto resp = force ? http_->Send(req) : SendWaitingOutLocks(req);
  if (!resp.ok()) return resp.status();
  if (resp->status != 200 && resp->status != 201) return ErrorFrom(req, *resp);
  json r = ParseBody(resp->body);
  DeploymentRef ref;
  if (r.is_object()) {
    ref.deployment_id = r.value("deploymentId", "");
    ref.version = r.value("version", "");
  }
  if (ref.deployment_id.empty()) ref.deployment_id = resp->Header("marathon-deployment-id");
  return ref;
}

Result<DeploymentRef> Client::DeleteApp(const std::string& id, bool force) {
  http::Request req{"DELETE", AppUrl(id) + (force ? "?force=true" : "?force=false")};
  auto resp = force ? http_->Send(req) : SendWaitingOutLocks(req);
  if (!resp.ok()) return resp.status();
  if (resp->status == 404) return DeploymentRef{};  // already gone: deleting is idempotent
  if (resp->status != 200 && resp->status != 202) return ErrorFrom(req, *resp);
  json r = ParseBody(resp->body);
  DeploymentRef ref;
  if (r.is_object()) {
    ref.deployment_id = r.value("deploymentId", "");
    ref.version = r.value("version", "");
  }
  return ref;
}

Result<std::vector<std::string>> Client::RunningDeployments() {
  http::Request req{"GET", base_url_ + "/v2/deployments"};
  auto resp = http_->Send(req);
  if (!resp.ok()) return resp.status();
  if (resp->status != 200) return ErrorFrom(req, *resp);
  json body = ParseBody(resp->body);
  std::vector<std::string> ids;
  if (body.is_array())
    for (const auto& d : body)
      if (d.is_object() && d.contains("id") && d["id"].is_string()) ids.push_back(d["id"]);
  return ids;
}

}  // namespace converge::marathon
