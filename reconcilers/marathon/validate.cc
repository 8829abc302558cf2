#include "reconcilers/marathon/validate.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>

namespace converge::marathon {
namespace {

// Top-level members Marathon accepts since 1.5-1.10 that the 1.7 JSON Schema does not know.
// Written from the RAML types (check.raml AppCheck, mesosCommand.raml, resources.raml
// ResourceLimits, app.raml tty/role); objects are closed so typos are caught.
constexpr const char* kNewerMembers = R"json({
  "check": {
    "type": "object",
    "description": "A Mesos check (RAML check.AppCheck): exactly one of http, tcp or exec.",
    "additionalProperties": false,
    "properties": {
      "http": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "portIndex": {"type": "integer", "minimum": 0, "maximum": 65535},
          "port": {"type": "integer", "minimum": 0, "maximum": 65535},
          "path": {"type": "string"},
          "scheme": {"type": "string", "enum": ["HTTP", "HTTPS"]}
        }
      },
      "tcp": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "portIndex": {"type": "integer", "minimum": 0, "maximum": 65535},
          "port": {"type": "integer", "minimum": 0, "maximum": 65535}
        }
      },
      "exec": {
        "type": "object",
        "additionalProperties": false,
        "required": ["command"],
        "properties": {
          "command": {
            "oneOf": [
              {
                "type": "object",
                "additionalProperties": false,
                "required": ["shell"],
                "properties": {"shell": {"type": "string", "minLength": 1}}
              },
              {
                "type": "object",
                "additionalProperties": false,
                "required": ["argv"],
                "properties": {
                  "argv": {"type": "array", "minItems": 1, "items": {"type": "string"}}
                }
              }
            ]
          }
        }
      },
      "intervalSeconds": {"type": "integer", "minimum": 0},
      "timeoutSeconds": {"type": "integer", "minimum": 0},
      "delaySeconds": {"type": "integer", "minimum": 0}
    }
  },
  "tty": {"type": "boolean"},
  "role": {"type": "string", "minLength": 1},
  "resourceLimits": {
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "cpus": {
        "oneOf": [{"type": "number", "minimum": 0}, {"type": "string", "enum": ["unlimited"]}]
      },
      "mem": {
        "oneOf": [{"type": "number", "minimum": 0}, {"type": "string", "enum": ["unlimited"]}]
      }
    }
  }
})json";

// Marathon's RAML (upstream/raml/v2/types/*.raml) declares every integer member of an app
// `format: int32` except these `int64` ones; the 1.7 JSON Schema carries no format and no upper
// bound, so a number Marathon cannot hold (instances: 2147483648) would pass.
bool IsInt64Member(const std::string& name) {
  static const std::set<std::string> kInt64 = {"size", "maxSize", "inactiveAfterSeconds",
                                               "expungeAfterSeconds",
                                               "relaunchEscalationTimeoutSeconds"};
  return kInt64.count(name) > 0;
}

bool HasType(const json& schema, const char* type) {
  auto t = schema.find("type");
  if (t == schema.end()) return false;
  if (t->is_string()) return *t == type;
  return t->is_array() && std::find(t->begin(), t->end(), json(type)) != t->end();
}

// Adds the upstream integer ranges ("format" plus "minimum"/"maximum" where the schema has no
// tighter bound) to every integer-typed subschema below `schema`; `name` is the member it
// describes (array items keep their array's name).
void AddIntegerRanges(json& schema, const std::string& name, int depth = 0) {
  if (!schema.is_object() || depth > 64) return;
  bool int64 = IsInt64Member(name);
  bool integer = HasType(schema, "integer");
  if (integer || (int64 && HasType(schema, "number"))) {
    schema["format"] = int64 ? "int64" : "int32";
    if (!schema.contains("maximum")) {
      schema["maximum"] = int64 ? std::numeric_limits<int64_t>::max()
                                : int64_t{std::numeric_limits<int32_t>::max()};
    }
    if (!schema.contains("minimum")) {
      schema["minimum"] = int64 ? std::numeric_limits<int64_t>::min()
                                : int64_t{std::numeric_limits<int32_t>::min()};
    }
  }
  for (auto& [key, sub] : schema.items()) {
    if (key == "properties" || key == "definitions" || key == "patternProperties") {
      if (!sub.is_object()) continue;
      for (auto& [member, member_schema] : sub.items()) {
        AddIntegerRanges(member_schema, member, depth + 1);
      }
    } else if (key == "items" || key == "additionalProperties" || key == "not") {
      AddIntegerRanges(sub, name, depth + 1);
      if (sub.is_array()) {
        for (auto& item : sub) AddIntegerRanges(item, name, depth + 1);
      }
    } else if (key == "oneOf" || key == "anyOf" || key == "allOf") {
      if (!sub.is_array()) continue;
      for (auto& alt : sub) AddIntegerRanges(alt, name, depth + 1);
    }
  }
}

json EffectiveAppSchema() {
  json schema = json::parse(UpstreamAppSchemaText());
  // The app id is metadata.name; ValidateAppId checks it, and a spec need not repeat it.
  json required = json::array();
  for (const json& name : schema["required"]) {
    if (name != "id") required.push_back(name);
  }
  if (required.empty()) {
    schema.erase("required");
  } else {
    schema["required"] = std::move(required);
  }
  const json newer = json::parse(kNewerMembers);
  for (const auto& [name, member] : newer.items()) {
    if (!schema["properties"].contains(name)) schema["properties"][name] = member;
  }
  AddIntegerRanges(schema, "");
  return schema;
}

// Members Marathon fills in itself; in a spec they are a mistake (a "version" in an update even
// asks Marathon to roll the app back to that version).
constexpr const char* kServerPopulated[] = {"version", "versionInfo"};

// JSON-quotes `s` for a message, cut after 100 bytes.
std::string QuoteForMessage(const std::string& s) {
  constexpr size_t kMax = 100;
  std::string q = json(s.substr(0, kMax)).dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > kMax) q.insert(q.size() - 1, "…");
  return q;
}

bool IsSegmentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace

const JsonSchema& AppSchema() {
  static const JsonSchema* const kSchema = [] {
    Result<JsonSchema> compiled = JsonSchema::Compile(EffectiveAppSchema());
    if (!compiled.ok()) {  // a build defect, caught by the unit tests
      std::fprintf(stderr, "marathon app schema: %s\n", compiled.status().message().c_str());
      std::abort();
    }
    return new JsonSchema(std::move(compiled).value());
  }();
  return *kSchema;
}

void CoerceAppNumbers(json& spec, const std::string& base_path, std::vector<PathDiagnostic>& out) {
  for (SchemaViolation& c : AppSchema().CoerceNumericStrings(spec)) {
    out.push_back({base_path + c.path, std::move(c.message), Severity::kWarning, "numeric-string"});
  }
}

void CoerceAppNumbers(json& spec, std::vector<PathDiagnostic>& out) {
  CoerceAppNumbers(spec, "", out);
}

void ValidateApp(const json& spec, const std::string& base_path, std::vector<PathDiagnostic>& out) {
  for (SchemaViolation& v : AppSchema().Validate(spec)) {
    out.push_back({base_path + v.path, std::move(v.message), Severity::kError});
  }
  if (!spec.is_object()) return;
  for (const char* member : kServerPopulated) {
    if (spec.contains(member)) {
      out.push_back({base_path + "/" + member,
                     std::string("\"") + member +
                         "\" is set by Marathon and cannot be part of a spec; remove it",
                     Severity::kError});
    }
  }
}

void NormalizeAndValidateApp(json& spec, const std::string& base_path,
                             std::vector<PathDiagnostic>& out) {
  CoerceAppNumbers(spec, base_path, out);
  ValidateApp(spec, base_path, out);
}

std::string AppIdError(const std::string& id) {
  const std::string prefix = "app id " + QuoteForMessage(id) + " ";
  if (id.empty()) return "app id must not be empty";
  if (id[0] != '/') return prefix + "must be absolute (start with \"/\")";
  if (id == "/") return prefix + "names the root group, not an app";
  if (id.back() == '/') return prefix + "must not end with \"/\"";
  size_t start = 1;
  while (start <= id.size()) {
    size_t end = id.find('/', start);
    if (end == std::string::npos) end = id.size();
    std::string_view seg(id.data() + start, end - start);
    if (seg.empty()) return prefix + "has an empty path segment (\"//\")";
    if (seg == "." || seg == "..") return prefix + "must not contain \".\" or \"..\" segments";
    bool ok = IsSegmentChar(seg.front()) && IsSegmentChar(seg.back()) &&
              std::all_of(seg.begin(), seg.end(),
                          [](char c) { return IsSegmentChar(c) || c == '-' || c == '.'; });
    if (!ok) {
      return prefix + "is invalid: segment " + QuoteForMessage(std::string(seg)) +
             " may only contain lowercase letters, digits, \"-\" and \".\", and must start and "
             "end with a letter or digit";
    }
    start = end + 1;
  }
  return "";
}

void ValidateAppId(const std::string& id, std::vector<PathDiagnostic>& out) {
  std::string error = AppIdError(id);
  if (!error.empty()) out.push_back({"/metadata/name", std::move(error), Severity::kError});
}

}  // namespace converge::marathon
