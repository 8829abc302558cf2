#include "reconcilers/marathon/reconciler.h"

#include <algorithm>

#include "reconcilers/marathon/diff.h"
#include "reconcilers/marathon/validate.h"
#include "specs/loader.h"

namespace converge::marathon {
namespace {

// The label Desired copies the annotation converge/prune into; "false" protects the app.
bool PruneProtectedLabels(const json& app) {
  auto labels = app.find("labels");
  if (labels == app.end() || !labels->is_object()) return false;
  auto p = labels->find("converge/prune");
  return p != labels->end() && *p == "false";
}

// The ownership label is converge's bookkeeping, not the user's intent: it is written with
// every change but never reported as a difference on its own.
json WithoutOwnershipLabel(json doc) {
  if (doc.is_object() && doc.contains("labels") && doc["labels"].is_object()) {
    doc["labels"].erase(kManagedByLabel);
    if (doc["labels"].empty()) doc.erase("labels");
  }
  return doc;
}

int Int(const json& app, const char* member, int fallback = 0) {
  auto it = app.find(member);
  return it != app.end() && it->is_number() ? it->get<int>() : fallback;
}

}  // namespace

Reconciler::Reconciler(std::unique_ptr<Client> client, std::string instance)
    : client_(std::move(client)), instance_(std::move(instance)) {}

Result<std::vector<LiveObject>> Reconciler::Observe() {
  std::vector<LiveObject> out;
  Status st = client_->ListApps([&](json&& app) {
    if (!app.is_object() || !app.contains("id") || !app["id"].is_string()) return;
    LiveObject o;
    o.key = ResourceKey{"App", app["id"].get<std::string>()};
    auto labels = app.find("labels");
    o.owned = labels != app.end() && labels->is_object() && labels->contains(kManagedByLabel) &&
              (*labels)[kManagedByLabel] == instance_;
    o.prune_protected = PruneProtectedLabels(app);
    // Kept as compact text of the definition (status stripped); parsed again when planned.
    o.raw = AppDefinition(app).dump();
    o.raw.shrink_to_fit();  // dump() grows its string by doubling
    out.push_back(std::move(o));
  }, /*restart=*/[&] { out.clear(); });
  if (!st.ok()) return st;
  return out;
}

Result<std::optional<LiveObject>> Reconciler::Get(const ResourceKey& key) {
  auto app = client_->GetApp(key.name);
  if (!app.ok()) return app.status();
  if (!app->has_value()) return std::optional<LiveObject>();
  LiveObject o;
  o.key = key;
  const json& labels = (**app).value("labels", json::object());
  o.owned = labels.is_object() && labels.value(kManagedByLabel, "") == instance_;
  o.prune_protected = PruneProtectedLabels(**app);
  o.doc = std::move(**app);
  return std::optional<LiveObject>(std::move(o));
}

json Reconciler::Desired(const Document& doc) const {
  json d = doc.spec.Get();
  d["id"] = doc.name;
  if (!d.contains("labels") || !d["labels"].is_object()) d["labels"] = json::object();
  d["labels"][kManagedByLabel] = instance_;
  // Prune protection must survive the spec's deletion, so it travels on the live app.
  if (auto p = doc.annotations.find("converge/prune"); p != doc.annotations.end())
    d["labels"]["converge/prune"] = p->second;
  return d;
}

json Reconciler::Definition(const json& live) const { return AppDefinition(live); }

DiffResult Reconciler::Diff(const json& desired, const json& live, const json& last_applied) const {
  DiffResult r = DiffApp(WithoutOwnershipLabel(desired), WithoutOwnershipLabel(live),
                         WithoutOwnershipLabel(last_applied));
  if (r.action != Action::kUpdate || !live.is_object()) return r;
  // An update is a full replace (partialUpdate=false): top-level members set on the live app
  // by someone else, and not in the spec, go back to Marathon's default too. Show them, so the
  // plan says everything the apply will change.
  for (const auto& item : live.items()) {  // not [member, value]: clang 14 cannot capture one
    const std::string& member = item.key();
    const json& value = item.value();
    if (desired.contains(member)) continue;
    json def = AppDefault(member);
    if (def.is_null() || value == def) continue;
    if (member == "labels" && WithoutOwnershipLabel(live).value("labels", json::object()) == def)
      continue;
    bool shown = std::any_of(r.fields.begin(), r.fields.end(), [&](const FieldChange& f) {
      return f.path == member || f.path.rfind(member + ".", 0) == 0 ||
             f.path.rfind(member + "[", 0) == 0;
    });
    if (!shown) r.fields.push_back(FieldChange{member, value, def});
  }
  std::sort(r.fields.begin(), r.fields.end(),
            [](const FieldChange& a, const FieldChange& b) { return a.path < b.path; });
  return r;
}

std::vector<ResourceKey> Reconciler::Dependencies(const json& doc) const {
  std::vector<ResourceKey> out;
  auto deps = doc.is_object() ? doc.find("dependencies") : doc.end();
  if (deps == doc.end() || !deps->is_array()) return out;
  for (const auto& d : *deps)
    if (d.is_string() && !d.get<std::string>().empty()) out.push_back({"App", d.get<std::string>()});
  return out;
}

Status Reconciler::Apply(const ChangeRequest& change) {
  const std::string& id = change.key.name;
  switch (change.action) {
    case Action::kCreate:
    case Action::kUpdate: {
      // A full replace (partialUpdate=false): members removed from the spec go back to
      // Marathon's defaults, exactly as the plan showed.
      auto r = client_->PutApp(id, change.desired, /*partial_update=*/false, /*force=*/false);
      return r.ok() ? Status::Ok() : r.status();
    }
    case Action::kScale: {
      json body = {{"instances", change.desired.value("instances", 1)}};
      auto r = client_->PutApp(id, body, /*partial_update=*/true, /*force=*/false);
      return r.ok() ? Status::Ok() : r.status();
    }
    case Action::kDelete: {
      auto r = client_->DeleteApp(id, /*force=*/false);
      return r.ok() ? Status::Ok() : r.status();
    }
    default:
      return InternalError("marathon: unsupported action " + std::string(ActionName(change.action)));
  }
}

Result<Health> Reconciler::CheckHealth(const ResourceKey& key, const json& desired) {
  auto app = client_->GetApp(key.name);
  if (!app.ok()) return app.status();
  if (!app->has_value()) {
    return Health{desired.is_null() ? HealthState::kHealthy : HealthState::kMissing,
                  desired.is_null() ? "deleted" : "app does not exist"};
  }
  const json& a = **app;
  if (desired.is_null()) return Health{HealthState::kProgressing, "deleting"};
  int instances = Int(a, "instances", 1);
  int running = Int(a, "tasksRunning");
  int healthy = Int(a, "tasksHealthy");
  int unhealthy = Int(a, "tasksUnhealthy");
  bool has_checks = a.contains("healthChecks") && a["healthChecks"].is_array() &&
                    !a["healthChecks"].empty();
  size_t deployments = a.contains("deployments") && a["deployments"].is_array()
                           ? a["deployments"].size()
                           : 0;
  std::string msg = "tasks running " + std::to_string(running) + "/" + std::to_string(instances);
  if (has_checks) msg += ", healthy " + std::to_string(healthy) + "/" + std::to_string(instances);
  if (unhealthy > 0) msg += ", unhealthy " + std::to_string(unhealthy);
  if (deployments > 0) msg = "deployment running, " + msg;
  if (a.contains("lastTaskFailure") && a["lastTaskFailure"].is_object() && running < instances)
    msg += ", last failure: " + a["lastTaskFailure"].value("message", std::string("task failed"));
  bool up = deployments == 0 && running == instances && (!has_checks || healthy == instances);
  return Health{up ? HealthState::kHealthy : HealthState::kProgressing, msg};
}

Status Reconciler::Restore(const ResourceKey& key, const json& definition) {
  // force=true: the deployment being rolled back is usually still running.
  if (definition.is_null()) {
    auto r = client_->DeleteApp(key.name, /*force=*/true);
    return r.ok() ? Status::Ok() : r.status();
  }
  auto r = client_->PutApp(key.name, definition, /*partial_update=*/false, /*force=*/true);
  return r.ok() ? Status::Ok() : r.status();
}

long Reconciler::RequestCount() const { return client_->http().stats().requests.load(); }
long Reconciler::WriteCount() const { return client_->http().stats().writes.load(); }

void RegisterKinds(KindRegistry& registry) {
  KindInfo app;
  app.backend_type = "marathon";
  app.validate = [](Document& doc, std::vector<PathDiagnostic>& out) {
    json& spec = doc.spec.Edit();
    if (spec.contains("id")) {
      if (!spec["id"].is_string() || spec["id"] != doc.name) {
        out.push_back({"/spec/id", "spec.id must be left out or equal metadata.name (" +
                                       doc.name + ")"});
      }
      spec.erase("id");
    }
    CoerceAppNumbers(spec, "/spec", out);
    ValidateApp(spec, "/spec", out);
  };
  app.validate_name = [](const std::string& name) {
    std::vector<PathDiagnostic> errs;
    ValidateAppId(name, errs);
    return errs.empty() ? std::string() : errs.front().message;
  };
  registry.Register("App", std::move(app));
}

}  // namespace converge::marathon
