// The YARN emulator's state as JSON (the sandbox's --state file): applications, services with
// their containers and upgrades, issued application ids and the HA roles.
#include "reconcilers/yarn/emulator_internal.h"

namespace converge::yarn {
namespace {

json ContainerToJson(const Container& k) {
  return {{"index", k.index},           {"id", k.id},
          {"launch_ms", k.launch_ms},   {"version", k.version},
          {"image", k.image},           {"up_start_ms", k.up_start_ms},
          {"up_version", k.up_version}, {"up_image", k.up_image}};
}

Container ContainerFromJson(const json& j) {
  Container k;
  k.index = j.at("index").get<int>();
  k.id = j.at("id").get<std::string>();
  k.launch_ms = j.at("launch_ms").get<int64_t>();
  k.version = j.at("version").get<std::string>();
  k.image = j.value("image", "");
  k.up_start_ms = j.value("up_start_ms", int64_t{-1});
  k.up_version = j.value("up_version", "");
  k.up_image = j.value("up_image", "");
  return k;
}

}  // namespace

json Emulator::Impl::Export() const {
  json japps = json::array();
  for (const auto& [id, a] : apps) {
    japps.push_back({{"id", a.id},
                     {"seq", a.seq},
                     {"user", a.user},
                     {"name", a.name},
                     {"queue", a.queue},
                     {"type", a.type},
                     {"tags", a.tags},
                     {"command", a.command},
                     {"memory", a.memory},
                     {"vcores", a.vcores},
                     {"priority", a.priority},
                     {"submitted_ms", a.submitted_ms},
                     {"run_ms", a.run_ms},
                     {"kill_ms", a.kill_ms},
                     {"end_ms", a.end_ms},
                     {"fail_reason", a.fail_reason},
                     {"command_done", a.command_done},
                     {"command_error", a.command_error},
                     {"service", a.service}});
  }
  json jservices = json::array();
  for (const auto& [name, s] : services) {
    json comps = json::array();
    for (const Component& c : s.comps) {
      json containers = json::array();
      for (const Container& k : c.containers) containers.push_back(ContainerToJson(k));
      comps.push_back({{"name", c.name},
                       {"spec", c.spec},
                       {"next_index", c.next_index},
                       {"containers", containers}});
    }
    jservices.push_back({{"name", s.name},
                         {"version", s.version},
                         {"user", s.user},
                         {"app_id", s.app_id},
                         {"spec", s.spec},
                         {"components", comps},
                         {"created_ms", s.created_ms},
                         {"stopped", s.stopped},
                         {"next_container", s.next_container},
                         {"upgrade", s.upgrade},
                         {"target", s.target},
                         {"previous", s.previous},
                         {"upgrade_comps", s.upgrade_comps}});
  }
  return {{"cluster_ts", cluster_ts},
          {"next_app_seq", next_app_seq},
          {"issued_ids", issued_ids},
          {"active", active},
          {"apps", japps},
          {"services", jservices}};
}

void Emulator::Impl::Import(const json& state) {
  std::map<std::string, App> new_apps;
  std::map<std::string, Service> new_services;
  for (const json& j : state.at("apps")) {
    App a;
    a.id = j.at("id").get<std::string>();
    a.seq = j.at("seq").get<int>();
    a.user = j.at("user").get<std::string>();
    a.name = j.at("name").get<std::string>();
    a.queue = j.at("queue").get<std::string>();
    a.type = j.at("type").get<std::string>();
    a.tags = j.at("tags").get<std::vector<std::string>>();
    a.command = j.value("command", "");
    a.memory = j.value("memory", 0);
    a.vcores = j.value("vcores", 0);
    a.priority = j.value("priority", 0);
    a.submitted_ms = j.at("submitted_ms").get<int64_t>();
    a.run_ms = j.at("run_ms").get<int64_t>();
    a.kill_ms = j.value("kill_ms", int64_t{-1});
    a.end_ms = j.value("end_ms", int64_t{-1});
    a.fail_reason = j.value("fail_reason", "");
    a.command_done = j.value("command_done", false);
    a.command_error = j.value("command_error", "");
    a.service = j.value("service", "");
    new_apps[a.id] = std::move(a);
  }
  for (const json& j : state.at("services")) {
    Service s;
    s.name = j.at("name").get<std::string>();
    s.version = j.at("version").get<std::string>();
    s.user = j.at("user").get<std::string>();
    s.app_id = j.value("app_id", "");
    s.spec = j.at("spec");
    for (const json& jc : j.at("components")) {
      Component c;
      c.name = jc.at("name").get<std::string>();
      c.spec = jc.at("spec");
      c.next_index = jc.value("next_index", 0);
      for (const json& jk : jc.at("containers")) c.containers.push_back(ContainerFromJson(jk));
      s.comps.push_back(std::move(c));
    }
    s.created_ms = j.at("created_ms").get<int64_t>();
    s.stopped = j.value("stopped", false);
    s.next_container = j.value("next_container", 2);
    s.upgrade = j.value("upgrade", "");
    s.target = j.value("target", json());
    s.previous = j.value("previous", json());
    s.upgrade_comps = j.value("upgrade_comps", std::set<std::string>{});
    new_services[s.name] = std::move(s);
  }
  cluster_ts = state.at("cluster_ts").get<int64_t>();
  next_app_seq = state.at("next_app_seq").get<int>();
  issued_ids = state.value("issued_ids", std::set<std::string>{});
  active = state.value("active", "primary");
  apps = std::move(new_apps);
  services = std::move(new_services);
}

}  // namespace converge::yarn
