// The Iceberg REST catalog client (the REST catalog OpenAPI, reconcilers/iceberg/upstream/open-api),
// on the shared HTTP client. What it promises:
//  * `GET /v1/config` first (with `warehouse` when the Backend names one): the `prefix` of every
//    later path comes from its `overrides` (else `defaults`), the `endpoints` it lists say what the
//    server supports (none listed = the spec's default set), and `idempotency-key-lifetime`
//    says commits may carry an `Idempotency-Key`.
//  * Tables are loaded with `If-None-Match` when an ETag is known: a 304 is "unchanged" and costs
//    no body. Multi-level namespaces are joined with the unit separator, sent as %1F.
//  * Commits map the spec's outcomes to codes: 409 kConflict (a requirement failed, nothing
//    changed), 500/502/504 kUnknownOutcome (the commit may have landed: reload and look before
//    anything else), 404 kNotFound, 400 kInvalid, 401/403 kPermission, 503/429 kUnavailable.
//    A commit is never retried blindly by the HTTP client, even with an Idempotency-Key.
//  * Auth: none, bearer (a token reference), or OAuth2 client credentials (form POST to the token
//    endpoint, `{tokenUrl}` else `<url>/v1/oauth/tokens`); the token is refreshed before it
//    expires and once more on a 401. Tokens and secrets are never logged or put in errors.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "reconcilers/common/http.h"
#include "specs/backend.h"
#include "specs/base/clock.h"

namespace converge::iceberg {

// A table name: namespace levels and the table ("analytics.events" = {"analytics"}, "events").
struct TableIdent {
  std::vector<std::string> ns;
  std::string name;

  // "a.b.table"; every part non-empty, at least one namespace level.
  static Result<TableIdent> Parse(const std::string& dotted);
  std::string Dotted() const;
  bool operator<(const TableIdent& o) const {
    return std::tie(ns, name) < std::tie(o.ns, o.name);
  }
  bool operator==(const TableIdent& o) const { return ns == o.ns && name == o.name; }
};

struct CatalogConfig {
  std::string prefix;               // "" = none
  std::set<std::string> endpoints;  // "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}", ...
  bool idempotency = false;         // idempotency-key-lifetime advertised
  json defaults = json::object();
  json overrides = json::object();
};

struct LoadedTable {
  std::string metadata_location;
  json metadata;      // TableMetadata
  std::string etag;   // "" when the server sends none
  json config = json::object();  // per-table config (storage credentials are dropped, never kept)
};

struct ClientOptions {
  http::RetryPolicy retry{4, std::chrono::milliseconds(200), std::chrono::milliseconds(5000)};
  http::TransportOptions transport;
};

class Client {
 public:
  // `base_url`: the catalog URL (a path prefix allowed), without the trailing /v1.
  Client(std::string base_url, std::unique_ptr<http::Transport> transport,
         const ClientOptions& options, Clock& clock);

  // From a Backend: url, warehouse, auth (none | bearer | oauth2), tls. Secrets are resolved here.
  static Result<std::unique_ptr<Client>> FromBackend(const BackendConfig& cfg, Clock& clock,
                                                     const ClientOptions& options = {});

  void SetWarehouse(std::string warehouse) { warehouse_ = std::move(warehouse); }
  void SetBearerToken(std::string token) { static_token_ = std::move(token); }
  // OAuth2 client credentials; `token_url` "" = <base>/v1/oauth/tokens.
  void SetClientCredentials(std::string client_id, std::string secret, std::string token_url,
                            std::string scope);

  // GET /v1/config, once (the answer is remembered; call again after Reset()).
  Result<CatalogConfig> Config();
  // Whether the server lists `endpoint` ("POST /v1/{prefix}/namespaces/{namespace}/tables/{table}")
  // or lists none (then the spec's defaults are assumed).
  bool Supports(const std::string& endpoint);

  // Loads a table. With `if_none_match` set and the table unchanged: nullopt (HTTP 304).
  // A table that does not exist is kNotFound.
  Result<std::optional<LoadedTable>> LoadTable(const TableIdent& table,
                                               const std::string& if_none_match = "");
  // POST a CommitTableRequest {"requirements": [...], "updates": [...]} (see the header comment
  // for the codes). `idempotency_key` is sent when the server advertises support and it is set.
  Result<LoadedTable> Commit(const TableIdent& table, const json& request,
                             const std::string& idempotency_key = "");

  std::string TablePath(const TableIdent& table) const;  // /v1/<prefix>/namespaces/<ns>/tables/<t>
  long RequestCount() const { return http_->stats().requests.load(); }
  long WriteCount() const { return http_->stats().writes.load(); }
  http::Client& http() { return *http_; }

 private:
  struct Answer {
    int status = 0;
    json body;
    std::string text;
    std::string etag;
  };
  // One call with the auth header; a 401 refreshes an OAuth2 token and tries once more.
  Result<Answer> Call(const std::string& method, const std::string& path, const json* body,
                      std::vector<std::pair<std::string, std::string>> headers = {},
                      bool idempotent = true);
  Result<std::string> Token(bool force_refresh);
  Status ErrorOf(const Answer& a, const std::string& what, bool idempotent) const;

  std::string base_;
  std::unique_ptr<http::Client> http_;
  Clock& clock_;
  std::string warehouse_;
  std::string static_token_;
  std::string client_id_, client_secret_, token_url_, scope_;
  mutable std::mutex mu_;  // guards the members below
  std::optional<CatalogConfig> config_;
  std::string oauth_token_;
  std::chrono::steady_clock::time_point oauth_expires_{};
};

// The error of a catalog answer, from its IcebergErrorResponse {"error": {message, type, code}}:
// the code from the HTTP status (see the header comment), the message naming the request, the
// status, the exception type and the server's words.
Status CatalogError(int status, const json& body, const std::string& what, bool idempotent);

}  // namespace converge::iceberg
