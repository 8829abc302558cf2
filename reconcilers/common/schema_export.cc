#include "reconcilers/common/schema_export.h"

namespace converge {
namespace {

// Keywords whose value is an object of member name -> schema (the names are not keywords).
bool IsNameMap(const std::string& key) {
  return key == "properties" || key == "definitions" || key == "patternProperties" ||
         key == "dependencies";
}

void Convert(json& s, int depth) {
  if (depth > 256) return;
  if (s.is_array()) {
    for (json& item : s) Convert(item, depth + 1);
    return;
  }
  if (!s.is_object()) return;
  s.erase("$schema");
  if (s.contains("id") && s["id"].is_string()) s.erase("id");
  for (const char* bound : {"Minimum", "Maximum"}) {
    const std::string ex = std::string("exclusive") + bound;
    const std::string plain = bound == std::string("Minimum") ? "minimum" : "maximum";
    auto it = s.find(ex);
    if (it == s.end() || !it->is_boolean()) continue;
    bool on = *it;
    s.erase(ex);
    if (on && s.contains(plain)) {
      s[ex] = s[plain];
      s.erase(plain);
    }
  }
  for (auto& [key, value] : s.items()) {
    if (IsNameMap(key) && value.is_object()) {
      for (auto& [_, sub] : value.items()) Convert(sub, depth + 1);
    } else if (key != "enum" && key != "const" && key != "default" && key != "examples") {
      Convert(value, depth + 1);
    }
  }
}

void Rebase(json& s, const std::string& pointer, int depth) {
  if (depth > 256) return;
  if (s.is_array()) {
    for (json& item : s) Rebase(item, pointer, depth + 1);
    return;
  }
  if (!s.is_object()) return;
  for (auto& [key, value] : s.items()) {
    if (key == "$ref" && value.is_string()) {
      std::string ref = value;
      if (ref == "#") value = pointer;
      else if (ref.rfind("#/", 0) == 0) value = pointer + ref.substr(1);
    } else if (key == "enum" || key == "const" || key == "default" || key == "examples") {
      continue;
    } else if (IsNameMap(key) && value.is_object()) {
      for (auto& [_, sub] : value.items()) Rebase(sub, pointer, depth + 1);
    } else {
      Rebase(value, pointer, depth + 1);
    }
  }
}

}  // namespace

json Draft4To7(json schema) {
  Convert(schema, 0);
  return schema;
}

void RebaseRefs(json& schema, const std::string& pointer) { Rebase(schema, pointer, 0); }

std::string RefToken(const std::string& token) {
  std::string out;
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

}  // namespace converge
