// The `kind: Backend` document: where a backend is and how to authenticate. One shape for every
// backend type: the common members are checked here; each type adds its own members (declared
// with a schema by the backend's registration, reconcilers/registry.h).
// Secrets are only ever references ({fromEnv: VAR} or {fromFile: PATH}); a literal secret is a
// validation error, and resolved secret values are never logged, printed or stored.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "specs/base/status.h"
#include "specs/document.h"

namespace converge {

struct SecretRef {
  std::string from_env;
  std::string from_file;
  bool empty() const { return from_env.empty() && from_file.empty(); }
  std::string Describe() const {  // "env MARATHON_PASSWORD" — never the value
    return from_env.empty() ? "file " + from_file : "env " + from_env;
  }
};

struct BackendConfig {
  std::string name;
  std::string type;          // marathon | ...
  std::string url;           // base URL, a path prefix allowed
  std::string auth_type = "none";  // none | basic | dcos-token
  std::string username;
  SecretRef password;
  SecretRef token;
  // OAuth2 client credentials (auth.type oauth2): the token endpoint ("" = the backend's
  // default), the client id and its secret (a reference), the scope requested.
  std::string client_id;
  SecretRef client_secret;
  std::string token_url;
  std::string scope;
  std::string ca_file;
  bool insecure_skip_verify = false;
  bool prune = false;
  bool auto_rollback = true;
  std::chrono::seconds health_timeout{600};
  // How often health may be polled (0 = the executor's own interval, --poll-interval); backends
  // whose reads are rate-limited (SageMaker) set a larger default in their registration.
  std::chrono::milliseconds poll_interval{0};
  json spec;  // the whole spec, for type-specific members
};

// What the common validation needs to know about one backend type.
struct BackendMembers {
  std::set<std::string> auth_types;  // accepted values of auth.type
  std::set<std::string> extra;       // spec members the type adds (validated by its schema)
};

// The members every Backend may have, whatever its type.
const std::set<std::string>& CommonBackendMembers();

// Validates the common members of a Backend document's spec (paths from the document root):
// type (one of `types`), url, auth (secrets only as references; auth.type one the type accepts),
// tls, prune, autoRollback, healthTimeout, pollInterval; a member that is neither common nor one
// of the type's is unknown.
void ValidateBackend(const Document& doc, const std::map<std::string, BackendMembers>& types,
                     std::vector<PathDiagnostic>& out);

// The common members above as JSON Schema (draft-07) properties of a Backend `spec`
// ({"name": schema, ...}; specs/backend_schema.cc), for `converge schema`. auth.type is left
// open: each backend type's accepted values are added by the registry.
json CommonBackendSchemaProperties();

// Builds the config from a validated Backend document.
BackendConfig BackendFromDocument(const Document& doc);

// Reads a referenced secret. Errors name the reference, never a value.
Result<std::string> ResolveSecret(const SecretRef& ref);

// Parses "90s", "5m", "1h30m", "600" (seconds). Returns false on garbage.
bool ParseDuration(const std::string& s, std::chrono::seconds* out);
// Like ParseDuration, also accepting milliseconds ("250ms").
bool ParseDurationMs(const std::string& s, std::chrono::milliseconds* out);

}  // namespace converge
