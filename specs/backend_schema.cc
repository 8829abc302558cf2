// The common Backend members (ValidateBackend, backend.cc) as JSON Schema, for `converge schema`.
// Kept beside the validator it mirrors: a change to one is a change to the other
// (tests/compat/test_schema.py checks that both accept and reject the same documents).
#include "specs/backend.h"

namespace converge {

json CommonBackendSchemaProperties() {
  static const char* const kText = R"json({
  "type": {"type": "string", "description": "the backend type"},
  "url": {
    "type": "string", "pattern": "^https?://",
    "description": "base URL (http:// or https://), a path prefix allowed"
  },
  "auth": {
    "type": "object",
    "description": "how converge authenticates; secrets only as {fromEnv: VAR} or {fromFile: PATH}",
    "additionalProperties": false,
    "properties": {
      "type": {"type": "string"},
      "username": {"type": "string"},
      "user": {"type": "string"},
      "password": {"$ref": "#/definitions/secretRef"},
      "token": {"$ref": "#/definitions/secretRef"},
      "clientSecret": {"$ref": "#/definitions/secretRef"},
      "clientId": {"type": "string"},
      "tokenUrl": {"type": "string"},
      "scope": {"type": "string"},
      "profile": {"type": "string"}
    },
    "allOf": [
      {"if": {"properties": {"type": {"const": "basic"}}, "required": ["type"]},
       "then": {"required": ["username", "password"]}},
      {"if": {"properties": {"type": {"const": "dcos-token"}}, "required": ["type"]},
       "then": {"required": ["token"]}},
      {"if": {"properties": {"type": {"const": "bearer"}}, "required": ["type"]},
       "then": {"required": ["token"]}},
      {"if": {"properties": {"type": {"const": "oauth2"}}, "required": ["type"]},
       "then": {"required": ["clientId", "clientSecret"]}}
    ]
  },
  "tls": {
    "type": "object", "additionalProperties": false,
    "properties": {"caFile": {"type": "string"}, "insecureSkipVerify": {"type": "boolean"}}
  },
  "prune": {"type": "boolean", "description": "delete live objects whose spec was removed"},
  "autoRollback": {"type": "boolean"},
  "healthTimeout": {
    "description": "a duration such as 90s, 10m, 1h30m, or whole seconds",
    "oneOf": [
      {"type": "integer", "minimum": 1},
      {"type": "string", "pattern": "^([0-9]+[smh])*[0-9]+[smh]?$"}
    ]
  },
  "pollInterval": {
    "description": "a duration such as 500ms, 10s or 1m",
    "type": "string", "pattern": "^([0-9]+ms|([0-9]+[smh])*[0-9]+[smh]?)$"
  }
})json";
  return json::parse(kText);
}

}  // namespace converge
