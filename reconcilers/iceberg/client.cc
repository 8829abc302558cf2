#include "reconcilers/iceberg/client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace converge::iceberg {

namespace {

constexpr char kUnitSeparator = '\x1f';

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += http::UrlEncode(k) + "=" + http::UrlEncode(v);
  }
  return out;
}

}  // namespace

Result<TableIdent> TableIdent::Parse(const std::string& dotted) {
  TableIdent t;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    parts.push_back(dotted.substr(start, dot == std::string::npos ? dot : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const auto& p : parts)
    if (p.empty())
      return InvalidError("table \"" + dotted + "\": expected namespace.table (no empty parts)");
  if (parts.size() < 2)
    return InvalidError("table \"" + dotted + "\": expected namespace.table (a namespace is needed)");
  t.name = parts.back();
  parts.pop_back();
  t.ns = std::move(parts);
  return t;
}

std::string TableIdent::Dotted() const {
  std::string out;
  for (const auto& n : ns) out += n + ".";
  return out + name;
}

Status CatalogError(int status, const json& body, const std::string& what, bool idempotent) {
  std::string type, message;
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const json& e = body["error"];
    if (e.contains("type") && e["type"].is_string()) type = e["type"].get<std::string>();
    if (e.contains("message") && e["message"].is_string()) message = e["message"].get<std::string>();
  }
  std::string text = what + ": HTTP " + std::to_string(status);
  if (!type.empty()) text += " " + type;
  if (!message.empty()) text += ": " + message;
  Code code;
  switch (status) {
    case 400: code = Code::kInvalid; break;
    case 401:
    case 403: code = Code::kPermission; break;
    case 404: code = Code::kNotFound; break;
    case 409: code = Code::kConflict; break;
    case 419: code = Code::kPermission; break;  // AuthenticationTimeoutException
    default: code = http::CodeForHttpStatus(status, idempotent);
  }
  if (code == Code::kUnknownOutcome) text += " (the commit state is unknown: reload and check)";
  return Status(code, text);
}

Client::Client(std::string base_url, std::unique_ptr<http::Transport> transport,
               const ClientOptions& options, Clock& clock)
    : base_(std::move(base_url)),
      http_(std::make_unique<http::Client>(std::move(transport), options.retry, clock)),
      clock_(clock) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

Result<std::unique_ptr<Client>> Client::FromBackend(const BackendConfig& cfg, Clock& clock,
                                                    const ClientOptions& options) {
  if (cfg.url.empty())
    return InvalidError("backend " + cfg.name + ": iceberg-rest needs url (the catalog)");
  ClientOptions opts = options;
  opts.transport.tls.ca_file = cfg.ca_file;
  opts.transport.tls.insecure_skip_verify = cfg.insecure_skip_verify;
  auto client =
      std::make_unique<Client>(cfg.url, http::NewCurlTransport(opts.transport), opts, clock);
  if (cfg.spec.contains("warehouse") && cfg.spec["warehouse"].is_string())
    client->SetWarehouse(cfg.spec["warehouse"].get<std::string>());
  if (cfg.auth_type == "bearer") {
    auto token = ResolveSecret(cfg.token);
    if (!token.ok()) return token.status().Annotate("backend " + cfg.name + ": auth.token");
    client->SetBearerToken(*token);
  } else if (cfg.auth_type == "oauth2") {
    auto secret = ResolveSecret(cfg.client_secret);
    if (!secret.ok()) return secret.status().Annotate("backend " + cfg.name + ": auth.clientSecret");
    client->SetClientCredentials(cfg.client_id, *secret, cfg.token_url,
                                 cfg.scope.empty() ? "catalog" : cfg.scope);
  }
  return client;
}

void Client::SetClientCredentials(std::string client_id, std::string secret,
                                  std::string token_url, std::string scope) {
  client_id_ = std::move(client_id);
  client_secret_ = std::move(secret);
  token_url_ = token_url.empty() ? base_ + "/v1/oauth/tokens" : std::move(token_url);
  scope_ = std::move(scope);
}

Result<std::string> Client::Token(bool force_refresh) {
  if (client_id_.empty()) return static_token_;
  std::lock_guard<std::mutex> lock(mu_);
  // Refreshed when less than a minute (or a tenth of its life) is left.
  if (!force_refresh && !oauth_token_.empty() && clock_.Now() < oauth_expires_)
    return oauth_token_;
  http::Request req;
  req.method = "POST";
  req.url = token_url_;
  req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  req.body = FormEncode({{"grant_type", "client_credentials"},
                         {"client_id", client_id_},
                         {"client_secret", client_secret_},
                         {"scope", scope_}});
  req.idempotent = true;  // asking for a token twice is harmless
  auto r = http_->Send(std::move(req));
  if (!r.ok()) return r.status().Annotate("OAuth2 token request to " + token_url_);
  json body = json::parse(r->body, nullptr, false);
  if (r->status != 200 || !body.is_object() || !body.contains("access_token") ||
      !body["access_token"].is_string()) {
    std::string why = body.is_object() ? body.value("error_description", body.value("error", ""))
                                       : std::string();
    return Status(r->status == 401 || r->status == 400 ? Code::kPermission : Code::kUnavailable,
                  "OAuth2 token request to " + token_url_ + ": HTTP " +
                      std::to_string(r->status) + (why.empty() ? "" : ": " + why));
  }
  oauth_token_ = body["access_token"].get<std::string>();
  long expires_in = body.contains("expires_in") && body["expires_in"].is_number_integer()
                        ? body["expires_in"].get<long>()
                        : 3600;
  long margin = std::min<long>(60, expires_in / 10);
  oauth_expires_ = clock_.Now() + std::chrono::seconds(std::max<long>(0, expires_in - margin));
  return oauth_token_;
}

Result<Client::Answer> Client::Call(const std::string& method, const std::string& path,
                                    const json* body,
                                    std::vector<std::pair<std::string, std::string>> headers,
                                    bool idempotent) {
  for (int attempt = 0;; ++attempt) {
    auto token = Token(/*force_refresh=*/attempt > 0);
    if (!token.ok()) return token.status();
    http::Request req;
    req.method = method;
    req.url = base_ + path;
    req.idempotent = idempotent;
    req.headers = headers;
    if (!token->empty()) req.headers.push_back({"Authorization", "Bearer " + *token});
    if (body != nullptr) {
      req.headers.push_back({"Content-Type", "application/json"});
      req.body = body->dump();
    }
    auto r = http_->Send(std::move(req));
    if (!r.ok()) return r.status().Annotate(method + " " + path);
    spdlog::debug("iceberg: {} {} -> {}", method, path, r->status);
    if (r->status == 401 && attempt == 0 && !client_id_.empty()) continue;  // token expired
    Answer a;
    a.status = r->status;
    a.text = r->body;
    a.body = json::parse(r->body, nullptr, false);
    if (a.body.is_discarded()) a.body = json();
    a.etag = r->Header("etag");
    return a;
  }
}

Result<CatalogConfig> Client::Config() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (config_) return *config_;
  }
  std::string path = "/v1/config";
  if (!warehouse_.empty()) path += "?warehouse=" + http::UrlEncode(warehouse_);
  auto a = Call("GET", path, nullptr);
  if (!a.ok()) return a.status();
  if (a->status != 200) return CatalogError(a->status, a->body, "GET " + path, true);
  if (!a->body.is_object())
    return InternalError("GET " + path + ": the catalog's answer is not a JSON object");
  CatalogConfig c;
  if (a->body.contains("defaults") && a->body["defaults"].is_object()) c.defaults = a->body["defaults"];
  if (a->body.contains("overrides") && a->body["overrides"].is_object())
    c.overrides = a->body["overrides"];
  for (const json* m : {&c.overrides, &c.defaults}) {
    if (c.prefix.empty() && m->contains("prefix") && (*m)["prefix"].is_string())
      c.prefix = (*m)["prefix"].get<std::string>();
  }
  if (a->body.contains("endpoints") && a->body["endpoints"].is_array())
    for (const json& e : a->body["endpoints"])
      if (e.is_string()) c.endpoints.insert(e.get<std::string>());
  c.idempotency = a->body.contains("idempotency-key-lifetime");
  std::lock_guard<std::mutex> lock(mu_);
  config_ = c;
  return c;
}

bool Client::Supports(const std::string& endpoint) {
  auto c = Config();
  return c.ok() && (c->endpoints.empty() || c->endpoints.count(endpoint) > 0);
}

std::string Client::TablePath(const TableIdent& table) const {
  std::string prefix;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (config_ && !config_->prefix.empty()) prefix = "/" + http::UrlEncode(config_->prefix);
  }
  std::string ns;
  for (size_t i = 0; i < table.ns.size(); ++i) ns += (i ? std::string(1, kUnitSeparator) : "") + table.ns[i];
  return "/v1" + prefix + "/namespaces/" + http::UrlEncode(ns) + "/tables/" +
         http::UrlEncode(table.name);
}

Result<std::optional<LoadedTable>> Client::LoadTable(const TableIdent& table,
                                                     const std::string& if_none_match) {
  CONVERGE_RETURN_IF_ERROR(Config().status());
  const std::string path = TablePath(table);
  std::vector<std::pair<std::string, std::string>> headers;
  if (!if_none_match.empty()) headers.push_back({"If-None-Match", if_none_match});
  auto a = Call("GET", path, nullptr, headers);
  if (!a.ok()) return a.status();
  if (a->status == 304) return std::optional<LoadedTable>();
  if (a->status != 200) return CatalogError(a->status, a->body, "load table " + table.Dotted(), true);
  if (!a->body.is_object() || !a->body.contains("metadata") || !a->body["metadata"].is_object())
    return InternalError("load table " + table.Dotted() + ": the answer has no metadata object");
  LoadedTable t;
  t.metadata = std::move(a->body["metadata"]);
  if (a->body.contains("metadata-location") && a->body["metadata-location"].is_string())
    t.metadata_location = a->body["metadata-location"].get<std::string>();
  if (a->body.contains("config") && a->body["config"].is_object()) {
    // Only non-secret members are kept (storage credentials never leave this call).
    for (const auto& [k, v] : a->body["config"].items())
      if (k.find("secret") == std::string::npos && k.find("token") == std::string::npos &&
          k.find("key") == std::string::npos)
        t.config[k] = v;
  }
  t.etag = a->etag;
  return std::optional<LoadedTable>(std::move(t));
}

Result<LoadedTable> Client::Commit(const TableIdent& table, const json& request,
                                   const std::string& idempotency_key) {
  auto cfg = Config();
  if (!cfg.ok()) return cfg.status();
  const std::string path = TablePath(table);
  std::vector<std::pair<std::string, std::string>> headers;
  const bool keyed = cfg->idempotency && !idempotency_key.empty();
  if (keyed) headers.push_back({"Idempotency-Key", idempotency_key});
  // Never repeated blindly, key or not: a 500/502/504 may come from a gateway after the commit
  // landed (the server then kept no answer for the key), so it is kUnknownOutcome and the caller
  // reloads the table and looks. The key still protects a commit whose reply was lost.
  auto a = Call("POST", path, &request, headers, /*idempotent=*/false);
  if (!a.ok()) return a.status();
  if (a->status != 200)
    return CatalogError(a->status, a->body, "commit to table " + table.Dotted(), false);
  if (!a->body.is_object() || !a->body.contains("metadata") || !a->body["metadata"].is_object())
    return InternalError("commit to table " + table.Dotted() + ": the answer has no metadata");
  LoadedTable t;
  t.metadata = std::move(a->body["metadata"]);
  if (a->body.contains("metadata-location") && a->body["metadata-location"].is_string())
    t.metadata_location = a->body["metadata-location"].get<std::string>();
  t.etag = a->etag;
  return t;
}

}  // namespace converge::iceberg
