// The YARN emulator's service model: spec validation (what ServiceApiUtil checks), containers
// scheduled one step apart, states computed from timestamps, and the GET bodies.
#include <cstdio>
#include <regex>

#include "reconcilers/yarn/emulator_internal.h"

namespace converge::yarn {
namespace {

constexpr size_t kMaxNameLength = 63;
const char kCompSuffix[] = " for component %s (nor at the global level)";

bool ValidName(const std::string& name) {
  static const std::regex kName("^[a-z][a-z0-9-]*$");
  return name.size() <= kMaxNameLength && std::regex_match(name, kName);
}

std::string ForComp(const std::string& message, const std::string& comp) {
  char buf[512];
  std::snprintf(buf, sizeof buf, kCompSuffix, comp.c_str());
  return message + buf;
}

std::string ImageOf(const json& comp) {
  std::string out = comp.value("launch_command", "");
  if (comp.contains("artifact") && comp["artifact"].is_object()) {
    out += " " + comp["artifact"].value("id", "");
  }
  return out;
}

int Desired(const json& comp) {
  return static_cast<int>(AsInteger(comp.value("number_of_containers", json(0))).value_or(0));
}

}  // namespace

std::string Emulator::Impl::Validate(json& spec) const {
  if (!spec.is_object()) return "The request body is not a Service object";
  if (!spec.contains("name") || !spec["name"].is_string() || spec["name"] == "") {
    return "Service name is either empty or not provided";
  }
  const std::string name = spec["name"];
  if (!ValidName(name)) {
    return "Service name " + name +
           " is not valid - only lower case letters, digits, and hyphen are allowed, and the "
           "name must be no more than 63 characters";
  }
  if (!spec.contains("version") || !spec["version"].is_string() || spec["version"] == "") {
    return "Version of service " + name + " is either empty or not provided";
  }
  if (spec.contains("lifetime")) {
    auto lifetime = AsInteger(spec["lifetime"]);
    if (!lifetime) return "Cannot deserialize value of type `long` for lifetime";
    spec["lifetime"] = *lifetime;
  }
  // Components of artifact type SERVICE are replaced by the named service's components; a
  // component of the same name as one of those overrides it member by member.
  json comps = json::array();
  json in = spec.value("components", json::array());
  if (!in.is_array()) return "components must be an array";
  std::vector<json> locals;
  for (const json& c : in) {
    if (!c.is_object()) return "every component must be an object";
    const json art = c.value("artifact", json::object());
    if (art.is_object() && art.value("type", "") == "SERVICE") {
      auto ext = services.find(art.value("id", ""));
      if (ext == services.end()) {
        return "Service " + art.value("id", "") + " referenced by component " +
               c.value("name", "") + " does not exist";
      }
      for (const Component& e : ext->second.comps) comps.push_back(e.spec);
    } else {
      locals.push_back(c);
    }
  }
  for (const json& c : locals) {
    bool merged = false;
    for (json& e : comps) {
      if (e.value("name", "") == c.value("name", "")) {
        e.merge_patch(c);
        merged = true;
      }
    }
    if (!merged) comps.push_back(c);
  }
  if (comps.empty()) return "No component specified for " + name;
  std::set<std::string> names;
  for (json& c : comps) {
    std::string cname = c.value("name", "");
    if (cname.empty()) return "Component name is either empty or not provided";
    if (!ValidName(cname)) {
      return "Component name " + cname +
             " is not valid - only lower case letters, digits, and hyphen are allowed, and the "
             "name must be no more than 63 characters";
    }
    if (!names.insert(cname).second) return "Component name " + cname + " is not unique";
    for (const char* inherited : {"artifact", "resource", "launch_command"}) {
      if (!c.contains(inherited) && spec.contains(inherited)) c[inherited] = spec[inherited];
    }
    if (c.contains("artifact")) {
      json& a = c["artifact"];
      if (!a.is_object() || !a.contains("id") || a["id"] == "") {
        return ForComp("Artifact id (like docker image name) is either empty or not provided",
                       cname);
      }
      if (!a.contains("type")) a["type"] = "DOCKER";
    }
    const bool docker = c.contains("artifact") && c["artifact"].value("type", "") == "DOCKER";
    if (!docker && c.value("launch_command", "").empty()) {
      return "Launch_command is required when type is not DOCKER" + ForComp("", cname);
    }
    auto count = c.contains("number_of_containers") ? AsInteger(c["number_of_containers"])
                                                    : std::optional<int64_t>();
    if (!count || *count < 0) return ForComp("Invalid no of containers specified", cname);
    c["number_of_containers"] = *count;
    if (!c.contains("resource") || !c["resource"].is_object()) {
      return ForComp("Resource is not provided", cname);
    }
    json& r = c["resource"];
    if (!r.contains("profile")) {
      auto memory = r.contains("memory") ? AsInteger(r["memory"]) : std::optional<int64_t>();
      if (!memory || *memory <= 0) {
        return ForComp("Application resource or memory not provided", cname);
      }
      r["memory"] = std::to_string(*memory);  // Resource.memory is a String
      auto cpus = r.contains("cpus") ? AsInteger(r["cpus"]) : std::optional<int64_t>(1);
      if (!cpus || *cpus <= 0) {
        return ForComp("Unacceptable no of cpus specified, either zero or negative", cname);
      }
      r["cpus"] = *cpus;
    }
    c.erase("state");
    c.erase("containers");
  }
  for (const json& c : comps) {
    for (const json& d : c.value("dependencies", json::array())) {
      if (!d.is_string() || !names.count(d.get<std::string>())) {
        return "Dependency " + (d.is_string() ? d.get<std::string>() : d.dump()) +
               " for component " + c.value("name", "") +
               " is invalid, does not exist as a component";
      }
    }
  }
  spec["components"] = comps;
  spec.erase("state");
  spec.erase("id");
  return "";
}

void Emulator::Impl::Load(Service& s, const json& spec) {
  s.name = spec["name"];
  s.version = spec["version"];
  s.spec = spec;
  s.spec.erase("components");
  std::vector<Component> comps;
  for (const json& c : spec["components"]) {
    Component comp;
    comp.name = c["name"];
    for (Component& old : s.comps) {
      if (old.name == comp.name) comp = std::move(old);
    }
    comp.spec = c;
    comps.push_back(std::move(comp));
  }
  s.comps = std::move(comps);
}

json Emulator::Impl::FullSpec(const Service& s) const {
  json spec = s.spec;
  spec["name"] = s.name;
  spec["version"] = s.version;
  spec["components"] = json::array();
  for (const Component& c : s.comps) spec["components"].push_back(c.spec);
  return spec;
}

void Emulator::Impl::Schedule(Service& s, Component& c, int desired, int64_t from) {
  c.spec["number_of_containers"] = desired;
  if (s.stopped) return;
  while (static_cast<int>(c.containers.size()) > desired) c.containers.pop_back();
  const int64_t seq = s.app_id.empty() ? 0 : std::stoll(s.app_id.substr(s.app_id.rfind('_') + 1));
  for (int k = 0; static_cast<int>(c.containers.size()) < desired; ++k) {
    Container ct;
    ct.index = c.next_index++;
    char id[96];
    std::snprintf(id, sizeof id, "container_e01_%lld_%04lld_01_%06d",
                  static_cast<long long>(cluster_ts), static_cast<long long>(seq),
                  s.next_container++);
    ct.id = id;
    ct.launch_ms = from + k * Step();
    ct.version = s.version;
    ct.image = ImageOf(c.spec);
    c.containers.push_back(std::move(ct));
  }
}

void Emulator::Impl::Advance(int64_t now) {
  // A plain application that reaches its successful end runs its command against the sandbox's
  // other emulators first (a compaction rewrites an Iceberg table), so that whoever sees it
  // FINISHED also sees what it did.
  for (auto& [id, app] : apps) {
    if (app.command_done || !app.service.empty() || app.run_ms < 0 || !command_runner) continue;
    if (app.kill_ms >= 0 || !app.fail_reason.empty() || Failing(app.command)) continue;
    if (now < app.submitted_ms + kAmSteps * Step() + app.run_ms) continue;
    app.command_done = true;
    if (std::optional<Status> st = command_runner(app.command); st && !st->ok())
      app.command_error = st->message();
  }
  for (auto& [name, s] : services) {
    if (!s.stopped && !s.app_id.empty()) {
      auto app = apps.find(s.app_id);
      if (app != apps.end() && View(app->second, now).finished_ms > 0) {
        s.stopped = true;  // its application was killed
        for (Component& c : s.comps) c.containers.clear();
        s.upgrade.clear();
      }
    }
    bool pending = false;
    for (Component& c : s.comps) {
      for (Container& k : c.containers) {
        if (k.up_start_ms >= 0 && now >= k.up_start_ms + Step()) {
          k.launch_ms = k.up_start_ms;
          k.version = k.up_version;
          k.image = k.up_image;
          k.up_start_ms = -1;
        }
        if (k.up_start_ms >= 0 || (!s.upgrade.empty() && s.upgrade_comps.count(c.name) &&
                                   k.version != s.target.value("version", ""))) {
          pending = true;
        }
      }
    }
    const bool auto_finalize = s.upgrade == "UPGRADING_AUTO_FINALIZE" ||
                               s.upgrade == "EXPRESS_UPGRADING" || s.upgrade == "CANCEL_UPGRADING";
    if (auto_finalize && !pending) {
      Load(s, s.target);
      for (Component& c : s.comps) {
        Schedule(s, c, Desired(c.spec), std::max(now, RunningMs(s)));
      }
      s.upgrade.clear();
      s.upgrade_comps.clear();
    }
  }
}

std::string Emulator::Impl::ContainerState(const Service& s, const Component& c, const Container& k,
                                           int64_t now) const {
  if (k.up_start_ms >= 0) return now < k.up_start_ms ? "NEEDS_UPGRADE" : "UPGRADING";
  if (!s.upgrade.empty() && s.upgrade_comps.count(c.name) &&
      k.version != s.target.value("version", "")) {
    return "NEEDS_UPGRADE";
  }
  if (now >= k.launch_ms + Step() && !Failing(k.image)) return "READY";
  return "RUNNING_BUT_UNREADY";
}

std::string Emulator::Impl::ComponentState(const Service& s, const Component& c,
                                           int64_t now) const {
  int ready = 0;
  bool needs = false, upgrading = false;
  for (const Container& k : c.containers) {
    if (now < k.launch_ms && k.up_start_ms < 0) continue;
    std::string st = ContainerState(s, c, k, now);
    needs = needs || st == "NEEDS_UPGRADE";
    upgrading = upgrading || st == "UPGRADING";
    ready += st == "READY";
  }
  if (needs) return "NEEDS_UPGRADE";
  if (upgrading) return "UPGRADING";
  return ready == Desired(c.spec) ? "STABLE" : "FLEXING";
}

std::string Emulator::Impl::ServiceState(const Service& s, int64_t now) const {
  if (s.stopped) return "STOPPED";
  if (now < RunningMs(s)) return "ACCEPTED";
  if (!s.upgrade.empty()) return s.upgrade;
  for (const Component& c : s.comps) {
    if (ComponentState(s, c, now) != "STABLE") return "STARTED";
  }
  return "STABLE";
}

json Emulator::Impl::ContainerJson(const Service& s, const Component& c, const Container& k,
                                   int64_t now) const {
  std::string instance = c.name + "-" + std::to_string(k.index);
  return {{"id", k.id},
          {"component_instance_name", instance},
          {"state", ContainerState(s, c, k, now)},
          {"launch_time", k.launch_ms},
          {"ip", "127.0.0.1"},
          {"hostname", instance + "." + s.name + "." + s.user + ".sandbox"},
          {"bare_host", "localhost"}};
}

json Emulator::Impl::ServiceJson(const Service& s, int64_t now) const {
  json out = FullSpec(s);
  if (!s.app_id.empty()) out["id"] = s.app_id;
  out["state"] = ServiceState(s, now);
  json comps = json::array();
  for (const Component& c : s.comps) {
    json cj = c.spec;
    cj["state"] = ComponentState(s, c, now);
    json containers = json::array();
    for (const Container& k : c.containers) {
      if (now >= k.launch_ms || k.up_start_ms >= 0) {
        containers.push_back(ContainerJson(s, c, k, now));
      }
    }
    cj["containers"] = containers;
    comps.push_back(cj);
  }
  out["components"] = comps;
  return out;
}

}  // namespace converge::yarn
