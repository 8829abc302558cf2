// Marathon emulator: app validation and Marathon's defaults.
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
namespace emulator_detail {

bool HasType(const json& v, JType t) {
  switch (t) {
    case JType::kString:
      return v.is_string();
    case JType::kNumber:
      return v.is_number();
    case JType::kInteger:
      if (v.is_number_integer()) return true;
      if (v.is_number_float()) {
        double d = v.get<double>();
        return std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 2147483648.0;
      }
      return false;
    case JType::kBoolean:
      return v.is_boolean();
    case JType::kArray:
      return v.is_array();
    case JType::kObject:
      return v.is_object();
    case JType::kStringOrObject:
      return v.is_string() || v.is_object();
  }
  return false;
}

const char* ExpectedError(const json& v, JType t) {
  switch (t) {
    case JType::kString:
      return "error.expected.jsstring";
    case JType::kNumber:
      return "error.expected.jsnumber";
    case JType::kInteger:
      return v.is_number() ? "error.expected.int" : "error.expected.jsnumber";
    case JType::kBoolean:
      return "error.expected.jsboolean";
    case JType::kArray:
      return "error.expected.jsarray";
    case JType::kObject:
    case JType::kStringOrObject:
      return "error.expected.jsobject";
  }
  return "error.expected.jsvalue";
}

const std::vector<FieldSpec>& AppFields() {
  static const std::vector<FieldSpec> kFields = {
      {"id", JType::kString},
      {"acceptedResourceRoles", JType::kArray},
      {"args", JType::kArray},
      {"backoffFactor", JType::kNumber},
      {"backoffSeconds", JType::kInteger},
      {"cmd", JType::kString},
      {"constraints", JType::kArray},
      {"container", JType::kObject},
      {"cpus", JType::kNumber},
      {"dependencies", JType::kArray},
      {"disk", JType::kNumber},
      {"env", JType::kObject},
      {"executor", JType::kString},
      {"executorResources", JType::kObject},
      {"fetch", JType::kArray},
      {"gpus", JType::kInteger},
      {"healthChecks", JType::kArray},
      {"instances", JType::kInteger},
      {"ipAddress", JType::kObject},
      {"killSelection", JType::kString},
      {"labels", JType::kObject},
      {"maxLaunchDelaySeconds", JType::kInteger},
      {"mem", JType::kNumber},
      {"networks", JType::kArray},
      {"portDefinitions", JType::kArray},
      {"ports", JType::kArray},
      {"readinessChecks", JType::kArray},
      {"requirePorts", JType::kBoolean},
      {"residency", JType::kObject},
      {"secrets", JType::kObject},
      {"taskKillGracePeriodSeconds", JType::kInteger},
      {"unreachableStrategy", JType::kStringOrObject},
      {"upgradeStrategy", JType::kObject},
      {"uris", JType::kArray},
      {"user", JType::kString},
      {"version", JType::kString},
      {"versionInfo", JType::kObject},
      {"check", JType::kObject},
      {"tty", JType::kBoolean},
      {"role", JType::kString},
      {"resourceLimits", JType::kObject},
  };
  return kFields;
}

bool IsAppInfoOnly(const std::string& key) {
  static const std::set<std::string> kKeys = {
      "tasksStaged", "tasksRunning", "tasksHealthy",    "tasksUnhealthy",       "deployments",
      "tasks",       "tasksStats",   "lastTaskFailure", "readinessCheckResults"};
  return kKeys.count(key) > 0;
}

bool Has(const json& obj, const char* key, JType t) {
  auto it = obj.find(key);
  return it != obj.end() && HasType(*it, t);
}

void CheckStringMap(Checker& c, const json& obj, const std::string& path) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    c.Type(it.value(), JType::kString, path + "/" + it.key());
  }
}

void CheckPortMappings(Checker& c, const json& mappings, const std::string& path) {
  static const std::vector<FieldSpec> kFields = {
      {"containerPort", JType::kInteger}, {"hostPort", JType::kInteger},
      {"labels", JType::kObject},         {"name", JType::kString},
      {"networkNames", JType::kArray},    {"protocol", JType::kString},
      {"servicePort", JType::kInteger}};
  for (size_t i = 0; i < mappings.size(); ++i) {
    std::string p = Checker::Index(path, i);
    if (!c.Type(mappings[i], JType::kObject, p)) continue;
    c.Members(mappings[i], p, kFields, true);
    if (Has(mappings[i], "labels", JType::kObject)) {
      CheckStringMap(c, mappings[i]["labels"], p + "/labels");
    }
  }
}

void CheckContainerTypes(Checker& c, const json& container) {
  static const std::vector<FieldSpec> kContainer = {
      {"type", JType::kString},      {"docker", JType::kObject}, {"appc", JType::kObject},
      {"linuxInfo", JType::kObject}, {"volumes", JType::kArray}, {"portMappings", JType::kArray}};
  static const std::vector<FieldSpec> kDocker = {
      {"credential", JType::kObject},      {"pullConfig", JType::kObject},
      {"forcePullImage", JType::kBoolean}, {"image", JType::kString},
      {"network", JType::kString},         {"parameters", JType::kArray},
      {"portMappings", JType::kArray},     {"privileged", JType::kBoolean}};
  c.Members(container, "/container", kContainer, true);
  if (Has(container, "docker", JType::kObject)) {
    const json& docker = container["docker"];
    c.Members(docker, "/container/docker", kDocker, true);
    if (Has(docker, "parameters", JType::kArray)) {
      const json& params = docker["parameters"];
      for (size_t i = 0; i < params.size(); ++i) {
        std::string p = Checker::Index("/container/docker/parameters", i);
        if (!c.Type(params[i], JType::kObject, p)) continue;
        c.Members(params[i], p, {{"key", JType::kString}, {"value", JType::kString}}, true);
      }
    }
    if (Has(docker, "portMappings", JType::kArray)) {
      CheckPortMappings(c, docker["portMappings"], "/container/docker/portMappings");
    }
  }
  if (Has(container, "portMappings", JType::kArray)) {
    CheckPortMappings(c, container["portMappings"], "/container/portMappings");
  }
  if (Has(container, "volumes", JType::kArray)) {
    c.Items(container["volumes"], "/container/volumes", JType::kObject);
  }
}

void CheckHealthCheckTypes(Checker& c, const json& checks) {
  static const std::vector<FieldSpec> kFields = {{"command", JType::kObject},
                                                 {"gracePeriodSeconds", JType::kInteger},
                                                 {"ignoreHttp1xx", JType::kBoolean},
                                                 {"intervalSeconds", JType::kInteger},
                                                 {"maxConsecutiveFailures", JType::kInteger},
                                                 {"path", JType::kString},
                                                 {"port", JType::kInteger},
                                                 {"portIndex", JType::kInteger},
                                                 {"protocol", JType::kString},
                                                 {"ipProtocol", JType::kString},
                                                 {"timeoutSeconds", JType::kInteger},
                                                 {"delaySeconds", JType::kInteger}};
  for (size_t i = 0; i < checks.size(); ++i) {
    std::string p = Checker::Index("/healthChecks", i);
    if (!c.Type(checks[i], JType::kObject, p)) continue;
    c.Members(checks[i], p, kFields, true);
  }
}

void CheckReadinessCheckTypes(Checker& c, const json& checks) {
  static const std::vector<FieldSpec> kFields = {{"name", JType::kString},
                                                 {"protocol", JType::kString},
                                                 {"path", JType::kString},
                                                 {"portName", JType::kString},
                                                 {"intervalSeconds", JType::kInteger},
                                                 {"timeoutSeconds", JType::kInteger},
                                                 {"httpStatusCodesForReady", JType::kArray},
                                                 {"preserveLastResponse", JType::kBoolean}};
  for (size_t i = 0; i < checks.size(); ++i) {
    std::string p = Checker::Index("/readinessChecks", i);
    if (!c.Type(checks[i], JType::kObject, p)) continue;
    c.Members(checks[i], p, kFields, true);
    if (Has(checks[i], "httpStatusCodesForReady", JType::kArray)) {
      c.Items(checks[i]["httpStatusCodesForReady"], p + "/httpStatusCodesForReady",
              JType::kInteger);
    }
  }
}

void CheckAppTypes(Checker& c, const json& app) {
  c.Members(app, "", AppFields(), true);
  for (const char* key : {"args", "acceptedResourceRoles", "uris", "dependencies"}) {
    if (Has(app, key, JType::kArray)) c.Items(app[key], std::string("/") + key, JType::kString);
  }
  if (Has(app, "ports", JType::kArray)) c.Items(app["ports"], "/ports", JType::kInteger);
  if (Has(app, "labels", JType::kObject)) CheckStringMap(c, app["labels"], "/labels");
  if (Has(app, "env", JType::kObject)) {
    for (auto it = app["env"].begin(); it != app["env"].end(); ++it) {
      std::string p = "/env/" + it.key();
      if (it->is_object()) {
        if (!Has(*it, "secret", JType::kString)) c.Type(json(), JType::kString, p + "/secret");
      } else {
        c.Type(*it, JType::kString, p);
      }
    }
  }
  if (Has(app, "secrets", JType::kObject)) {
    for (auto it = app["secrets"].begin(); it != app["secrets"].end(); ++it) {
      std::string p = "/secrets/" + it.key();
      if (c.Type(*it, JType::kObject, p)) {
        c.Members(*it, p, {{"source", JType::kString}}, true);
      }
    }
  }
  if (Has(app, "constraints", JType::kArray)) {
    const json& cs = app["constraints"];
    for (size_t i = 0; i < cs.size(); ++i) {
      std::string p = Checker::Index("/constraints", i);
      if (c.Type(cs[i], JType::kArray, p)) c.Items(cs[i], p, JType::kString);
    }
  }
  if (Has(app, "container", JType::kObject)) CheckContainerTypes(c, app["container"]);
  if (Has(app, "healthChecks", JType::kArray)) CheckHealthCheckTypes(c, app["healthChecks"]);
  if (Has(app, "readinessChecks", JType::kArray)) {
    CheckReadinessCheckTypes(c, app["readinessChecks"]);
  }
  if (Has(app, "portDefinitions", JType::kArray)) {
    const json& pds = app["portDefinitions"];
    for (size_t i = 0; i < pds.size(); ++i) {
      std::string p = Checker::Index("/portDefinitions", i);
      if (!c.Type(pds[i], JType::kObject, p)) continue;
      c.Members(pds[i], p,
                {{"port", JType::kInteger},
                 {"labels", JType::kObject},
                 {"name", JType::kString},
                 {"protocol", JType::kString}},
                true);
      if (Has(pds[i], "labels", JType::kObject)) CheckStringMap(c, pds[i]["labels"], p + "/labels");
    }
  }
  if (Has(app, "fetch", JType::kArray)) {
    const json& fetch = app["fetch"];
    for (size_t i = 0; i < fetch.size(); ++i) {
      std::string p = Checker::Index("/fetch", i);
      if (!c.Type(fetch[i], JType::kObject, p)) continue;
      c.Members(fetch[i], p,
                {{"uri", JType::kString},
                 {"executable", JType::kBoolean},
                 {"extract", JType::kBoolean},
                 {"cache", JType::kBoolean},
                 {"destPath", JType::kString}},
                true);
      if (!fetch[i].contains("uri")) c.type_errors.push_back({p + "/uri", "error.path.missing"});
    }
  }
  if (Has(app, "upgradeStrategy", JType::kObject)) {
    c.Members(app["upgradeStrategy"], "/upgradeStrategy",
              {{"minimumHealthCapacity", JType::kNumber}, {"maximumOverCapacity", JType::kNumber}},
              true);
  }
  if (Has(app, "unreachableStrategy", JType::kObject)) {
    c.Members(app["unreachableStrategy"], "/unreachableStrategy",
              {{"inactiveAfterSeconds", JType::kInteger}, {"expungeAfterSeconds", JType::kInteger}},
              true);
  }
  if (Has(app, "networks", JType::kArray)) {
    const json& nets = app["networks"];
    for (size_t i = 0; i < nets.size(); ++i) {
      std::string p = Checker::Index("/networks", i);
      if (!c.Type(nets[i], JType::kObject, p)) continue;
      c.Members(nets[i], p,
                {{"name", JType::kString}, {"mode", JType::kString}, {"labels", JType::kObject}},
                true);
    }
  }
}

bool HostNetworking(const json& app) {
  auto it = app.find("networks");
  if (it == app.end() || !it->is_array()) return true;
  for (const json& n : *it) {
    if (n.value("mode", "container") != "host") return false;
  }
  return true;
}

bool PortNameValid(const std::string& name) {
  if (name.empty() || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
  });
}

bool ExecutorValid(const std::string& e) {
  if (e.empty() || e == "//cmd") return true;
  // ^/?[^/]+(/[^/]+)*$
  std::string_view s = e;
  if (s.front() == '/') s.remove_prefix(1);
  if (s.empty() || s.back() == '/') return false;
  return s.find("//") == std::string_view::npos && s.front() != '/';
}

void CheckPortMappingRules(Checker& c, const json& mappings, const std::string& path) {
  std::set<std::string> names;
  for (size_t i = 0; i < mappings.size(); ++i) {
    const json& m = mappings[i];
    std::string p = Checker::Index(path, i);
    for (const char* k : {"containerPort", "hostPort", "servicePort"}) {
      if (m.contains(k)) {
        c.AtLeast(m[k], 0, p + "/" + k);
        c.AtMost(m[k], 65535, p + "/" + k);
      }
    }
    if (m.contains("protocol")) c.OneOf(m["protocol"], {"tcp", "udp", "udp,tcp"}, p + "/protocol");
    if (m.contains("name")) {
      std::string n = m["name"].get<std::string>();
      if (!PortNameValid(n))
        c.Invalid(p + "/name", "must fully match regular expression '^[a-z][a-z0-9-]*$'");
      if (!names.insert(n).second) c.Invalid(path, "Port names must be unique.");
    }
  }
}

void CheckAppRules(Checker& c, const json& app) {
  bool has_cmd = app.contains("cmd");
  bool has_args = app.contains("args") && !app["args"].empty();
  if (has_cmd && app["cmd"].get<std::string>().empty()) c.Invalid("/cmd", "must not be empty");
  if (has_cmd && has_args) c.Invalid("/", "must not specify both cmd and args");
  if (!has_cmd && !has_args && !app.contains("container")) {
    c.Invalid("/",
              "AppDefinition must either contain one of 'cmd' or 'args', and/or a "
              "'container'.");
  }
  c.AtLeast(app["instances"], 0, "/instances");
  c.AtLeast(app["cpus"], 0.001, "/cpus");
  c.AtLeast(app["mem"], 0, "/mem");
  c.AtLeast(app["disk"], 0, "/disk");
  c.AtLeast(app["gpus"], 0, "/gpus");
  c.AtLeast(app["backoffSeconds"], 0, "/backoffSeconds");
  c.AtLeast(app["backoffFactor"], 1.0, "/backoffFactor");
  c.AtLeast(app["maxLaunchDelaySeconds"], 0, "/maxLaunchDelaySeconds");
  if (app.contains("taskKillGracePeriodSeconds")) {
    c.AtLeast(app["taskKillGracePeriodSeconds"], 0, "/taskKillGracePeriodSeconds");
  }
  for (const char* k : {"minimumHealthCapacity", "maximumOverCapacity"}) {
    std::string p = std::string("/upgradeStrategy/") + k;
    c.AtLeast(app["upgradeStrategy"][k], 0, p);
    c.AtMost(app["upgradeStrategy"][k], 1, p);
  }
  c.OneOf(app["killSelection"], {"YOUNGEST_FIRST", "OLDEST_FIRST"}, "/killSelection");
  const json& unreachable = app["unreachableStrategy"];
  if (unreachable.is_string()) {
    c.OneOf(unreachable, {"disabled"}, "/unreachableStrategy");
  } else {
    c.AtLeast(unreachable["inactiveAfterSeconds"], 0, "/unreachableStrategy/inactiveAfterSeconds");
    c.AtLeast(unreachable["expungeAfterSeconds"], 0, "/unreachableStrategy/expungeAfterSeconds");
    if (unreachable["expungeAfterSeconds"].get<double>() <
        unreachable["inactiveAfterSeconds"].get<double>()) {
      c.Invalid("/unreachableStrategy/expungeAfterSeconds",
                "must be greater than or equal to inactiveAfterSeconds");
    }
  }
  if (!ExecutorValid(app["executor"].get<std::string>())) {
    c.Invalid("/executor", "must fully match regular expression '^(//cmd)|(/?[^/]+(/[^/]+)*)|$'");
  }
  const json& constraints = app["constraints"];
  for (size_t i = 0; i < constraints.size(); ++i) {
    std::string p = Checker::Index("/constraints", i);
    const json& con = constraints[i];
    if (con.size() < 2 || con.size() > 3) {
      c.Invalid(p, "Each constraint must have either 2 or 3 fields");
      continue;
    }
    c.OneOf(con[1], {"UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS"},
            p + "(1)");
  }
  const json& checks = app["healthChecks"];
  for (size_t i = 0; i < checks.size(); ++i) {
    std::string p = Checker::Index("/healthChecks", i);
    const json& hc = checks[i];
    c.OneOf(hc["protocol"],
            {"HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"},
            p + "/protocol");
    c.OneOf(hc["ipProtocol"], {"IPv4", "IPv6"}, p + "/ipProtocol");
    for (const char* k : {"gracePeriodSeconds", "intervalSeconds", "maxConsecutiveFailures",
                          "timeoutSeconds", "delaySeconds", "portIndex"}) {
      if (hc.contains(k)) c.AtLeast(hc[k], 0, p + "/" + k);
    }
    if (hc.contains("port")) {
      c.AtLeast(hc["port"], 0, p + "/port");
      c.AtMost(hc["port"], 65535, p + "/port");
    }
    if (hc["protocol"] == "COMMAND" && !hc.contains("command")) {
      c.Invalid(p + "/command", "is required for protocol COMMAND");
    }
  }
  const json& readiness = app["readinessChecks"];
  for (size_t i = 0; i < readiness.size(); ++i) {
    std::string p = Checker::Index("/readinessChecks", i);
    c.OneOf(readiness[i]["protocol"], {"HTTP", "HTTPS"}, p + "/protocol");
  }
  if (app.contains("portDefinitions")) {
    const json& pds = app["portDefinitions"];
    if (!pds.empty() && !HostNetworking(app)) {
      c.Invalid("/portDefinitions", "must be empty unless the app uses host networking");
    }
    std::set<std::string> names;
    for (size_t i = 0; i < pds.size(); ++i) {
      std::string p = Checker::Index("/portDefinitions", i);
      c.AtLeast(pds[i]["port"], 0, p + "/port");
      c.AtMost(pds[i]["port"], 65535, p + "/port");
      c.OneOf(pds[i]["protocol"], {"tcp", "udp", "udp,tcp"}, p + "/protocol");
      if (pds[i].contains("name")) {
        std::string n = pds[i]["name"].get<std::string>();
        if (!PortNameValid(n)) {
          c.Invalid(p + "/name", "must fully match regular expression '^[a-z][a-z0-9-]*$'");
        }
        if (!names.insert(n).second) c.Invalid("/portDefinitions", "Port names must be unique.");
      }
    }
  }
  if (app.contains("container")) {
    const json& container = app["container"];
    c.OneOf(container["type"], {"DOCKER", "MESOS"}, "/container/type");
    if (container["type"] == "DOCKER" && !container.contains("docker")) {
      c.Invalid("/container/docker", "must not be empty");
    }
    if (container.contains("docker")) {
      const json& docker = container["docker"];
      if (!docker.contains("image")) {
        c.Invalid("/container/docker/image", "error.path.missing");
      } else if (docker["image"].get<std::string>().empty()) {
        c.Invalid("/container/docker/image", "must not be empty");
      }
    }
    if (container.contains("portMappings")) {
      CheckPortMappingRules(c, container["portMappings"], "/container/portMappings");
    }
  }
  const json& nets = app["networks"];
  for (size_t i = 0; i < nets.size(); ++i) {
    if (nets[i].contains("mode")) {
      c.OneOf(nets[i]["mode"], {"container", "container/bridge", "host"},
              Checker::Index("/networks", i) + "/mode");
    }
  }
}

void SetDefault(json& obj, const char* key, json value) {
  if (!obj.contains(key)) obj[key] = std::move(value);
}

void Normalize(json& app, Checker& c) {
  const std::string id = app["id"].get<std::string>();
  app.erase("version");
  app.erase("versionInfo");
  SetDefault(app, "backoffFactor", 1.15);
  SetDefault(app, "backoffSeconds", 1);
  SetDefault(app, "constraints", json::array());
  SetDefault(app, "cpus", 1);
  SetDefault(app, "dependencies", json::array());
  SetDefault(app, "disk", 0);
  SetDefault(app, "env", json::object());
  SetDefault(app, "executor", "");
  SetDefault(app, "gpus", 0);
  SetDefault(app, "healthChecks", json::array());
  SetDefault(app, "instances", 1);
  SetDefault(app, "killSelection", "YOUNGEST_FIRST");
  SetDefault(app, "labels", json::object());
  SetDefault(app, "maxLaunchDelaySeconds", 300);
  SetDefault(app, "mem", 128);
  SetDefault(app, "readinessChecks", json::array());
  SetDefault(app, "requirePorts", false);
  SetDefault(app, "unreachableStrategy", json::object());
  SetDefault(app, "upgradeStrategy", json::object());
  if (app["unreachableStrategy"].is_object()) {
    SetDefault(app["unreachableStrategy"], "inactiveAfterSeconds", 0);
    SetDefault(app["unreachableStrategy"], "expungeAfterSeconds", 0);
  }
  SetDefault(app["upgradeStrategy"], "minimumHealthCapacity", 1);
  SetDefault(app["upgradeStrategy"], "maximumOverCapacity", 1);
  if (app.contains("args") && app["args"].empty()) app.erase("args");
  if (app.contains("secrets") && app["secrets"].empty()) app.erase("secrets");

  // Dependencies are relative to the app's group.
  json& deps = app["dependencies"];
  for (size_t i = 0; i < deps.size(); ++i) {
    auto resolved = ResolvePath(deps[i].get<std::string>(), ParentOf(id));
    if (!resolved || *resolved == "/") {
      c.Invalid(Checker::Index("/dependencies", i), kIdPatternMessage);
    } else {
      deps[i] = *resolved;
    }
  }

  // uris -> fetch
  if (app.contains("uris")) {
    json fetch = json::array();
    for (const json& u : app["uris"]) fetch.push_back({{"uri", u}});
    app["fetch"] = fetch;
    app.erase("uris");
  }
  SetDefault(app, "fetch", json::array());
  for (json& f : app["fetch"]) {
    SetDefault(f, "extract", true);
    SetDefault(f, "executable", false);
    SetDefault(f, "cache", false);
  }

  // Container and the deprecated docker networking members.
  if (app.contains("container")) {
    json& container = app["container"];
    SetDefault(container, "type", "DOCKER");
    SetDefault(container, "volumes", json::array());
    if (container.contains("docker")) {
      json& docker = container["docker"];
      SetDefault(docker, "forcePullImage", false);
      SetDefault(docker, "privileged", false);
      SetDefault(docker, "parameters", json::array());
      if (docker.contains("network")) {
        std::string mode = docker["network"].get<std::string>();
        if (!app.contains("networks")) {
          if (mode == "BRIDGE") app["networks"] = json::array({{{"mode", "container/bridge"}}});
          if (mode == "USER") app["networks"] = json::array({{{"mode", "container"}}});
          if (mode == "HOST") app["networks"] = json::array({{{"mode", "host"}}});
        }
        docker.erase("network");
      }
      if (docker.contains("portMappings")) {
        if (!container.contains("portMappings")) container["portMappings"] = docker["portMappings"];
        docker.erase("portMappings");
      }
    }
  }
  if (!app.contains("networks") || app["networks"].empty()) {
    app["networks"] = json::array({{{"mode", "host"}}});
  }
  for (json& n : app["networks"]) SetDefault(n, "mode", "container");

  // Ports.
  if (HostNetworking(app)) {
    if (app.contains("ports")) {
      json pds = json::array();
      for (const json& p : app["ports"]) pds.push_back({{"port", p}, {"protocol", "tcp"}});
      app["portDefinitions"] = pds;
      app.erase("ports");
    }
    SetDefault(app, "portDefinitions", json::array({{{"port", 0}, {"protocol", "tcp"}}}));
    for (json& pd : app["portDefinitions"]) {
      SetDefault(pd, "port", 0);
      SetDefault(pd, "protocol", "tcp");
    }
  } else {
    app.erase("ports");
    SetDefault(app, "portDefinitions", json::array());
    bool bridge = false;
    for (const json& n : app["networks"]) bridge = bridge || n["mode"] == "container/bridge";
    if (!app.contains("container")) {
      app["container"] = {{"type", "MESOS"}, {"volumes", json::array()}};
    }
    json& container = app["container"];
    if (!container.contains("portMappings")) {
      json m = {{"containerPort", 0}, {"protocol", "tcp"}, {"servicePort", 0}};
      if (bridge) m["hostPort"] = 0;
      container["portMappings"] = json::array({m});
    }
    for (json& m : container["portMappings"]) {
      SetDefault(m, "containerPort", 0);
      SetDefault(m, "protocol", "tcp");
      SetDefault(m, "servicePort", 0);
      if (bridge) SetDefault(m, "hostPort", 0);
    }
  }

  for (json& hc : app["healthChecks"]) {
    SetDefault(hc, "gracePeriodSeconds", 300);
    SetDefault(hc, "intervalSeconds", 60);
    SetDefault(hc, "maxConsecutiveFailures", 3);
    SetDefault(hc, "timeoutSeconds", 20);
    SetDefault(hc, "delaySeconds", 15);
    SetDefault(hc, "protocol", "HTTP");
    SetDefault(hc, "ipProtocol", "IPv4");
  }
  for (json& rc : app["readinessChecks"]) {
    SetDefault(rc, "name", "readinessCheck");
    SetDefault(rc, "protocol", "HTTP");
    SetDefault(rc, "path", "/");
    SetDefault(rc, "portName", "http-api");
    SetDefault(rc, "intervalSeconds", 30);
    SetDefault(rc, "timeoutSeconds", 10);
    SetDefault(rc, "httpStatusCodesForReady", json::array({200}));
    SetDefault(rc, "preserveLastResponse", false);
  }
}

json ConfigOf(const json& def) {
  json c = def;
  c.erase("instances");
  c.erase("version");
  c.erase("versionInfo");
  return c;
}

}  // namespace emulator_detail

}  // namespace converge::marathon
