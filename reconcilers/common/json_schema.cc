#include "reconcilers/common/json_schema.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <unordered_map>
#include <utility>

#include "reconcilers/common/json_schema_internal.h"

namespace converge {

using namespace schema_internal;  // NOLINT: the validator's own helpers

std::string EscapePointerToken(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

// Compares two JSON numbers exactly when both are integers. Returns <0, 0, >0.
int CompareNumbers(const json& a, const json& b) {
  auto wide = [](const json& v) {
    return v.is_number_unsigned() ? static_cast<__int128>(v.get<uint64_t>())
                                  : static_cast<__int128>(v.get<int64_t>());
  };
  if (a.is_number_integer() && b.is_number_integer()) {
    __int128 x = wide(a), y = wide(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  long double x = a.get<long double>(), y = b.get<long double>();
  return x < y ? -1 : x > y ? 1 : 0;
}

// A canonical text for uniqueness checks: numbers by value (1 == 1.0), keys sorted. False if
// the value nests deeper than `depth_left`.
bool Canonical(const json& v, int depth_left, std::string& out) {
  if (depth_left <= 0) return false;
  if (v.is_number()) {
    if (IsInteger(v) && (v.is_number_integer() || std::fabs(v.get<double>()) < 9.2e18)) {
      out += v.is_number_unsigned() ? std::to_string(v.get<uint64_t>())
                                    : std::to_string(v.get<int64_t>());
    } else {
      out += Dump(v);
    }
  } else if (v.is_array()) {
    out += '[';
    for (const json& e : v) {
      if (!Canonical(e, depth_left - 1, out)) return false;
      out += ',';
    }
    out += ']';
  } else if (v.is_object()) {
    out += '{';
    for (const auto& [k, e] : v.items()) {
      out += Dump(json(k)) + ':';
      if (!Canonical(e, depth_left - 1, out)) return false;
      out += ',';
    }
    out += '}';
  } else {
    out += Dump(v);
  }
  return true;
}

// `unknown field "foo" (allowed: a, b, …)` or `unknown field "instanse"; did you mean
// "instances"?`.
std::string UnknownFieldMessage(const json& schema, const std::string& key) {
  std::string msg = "unknown field " + Quote(key);
  if (!schema.contains("properties") || schema["properties"].empty()) return msg;
  std::vector<std::string> allowed;
  for (const auto& [name, _] : schema["properties"].items()) allowed.push_back(name);
  if (std::string best = ClosestName(key, allowed); !best.empty()) {
    return msg + "; did you mean " + Quote(best) + "?";
  }
  constexpr size_t kShown = 8;
  msg += " (allowed: ";
  for (size_t i = 0; i < allowed.size() && i < kShown; ++i) msg += (i ? ", " : "") + allowed[i];
  if (allowed.size() > kShown) msg += ", … " + std::to_string(allowed.size() - kShown) + " more";
  return msg + ")";
}

// True if `s` only requires members (a "required", possibly split over allOf); collects them.
bool RequiredConjunction(const json& s, std::vector<std::string>& names, int depth) {
  if (!s.is_object() || depth > 8) return false;
  bool any = false;
  for (const auto& [k, v] : s.items()) {
    if (k == "required") {
      for (const json& n : v) names.push_back(n.get<std::string>());
      any = true;
    } else if (k == "allOf") {
      for (const json& sub : v) {
        if (!RequiredConjunction(sub, names, depth + 1)) return false;
      }
      any = true;
    } else if (k != "description" && k != "title") {
      return false;
    }
  }
  return any;
}

// ---------------------------------------------------------------------------------------------
// Validation.
// ---------------------------------------------------------------------------------------------

class Checker {
 public:
  Checker(const JsonSchema::Impl& impl, size_t limit, std::string path)
      : impl_(impl), limit_(limit), path_(std::move(path)) {}

  void Check(const json& s, const json& v, int depth) {
    if (full()) return;
    if (depth > JsonSchema::kMaxDepth) {
      Add("nesting too deep (more than " + std::to_string(JsonSchema::kMaxDepth) + " levels)");
      return;
    }
    if (Keyword(s, "$ref") != nullptr) return Check(impl_.Ref(s), v, depth + 1);
    if (!TypeAccepts(s, v)) {
      Add("expected " + JoinOr(DeclaredTypes(s)) + ", found " + Describe(v));
      return;
    }
    if (const json* allowed = Keyword(s, "enum")) CheckEnum(*allowed, v);
    if (v.is_number()) CheckNumber(s, v);
    if (v.is_string()) CheckString(s, v.get_ref<const std::string&>());
    if (v.is_array()) CheckArray(s, v, depth);
    if (v.is_object()) CheckObject(s, v, depth);
    CheckCombinators(s, v, depth);
  }

  std::vector<SchemaViolation>& violations() { return out_; }
  bool full() const { return out_.size() >= limit_; }

 private:
  class PathPush {
   public:
    PathPush(std::string& path, const std::string& token) : path_(path), size_(path.size()) {
      path_ += '/';
      path_ += EscapePointerToken(token);
    }
    ~PathPush() { path_.resize(size_); }

   private:
    std::string& path_;
    size_t size_;
  };

  void Add(std::string message) { AddAt(path_, std::move(message)); }
  void AddAt(std::string path, std::string message) {
    if (!full()) out_.push_back({std::move(path), std::move(message)});
  }

  void CheckEnum(const json& allowed, const json& v) {
    if (std::any_of(allowed.begin(), allowed.end(), [&](const json& a) { return a == v; })) return;
    constexpr size_t kShown = 12;
    std::string list;
    for (size_t i = 0; i < allowed.size() && i < kShown; ++i) {
      list += (i ? ", " : "") + Dump(allowed[i]);
    }
    if (allowed.size() > kShown) list += ", …";
    std::string found = v.is_string() ? Quote(v.get<std::string>()) : Describe(v);
    Add("must be one of " + list + " (found " + found + ")");
  }

  void CheckNumber(const json& s, const json& v) {
    if (s.contains("minimum")) {
      bool excl = s.value("exclusiveMinimum", false);
      int c = CompareNumbers(v, s["minimum"]);
      if (c < 0 || (excl && c == 0)) {
        Add(std::string(excl ? "must be greater than " : "must be at least ") + Dump(s["minimum"]) +
            ", found " + Dump(v));
      }
    }
    if (s.contains("maximum")) {
      bool excl = s.value("exclusiveMaximum", false);
      int c = CompareNumbers(v, s["maximum"]);
      if (c > 0 || (excl && c == 0)) {
        Add(std::string(excl ? "must be less than " : "must be at most ") + Dump(s["maximum"]) +
            ", found " + Dump(v));
      }
    }
    if (s.contains("multipleOf")) {
      const json& m = s["multipleOf"];
      bool ok;
      if (v.is_number_integer() && m.is_number_integer()) {
        __int128 x = v.is_number_unsigned() ? static_cast<__int128>(v.get<uint64_t>())
                                            : static_cast<__int128>(v.get<int64_t>());
        __int128 d = m.is_number_unsigned() ? static_cast<__int128>(m.get<uint64_t>())
                                            : static_cast<__int128>(m.get<int64_t>());
        ok = x % d == 0;
      } else {
        double q = v.get<double>() / m.get<double>();
        ok = std::isfinite(q) && std::fabs(q - std::round(q)) < 1e-9;
      }
      if (!ok) Add("must be a multiple of " + Dump(m) + ", found " + Dump(v));
    }
  }

  void CheckString(const json& s, const std::string& v) {
    const json* min_length = Keyword(s, "minLength");
    const json* max_length = Keyword(s, "maxLength");
    const json* pattern = Keyword(s, "pattern");
    if (min_length == nullptr && max_length == nullptr && pattern == nullptr) return;
    size_t len = CodePointCount(v);
    if (min_length != nullptr && len < min_length->get<size_t>()) {
      size_t min = min_length->get<size_t>();
      Add(len == 0 && min == 1 ? std::string("must not be empty")
                               : "must be at least " + std::to_string(min) +
                                     " characters long, found " + std::to_string(len));
    }
    if (max_length != nullptr && len > max_length->get<size_t>()) {
      Add("must be at most " + std::to_string(max_length->get<size_t>()) +
          " characters long, found " + std::to_string(len));
    }
    if (pattern != nullptr) {
      const std::string& src = pattern->get_ref<const std::string&>();
      if (v.size() > JsonSchema::kMaxPatternInput) {
        Add("too long to check against pattern " + Quote(src) + " (" + std::to_string(v.size()) +
            " bytes; limit " + std::to_string(JsonSchema::kMaxPatternInput) + ")");
      } else if (!impl_.Pattern(src).Search(v)) {
        Add("must match pattern " + Dump(json(src)) + ", found " + Quote(v));
      }
    }
  }

  void CheckArray(const json& s, const json& v, int depth) {
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) {
      Add("must have at least " + std::to_string(s["minItems"].get<size_t>()) + " items, found " +
          std::to_string(v.size()));
    }
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) {
      Add("must have at most " + std::to_string(s["maxItems"].get<size_t>()) + " items, found " +
          std::to_string(v.size()));
    }
    if (s.value("uniqueItems", false)) CheckUnique(v);
    const json* items_keyword = Keyword(s, "items");
    if (items_keyword == nullptr) return;
    const json& items = *items_keyword;
    if (!items.is_array()) {
      for (size_t i = 0; i < v.size() && !full(); ++i) {
        PathPush p(path_, std::to_string(i));
        Check(items, v[i], depth + 1);
      }
      return;
    }
    for (size_t i = 0; i < v.size() && !full(); ++i) {
      PathPush p(path_, std::to_string(i));
      if (i < items.size()) {
        Check(items[i], v[i], depth + 1);
      } else if (s.contains("additionalItems") && s["additionalItems"].is_object()) {
        Check(s["additionalItems"], v[i], depth + 1);
      } else if (s.contains("additionalItems") && !s["additionalItems"].get<bool>()) {
        Add("unexpected item: at most " + std::to_string(items.size()) + " items allowed, found " +
            std::to_string(v.size()));
        return;
      }
    }
  }

  void CheckUnique(const json& v) {
    std::unordered_map<std::string, size_t> seen;
    for (size_t i = 0; i < v.size(); ++i) {
      std::string key;
      if (!Canonical(v[i], JsonSchema::kMaxDepth, key)) {
        Add("items nested too deeply to check that they are unique");
        return;
      }
      auto [it, inserted] = seen.emplace(std::move(key), i);
      if (!inserted) {
        Add("items must be unique: items " + std::to_string(it->second) + " and " +
            std::to_string(i) + " are equal");
        return;
      }
    }
  }

  void CheckObject(const json& s, const json& v, int depth) {
    if (const json* required = Keyword(s, "required")) {
      for (const json& name : *required) {
        if (!v.contains(name.get_ref<const std::string&>())) {
          Add("missing required field " + Quote(name.get<std::string>()));
        }
      }
    }
    if (s.contains("minProperties") && v.size() < s["minProperties"].get<size_t>()) {
      Add("must have at least " + std::to_string(s["minProperties"].get<size_t>()) + " fields");
    }
    if (s.contains("maxProperties") && v.size() > s["maxProperties"].get<size_t>()) {
      Add("must have at most " + std::to_string(s["maxProperties"].get<size_t>()) + " fields");
    }
    const Members members{Keyword(s, "properties"), Keyword(s, "patternProperties"),
                          Keyword(s, "additionalProperties")};
    for (const auto& [key, value] : v.items()) {
      if (full()) return;
      CheckMember(s, members, key, value, depth);
    }
    if (const json* deps = Keyword(s, "dependencies")) CheckDependencies(*deps, v, depth);
  }

  // An object schema's member keywords, looked up once per object.
  struct Members {
    const json* properties;
    const json* pattern_properties;
    const json* additional_properties;
  };

  // properties / patternProperties / additionalProperties for one member.
  void CheckMember(const json& s, const Members& m, const std::string& key, const json& value,
                   int depth) {
    PathPush p(path_, key);
    bool matched = false;
    if (m.properties != nullptr) {
      if (const json* sub = Keyword(*m.properties, key)) {
        matched = true;
        Check(*sub, value, depth + 1);
      }
    }
    if (m.pattern_properties != nullptr) {
      for (const auto& [src, sub] : m.pattern_properties->items()) {
        if (key.size() > JsonSchema::kMaxPatternInput) {
          Add("field name too long (" + std::to_string(key.size()) + " bytes; limit " +
              std::to_string(JsonSchema::kMaxPatternInput) + ")");
          return;
        }
        if (impl_.Pattern(src).Search(key)) {
          matched = true;
          Check(sub, value, depth + 1);
        }
      }
    }
    if (matched || m.additional_properties == nullptr) return;
    const json& extra = *m.additional_properties;
    if (extra.is_object()) {
      Check(extra, value, depth + 1);
    } else if (!extra.get<bool>()) {
      Add(UnknownFieldMessage(s, key));
    }
  }

  void CheckDependencies(const json& deps, const json& v, int depth) {
    for (const auto& [name, dep] : deps.items()) {
      if (!v.contains(name)) continue;
      if (dep.is_array()) {
        for (const json& other : dep) {
          if (!v.contains(other.get_ref<const std::string&>())) {
            Add(Quote(name) + " requires " + Quote(other.get<std::string>()) + " to be set");
          }
        }
      } else {
        Check(dep, v, depth + 1);
      }
    }
  }

  void CheckCombinators(const json& s, const json& v, int depth) {
    if (const json* all = Keyword(s, "allOf")) {
      for (const json& sub : *all) Check(sub, v, depth + 1);
    }
    if (const json* any = Keyword(s, "anyOf")) CheckAlternatives(*any, v, depth, false);
    if (const json* one = Keyword(s, "oneOf")) CheckAlternatives(*one, v, depth, true);
    if (const json* no = Keyword(s, "not")) CheckNot(*no, v, depth);
  }

  void CheckNot(const json& sub, const json& v, int depth) {
    Checker branch(impl_, 1, path_);
    branch.Check(sub, v, depth + 1);
    if (!branch.violations().empty()) return;  // it did not match: fine
    std::vector<std::string> names;
    if (!RequiredConjunction(sub, names, 0) || names.empty()) {
      std::string why = sub.contains("description") && sub["description"].is_string()
                            ? ": " + sub["description"].get<std::string>()
                            : "";
      Add("matches a form that is not allowed" + why);
      return;
    }
    std::string quoted;
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) quoted += i + 1 == names.size() ? " and " : ", ";
      quoted += Quote(names[i]);
    }
    std::string msg = names.size() == 1   ? quoted + " must not be set"
                      : names.size() == 2 ? quoted + " cannot both be set"
                                          : quoted + " cannot all be set";
    AddAt(path_ + "/" + EscapePointerToken(names.back()), msg);
  }

  // anyOf / oneOf. On failure, report the most relevant branch: if no branch even accepts the
  // instance's type, one "expected A or B" message; otherwise the type-compatible branch with the
  // fewest violations.
  void CheckAlternatives(const json& branches, const json& v, int depth, bool exactly_one) {
    std::vector<std::vector<SchemaViolation>> results;
    std::vector<size_t> passed;
    for (size_t i = 0; i < branches.size(); ++i) {
      Checker branch(impl_, JsonSchema::kMaxViolations, path_);
      branch.Check(branches[i], v, depth + 1);
      if (branch.violations().empty()) passed.push_back(i);
      results.push_back(std::move(branch.violations()));
    }
    if (passed.size() == 1 || (!exactly_one && !passed.empty())) return;
    if (passed.size() > 1) {
      Add("matches more than one of the allowed forms (" + std::to_string(passed[0] + 1) + " and " +
          std::to_string(passed[1] + 1) + "); exactly one must match");
      return;
    }
    std::vector<std::string> types;
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < branches.size(); ++i) {
      const json& b = branches[i].contains("$ref") ? impl_.Ref(branches[i]) : branches[i];
      if (TypeAccepts(b, v)) {
        if (best == SIZE_MAX || results[i].size() < results[best].size()) best = i;
      } else {
        for (std::string& t : DeclaredTypes(b)) {
          if (std::find(types.begin(), types.end(), t) == types.end()) types.push_back(t);
        }
      }
    }
    if (best == SIZE_MAX) {
      Add("expected " + JoinOr(types) + ", found " + Describe(v));
      return;
    }
    for (SchemaViolation& x : results[best]) AddAt(std::move(x.path), std::move(x.message));
  }

  const JsonSchema::Impl& impl_;
  size_t limit_;
  std::string path_;
  std::vector<SchemaViolation> out_;
};

}  // namespace

Result<JsonSchema> JsonSchema::Compile(json schema) {
  auto doc = std::make_shared<const json>(std::move(schema));
  auto impl = std::make_shared<Impl>();
  CONVERGE_RETURN_IF_ERROR(CompileSchema(*doc, *impl));
  JsonSchema out;
  out.schema_ = std::move(doc);
  out.impl_ = std::move(impl);
  return out;
}

std::vector<SchemaViolation> JsonSchema::Validate(const json& instance) const {
  Checker checker(*impl_, kMaxViolations, "");
  checker.Check(*schema_, instance, 0);
  std::vector<SchemaViolation> out = std::move(checker.violations());
  if (out.size() >= kMaxViolations) {
    out.resize(kMaxViolations - 1);
    out.push_back({"", "too many errors; only the first " + std::to_string(kMaxViolations - 1) +
                           " are shown"});
  }
  return out;
}

bool JsonSchema::IsValid(const json& instance) const {
  Checker checker(*impl_, 1, "");
  checker.Check(*schema_, instance, 0);
  return checker.violations().empty();
}

std::vector<SchemaViolation> JsonSchema::CoerceNumericStrings(json& instance) const {
  return CoerceNumbers(*impl_, *schema_, instance);
}

}  // namespace converge
