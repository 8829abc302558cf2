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
#include <regex>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include "reconcilers/common/base64.h"
#include "reconcilers/common/emulator/mount.h"
#include "reconcilers/marathon/emulator_internal.h"
#include "reconcilers/marathon/validate.h"
#include "specs/base/clock.h"

namespace converge::marathon {
namespace emulator_detail {
namespace {

// ----- the schema's violations in Marathon's words ---------------------------------------------

constexpr size_t kMaxKeyForRegex = 256;

// A schema node with local $refs ("#/definitions/x") resolved.
const json& Deref(const json& node) {
  const json* n = &node;
  for (int guard = 0; guard < 16 && n->is_object() && n->contains("$ref"); ++guard) {
    const std::string ref = (*n)["$ref"].get<std::string>();
    if (ref.rfind("#", 0) != 0) break;
    const json::json_pointer ptr(ref.substr(1));
    if (!AppSchema().schema().contains(ptr)) break;
    n = &AppSchema().schema()[ptr];
  }
  return *n;
}

std::vector<std::string> DeclaredTypes(const json& node) {
  std::vector<std::string> out;
  auto it = node.find("type");
  if (it == node.end()) return out;
  if (it->is_string()) out.push_back(it->get<std::string>());
  if (it->is_array()) {
    for (const json& t : *it) out.push_back(t.get<std::string>());
  }
  return out;
}

bool HasJsonType(const json& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_number_integer()) return true;
    if (!v.is_number_float()) return false;
    const double d = v.get<double>();
    return std::isfinite(d) && std::floor(d) == d;
  }
  if (type == "boolean") return v.is_boolean();
  if (type == "array") return v.is_array();
  if (type == "object") return v.is_object();
  if (type == "null") return v.is_null();
  return true;
}

// Every type `node` (or, for oneOf / anyOf, its branches) declares; empty = any.
std::vector<std::string> AcceptedTypes(const json& node) {
  std::vector<std::string> types = DeclaredTypes(node);
  for (const char* k : {"oneOf", "anyOf"}) {
    if (!types.empty() || !node.contains(k)) continue;
    for (const json& b : node[k]) {
      std::vector<std::string> bt = DeclaredTypes(Deref(b));
      if (bt.empty()) return {};
      types.insert(types.end(), bt.begin(), bt.end());
    }
  }
  return types;
}

bool TypeAccepted(const json& node, const json& v) {
  std::vector<std::string> types = AcceptedTypes(node);
  return types.empty() || std::any_of(types.begin(), types.end(),
                                      [&](const std::string& t) { return HasJsonType(v, t); });
}

// The Play JSON reader's error for a value of the wrong type.
std::string ExpectedError(const json& node, const json& v) {
  std::vector<std::string> types = AcceptedTypes(node);
  std::string t = types.empty() ? "value" : types.front();
  if (std::find(types.begin(), types.end(), "object") != types.end()) t = "object";
  if (t == "integer") return v.is_number() ? "error.expected.int" : "error.expected.jsnumber";
  return "error.expected.js" + t;
}

// For walking into an instance: the branch of a oneOf / anyOf that takes `v`'s type.
const json& Branch(const json& node, const json& v) {
  for (const char* k : {"oneOf", "anyOf"}) {
    if (!node.contains(k)) continue;
    for (const json& b : node[k]) {
      if (TypeAccepted(Deref(b), v)) return Deref(b);
    }
  }
  return node;
}

// The schema of member `key` of an object `node`; nullptr when the object does not declare it.
const json* MemberSchema(const json& node, const std::string& key) {
  if (node.contains("properties") && node["properties"].contains(key)) {
    return &Deref(node["properties"][key]);
  }
  if (node.contains("patternProperties")) {
    for (const auto& [pattern, sub] : node["patternProperties"].items()) {
      // std::regex backtracks; the schema's member-name patterns are short and a key this long
      // is taken to match (the validator, which matches in linear time, has judged it already).
      if (key.size() > kMaxKeyForRegex) return &Deref(sub);
      try {
        if (std::regex_search(key, std::regex(pattern))) return &Deref(sub);
      } catch (const std::regex_error&) {
        return &Deref(sub);
      }
    }
  }
  auto extra = node.find("additionalProperties");
  if (extra != node.end() && extra->is_object()) return &Deref(*extra);
  if (extra != node.end() && extra->is_boolean() && !extra->get<bool>()) return nullptr;
  static const json kAny = json::object();
  return &kAny;
}

const json* ItemSchema(const json& node, size_t index) {
  static const json kAny = json::object();
  auto items = node.find("items");
  if (items == node.end()) return &kAny;
  if (items->is_object()) return &Deref(*items);
  if (items->is_array() && index < items->size()) return &Deref((*items)[index]);
  auto extra = node.find("additionalItems");
  if (extra != node.end() && extra->is_object()) return &Deref(*extra);
  return &kAny;
}

// True if `v` matches a "not" made of required members only (the root's "cmd and args"): that
// violation is Marathon's own rule, answered by CheckAppRules in its words.
bool MatchesRequired(const json& node, const json& v) {
  if (!v.is_object()) return false;
  bool any = false;
  if (node.contains("required")) {
    for (const json& name : node["required"]) {
      if (!v.contains(name.get<std::string>())) return false;
    }
    any = true;
  }
  if (node.contains("allOf")) {
    for (const json& b : node["allOf"]) {
      if (!MatchesRequired(Deref(b), v)) return false;
    }
    any = true;
  }
  return any;
}

std::string NumberText(const json& v) {
  return v.is_number() ? FormatNumber(v.get<double>()) : v.dump();
}

// What Marathon says about `v` against the keywords of `node` besides type and members.
std::vector<std::string> KeywordErrors(const json& node, const json& v) {
  std::vector<std::string> out;
  if (node.contains("enum") &&
      std::find(node["enum"].begin(), node["enum"].end(), v) == node["enum"].end()) {
    std::string list;
    for (const json& e : node["enum"])
      list += (list.empty() ? "" : ", ") + (e.is_string() ? e.get<std::string>() : e.dump());
    out.push_back("is not one of (" + list + ")");
  }
  if (v.is_number() && node.contains("minimum")) {
    const bool excl = node.value("exclusiveMinimum", false);
    const double min = node["minimum"].get<double>();
    if (v.get<double>() < min || (excl && v.get<double>() == min)) {
      out.push_back("is less than " + std::string(excl ? "or equal to " : "") +
                    NumberText(node["minimum"]));
    }
  }
  if (v.is_number() && node.contains("maximum")) {
    const bool excl = node.value("exclusiveMaximum", false);
    const double max = node["maximum"].get<double>();
    if (v.get<double>() > max || (excl && v.get<double>() == max)) {
      out.push_back("is greater than " + std::string(excl ? "or equal to " : "") +
                    NumberText(node["maximum"]));
    }
  }
  if (v.is_string() && node.contains("minLength") && v.get<std::string>().empty()) {
    out.push_back("must not be empty");
  }
  return out;
}

// One schema violation at JSON pointer `pointer` of `app`, in Marathon's words; `fallback` is
// the schema validator's own message, used when no keyword explains it.
void Explain(Checker& c, const json& app, const std::string& pointer, const std::string& fallback) {
  const json* node = &Deref(AppSchema().schema());
  const json* value = &app;
  std::string path;  // Marathon's: "/container/portMappings(0)/name"
  size_t pos = 0;
  while (pos < pointer.size()) {
    size_t next = pointer.find('/', pos + 1);
    if (next == std::string::npos) next = pointer.size();
    std::string token = pointer.substr(pos + 1, next - pos - 1);
    pos = next;
    for (size_t k; (k = token.find("~1")) != std::string::npos;) token.replace(k, 2, "/");
    for (size_t k; (k = token.find("~0")) != std::string::npos;) token.replace(k, 2, "~");
    if (node->contains("not") && MatchesRequired(Deref((*node)["not"]), *value)) return;
    node = &Branch(*node, *value);
    if (value->is_array()) {
      size_t index = std::strtoul(token.c_str(), nullptr, 10);
      if (index >= value->size()) break;
      node = ItemSchema(*node, index);
      value = &(*value)[index];
      path = Checker::Index(path, index);
      continue;
    }
    if (!value->is_object()) break;
    const json* member = MemberSchema(*node, token);
    if (!value->contains(token)) {  // a missing required member
      c.type_errors.push_back({path + "/" + token, "error.path.missing"});
      return;
    }
    if (member == nullptr) {  // an undeclared member
      c.Invalid(path, kNotAllowedPrefix + json::array({token}).dump());
      return;
    }
    node = member;
    value = &(*value)[token];
    path += "/" + token;
  }
  if (node->contains("not") && MatchesRequired(Deref((*node)["not"]), *value)) return;
  if (!TypeAccepted(*node, *value)) {
    c.type_errors.push_back({path.empty() ? "/" : path, ExpectedError(*node, *value)});
    return;
  }
  node = &Branch(*node, *value);
  if (value->is_object()) {
    std::vector<std::string> unknown;
    for (const auto& [key, member] : value->items()) {
      if (MemberSchema(*node, key) == nullptr) unknown.push_back(key);
    }
    if (!unknown.empty()) {
      c.Invalid(path, kNotAllowedPrefix + json(unknown).dump());
      return;
    }
    bool missing = false;
    for (const json& name : node->value("required", json::array())) {
      if (!value->contains(name.get<std::string>())) {
        c.type_errors.push_back({path + "/" + name.get<std::string>(), "error.path.missing"});
        missing = true;
      }
    }
    if (missing) return;
  }
  std::vector<std::string> errors = KeywordErrors(*node, *value);
  // Left: a pattern (not matched again here: the validator matches in linear time) or a keyword
  // Marathon has no words for.
  if (errors.empty() && value->is_string() && node->contains("pattern")) {
    errors.push_back("must fully match regular expression '" +
                     (*node)["pattern"].get<std::string>() + "'");
  }
  if (errors.empty()) errors.push_back(fallback);
  for (std::string& e : errors) c.Invalid(path, std::move(e));
}

void Dedupe(std::vector<Violation>& list) {
  std::set<std::pair<std::string, std::string>> seen;
  std::vector<Violation> out;
  for (Violation& v : list) {
    if (seen.insert({v.path, v.error}).second) out.push_back(std::move(v));
  }
  list = std::move(out);
}

}  // namespace

void CheckAppSchema(Checker& c, const json& app) {
  for (const SchemaViolation& v : AppSchema().Validate(app)) Explain(c, app, v.path, v.message);
  Dedupe(c.type_errors);
  Dedupe(c.invalid);
}

bool IsAppInfoOnly(const std::string& key) {
  static const std::set<std::string> kKeys = {
      "tasksStaged", "tasksRunning", "tasksHealthy",    "tasksUnhealthy",       "deployments",
      "tasks",       "tasksStats",   "lastTaskFailure", "readinessCheckResults"};
  return kKeys.count(key) > 0;
}

bool HostNetworking(const json& app) {
  auto it = app.find("networks");
  if (it == app.end() || !it->is_array()) return true;
  for (const json& n : *it) {
    if (n.value("mode", "container") != "host") return false;
  }
  return true;
}

// Marathon's own rules (AppDefinition validators in Marathon's code) that a JSON Schema cannot
// say; ranges, enums and patterns are the schema's.
void CheckAppRules(Checker& c, const json& app) {
  const bool has_cmd = app.contains("cmd");
  const bool has_args = app.contains("args") && !app["args"].empty();
  if (has_cmd && has_args) c.Invalid("/", "must not specify both cmd and args");
  if (!has_cmd && !has_args && !app.contains("container")) {
    c.Invalid("/",
              "AppDefinition must either contain one of 'cmd' or 'args', and/or a "
              "'container'.");
  }
  const json& unreachable = app["unreachableStrategy"];
  if (unreachable.is_object() && unreachable["expungeAfterSeconds"].get<double>() <
                                     unreachable["inactiveAfterSeconds"].get<double>()) {
    c.Invalid("/unreachableStrategy/expungeAfterSeconds",
              "must be greater than or equal to inactiveAfterSeconds");
  }
  const json& checks = app["healthChecks"];
  for (size_t i = 0; i < checks.size(); ++i) {
    if (checks[i]["protocol"] == "COMMAND" && !checks[i].contains("command")) {
      c.Invalid(Checker::Index("/healthChecks", i) + "/command",
                "is required for protocol COMMAND");
    }
  }
  auto unique_names = [&c](const json& ports, const std::string& path) {
    std::set<std::string> names;
    for (const json& p : ports) {
      if (p.contains("name") && p["name"].is_string() && !names.insert(p["name"]).second) {
        c.Invalid(path, "Port names must be unique.");
      }
    }
  };
  if (app.contains("portDefinitions")) {
    if (!app["portDefinitions"].empty() && !HostNetworking(app)) {
      c.Invalid("/portDefinitions", "must be empty unless the app uses host networking");
    }
    unique_names(app["portDefinitions"], "/portDefinitions");
  }
  if (app.contains("container")) {
    const json& container = app["container"];
    if (container["type"] == "DOCKER" && !container.contains("docker")) {
      c.Invalid("/container/docker", "must not be empty");
    }
    if (container.contains("portMappings")) {
      unique_names(container["portMappings"], "/container/portMappings");
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
