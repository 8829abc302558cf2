// The `kind: Backend` document: where a backend is and how to authenticate. One shape for every
// backend type; types add members under spec (validated by `extra` hooks of later backends).
// Secrets are only ever references ({fromEnv: VAR} or {fromFile: PATH}); a literal secret is a
// validation error, and resolved secret values are never logged, printed or stored.
#pragma once

#include <chrono>
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
  std::string ca_file;
  bool insecure_skip_verify = false;
  bool prune = false;
  bool auto_rollback = true;
  std::chrono::seconds health_timeout{600};
  json spec;  // the whole spec, for type-specific members
};

// Validates a Backend document's spec (paths from the document root) against the backend types
// the registry knows.
void ValidateBackend(const Document& doc, const std::set<std::string>& known_types,
                     std::vector<PathDiagnostic>& out);

// Builds the config from a validated Backend document.
BackendConfig BackendFromDocument(const Document& doc);

// Reads a referenced secret. Errors name the reference, never a value.
Result<std::string> ResolveSecret(const SecretRef& ref);

// Parses "90s", "5m", "1h30m", "600" (seconds). Returns false on garbage.
bool ParseDuration(const std::string& s, std::chrono::seconds* out);
// Like ParseDuration, also accepting milliseconds ("250ms").
bool ParseDurationMs(const std::string& s, std::chrono::milliseconds* out);

}  // namespace converge
