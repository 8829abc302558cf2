// Helpers shared by the validator's parts, "did you mean" names, and numeric-string coercion.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

#include "reconcilers/common/json_schema_internal.h"

namespace converge {
namespace schema_internal {

size_t CodePointCount(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by validation and coercion.
// ---------------------------------------------------------------------------------------------

bool IsInteger(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool HasType(const json& v, const std::string& t) {
  if (t == "integer") return IsInteger(v);
  if (t == "number") return v.is_number();
  if (t == "string") return v.is_string();
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "boolean") return v.is_boolean();
  return t == "null" && v.is_null();
}

// The declared type names of a schema (empty = any).
std::vector<std::string> DeclaredTypes(const json& s) {
  if (!s.contains("type")) return {};
  const json& t = s["type"];
  if (t.is_string()) return {t.get<std::string>()};
  return t.get<std::vector<std::string>>();
}

bool TypeAccepts(const json& s, const json& v) {
  bool any = false, accepted = false;
  ForEachDeclaredType(s, [&](const std::string& t) {
    any = true;
    accepted = accepted || HasType(v, t);
  });
  return !any || accepted;
}

std::string Dump(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A string for messages: JSON-quoted, cut after ~60 bytes.
std::string Quote(const std::string& s) {
  constexpr size_t kMax = 60;
  if (s.size() <= kMax) return Dump(json(s));
  std::string cut = Dump(json(s.substr(0, kMax)));
  cut.pop_back();
  return cut + "…\"";
}

std::string Describe(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return std::string("boolean ") + (v.get<bool>() ? "true" : "false");
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer " + Dump(v);
    case json::value_t::number_float:
      return "number " + Dump(v);
    case json::value_t::string:
      return "string " + Quote(v.get_ref<const std::string&>());
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "value";
  }
}

std::string JoinOr(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

}  // namespace schema_internal

using namespace schema_internal;  // NOLINT: this file implements them

namespace {

size_t EditDistance(const std::string& a, const std::string& b) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string ClosestName(const std::string& key, const std::vector<std::string>& names) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  if (key.size() > 64) return best;
  for (const std::string& name : names) {
    size_t d = EditDistance(key, name);
    if (d < best_distance) best_distance = d, best = name;
  }
  size_t close_enough = best.size() <= 4 ? 1 : std::max<size_t>(2, best.size() / 4);
  return best_distance <= close_enough ? best : std::string();
}

namespace {

// ---------------------------------------------------------------------------------------------
// Numeric-string coercion.
// ---------------------------------------------------------------------------------------------

// Parses a string spelled exactly as a JSON number. Integers without fraction or exponent stay
// integers; `integer_only` refuses anything else.
bool ParseNumber(const std::string& s, bool integer_only, json& out) {
  size_t i = 0, n = s.size();
  auto digits = [&] {
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < n && s[i] == '-') ++i;
  size_t int_start = i;
  size_t int_digits = digits();
  if (int_digits == 0 || (int_digits > 1 && s[int_start] == '0')) return false;
  bool is_integer = i == n;
  if (!is_integer) {
    if (integer_only) return false;
    if (i < n && s[i] == '.') {
      ++i;
      if (digits() == 0) return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
      ++i;
      if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
      if (digits() == 0) return false;
    }
    if (i != n) return false;
  }
  const char* first = s.data();
  const char* last = s.data() + n;
  if (is_integer) {
    int64_t v = 0;
    if (auto r = std::from_chars(first, last, v); r.ec == std::errc() && r.ptr == last) {
      out = v;
      return true;
    }
    uint64_t u = 0;
    if (auto r = std::from_chars(first, last, u); r.ec == std::errc() && r.ptr == last) {
      out = u;
      return true;
    }
    return false;  // out of range
  }
  double d = 0;
  auto r = std::from_chars(first, last, d);
  if (r.ec != std::errc() || r.ptr != last || !std::isfinite(d)) return false;
  out = d;
  return true;
}

class Coercer {
 public:
  explicit Coercer(const JsonSchema::Impl& impl) : impl_(impl) {}

  void Run(const json& schema, json& instance) {
    std::vector<const json*> schemas;
    Expand(schema, instance, schemas, 0);
    Walk(schemas, instance, 0);
  }

  std::vector<SchemaViolation>& conversions() { return out_; }

 private:
  // The schemas that apply to `v`: follows $ref and allOf/anyOf/oneOf, dropping branches whose
  // type cannot hold a container `v` (strings keep every branch: that is what is being decided).
  void Expand(const json& s, const json& v, std::vector<const json*>& out, int depth) {
    if (depth > JsonSchema::kMaxDepth) return;
    if (Keyword(s, "$ref") != nullptr) return Expand(impl_.Ref(s), v, out, depth + 1);
    if (!v.is_string() && !TypeAccepts(s, v)) return;
    out.push_back(&s);
    for (const char* k : {"allOf", "anyOf", "oneOf"}) {
      if (const json* subs = Keyword(s, k)) {
        for (const json& sub : *subs) Expand(sub, v, out, depth + 1);
      }
    }
  }

  void Walk(const std::vector<const json*>& schemas, json& v, int depth) {
    if (depth > JsonSchema::kMaxDepth || schemas.empty()) return;
    if (v.is_string()) return CoerceString(schemas, v);
    if (v.is_object()) {
      for (auto& [key, value] : v.items()) {
        std::vector<const json*> child;
        for (const json* s : schemas) MemberSchemas(*s, key, value, child, depth);
        size_t size = path_.size();
        path_ += "/" + EscapePointerToken(key);
        Walk(child, value, depth + 1);
        path_.resize(size);
      }
    } else if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) {
        std::vector<const json*> child;
        for (const json* s : schemas) ItemSchemas(*s, i, v[i], child, depth);
        size_t size = path_.size();
        path_ += "/" + std::to_string(i);
        Walk(child, v[i], depth + 1);
        path_.resize(size);
      }
    }
  }

  void MemberSchemas(const json& s, const std::string& key, const json& value,
                     std::vector<const json*>& out, int depth) {
    bool matched = false;
    if (const json* props = Keyword(s, "properties")) {
      if (const json* sub = Keyword(*props, key)) {
        matched = true;
        Expand(*sub, value, out, depth + 1);
      }
    }
    const json* patterns = Keyword(s, "patternProperties");
    if (patterns != nullptr && key.size() <= JsonSchema::kMaxPatternInput) {
      for (const auto& [src, sub] : patterns->items()) {
        if (impl_.Pattern(src).Search(key)) {
          matched = true;
          Expand(sub, value, out, depth + 1);
        }
      }
    }
    const json* extra = matched ? nullptr : Keyword(s, "additionalProperties");
    if (extra != nullptr && extra->is_object()) Expand(*extra, value, out, depth + 1);
  }

  void ItemSchemas(const json& s, size_t i, const json& value, std::vector<const json*>& out,
                   int depth) {
    const json* items = Keyword(s, "items");
    if (items == nullptr) return;
    if (!items->is_array()) return Expand(*items, value, out, depth + 1);
    if (i < items->size()) return Expand((*items)[i], value, out, depth + 1);
    const json* extra = Keyword(s, "additionalItems");
    if (extra != nullptr && extra->is_object()) Expand(*extra, value, out, depth + 1);
  }

  void CoerceString(const std::vector<const json*>& schemas, json& v) {
    bool wants_integer = false, wants_number = false, accepts_string = false;
    for (const json* s : schemas) {
      ForEachDeclaredType(*s, [&](const std::string& t) {
        wants_integer |= t == "integer";
        wants_number |= t == "number";
        accepts_string |= t == "string";
      });
      if (const json* e = Keyword(*s, "enum")) {
        accepts_string |=
            std::any_of(e->begin(), e->end(), [](const json& x) { return x.is_string(); });
      }
    }
    if (accepts_string || !(wants_integer || wants_number)) return;
    json number;
    if (!ParseNumber(v.get_ref<const std::string&>(), !wants_number, number)) return;
    out_.push_back({path_, "numeric string " + Quote(v.get<std::string>()) + " converted to " +
                               (wants_number ? "number" : "integer")});
    v = std::move(number);
  }

  const JsonSchema::Impl& impl_;
  std::string path_;
  std::vector<SchemaViolation> out_;
};

}  // namespace

std::vector<SchemaViolation> schema_internal::CoerceNumbers(const JsonSchema::Impl& impl,
                                                            const json& schema, json& instance) {
  Coercer coercer(impl);
  coercer.Run(schema, instance);
  return std::move(coercer.conversions());
}

}  // namespace converge
