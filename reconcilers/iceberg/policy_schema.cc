// TablePolicy and Executor as JSON Schema (policy.h). ValidatePolicy / ValidateExecutor are code;
// this is the same grammar as data, kept beside them. What the schema cannot say (a size that is
// not a whole number of bytes, a zero size or duration, values beyond int64, orphan ages under a
// day without the annotation) only `validate` checks; docs/specs.md lists it.
#include "reconcilers/iceberg/policy.h"

namespace converge::iceberg {
namespace {

// The definitions both specs use: sizes and durations in the grammar of units.h, argv templates
// whose {placeholder}s are known (kPlaceholders), positive int64 / int32 counts.
json Definitions() {
  std::string names;
  for (const std::string& p : kPlaceholders) names += (names.empty() ? "" : "|") + p;
  json defs = json::parse(R"json({
    "size": {
      "description": "bytes: an integer, or a string such as 512MiB, 10GiB or 1.5TB (units B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)",
      "oneOf": [
        {"type": "integer", "minimum": 1, "maximum": 9223372036854775807},
        {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)? ?(B|KB|MB|GB|TB|PB|KiB|MiB|GiB|TiB|PiB)$"}
      ]
    },
    "duration": {
      "description": "a duration such as 10m, 24h, 5d or 1h30m (units ms, s, m, h, d)",
      "type": "string", "pattern": "^([0-9]+(ms|s|m|h|d))+$"
    },
    "count64": {"type": "integer", "minimum": 1, "maximum": 9223372036854775807},
    "count32": {"type": "integer", "minimum": 1, "maximum": 2147483647},
    "name": {"type": "string", "minLength": 1},
    "stringMap": {"type": "object", "additionalProperties": {"type": "string"}}
  })json");
  const std::string arg = "^([^{}]|\\{\\{|\\}\\}|\\{(" + names + ")\\})*$";
  defs["template"] = {
      {"description", "an argv template; placeholders: {" + names + "} ({{ and }} are braces)"},
      {"type", "array"},
      {"minItems", 1},
      {"items", {{"type", "string"}, {"pattern", arg}}}};
  return defs;
}

}  // namespace

json TablePolicySpecSchema() {
  json s = json::parse(R"json({
    "type": "object",
    "description": "When and how converge maintains one Iceberg table",
    "additionalProperties": false,
    "required": ["table", "triggers"],
    "anyOf": [{"required": ["compaction"]}, {"required": ["expireSnapshots"]},
              {"required": ["removeOrphanFiles"]}],
    "properties": {
      "table": {"type": "string", "pattern": "^[^.]+(\\.[^.]+)+$",
                "description": "namespace.table (multi-level namespaces dotted)"},
      "triggers": {
        "type": "object", "additionalProperties": false, "minProperties": 1,
        "properties": {
          "commitCount": {"$ref": "#/definitions/count64"},
          "dataFileCount": {"$ref": "#/definitions/count64"},
          "dataFileSizeBytes": {"$ref": "#/definitions/size"},
          "smallFileCount": {"$ref": "#/definitions/count64"},
          "interval": {"$ref": "#/definitions/duration"}
        }
      },
      "minInterval": {"$ref": "#/definitions/duration"},
      "compaction": {
        "type": "object", "additionalProperties": false, "required": ["executor"],
        "properties": {
          "targetFileSizeBytes": {"$ref": "#/definitions/size"},
          "minInputFiles": {"$ref": "#/definitions/count32"},
          "executor": {"$ref": "#/definitions/name"}
        }
      },
      "expireSnapshots": {
        "type": "object", "additionalProperties": false,
        "properties": {
          "maxSnapshotAge": {"$ref": "#/definitions/duration"},
          "retainLast": {"$ref": "#/definitions/count32"}
        }
      },
      "removeOrphanFiles": {
        "type": "object", "additionalProperties": false, "required": ["executor"],
        "properties": {
          "olderThan": {"$ref": "#/definitions/duration"},
          "executor": {"$ref": "#/definitions/name"}
        }
      },
      "lock": {"enum": ["table", "none"]}
    }
  })json");
  s["definitions"] = Definitions();
  return s;
}

json ExecutorSpecSchema() {
  json s = json::parse(R"json({
    "description": "Where an Iceberg maintenance job runs: a spark-sql application on a yarn Backend, or a command",
    "type": "object",
    "required": ["type"],
    "oneOf": [
      {
        "additionalProperties": false,
        "required": ["backend"],
        "properties": {
          "type": {"enum": ["yarn"]},
          "backend": {"$ref": "#/definitions/name"},
          "queue": {"$ref": "#/definitions/name"},
          "catalog": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,127}$"},
          "sparkSql": {"$ref": "#/definitions/name"},
          "sparkConf": {"type": "object",
                        "additionalProperties": {"type": ["string", "number", "boolean"]}},
          "resources": {
            "type": "object", "additionalProperties": false,
            "properties": {
              "memory": {"$ref": "#/definitions/size"},
              "vcores": {"type": "integer", "minimum": 1, "maximum": 1024}
            }
          },
          "command": {"$ref": "#/definitions/template"},
          "env": {"$ref": "#/definitions/stringMap"},
          "timeout": {"$ref": "#/definitions/duration"}
        }
      },
      {
        "additionalProperties": false,
        "required": ["command"],
        "properties": {
          "type": {"enum": ["command"]},
          "command": {"$ref": "#/definitions/template"},
          "env": {"$ref": "#/definitions/stringMap"},
          "timeout": {"$ref": "#/definitions/duration"}
        }
      }
    ]
  })json");
  s["definitions"] = Definitions();
  return s;
}

}  // namespace converge::iceberg
