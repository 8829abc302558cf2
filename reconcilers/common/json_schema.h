// A small JSON Schema (draft-04) validator, enough for Marathon's upstream AppDefinition.json and
// generic enough for any draft-04 schema that uses only local "$ref"s.
//
// Keywords: type (name or array of names; "integer" = a number with no fractional part),
// enum, multipleOf, minimum/maximum (+ draft-04 boolean exclusiveMinimum/exclusiveMaximum),
// minLength/maxLength (in code points), pattern, items (schema or array form), additionalItems,
// minItems/maxItems, uniqueItems, properties, patternProperties, additionalProperties (boolean or
// schema), required, minProperties/maxProperties, dependencies, allOf, anyOf, oneOf, not, $ref
// (local "#/..." pointers; siblings of $ref are ignored as draft-04 says), definitions.
// "format" is an annotation and is not checked (draft-04 makes it optional).
//
// Instances are hostile: recursion is bounded (kMaxDepth), at most kMaxViolations violations are
// reported, pattern inputs longer than kMaxPatternInput are refused, and patterns are matched by
// RE2 (SchemaPattern, schema_regex.h) in linear time instead of std::regex, whose backtracking
// takes ~20 s on a 20 KiB id against Marathon's own path pattern and overflows the stack beyond.
//
// Why not Debian's valijson 1.0 (libvalijson-dev; measured in bench/schema_bench.cc): it decides
// valid/invalid ~1.6x faster (12.7 vs 19.4 us per Marathon app) and agrees on 10,000 apps, but
// 1.0 has no pluggable regex engine: "patternProperties" always runs std::regex, compiled on each
// object, and a 100,000-character member name against Marathon's ".*" crashes it (stack
// overflow); "pattern" can only be moved to a custom PolyConstraint. Without a depth cap,
// {"$ref": "#"} recursion crashes it and a 100,000-deep array against a recursive schema runs for
// over 20 s. It is less strict on large integers (compared as doubles: 9007199254740993 passes
// "maximum": 9007199254740992), and its errors carry neither values nor limits ("Value type not
// permitted by 'type' constraint."), so converge's messages would need this module's checks
// anyway. What converge keeps is this validator, with RE2 for the patterns.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "reconcilers/common/schema_regex.h"
#include "specs/base/status.h"
#include "specs/document.h"

namespace converge {

// One violation, located by a JSON pointer into the instance ("" = the instance itself).
struct SchemaViolation {
  std::string path;
  std::string message;
};

class JsonSchema {
 public:
  static constexpr int kMaxDepth = 256;                  // nested schema/instance levels
  static constexpr size_t kMaxPatternInput = 64 * 1024;  // bytes
  static constexpr size_t kMaxViolations = 100;

  // Checks the schema itself (keyword value types, patterns compile, every $ref resolves).
  static Result<JsonSchema> Compile(json schema);

  // All violations of `instance` (at most kMaxViolations; the last one then says more were cut).
  std::vector<SchemaViolation> Validate(const json& instance) const;
  bool IsValid(const json& instance) const;

  // Replaces, in place, strings that spell a number where the schema wants an integer or a number
  // and accepts no string (e.g. `instances: "3"` from a template). Returns one violation per
  // conversion so the caller can warn ("numeric string "3" converted to integer").
  std::vector<SchemaViolation> CoerceNumericStrings(json& instance) const;

  const json& schema() const { return *schema_; }

  struct Impl;  // json_schema.cc

 private:
  std::shared_ptr<const Impl> impl_;
  std::shared_ptr<const json> schema_;
};

// Escapes one JSON-pointer reference token ("a/b" -> "a~1b", "~" -> "~0").
std::string EscapePointerToken(std::string_view token);

// The name of `names` closest to `key` (case-insensitive edit distance) when it is close enough
// to be a typo of it ("instanse" -> "instances"), else "". For "did you mean" messages.
std::string ClosestName(const std::string& key, const std::vector<std::string>& names);

}  // namespace converge
