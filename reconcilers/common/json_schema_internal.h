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

// The value of keyword `k` in schema `s`, or nullptr: one lookup where contains() and then
// operator[] would make two (validation looks up a dozen keywords per instance value).
inline const json* Keyword(const json& s, const char* k) {
  auto it = s.find(k);
  return it == s.end() ? nullptr : &*it;
}
// The same for a member name taken from an instance (it may hold NUL bytes).
inline const json* Keyword(const json& s, const std::string& k) {
  auto it = s.find(k);
  return it == s.end() ? nullptr : &*it;
}

bool IsInteger(const json& v);
// The declared type names of a schema (empty = any).
std::vector<std::string> DeclaredTypes(const json& s);
// Calls f(name) for each declared type name of `s`, without copying them.
template <typename F>
void ForEachDeclaredType(const json& s, F&& f) {
  const json* t = Keyword(s, "type");
  if (t == nullptr) return;
  if (t->is_string()) return f(t->get_ref<const std::string&>());
  for (const json& e : *t) f(e.get_ref<const std::string&>());
}
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
