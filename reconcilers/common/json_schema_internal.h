// Internal to the JSON Schema validator (json_schema*.cc): the compiled schema and the helpers
// its three parts share. Not for other modules.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "reconcilers/common/json_schema.h"

namespace converge {

// ---------------------------------------------------------------------------------------------
// Schema compilation: check keyword shapes once so validation can trust them.
// ---------------------------------------------------------------------------------------------

struct JsonSchema::Impl {
  std::map<std::string, SchemaPattern> patterns;  // by source text
  std::map<std::string, const json*> refs;        // "$ref" value -> target

  const SchemaPattern& Pattern(const std::string& src) const { return patterns.at(src); }
  const json& Ref(const json& schema) const {
    return *refs.at(schema.at("$ref").get_ref<const std::string&>());
  }
};

namespace schema_internal {

// Checks the schema's keyword shapes, compiles its patterns (RE2) and resolves its "$ref"s.
Status CompileSchema(const json& root, JsonSchema::Impl& impl);

// The numeric-string conversions CoerceNumericStrings makes (json_schema_coerce.cc).
std::vector<SchemaViolation> CoerceNumbers(const JsonSchema::Impl& impl, const json& schema,
                                           json& instance);

bool IsInteger(const json& v);
// The declared type names of a schema (empty = any).
std::vector<std::string> DeclaredTypes(const json& s);
bool TypeAccepts(const json& s, const json& v);
std::string Dump(const json& v);
// A string for messages: JSON-quoted, cut after ~60 bytes.
std::string Quote(const std::string& s);
// "integer 3", "string \"abc\"", "object", ... for "found ..." messages.
std::string Describe(const json& v);
std::string JoinOr(const std::vector<std::string>& items);
size_t CodePointCount(std::string_view s);

}  // namespace schema_internal
}  // namespace converge
