#include "reconcilers/yarn/reconciler.h"

#include <set>

#include "reconcilers/yarn/normalise.h"

namespace converge::yarn {
namespace {

const char* kServices = "/app/v1/services";


bool Owned(const json& service, const std::string& instance) {
  return Property(service, kManagedByProperty) == instance;
}

LiveObject MakeLive(const std::string& name, json service, const std::string& instance) {
  LiveObject o;
  o.key = ResourceKey{"YarnService", name};
  o.owned = Owned(service, instance);
  o.prune_protected = Property(service, kPruneProperty) == "false";
  o.doc = std::move(service);
  return o;
}

// The service names of the RM's yarn-service applications: the app name is the service name
// (the tag "name: <service>" says the same, lowercased by YARN).
std::vector<std::string> ServiceNames(const json& body) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  if (!body.is_object()) return out;
  const json& apps = body.value("apps", json());
  if (!apps.is_object() || !apps.contains("app") || !apps["app"].is_array()) return out;
  for (const json& app : apps["app"]) {
    if (!app.is_object()) continue;
    std::string name = app.value("name", "");
    if (name.empty()) {
      std::string tags = app.value("applicationTags", "");
      if (auto p = tags.find("name: "); p != std::string::npos)
        name = tags.substr(p + 6, tags.find(',', p) - (p + 6));
    }
    if (!name.empty() && seen.insert(name).second) out.push_back(name);
  }
  return out;
}

long Count(const json& component) {
  auto n = component.find("number_of_containers");
  return n != component.end() && n->is_number() ? n->get<long>() : 1;
}

}  // namespace

ReconcilerOptions OptionsFromBackend(const BackendConfig& cfg) {
  ReconcilerOptions o;
  o.upgrade_enabled = cfg.spec.value("upgrade", "enabled") != "disabled";
  if (cfg.health_timeout.count() > 0) o.batch_timeout = cfg.health_timeout;
  if (cfg.poll_interval.count() > 0) o.poll_interval = cfg.poll_interval;
  return o;
}

Reconciler::Reconciler(std::unique_ptr<Client> client, std::string instance,
                       ReconcilerOptions options, Clock& clock)
    : client_(std::move(client)),
      instance_(std::move(instance)),
      options_(options),
      clock_(clock) {}

Result<std::optional<json>> Reconciler::GetService(const std::string& name) {
  auto r = client_->Call("GET", ServicePath(name));
  if (!r.ok()) return r.status();
  if (r->status == 404) return std::optional<json>();
  if (r->status != 200) return StatusFromResponse(*r);
  if (!r->body.is_object())
    return InternalError("GET " + ServicePath(name) + ": the answer is not a service object");
  return std::optional<json>(std::move(r->body));
}

Result<std::vector<LiveObject>> Reconciler::Observe() {
  CONVERGE_RETURN_IF_ERROR(client_->ProbeServicesApi());
  auto apps = client_->Call("GET", "/ws/v1/cluster/apps?applicationTypes=yarn-service");
  if (!apps.ok()) return apps.status();
  if (apps->status != 200) return StatusFromResponse(*apps);
  std::vector<std::string> names = ServiceNames(apps->body);
  {
    // Bound services the list does not show: created STOPPED (saved, never launched).
    std::set<std::string> listed(names.begin(), names.end());
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& b : bound_services_)
      if (!listed.count(b)) names.push_back(b);
  }
  std::vector<LiveObject> out;
  for (const std::string& name : names) {
    auto s = GetService(name);
    if (!s.ok()) return s.status();
    if (!s->has_value()) continue;  // a service destroyed since (or not created yet)
    out.push_back(MakeLive(name, std::move(**s), instance_));
  }
  return out;
}

void Reconciler::BindSpecs(const std::vector<const Document*>& docs) {
  std::vector<std::string> names;
  for (const Document* d : docs)
    if (d->kind != kApplicationKind) names.push_back(d->name);
  std::lock_guard<std::mutex> lock(mu_);
  bound_services_ = std::move(names);
}

Result<std::optional<LiveObject>> Reconciler::Get(const ResourceKey& key) {
  auto s = GetService(key.name);
  if (!s.ok()) return s.status();
  if (!s->has_value()) return std::optional<LiveObject>();
  return std::optional<LiveObject>(MakeLive(key.name, std::move(**s), instance_));
}

json Reconciler::Desired(const Document& doc) const {
  if (doc.kind == kApplicationKind) return ApplicationDesired(doc, instance_);
  json d = doc.spec.Get();
  d["name"] = doc.name;
  SetProperty(d, kManagedByProperty, instance_);
  for (const char* a : {kPruneProperty, kAllowReplaceProperty, kMaxUnavailableProperty})
    if (auto p = doc.annotations.find(a); p != doc.annotations.end()) SetProperty(d, a, p->second);
  return d;
}

json Reconciler::Definition(const json& live) const {
  return ServiceDefinition(live);
}

DiffResult Reconciler::Diff(const json& desired, const json& live, const json& last_applied) const {
  return DiffService(desired, live.is_null() ? live : ServiceDefinition(live), last_applied,
                     options_.upgrade_enabled);
}

Status Reconciler::PutService(const std::string& name, const json& body, const char* what) {
  auto r = client_->Call("PUT", ServicePath(name), &body);
  if (!r.ok()) return r.status();
  Status st = StatusFromResponse(*r);
  return st.ok() ? st : st.Annotate(std::string(what) + " " + name);
}

Status Reconciler::Create(const std::string& name, const json& desired) {
  auto r = client_->Call("POST", kServices, &desired);
  if (!r.ok()) return r.status();
  Status st = StatusFromResponse(*r);
  if (st.ok() || st.code() != Code::kConflict) return st;
  // 500 "already taken": a POST that landed before a crash, or someone else's service. Read it
  // and decide from what it says; never POST again.
  auto live = GetService(name);
  if (!live.ok()) return live.status().Annotate("create " + name + " (already taken)");
  if (!live->has_value()) return st;  // taken by a service being destroyed: let the retry tell
  if (Owned(**live, instance_)) return Status::Ok();  // ours: adopted
  std::string owner = Property(**live, kManagedByProperty);
  return Status(
      Code::kConflict,
      "create " + name + ": a service of that name already exists and is " +
          (owner.empty() ? "not managed by converge" : "managed by converge instance " + owner) +
          "; import it or choose another name");
}

Status Reconciler::Scale(const std::string& name, const json& desired, const json& live) {
  ServiceChange c = Classify(desired, live, json());
  std::map<std::string, long> counts = c.counts;
  if (counts.empty())  // nothing known about live: send every component's count
    for (const json& comp : desired.value("components", json::array()))
      if (comp.is_object() && comp.contains("name")) counts[comp["name"]] = Count(comp);
  std::map<std::string, long> have;
  if (live.is_object())
    for (const json& comp : live.value("components", json::array()))
      if (comp.is_object() && comp.contains("name")) have[comp["name"]] = Count(comp);
  for (const auto& [comp, n] : counts) {
    if (auto h = have.find(comp); h != have.end() && h->second == n) continue;
    json body = {{"name", comp}, {"number_of_containers", n}};
    std::string path = ServicePath(name) + "/components/" + http::UrlEncode(comp);
    auto r = client_->Call("PUT", path, &body);
    if (!r.ok()) return r.status();
    CONVERGE_RETURN_IF_ERROR(StatusFromResponse(*r).Annotate("scale " + name));
  }
  return Status::Ok();
}

Status Reconciler::Destroy(const std::string& name) {
  auto r = client_->Call("DELETE", ServicePath(name));
  if (!r.ok()) return r.status();
  Status st = StatusFromResponse(*r);
  if (st.code() == Code::kNotFound) return Status::Ok();  // already gone
  return st.Annotate("destroy " + name);
}

Status Reconciler::Replace(const std::string& name, const json& desired, Millis timeout) {
  CONVERGE_RETURN_IF_ERROR(Destroy(name));
  auto deadline = clock_.Now() + timeout;
  while (true) {
    auto live = GetService(name);
    if (!live.ok()) return live.status();
    if (!live->has_value()) break;
    if (clock_.Now() >= deadline)
      return TimeoutError("replace " + name + ": the destroyed service is still there");
    if (!clock_.SleepUnless(options_.poll_interval, options_.cancel))
      return CancelledError("replace " + name + ": cancelled while waiting for the destroy");
  }
  return Create(name, desired);
}

Status Reconciler::Converge(const std::string& name, const json& desired, const json& live,
                            Millis timeout) {
  ServiceChange c = Classify(desired, live, json());
  if (c.empty()) return Status::Ok();
  if (c.fields.empty()) {  // start or stop
    Status st =
        PutService(name, {{"state", c.want_state}}, c.want_state == "STOPPED" ? "stop" : "start");
    // "Service <name> is already stopped": what was wanted.
    if (st.code() == Code::kInvalid && st.message().find("already stopped") != std::string::npos)
      return Status::Ok();
    return st;
  }
  if (c.scale_only && c.want_state == c.have_state) return Scale(name, desired, live);
  if (c.lifetime_only && c.want_state == c.have_state)
    return PutService(name, {{"lifetime", desired["lifetime"]}}, "update lifetime of");
  DiffResult plan = DiffService(desired, live, json(), options_.upgrade_enabled);
  if (plan.action == Action::kReplace) return Replace(name, desired, timeout);
  if (!plan.error.empty()) return InvalidError(plan.error);
  return Upgrade(name, desired, timeout);
}

Reconciler::Millis Reconciler::TimeoutOf(const ChangeRequest& change) const {
  if (change.timeout.count() > 0) return change.timeout;
  return options_.batch_timeout;
}

Status Reconciler::Apply(const ChangeRequest& change) {
  const std::string& name = change.key.name;
  if (change.key.kind != "YarnService")
    return InvalidError("yarn: kind " + change.key.kind + " is not supported yet");
  {
    std::lock_guard<std::mutex> lock(mu_);
    failed_upgrades_.erase(name);
  }
  switch (change.action) {
    case Action::kCreate:
      return Create(name, change.desired);
    case Action::kScale:
      return Scale(name, change.desired, change.live);
    case Action::kDelete:
      return Destroy(name);
    case Action::kReplace:
      return Replace(name, change.desired, TimeoutOf(change));
    case Action::kUpdate: {
      json live = change.live;
      if (live.is_null()) {  // the executor always has it; be safe after a crash
        auto l = GetService(name);
        if (!l.ok()) return l.status();
        if (!l->has_value()) return Create(name, change.desired);
        live = std::move(**l);
      }
      return Converge(name, change.desired, live, TimeoutOf(change));
    }
    default:
      return InternalError("yarn: unsupported action " + std::string(ActionName(change.action)));
  }
}

Result<Health> Reconciler::CheckHealth(const ResourceKey& key, const json& desired) {
  auto s = GetService(key.name);
  if (!s.ok()) return s.status();
  if (!s->has_value())
    return desired.is_null() ? Health{HealthState::kHealthy, "destroyed"}
                             : Health{HealthState::kMissing, "service does not exist"};
  const json& live = **s;
  if (desired.is_null()) return Health{HealthState::kProgressing, "destroying"};
  if (std::string why = FailedUpgrade(key.name); !why.empty())
    return Health{HealthState::kFailed, why};
  const std::string state = live.value("state", "");
  if (state == "FAILED") return Health{HealthState::kFailed, "service FAILED"};
  if (RunState(desired) == "STOPPED")
    return state == "STOPPED" ? Health{HealthState::kHealthy, "stopped"}
                              : Health{HealthState::kProgressing, "stopping (" + state + ")"};
  std::map<std::string, const json*> live_comps;  // points into `live`, which outlives it
  if (auto comps = live.find("components"); comps != live.end() && comps->is_array())
    for (const json& c : *comps)
      if (c.is_object() && c.contains("name")) live_comps[c["name"]] = &c;
  bool ready = state == "STABLE";
  std::string msg;
  for (const json& want : desired.value("components", json::array())) {
    if (!want.is_object() || !want.contains("name")) continue;
    const std::string comp = want["name"];
    long n = Count(want), up = 0;
    if (auto it = live_comps.find(comp); it != live_comps.end())
      for (const json& ct : it->second->value("containers", json::array()))
        up += ct.is_object() && ct.value("state", "") == "READY";
    ready = ready && up == n;
    msg += (msg.empty() ? "" : ", ") + std::string("component ") + comp + " " + std::to_string(up) +
           "/" + std::to_string(n) + " ready";
  }
  const std::string want_version = desired.value("version", "");
  if (!want_version.empty() && live.value("version", "") != want_version) {
    ready = false;
    msg += (msg.empty() ? "" : ", ") + std::string("version ") + live.value("version", "?") +
           " (want " + want_version + ")";
  }
  msg += (msg.empty() ? "service " : "; service ") + (state.empty() ? "?" : state);
  return Health{ready ? HealthState::kHealthy : HealthState::kProgressing, msg};
}

Status Reconciler::Restore(const ResourceKey& key, const json& definition) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    failed_upgrades_.erase(key.name);
  }
  if (definition.is_null()) return Destroy(key.name);
  const json def = ServiceDefinition(definition);  // a snapshot is a live document
  auto live = GetService(key.name);
  if (!live.ok()) return live.status();
  if (!live->has_value()) return Create(key.name, def);
  std::string state = (**live).value("state", "");
  if (state == "UPGRADING" || state == "UPGRADING_AUTO_FINALIZE" || state == "CANCEL_UPGRADING") {
    if (state != "CANCEL_UPGRADING")
      CONVERGE_RETURN_IF_ERROR(
          PutService(key.name, {{"state", "CANCEL_UPGRADING"}}, "cancel the upgrade of"));
    CONVERGE_RETURN_IF_ERROR(WaitFor(key.name, "the upgrade to be cancelled",
                                     options_.batch_timeout, [](const json& s) {
      std::string st = s.is_object() ? s.value("state", "") : "";
      return st != "UPGRADING" && st != "UPGRADING_AUTO_FINALIZE" && st != "CANCEL_UPGRADING";
    }));
    live = GetService(key.name);
    if (!live.ok()) return live.status();
    if (!live->has_value()) return Create(key.name, def);
  }
  return Converge(key.name, def, **live, options_.batch_timeout).Annotate("restore");
}

void Reconciler::MarkFailed(const std::string& name, const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  failed_upgrades_[name] = why;
}

std::string Reconciler::FailedUpgrade(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failed_upgrades_.find(name);
  return it == failed_upgrades_.end() ? "" : it->second;
}

std::string ServicePath(const std::string& name) {
  return std::string(kServices) + "/" + http::UrlEncode(name);
}

}  // namespace converge::yarn
