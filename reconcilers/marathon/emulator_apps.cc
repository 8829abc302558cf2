// Marathon emulator: storing app definitions (versions, service ports).
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include "reconcilers/common/base64.h"
#include "reconcilers/common/emulator/mount.h"
#include "reconcilers/marathon/emulator_internal.h"
#include "specs/base/clock.h"

namespace converge::marathon {

int Emulator::Impl::AllocateServicePort(const std::string& app_id) {
  for (int tries = 0; tries < 65536; ++tries) {
    int p = next_service_port++;
    if (next_service_port > 65535) next_service_port = kServicePortMin;
    if (service_ports.count(p) == 0) {
      service_ports[p] = app_id;
      return p;
    }
  }
  return 0;
}

std::vector<json*> Emulator::Impl::ServicePortSlots(json& def) {
  std::vector<json*> slots;
  if (HostNetworking(def)) {
    for (json& pd : def["portDefinitions"]) slots.push_back(&pd["port"]);
  } else if (def.contains("container")) {
    for (json& m : def["container"]["portMappings"]) slots.push_back(&m["servicePort"]);
  }
  return slots;
}

std::vector<int> Emulator::Impl::ServicePortsOf(const json& def) {
  json copy = def;
  std::vector<int> out;
  for (json* slot : ServicePortSlots(copy)) out.push_back(slot->get<int>());
  return out;
}

void Emulator::Impl::AssignServicePorts(const std::string& id, json& def, const json* previous) {
  std::vector<int> old = previous != nullptr ? ServicePortsOf(*previous) : std::vector<int>();
  std::set<int> used;
  std::vector<json*> slots = ServicePortSlots(def);
  for (size_t i = 0; i < slots.size(); ++i) {
    int p = slots[i]->get<int>();
    if (p == 0 && i < old.size() && old[i] != 0 && used.count(old[i]) == 0) p = old[i];
    if (p == 0) p = AllocateServicePort(id);
    *slots[i] = p;
    used.insert(p);
    service_ports[p] = id;
  }
  for (int p : old) {
    auto it = service_ports.find(p);
    if (used.count(p) == 0 && it != service_ports.end() && it->second == id) {
      service_ports.erase(it);
    }
  }
}

void Emulator::Impl::ClaimServicePorts(const std::string& id, const json& def) {
  for (int p : ServicePortsOf(def)) service_ports[p] = id;
}

void Emulator::Impl::RemoveApp(std::map<std::string, AppRecord>::iterator it) {
  for (int p : ServicePortsOf(it->second.def)) {
    auto sp = service_ports.find(p);
    if (sp != service_ports.end() && sp->second == it->first) service_ports.erase(sp);
  }
  apps.erase(it);
}

void Emulator::Impl::StoreNewVersion(AppRecord& app, json def) {
  app.SetDef(std::move(def));
  app.history.push_back({app.def["version"].get<std::string>(), app.dump});
  while (app.history.size() > kMaxVersionsPerApp) app.history.pop_front();
}

Emulator::Impl::Prepared Emulator::Impl::Prepare(json body, const std::string& url_id,
                                                 const json* existing, bool partial) {
  Prepared out;
  if (!body.is_object()) {
    out.error = InvalidJsonReply({{"/", "error.expected.jsobject"}});
    return out;
  }
  for (auto it = body.begin(); it != body.end();) {
    if (it->is_null() || IsAppInfoOnly(it.key())) {
      it = body.erase(it);
    } else {
      ++it;
    }
  }
  Checker c;
  CheckAppSchema(c, body);
  if (!c.type_errors.empty()) {
    out.error = InvalidJsonReply(c.type_errors);
    return out;
  }
  if (body.contains("ports") && body.contains("portDefinitions")) {
    c.Invalid("/", "You cannot specify both ports and port definitions");
  }
  if (body.contains("uris") && body.contains("fetch")) {
    c.Invalid("/", "You cannot specify both uris and fetch fields");
  }
  std::string id = url_id;
  if (id.empty()) {
    if (!body.contains("id")) {
      out.error = InvalidJsonReply({{"/id", "error.path.missing"}});
      return out;
    }
    auto resolved = ResolvePath(body["id"].get<std::string>(), "/");
    if (resolved && *resolved != "/") {
      id = *resolved;
    } else if (std::none_of(c.invalid.begin(), c.invalid.end(),
                            [](const Violation& v) { return v.path == "/id"; })) {
      c.Invalid("/id", kIdPatternMessage);  // unless the schema's pattern said so already
    }
  }
  if (!c.invalid.empty()) {
    out.error = NotValidReply(c.invalid);
    return out;
  }
  json def;
  if (existing != nullptr && partial) {
    def = *existing;
    if (body.contains("ports")) def.erase("portDefinitions");
    if (body.contains("portDefinitions")) def.erase("ports");
    if (body.contains("uris")) def.erase("fetch");
    bool networking = body.contains("networks") || body.contains("container");
    if (networking && !body.contains("ports") && !body.contains("portDefinitions")) {
      def.erase("portDefinitions");
    }
    if (body.contains("container") && !body.contains("networks") &&
        body["container"].contains("docker") && body["container"]["docker"].contains("network")) {
      def.erase("networks");
    }
    for (auto it = body.begin(); it != body.end(); ++it) def[it.key()] = it.value();
  } else {
    def = std::move(body);
  }
  def["id"] = id;
  Normalize(def, c);
  if (c.invalid.empty()) CheckAppRules(c, def);
  if (!c.invalid.empty()) {
    out.error = NotValidReply(c.invalid);
    return out;
  }
  out.def = std::move(def);
  return out;
}

void Emulator::Impl::SetVersionInfo(json& def, const std::string& version, const json* previous,
                                    bool scale_only) {
  def["version"] = version;
  std::string config_change = version;
  if (scale_only && previous != nullptr) {
    config_change = (*previous)["versionInfo"]["lastConfigChangeAt"].get<std::string>();
  }
  def["versionInfo"] = {{"lastScalingAt", version}, {"lastConfigChangeAt", config_change}};
}

AppChange Emulator::Impl::ApplyDefinition(const std::string& id, json def,
                                          const std::string& version, SteadyTime now,
                                          bool restore_as_is) {
  AppChange change;
  change.app_id = id;
  auto it = apps.find(id);
  if (it == apps.end()) {
    if (!restore_as_is) {
      AssignServicePorts(id, def, nullptr);
      SetVersionInfo(def, version, nullptr, false);
    } else {
      ClaimServicePorts(id, def);
    }
    AppRecord record;
    StoreNewVersion(record, std::move(def));
    apps.emplace(id, std::move(record));
    change.kind = StepKind::kStart;
    return change;
  }
  AppRecord& app = it->second;
  change.before = app.def;
  change.from_running = CountsOf(id, app, now).running;
  if (restore_as_is) {
    ClaimServicePorts(id, def);
  } else {
    AssignServicePorts(id, def, &app.def);
  }
  bool config_changed = ConfigOf(def) != ConfigOf(app.def);
  bool scaled = def["instances"] != app.def["instances"];
  // A deleted app whose stop is being rolled back has to be brought back up.
  bool restarting_stopped = restore_as_is && change.from_running != def.value("instances", 1);
  if (config_changed) {
    change.kind = StepKind::kRestart;
  } else if (scaled || restarting_stopped) {
    change.kind = StepKind::kScale;
  } else {
    change.kind = StepKind::kNoop;
    return change;
  }
  if (restore_as_is) {
    app.SetDef(std::move(def));
  } else {
    SetVersionInfo(def, version, &app.def, !config_changed);
    StoreNewVersion(app, std::move(def));
  }
  return change;
}

}  // namespace converge::marathon
