#include "reconcilers/iceberg/avro_schema_check.h"

#include <nlohmann/json.hpp>
#include <set>

namespace converge::iceberg {
namespace {

using json = nlohmann::json;

bool AvroName(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// A full name: dot-separated Avro names ("org.apache.iceberg.r2").
bool AvroFullName(const std::string& s) {
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!AvroName(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start)))
      return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

bool Primitive(const std::string& t) {
  return t == "null" || t == "boolean" || t == "int" || t == "long" || t == "float" ||
         t == "double" || t == "bytes" || t == "string";
}

class AvroSchemaChecker {
 public:
  explicit AvroSchemaChecker(int max_depth) : max_depth_(max_depth) {}

  Status Check(const json& s, const std::string& at, const std::string& ns, int depth) {
    if (depth > max_depth_) return Fail(at, "nests deeper than " + std::to_string(max_depth_));
    if (s.is_string()) return Reference(s.get<std::string>(), at, ns);
    if (s.is_array()) return Union(s, at, ns, depth);
    if (!s.is_object()) return Fail(at, "is not a schema (a name, a union or an object)");
    auto type = s.find("type");
    if (type == s.end() || !type->is_string()) return Fail(at, "has no \"type\" name");
    const std::string t = type->get<std::string>();
    if (Primitive(t)) return Status::Ok();
    if (t == "record" || t == "error") return Record(s, at, ns, depth);
    if (t == "enum") return Enum(s, at, ns);
    if (t == "fixed") {
      auto size = s.find("size");
      if (size == s.end() || !size->is_number_integer() || size->get<int64_t>() < 0)
        return Fail(at, "is a fixed without a non-negative integer \"size\"");
      return Define(s, at, ns).status();
    }
    if (t == "array") {
      auto items = s.find("items");
      if (items == s.end()) return Fail(at, "is an array without \"items\"");
      return Check(*items, at + ".items", ns, depth + 1);
    }
    if (t == "map") {
      auto values = s.find("values");
      if (values == s.end()) return Fail(at, "is a map without \"values\"");
      return Check(*values, at + ".values", ns, depth + 1);
    }
    return Reference(t, at, ns);
  }

 private:
  static Status Fail(const std::string& at, const std::string& what) {
    return InvalidError("Avro schema " + (at.empty() ? std::string("root") : at) + " " + what);
  }

  Status Reference(const std::string& name, const std::string& at, const std::string& ns) {
    if (Primitive(name)) return Status::Ok();
    if (defined_.count(name) || (!ns.empty() && defined_.count(ns + "." + name)))
      return Status::Ok();
    return Fail(at, "names the type \"" + name + "\", which is not defined before it");
  }

  Status Union(const json& s, const std::string& at, const std::string& ns, int depth) {
    std::set<std::string> branches;
    for (size_t i = 0; i < s.size(); ++i) {
      const json& b = s[i];
      const std::string bat = at + "[" + std::to_string(i) + "]";
      if (b.is_array()) return Fail(bat, "is a union directly inside a union");
      CONVERGE_RETURN_IF_ERROR(Check(b, bat, ns, depth + 1));
      // Branches are told apart by type (named types by name): no two alike.
      std::string key = b.is_string() ? b.get<std::string>() : b.value("type", "");
      if (b.is_object() && b.contains("name") && b["name"].is_string())
        key = b["name"].get<std::string>();
      if (!branches.insert(key).second) return Fail(bat, "repeats a branch of its union");
    }
    return Status::Ok();
  }

  // Records the named type's full name; the namespace its members use.
  Result<std::string> Define(const json& s, const std::string& at, const std::string& ns) {
    auto name = s.find("name");
    if (name == s.end() || !name->is_string() || !AvroFullName(name->get<std::string>()))
      return Fail(at, "has no valid \"name\" (letters, digits and _, not starting with a digit)");
    std::string n = name->get<std::string>();
    std::string space = ns;
    if (n.find('.') != std::string::npos) {
      space = n.substr(0, n.rfind('.'));
    } else {
      auto given = s.find("namespace");
      if (given != s.end()) {
        if (!given->is_string() || (!given->get<std::string>().empty() &&
                                    !AvroFullName(given->get<std::string>())))
          return Fail(at, "has an invalid \"namespace\"");
        space = given->get<std::string>();
      }
      if (!space.empty()) n = space + "." + n;
    }
    if (Primitive(n)) return Fail(at, "is named like a primitive type (\"" + n + "\")");
    if (!defined_.insert(n).second) return Fail(at, "defines the type \"" + n + "\" twice");
    return space;
  }

  Status Record(const json& s, const std::string& at, const std::string& ns, int depth) {
    auto space = Define(s, at, ns);
    if (!space.ok()) return space.status();
    auto fields = s.find("fields");
    if (fields == s.end() || !fields->is_array()) return Fail(at, "is a record without \"fields\"");
    std::set<std::string> names;
    for (size_t i = 0; i < fields->size(); ++i) {
      const json& f = (*fields)[i];
      const std::string fat = at + (at.empty() ? "" : ".") + "fields[" + std::to_string(i) + "]";
      if (!f.is_object()) return Fail(fat, "is not a field (an object)");
      auto name = f.find("name");
      if (name == f.end() || !name->is_string() || !AvroName(name->get<std::string>()))
        return Fail(fat, "has no valid \"name\"");
      if (!names.insert(name->get<std::string>()).second)
        return Fail(fat, "repeats the field name \"" + name->get<std::string>() + "\"");
      auto type = f.find("type");
      if (type == f.end()) return Fail(fat, "has no \"type\"");
      CONVERGE_RETURN_IF_ERROR(Check(*type, fat + ".type", *space, depth + 1));
    }
    return Status::Ok();
  }

  Status Enum(const json& s, const std::string& at, const std::string& ns) {
    CONVERGE_RETURN_IF_ERROR(Define(s, at, ns).status());
    auto symbols = s.find("symbols");
    if (symbols == s.end() || !symbols->is_array())
      return Fail(at, "is an enum without \"symbols\"");
    std::set<std::string> seen;
    for (const json& sym : *symbols) {
      if (!sym.is_string() || !AvroName(sym.get<std::string>()) ||
          !seen.insert(sym.get<std::string>()).second)
        return Fail(at, "has an invalid or repeated enum symbol");
    }
    return Status::Ok();
  }

  int max_depth_;
  std::set<std::string> defined_;
};

}  // namespace

Status CheckAvroSchemaJson(const std::string& text, int max_depth) {
  json schema = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded()) return InvalidError("Avro schema is not valid JSON");
  return AvroSchemaChecker(max_depth).Check(schema, "", "", 0);
}

}  // namespace converge::iceberg
