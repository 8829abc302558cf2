// Marathon emulator: state export and import (the sandbox's state file).
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

std::string Emulator::Impl::Export(SteadyTime now) const {
  std::string out = "{\"format\":\"converge-marathon-emulator/1\"";
  out += ",\"transitionMs\":" + std::to_string(transition_ms);
  out += ",\"nextServicePort\":" + std::to_string(next_service_port);
  out += ",\"failingImages\":" + json(failing_images).dump();
  out += ",\"apps\":[";
  bool first = true;
  for (const auto& [id, app] : apps) {
    if (!first) out += ',';
    first = false;
    out += "{\"id\":" + json(id).dump();
    out += ",\"deploymentId\":" + json(app.deployment_id).dump();
    out += ",\"lastTaskFailure\":" + app.last_task_failure.dump();
    out += ",\"def\":" + app.dump;
    out += ",\"history\":[";
    for (size_t i = 0; i < app.history.size(); ++i) {
      if (i > 0) out += ',';
      out += app.history[i].dump;
    }
    out += "]}";
  }
  out += "]";
  json deps = json::array();
  for (const auto& [id, d] : deployments) {
    json changes = json::array();
    for (const AppChange& c : d.changes) {
      changes.push_back({{"app", c.app_id},
                         {"kind", StepKindName(c.kind)},
                         {"before", c.before},
                         {"fromRunning", c.from_running}});
    }
    auto remaining = std::chrono::duration_cast<milliseconds>(d.end() - now).count();
    deps.push_back({{"id", id},
                    {"version", d.version},
                    {"changes", changes},
                    {"durationMs", d.duration.count()},
                    {"remainingMs", std::max<long long>(0, remaining)}});
  }
  out += ",\"deployments\":" + deps.dump() + "}";
  return out;
}

Status Emulator::Impl::Import(const json& state, SteadyTime now) {
  if (!state.is_object() || state.value("format", "") != "converge-marathon-emulator/1") {
    return InvalidError("not a converge Marathon emulator state (format mismatch)");
  }
  std::map<std::string, AppRecord> new_apps;
  std::map<int, std::string> ports;
  for (const json& a : state.at("apps")) {
    AppRecord record;
    std::string id = a.at("id").get<std::string>();
    record.SetDef(a.at("def"));
    for (const json& h : a.at("history")) {
      record.history.push_back({h.at("version").get<std::string>(), h.dump()});
    }
    record.deployment_id = a.value("deploymentId", "");
    record.last_task_failure = a.value("lastTaskFailure", json());
    for (int p : ServicePortsOf(record.def)) ports[p] = id;
    new_apps.emplace(id, std::move(record));
  }
  std::map<std::string, Deployment> new_deployments;
  std::set<std::pair<SteadyTime, std::string>> new_by_end;
  for (const json& dj : state.at("deployments")) {
    Deployment d;
    d.id = dj.at("id").get<std::string>();
    d.version = dj.at("version").get<std::string>();
    d.duration = milliseconds(dj.at("durationMs").get<long long>());
    d.start = now - (d.duration - milliseconds(dj.at("remainingMs").get<long long>()));
    for (const json& cj : dj.at("changes")) {
      AppChange c;
      c.app_id = cj.at("app").get<std::string>();
      auto kind = StepKindFromName(cj.at("kind").get<std::string>());
      if (!kind) return InvalidError("unknown deployment step kind in state");
      c.kind = *kind;
      c.before = cj.at("before");
      c.from_running = cj.at("fromRunning").get<int>();
      d.changes.push_back(std::move(c));
    }
    new_by_end.insert({d.end(), d.id});
    new_deployments.emplace(d.id, std::move(d));
  }
  for (auto& [id, app] : new_apps) {
    if (!app.deployment_id.empty() && new_deployments.count(app.deployment_id) == 0) {
      app.deployment_id.clear();
    }
  }
  apps = std::move(new_apps);
  deployments = std::move(new_deployments);
  by_end = std::move(new_by_end);
  service_ports = std::move(ports);
  // Files written before the knobs were renamed say deployMs / unhealthyImages.
  transition_ms = state.value("transitionMs", state.value("deployMs", transition_ms));
  next_service_port = state.value("nextServicePort", kServicePortMin);
  failing_images.clear();
  for (const json& i :
       state.value("failingImages", state.value("unhealthyImages", json::array()))) {
    failing_images.insert(i.get<std::string>());
  }
  return Status::Ok();
}

}  // namespace converge::marathon
