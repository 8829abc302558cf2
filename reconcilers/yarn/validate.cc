#include "reconcilers/yarn/validate.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace converge::yarn {
namespace {

// YARN's own name rule (ServiceApiUtil: a DNS label, since names become registry DNS names).
std::string NameError(const std::string& what, const std::string& name, size_t max) {
  std::string q = json(name.substr(0, 80)).dump(-1, ' ', false, json::error_handler_t::replace);
  if (name.empty()) return what + " name must not be empty";
  if (name.size() > max)
    return what + " name " + q + " is longer than " + std::to_string(max) + " characters";
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  bool ok = lower(name.front()) && name.back() != '-';
  for (char c : name) ok = ok && (lower(c) || digit(c) || c == '-');
  if (!ok)
    return what + " name " + q +
           " is invalid: use lowercase letters, digits and \"-\", start with a letter and do not "
           "end with \"-\" (YARN turns names into DNS labels)";
  return "";
}

void MemoryToString(json& holder, const std::string& path, std::vector<PathDiagnostic>& out) {
  if (!holder.is_object()) return;
  auto r = holder.find("resource");
  if (r == holder.end() || !r->is_object()) return;
  auto m = r->find("memory");
  if (m == r->end() || !m->is_number()) return;
  if (m->is_number_float()) {
    // Checked before any conversion: a double outside long long's range does not convert.
    const double d = m->get<double>();
    if (!(std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15)) {
      out.push_back(
          {path + "/resource/memory",
           "memory is a whole number of MB (the Services API takes it as a string: \"256\")",
           Severity::kError});
      return;
    }
    *m = std::to_string(static_cast<long long>(d));
    return;
  }
  *m = m->dump();  // an integer, as the loader reads it (int64)
}

// Members with an empty name ("": 1, as in upstream's core-test-external3.json) are dropped by
// the server's JSON binding; converge drops them too, with a warning.
void DropEmptyNames(json& v, const std::string& path, std::vector<PathDiagnostic>& out) {
  if (v.is_object()) {
    if (v.contains("")) {
      out.push_back({path + "/", "a member with an empty name is ignored", Severity::kWarning,
                     "ignored-member"});
      v.erase("");
    }
    for (auto& [k, child] : v.items())
      DropEmptyNames(child, path + "/" + EscapePointerToken(k), out);
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) DropEmptyNames(v[i], path + "/" + std::to_string(i), out);
  }
}

void Err(std::vector<PathDiagnostic>& out, std::string path, std::string msg) {
  out.push_back({std::move(path), std::move(msg), Severity::kError});
}

}  // namespace

const JsonSchema& ServiceSchema() {
  static const JsonSchema* const kSchema = [] {
    json doc = json::parse(kServiceSchemaText, nullptr, false);
    Result<JsonSchema> compiled = JsonSchema::Compile(doc);
    if (!compiled.ok()) {  // a build defect, caught by the unit tests
      std::fprintf(stderr, "yarn service schema: %s\n", compiled.status().message().c_str());
      std::abort();
    }
    return new JsonSchema(std::move(compiled).value());
  }();
  return *kSchema;
}

std::string ServiceNameError(const std::string& name) {
  return NameError("service", name, 63);
}

void ValidateServiceSpec(json& spec, const std::string& base, std::vector<PathDiagnostic>& out) {
  if (!spec.is_object()) {
    Err(out, base, "a YarnService spec is a mapping (the Services API Service object)");
    return;
  }
  if (spec.contains("id")) {
    out.push_back({base + "/id", "\"id\" is the application id YARN assigns; it is ignored",
                   Severity::kWarning, "ignored-member"});
    spec.erase("id");
  }
  DropEmptyNames(spec, base, out);
  MemoryToString(spec, base, out);
  if (auto comps = spec.find("components"); comps != spec.end() && comps->is_array()) {
    for (size_t i = 0; i < comps->size(); ++i)
      MemoryToString((*comps)[i], base + "/components/" + std::to_string(i), out);
  }
  for (SchemaViolation& c : ServiceSchema().CoerceNumericStrings(spec))
    out.push_back({base + c.path, std::move(c.message), Severity::kWarning, "numeric-string"});
  for (SchemaViolation& v : ServiceSchema().Validate(spec))
    Err(out, base + v.path, std::move(v.message));

  for (const char* member : {"launch_time", "number_of_running_containers"}) {
    if (spec.contains(member))
      Err(out, base + "/" + member,
          std::string("\"") + member + "\" is set by YARN and cannot be part of a spec; remove it");
  }
  if (auto st = spec.find("state");
      st != spec.end() && st->is_string() && *st != "STARTED" && *st != "STOPPED") {
    Err(out, base + "/state",
        "state may only be STARTED or STOPPED in a spec (converge starts or stops the service); "
        "got " +
            st->get<std::string>());
  }
  auto comps = spec.find("components");
  if (comps == spec.end() || !comps->is_array()) return;
  std::set<std::string> seen;
  for (size_t i = 0; i < comps->size(); ++i) {
    const json& c = (*comps)[i];
    std::string at = base + "/components/" + std::to_string(i);
    if (!c.is_object()) continue;
    for (const char* member : {"containers", "state"}) {
      if (c.contains(member))
        Err(out, at + "/" + member,
            std::string("\"") + member + "\" of a component is set by YARN; remove it");
    }
    if (auto n = c.find("number_of_containers");
        n != c.end() && n->is_number() && n->get<double>() < 0)
      Err(out, at + "/number_of_containers", "number_of_containers must not be negative");
    if (!c.contains("name") || !c["name"].is_string()) continue;
    std::string name = c["name"];
    std::string e = NameError("component", name, 63);
    if (!e.empty()) Err(out, at + "/name", e);
    if (!seen.insert(name).second)
      Err(out, at + "/name", "component " + name + " is defined twice");
  }
}

}  // namespace converge::yarn
