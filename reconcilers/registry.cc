#include "reconcilers/registry.h"

#include <set>

#include "reconcilers/common/json_schema.h"
#include "reconcilers/spec_schema.h"

namespace converge {

const char* LifecycleName(Lifecycle l) {
  switch (l) {
    case Lifecycle::kResource: return "resource";
    case Lifecycle::kRun: return "run";
    case Lifecycle::kMaintenance: return "maintenance";
  }
  return "resource";
}

void BackendRegistry::Register(BackendFactory factory) {
  for (KindDef& k : factory.kinds) k.loader.backend_type = factory.type;
  factories_.push_back(std::move(factory));
}

const BackendFactory* BackendRegistry::Find(const std::string& type) const {
  for (const BackendFactory& f : factories_)
    if (f.type == type) return &f;
  return nullptr;
}

const BackendFactory* BackendRegistry::OwnerOf(const std::string& kind) const {
  for (const BackendFactory& f : factories_)
    for (const KindDef& k : f.kinds)
      if (k.kind == kind) return &f;
  return nullptr;
}

const KindDef* BackendRegistry::FindKind(const std::string& kind) const {
  for (const BackendFactory& f : factories_)
    for (const KindDef& k : f.kinds)
      if (k.kind == kind) return &k;
  return nullptr;
}

namespace {

// What the common Backend validation needs to know of each type, plus its compiled schema.
struct TypeCheck {
  BackendMembers members;
  std::vector<std::string> required;
  std::shared_ptr<const JsonSchema> schema;
  std::function<void(const json&, std::vector<PathDiagnostic>&)> extra;
};

}  // namespace

KindRegistry BackendRegistry::LoaderKinds() const {
  KindRegistry registry;
  auto checks = std::make_shared<std::map<std::string, TypeCheck>>();
  for (const BackendFactory& f : factories_) {
    for (const KindDef& k : f.kinds) registry.Register(k.kind, k.loader);
    TypeCheck check;
    check.members.auth_types = f.auth_types;
    if (f.backend_schema.contains("properties"))
      for (const auto& [name, _] : f.backend_schema["properties"].items())
        check.members.extra.insert(name);
    json schema = f.backend_schema;
    schema["type"] = "object";
    if (schema.contains("required")) {
      for (const json& r : schema["required"]) check.required.push_back(r.get<std::string>());
      schema.erase("required");
    }
    // The common members are checked by ValidateBackend; this schema only sees the type's own.
    Result<JsonSchema> compiled = JsonSchema::Compile(std::move(schema));
    if (compiled.ok()) check.schema = std::make_shared<const JsonSchema>(std::move(compiled).value());
    check.extra = f.validate_backend;
    (*checks)[f.type] = std::move(check);
  }
  KindInfo backend;
  backend.validate = [checks](Document& doc, std::vector<PathDiagnostic>& out) {
    std::map<std::string, BackendMembers> types;
    for (const auto& [type, c] : *checks) types[type] = c.members;
    ValidateBackend(doc, types, out);
    const json& spec = doc.spec.Edit();
    // Not spec.value("type", ""): it throws when type is not a string (fuzz/marathon_app).
    auto t = spec.is_object() ? spec.find("type") : spec.end();
    std::string type = t != spec.end() && t->is_string() ? t->get<std::string>() : "";
    auto it = checks->find(type);
    if (it == checks->end()) return;
    if (it->second.schema) {
      json own = json::object();
      for (const auto& [k, v] : spec.items())
        if (it->second.members.extra.count(k)) own[k] = v;
      for (const SchemaViolation& v : it->second.schema->Validate(own))
        out.push_back({"/spec" + v.path, v.message});
    }
    for (const std::string& req : it->second.required)
      if (!spec.contains(req))
        out.push_back({"/spec", "spec." + req + " is required for a " + type + " backend"});
    if (it->second.extra) it->second.extra(spec, out);
  };
  const json backend_spec = BackendSpecSchema(factories_);
  backend.schema = [backend_spec] { return backend_spec; };
  registry.Register("Backend", std::move(backend));
  return registry;
}

}  // namespace converge
