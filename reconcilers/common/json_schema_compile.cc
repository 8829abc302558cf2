// Schema compilation: check keyword shapes once so validation can trust them.
#include <algorithm>
#include <set>

#include "reconcilers/common/json_schema_internal.h"

namespace converge::schema_internal {
namespace {

const std::set<std::string>& TypeNames() {
  static const std::set<std::string> kNames = {"array",  "boolean", "integer", "null",
                                               "number", "object",  "string"};
  return kNames;
}

class SchemaCompiler {
 public:
  SchemaCompiler(const json& root, JsonSchema::Impl& impl) : root_(root), impl_(impl) {}

  Status Compile(const json& s, const std::string& where, int depth) {
    if (depth > JsonSchema::kMaxDepth) return Error(where, "schema nested too deeply");
    if (!s.is_object()) return Error(where, "a schema must be an object");
    if (!visited_.insert(&s).second) return Status::Ok();
    if (auto it = s.find("$ref"); it != s.end()) return CompileRef(*it, where, depth);
    CONVERGE_RETURN_IF_ERROR(CheckScalars(s, where));
    CONVERGE_RETURN_IF_ERROR(CheckTypeAndEnum(s, where));
    for (const char* k : {"properties", "patternProperties", "definitions"}) {
      if (!s.contains(k)) continue;
      if (!s[k].is_object()) return Error(where + "/" + k, "must be an object");
      for (const auto& [name, sub] : s[k].items()) {
        if (std::string(k) == "patternProperties")
          CONVERGE_RETURN_IF_ERROR(AddPattern(name, where));
        CONVERGE_RETURN_IF_ERROR(
            Compile(sub, where + "/" + k + "/" + EscapePointerToken(name), depth + 1));
      }
    }
    for (const char* k : {"additionalProperties", "additionalItems"}) {
      if (s.contains(k) && !s[k].is_boolean()) {
        CONVERGE_RETURN_IF_ERROR(Compile(s[k], where + "/" + k, depth + 1));
      }
    }
    if (s.contains("not")) CONVERGE_RETURN_IF_ERROR(Compile(s["not"], where + "/not", depth + 1));
    if (s.contains("items")) {
      if (s["items"].is_array()) {
        CONVERGE_RETURN_IF_ERROR(CompileList(s["items"], where + "/items", depth, true));
      } else {
        CONVERGE_RETURN_IF_ERROR(Compile(s["items"], where + "/items", depth + 1));
      }
    }
    for (const char* k : {"allOf", "anyOf", "oneOf"}) {
      if (!s.contains(k)) continue;
      if (!s[k].is_array() || s[k].empty())
        return Error(where + "/" + k, "must be a non-empty array");
      CONVERGE_RETURN_IF_ERROR(CompileList(s[k], where + "/" + k, depth, false));
    }
    if (s.contains("dependencies")) CONVERGE_RETURN_IF_ERROR(CompileDependencies(s, where, depth));
    return Status::Ok();
  }

 private:
  static Status Error(const std::string& where, const std::string& what) {
    return InvalidError("invalid schema at \"#" + where + "\": " + what);
  }

  Status CompileList(const json& list, const std::string& where, int depth, bool allow_empty) {
    if (!list.is_array() || (!allow_empty && list.empty())) return Error(where, "must be an array");
    for (size_t i = 0; i < list.size(); ++i) {
      CONVERGE_RETURN_IF_ERROR(Compile(list[i], where + "/" + std::to_string(i), depth + 1));
    }
    return Status::Ok();
  }

  Status CompileRef(const json& ref, const std::string& where, int depth) {
    if (!ref.is_string()) return Error(where + "/$ref", "must be a string");
    const std::string& r = ref.get_ref<const std::string&>();
    if (r.empty() || r[0] != '#')
      return Error(where + "/$ref", "only local references are supported");
    const json* target = nullptr;
    try {
      json::json_pointer ptr(r.substr(1));
      if (root_.contains(ptr)) target = &root_.at(ptr);
    } catch (const json::exception&) {
    }
    if (target == nullptr) return Error(where + "/$ref", "\"" + r + "\" does not resolve");
    impl_.refs[r] = target;
    return Compile(*target, r.substr(1), depth + 1);
  }

  Status AddPattern(const std::string& src, const std::string& where) {
    if (impl_.patterns.count(src)) return Status::Ok();
    Result<SchemaPattern> p = SchemaPattern::Compile(src);
    if (!p.ok()) return Error(where, p.status().message());
    impl_.patterns.emplace(src, std::move(p).value());
    return Status::Ok();
  }

  Status CheckScalars(const json& s, const std::string& where) {
    for (const char* k : {"minimum", "maximum", "multipleOf"}) {
      if (s.contains(k) && !s[k].is_number()) return Error(where + "/" + k, "must be a number");
    }
    if (s.contains("multipleOf") && !(s["multipleOf"].get<double>() > 0)) {
      return Error(where + "/multipleOf", "must be greater than 0");
    }
    for (const char* k : {"exclusiveMinimum", "exclusiveMaximum", "uniqueItems"}) {
      if (s.contains(k) && !s[k].is_boolean()) return Error(where + "/" + k, "must be a boolean");
    }
    for (const char* k :
         {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"}) {
      if (s.contains(k) && !s[k].is_number_unsigned() &&
          !(s[k].is_number_integer() && s[k].get<int64_t>() >= 0)) {
        return Error(where + "/" + k, "must be a non-negative integer");
      }
    }
    if (s.contains("pattern")) {
      if (!s["pattern"].is_string()) return Error(where + "/pattern", "must be a string");
      CONVERGE_RETURN_IF_ERROR(AddPattern(s["pattern"].get<std::string>(), where + "/pattern"));
    }
    if (s.contains("required")) {
      const json& r = s["required"];
      if (!r.is_array() ||
          !std::all_of(r.begin(), r.end(), [](const json& x) { return x.is_string(); })) {
        return Error(where + "/required", "must be an array of strings");
      }
    }
    return Status::Ok();
  }

  Status CheckTypeAndEnum(const json& s, const std::string& where) {
    if (s.contains("enum") && !s["enum"].is_array())
      return Error(where + "/enum", "must be an array");
    if (!s.contains("type")) return Status::Ok();
    const json& t = s["type"];
    auto known = [](const json& x) {
      return x.is_string() && TypeNames().count(x.get<std::string>());
    };
    if (known(t)) return Status::Ok();
    if (t.is_array() && !t.empty() && std::all_of(t.begin(), t.end(), known)) return Status::Ok();
    return Error(where + "/type", "must be a type name or an array of type names");
  }

  Status CompileDependencies(const json& s, const std::string& where, int depth) {
    const json& deps = s["dependencies"];
    if (!deps.is_object()) return Error(where + "/dependencies", "must be an object");
    for (const auto& [name, dep] : deps.items()) {
      std::string w = where + "/dependencies/" + EscapePointerToken(name);
      if (dep.is_array()) {
        if (!std::all_of(dep.begin(), dep.end(), [](const json& x) { return x.is_string(); })) {
          return Error(w, "must list field names");
        }
      } else {
        CONVERGE_RETURN_IF_ERROR(Compile(dep, w, depth + 1));
      }
    }
    return Status::Ok();
  }

  const json& root_;
  JsonSchema::Impl& impl_;
  std::set<const json*> visited_;
};

}  // namespace

Status CompileSchema(const json& root, JsonSchema::Impl& impl) {
  SchemaCompiler compiler(root, impl);
  return compiler.Compile(root, "", 0);
}

}  // namespace converge::schema_internal
