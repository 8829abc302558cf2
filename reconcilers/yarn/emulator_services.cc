// The YARN Services API of the emulator (/app/v1/services...), with the status codes and
// messages of ApiServer (NOTES.md §2, §5), not the Swagger's.
#include "reconcilers/yarn/emulator_internal.h"

namespace converge::yarn {
namespace {

constexpr char kUpgradeDisabled[] = "Service upgrade is disabled.";

std::string Uri(const std::string& name) {
  return "/app/v1/services/" + name;
}

std::string ImageOfSpec(const json& comp) {
  std::string out = comp.value("launch_command", "");
  if (comp.contains("artifact") && comp["artifact"].is_object()) {
    out += " " + comp["artifact"].value("id", "");
  }
  return out;
}

// A component's spec as compared for an upgrade (its count is a flex, not an upgrade).
json UpgradeKey(json comp) {
  comp.erase("number_of_containers");
  return comp;
}

const json* FindComp(const json& spec, const std::string& name) {
  for (const json& c : spec["components"]) {
    if (c.value("name", "") == name) return &c;
  }
  return nullptr;
}

}  // namespace

Reply Emulator::Impl::RouteServices(const httplib::Request& req, const std::string& path,
                                    const std::string& user, bool* mutated) {
  if (options.services_api_disabled) {
    return StatusReply(503,
                       "The YARN Services API is disabled "
                       "(yarn.webapp.api-service.enable=false)");
  }
  const std::string& m = req.method;
  if (path == "/version") {
    if (m != "GET") return StatusReply(405, "Method Not Allowed");
    return JsonReply(200, {{"hadoop_version", "3.3.0"},
                           {"hadoop_build_version", "3.3.0 from converge-sandbox"},
                           {"hadoop_version_built_on", "2020-07-06T18:44Z"}});
  }
  if (user.empty()) {
    return StatusReply(403, "Permission denied: the request names no user (?user.name=USER)");
  }
  if (path.empty() || path == "/") {
    if (m != "POST") return StatusReply(405, "Method Not Allowed");
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return StatusReply(400, "Unable to parse the request body as JSON");
    return CreateService(body, user, mutated);
  }
  // /<name>[/components[/<comp>[/component-instances/<instance>]] | /component-instances]
  std::vector<std::string> parts;
  for (size_t start = 1; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  const std::string& name = parts[0];
  auto it = services.find(name);
  if (parts.size() == 1 && m == "DELETE") return DeleteService(name, mutated);
  if (it == services.end()) {
    if (parts.size() == 1 && m == "GET") {
      return StatusReply(404, "Service " + name + " not found", "", kServiceNotFoundCode);
    }
    return StatusReply(404, "Service " + name + " not found");
  }
  Service& s = it->second;
  const int64_t now = Now();
  json body = json::parse(req.body.empty() ? "null" : req.body, nullptr, false);
  if (m == "PUT" && (body.is_discarded() || body.is_null())) {
    return StatusReply(400, "Unable to parse the request body as JSON");
  }
  if (parts.size() == 1) {
    if (m == "GET") return JsonReply(200, ServiceJson(s, now));
    if (m == "PUT") return UpdateService(s, body, mutated);
    return StatusReply(405, "Method Not Allowed");
  }
  if (parts[1] == "component-instances" && parts.size() == 2) {
    if (m == "PUT") return UpgradeInstances(s, body, "", mutated);
    if (m != "GET") return StatusReply(405, "Method Not Allowed");
    std::set<std::string> comps, states;
    for (const std::string& c : QueryValues(req, "componentName")) comps.insert(c);
    for (const std::string& c : QueryValues(req, "containerState")) states.insert(c);
    std::string version = QueryValue(req, "version");
    json out = json::array();
    for (const Component& c : s.comps) {
      if (!comps.empty() && !comps.count(c.name)) continue;
      json containers = json::array();
      for (const Container& k : c.containers) {
        if (now < k.launch_ms && k.up_start_ms < 0) continue;
        if (!version.empty() && k.version != version) continue;
        json kj = ContainerJson(s, c, k, now);
        if (!states.empty() && !states.count(kj["state"].get<std::string>())) continue;
        containers.push_back(kj);
      }
      if (!containers.empty()) {
        out.push_back({{"component_name", c.name}, {"containers", containers}});
      }
    }
    return JsonReply(200, out);
  }
  if (parts[1] == "components" && m == "PUT") {
    if (parts.size() == 2) {  // upgrade whole components: [{"name": c, "state": "UPGRADING"}]
      if (!body.is_array()) return StatusReply(400, "Expected a list of components");
      json instances = json::array();
      for (const json& c : body) {
        for (const Component& comp : s.comps) {
          if (c.is_object() && comp.name == c.value("name", "")) {
            for (const Container& k : comp.containers) {
              instances.push_back(
                  {{"component_instance_name", comp.name + "-" + std::to_string(k.index)}});
            }
          }
        }
      }
      return UpgradeInstances(s, instances, "", mutated);
    }
    if (parts.size() == 3) return FlexComponent(s, parts[2], body, mutated);
    if (parts.size() == 5 && parts[3] == "component-instances") {
      json one = body.is_object() ? body : json::object();
      one["component_instance_name"] = parts[4];
      return UpgradeInstances(s, json::array({one}), parts[2], mutated);
    }
  }
  return StatusReply(404, "No such resource: /app/v1/services" + path);
}

Reply Emulator::Impl::CreateService(const json& body, const std::string& user, bool* mutated) {
  json spec = body;
  std::string error = Validate(spec);
  if (!error.empty()) return StatusReply(400, error);
  const std::string name = spec["name"];
  if (services.count(name)) return StatusReply(500, "Service name " + name + " is already taken.");
  const bool save_only = body.is_object() && body.value("state", "") == "STOPPED";
  const int64_t now = Now();
  Service& s = services[name];
  s.user = user;
  s.stopped = save_only;
  Load(s, spec);
  *mutated = true;
  if (save_only) {
    return StatusReply(202, "Service " + name + " version " + s.version + " saved.", "ACCEPTED", 0,
                       Uri(name));
  }
  SubmitServiceApp(s, now);
  for (Component& c : s.comps)
    Schedule(s, c, static_cast<int>(c.spec["number_of_containers"]), RunningMs(s));
  return StatusReply(202, "Application ID: " + s.app_id, "ACCEPTED", 0, Uri(name));
}

Reply Emulator::Impl::UpdateService(Service& s, const json& body, bool* mutated) {
  if (!body.is_object()) return StatusReply(400, "Expected a Service object");
  const int64_t now = Now();
  const std::string& n = s.name;
  if (body.contains("name") && body["name"] != n) {
    return StatusReply(400, "Service name in the request object (" + body["name"].dump() +
                                ") does not match service name in the URL (" + n + ")");
  }
  const std::string state = body.value("state", "");
  if (state == "STOPPED") {
    if (s.stopped) return StatusReply(400, "Service " + n + " is already stopped");
    if (auto app = apps.find(s.app_id); app != apps.end()) app->second.end_ms = now;
    s.stopped = true;
    s.upgrade.clear();
    s.upgrade_comps.clear();
    for (Component& c : s.comps) c.containers.clear();
    *mutated = true;
    return StatusReply(200, "Successfully stopped service " + n);
  }
  // Finalizing a three-step upgrade is a START of the running service (ServiceClient's
  // actionStart sends the AM a restart; its ServiceManager finalizes on that START once every
  // instance runs the new version). Before that, the START changes nothing.
  if (state == "STARTED" && !s.stopped && s.upgrade == "UPGRADING") {
    const std::string version = s.target["version"];
    for (const Component& c : s.comps) {
      for (const Container& ct : c.containers) {
        if (ct.version != version || ct.up_start_ms >= 0) {
          return StatusReply(200, "Service " + n + " is successfully started.", "UPGRADING", 0,
                             Uri(n));
        }
      }
    }
    Load(s, s.target);
    s.upgrade.clear();
    s.upgrade_comps.clear();
    for (Component& c : s.comps) {
      Schedule(s, c, static_cast<int>(c.spec["number_of_containers"]), std::max(now, RunningMs(s)));
    }
    *mutated = true;
    return StatusReply(200, "Service " + n + " is successfully started.", "STABLE", 0, Uri(n));
  }
  if (state == "STARTED") {
    if (!s.stopped) return StatusReply(400, "Service " + n + " is already running");
    s.stopped = false;
    SubmitServiceApp(s, now);
    for (Component& c : s.comps)
      Schedule(s, c, static_cast<int>(c.spec["number_of_containers"]), RunningMs(s));
    *mutated = true;
    return StatusReply(200, "Service " + n + " is successfully started.", "ACCEPTED", 0, Uri(n));
  }
  if (state.empty() && body.contains("lifetime") && !body["lifetime"].is_null()) {
    auto lifetime = AsInteger(body["lifetime"]);
    if (!lifetime) return StatusReply(400, "Cannot deserialize value of type `long` for lifetime");
    if (*lifetime > 0) {
      s.spec["lifetime"] = *lifetime;
      *mutated = true;
      return StatusReply(200, "Service (" + n + ")'s lifeTime is updated to " +
                                  std::to_string(now / 1000 + *lifetime) + ", " +
                                  std::to_string(*lifetime) + " seconds remaining");
    }
  }
  if (state == "UPGRADING" || state == "UPGRADING_AUTO_FINALIZE" || state == "EXPRESS_UPGRADING") {
    if (options.upgrade_disabled) return StatusReply(400, kUpgradeDisabled);
    if (s.stopped) return StatusReply(400, "Service " + n + " is not running");
    if (!s.upgrade.empty()) return StatusReply(400, "Service " + n + " is already upgrading");
    json target = body;
    std::string error = Validate(target);
    if (!error.empty()) return StatusReply(400, error);
    if (target["version"] == s.version) {
      return StatusReply(400, "Service " + n + " is already at version " + s.version);
    }
    const json current = FullSpec(s);
    if (target["components"].size() != current["components"].size()) {
      return StatusReply(400, "Adding or removing components is not supported by an upgrade");
    }
    std::set<std::string> changed;
    for (const json& c : target["components"]) {
      const json* old = FindComp(current, c["name"]);
      if (old == nullptr) {
        return StatusReply(400, "Adding or removing components is not supported by an upgrade");
      }
      if (UpgradeKey(*old) != UpgradeKey(c)) changed.insert(c["name"].get<std::string>());
    }
    s.previous = current;
    s.target = target;
    s.upgrade = state;
    s.upgrade_comps = changed;
    const std::string version = target["version"];
    for (Component& c : s.comps) {
      int k = 0;
      for (Container& ct : c.containers) {
        if (!changed.count(c.name)) {
          ct.version = version;
          continue;
        }
        if (state == "UPGRADING") continue;  // waits for the instances call
        ct.up_start_ms = now + (state == "EXPRESS_UPGRADING" ? 0 : k++ * Step());
        ct.up_version = version;
        ct.up_image = ImageOfSpec(*FindComp(target, c.name));
      }
    }
    *mutated = true;
    return StatusReply(202, "Service " + n + " is upgrading to version " + version, state, 0,
                       Uri(n));
  }
  if (state == "CANCEL_UPGRADING") {
    if (s.upgrade.empty() || s.upgrade == "CANCEL_UPGRADING") {
      return StatusReply(400, "Service " + n + " is not upgrading");
    }
    const std::string old_version = s.previous["version"];
    for (Component& c : s.comps) {
      for (Container& ct : c.containers) {
        if (ct.version == old_version && ct.up_start_ms < 0) continue;
        ct.up_start_ms = now;
        ct.up_version = old_version;
        ct.up_image = ImageOfSpec(*FindComp(s.previous, c.name));
      }
    }
    s.target = s.previous;
    s.upgrade = "CANCEL_UPGRADING";
    *mutated = true;
    return StatusReply(202, "Cancelling the upgrade of service " + n, "CANCEL_UPGRADING", 0,
                       Uri(n));
  }
  if (body.contains("components") && body["components"].is_array() && !body["components"].empty()) {
    if (s.stopped) return StatusReply(400, "Service " + n + " is not running");
    std::string diagnostics;
    for (const json& c : body["components"]) {
      std::string cname = c.is_object() ? c.value("name", "") : "";
      Reply r = FlexComponent(s, cname, c, mutated);
      if (r.status != 200) return r;
      diagnostics +=
          (diagnostics.empty() ? "" : "; ") + json::parse(r.body).value("diagnostics", "");
    }
    return StatusReply(202, diagnostics, "ACCEPTED", 0, Uri(n));
  }
  return StatusReply(400, "Nothing to update for service " + n);
}

Reply Emulator::Impl::FlexComponent(Service& s, const std::string& comp, const json& body,
                                    bool* mutated) {
  if (!body.is_object()) return StatusReply(400, "Expected a Component object");
  if (body.contains("name") && body["name"] != comp) {
    return StatusReply(400, "Component name in the request object (" + body["name"].dump() +
                                ") does not match component name in the URL (" + comp + ")");
  }
  if (body.value("state", "") == "UPGRADING") {
    json instances = json::array();
    for (const Component& c : s.comps) {
      if (c.name != comp) continue;
      for (const Container& k : c.containers) {
        instances.push_back({{"component_instance_name", c.name + "-" + std::to_string(k.index)}});
      }
    }
    return UpgradeInstances(s, instances, comp, mutated);
  }
  auto count = body.contains("number_of_containers") ? AsInteger(body["number_of_containers"])
                                                     : std::optional<int64_t>();
  if (!count) return StatusReply(400, "No number of containers specified for component " + comp);
  if (*count < 0) {
    return StatusReply(400, "Invalid number of containers specified for component " + comp + ": " +
                                std::to_string(*count));
  }
  Component* target = nullptr;
  for (Component& c : s.comps) {
    if (c.name == comp) target = &c;
  }
  if (target == nullptr) {
    return StatusReply(400, "Component " + comp + " does not exist in service " + s.name);
  }
  if (s.stopped) return StatusReply(400, "Service " + s.name + " is not running");
  const int before = static_cast<int>(target->spec["number_of_containers"]);
  Schedule(s, *target, static_cast<int>(*count), std::max(Now(), RunningMs(s)));
  *mutated = true;
  return StatusReply(200, "Updating component (" + comp + ") size from " + std::to_string(before) +
                              " to " + std::to_string(*count));
}

Reply Emulator::Impl::UpgradeInstances(Service& s, const json& body, const std::string& only_comp,
                                       bool* mutated) {
  if (options.upgrade_disabled) return StatusReply(400, kUpgradeDisabled);
  if (s.upgrade != "UPGRADING") {
    return StatusReply(400, "Service " + s.name + " is not in the UPGRADING state");
  }
  if (!body.is_array() || body.empty()) {
    return StatusReply(400, "Expected a non-empty list of component instances");
  }
  const int64_t now = Now();
  const std::string version = s.target["version"];
  std::vector<Container*> chosen;
  std::vector<std::string> names;
  for (const json& want : body) {
    std::string instance = want.is_object() ? want.value("component_instance_name", "") : "";
    Container* found = nullptr;
    const Component* owner = nullptr;
    for (Component& c : s.comps) {
      if (!only_comp.empty() && c.name != only_comp) continue;
      for (Container& k : c.containers) {
        if (c.name + "-" + std::to_string(k.index) == instance) {
          found = &k;
          owner = &c;
        }
      }
    }
    if (found == nullptr) {
      return StatusReply(400,
                         "Component instance " + instance + " does not exist in service " + s.name);
    }
    if (ContainerState(s, *owner, *found, now) != "NEEDS_UPGRADE") {
      return StatusReply(400, "Component instance " + instance + " does not need an upgrade");
    }
    found->up_version = version;
    found->up_image = ImageOfSpec(*FindComp(s.target, owner->name));
    chosen.push_back(found);
    names.push_back(instance);
  }
  std::string list;
  for (size_t i = 0; i < chosen.size(); ++i) {
    chosen[i]->up_start_ms = now;
    list += (i ? ", " : "") + names[i];
  }
  *mutated = true;
  return StatusReply(200, "Upgrading component instances " + list + " of service " + s.name);
}

Reply Emulator::Impl::DeleteService(const std::string& name, bool* mutated) {
  auto it = services.find(name);
  if (it == services.end()) return StatusReply(400, "Service " + name + " doesn't exist");
  const int64_t now = Now();
  if (auto app = apps.find(it->second.app_id); app != apps.end() && !it->second.stopped) {
    app->second.end_ms = now;
  }
  services.erase(it);
  *mutated = true;
  return StatusReply(200, "Successfully destroyed service " + name);
}

}  // namespace converge::yarn
