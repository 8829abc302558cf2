#include "reconcilers/marathon/diff.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "reconcilers/common/json_diff.h"

namespace converge::marathon {
namespace {

std::string Dump(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A desired 0 for these means "Marathon assigns a port"; `ports` is the deprecated array of them.
bool IsAssignedPort(const std::string& member, const json& desired) {
  return (member == "servicePort" || member == "port" || member == "hostPort" ||
          member == "containerPort" || member == "ports") &&
         desired.is_number() && desired.get<double>() == 0.0;
}

const json& Defaults();

// Marathon's diff rules as options of the shared engine: subset semantics, Marathon's defaults,
// empty collections omitted (the RAML "omitEmpty" pragma) and null for unset members, assigned
// ports. Arrays match by index: order is meaning in Marathon (healthChecks' portIndex,
// portMappings' order).
const json_diff::Options& DiffOptions() {
  static const json_diff::Options kOptions = [] {
    json_diff::Options o;
    o.subset = true;
    o.empty_is_absent = true;
    o.defaults = Defaults();
    o.matches_any = IsAssignedPort;
    return o;
  }();
  return kOptions;
}

// A short rendering of a value for the reason line.
std::string Short(const json& v) {
  std::string s = Dump(v);
  constexpr size_t kMax = 40;
  if (s.size() <= kMax) return s;
  size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return s.substr(0, cut) + "…";
}

// "instances 2 → 4", "cpus 1 → 2", "image and 2 other fields changed".
std::string Reason(const std::vector<FieldChange>& changes) {
  const FieldChange& first = changes.front();
  if (changes.size() == 1) {
    if (first.before.is_primitive() && first.after.is_primitive()) {
      return first.path + " " + Short(first.before) + " → " + Short(first.after);
    }
    return first.path + " changed";
  }
  // The image is what people look for first in a plan.
  auto image = std::find_if(changes.begin(), changes.end(),
                            [](const auto& c) { return c.path == "container.docker.image"; });
  std::string headline = image != changes.end() ? "image" : first.path;
  size_t others = changes.size() - 1;
  return headline + " and " + std::to_string(others) + " other field" + (others == 1 ? "" : "s") +
         " changed";
}

DiffResult Finish(Action changed_action, std::vector<FieldChange> changes) {
  DiffResult r;
  if (changes.empty()) {
    r.reason = "up to date";
    return r;
  }
  r.action = changed_action;
  r.reason = Reason(changes);
  r.fields = std::move(changes);
  return r;
}

const json& Defaults() {
  static const json kDefaults = json::parse(R"json({
    "acceptedResourceRoles": null,
    "args": [],
    "backoffFactor": 1.15,
    "backoffSeconds": 1,
    "constraints": [],
    "cpus": 1,
    "dependencies": [],
    "disk": 0,
    "env": {},
    "executor": "",
    "fetch": [],
    "gpus": 0,
    "healthChecks": [],
    "instances": 1,
    "killSelection": "YOUNGEST_FIRST",
    "labels": {},
    "maxLaunchDelaySeconds": 300,
    "mem": 128,
    "readinessChecks": [],
    "requirePorts": false,
    "secrets": {},
    "unreachableStrategy": {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
    "upgradeStrategy": {"minimumHealthCapacity": 1, "maximumOverCapacity": 1},
    "uris": []
  })json");
  return kDefaults;
}

}  // namespace

json AppDefinition(const json& live_app_info) {
  static const char* const kServerPopulated[] = {
      "version",      "versionInfo",     "tasksStaged", "tasksRunning",
      "tasksHealthy", "tasksUnhealthy",  "deployments", "readinessCheckResults",
      "tasks",        "lastTaskFailure", "tasksStats",  "taskStats",
      "counts"};
  if (!live_app_info.is_object()) return live_app_info;
  json def = live_app_info;
  for (const char* member : kServerPopulated) def.erase(member);
  for (auto it = def.begin(); it != def.end();) {
    it = it->is_null() ? def.erase(it) : std::next(it);
  }
  return def;
}

json AppDefault(const std::string& member) {
  auto it = Defaults().find(member);
  return it == Defaults().end() ? json() : *it;
}

DiffResult DiffApp(const json& desired, const json& live, const json& last_applied) {
  if (desired.is_null() && live.is_null()) return Finish(Action::kNoop, {});
  if (desired.is_null()) {
    DiffResult r;
    r.action = Action::kDelete;
    r.reason = "app is not in any spec";
    return r;
  }
  if (live.is_null()) {
    DiffResult r = Finish(Action::kCreate, json_diff::Leaves(desired, DiffOptions()));
    r.action = Action::kCreate;
    r.reason = "app does not exist";
    return r;
  }
  // Live leaving a member out means Marathon's default; before still shows what live says.
  std::vector<FieldChange> changes =
      json_diff::Diff(desired, live, desired.is_object() ? last_applied : json(), DiffOptions());
  // A scale is a change of `instances` alone (PUT {"instances": N}, no new deployment config).
  bool only_instances =
      !changes.empty() && std::all_of(changes.begin(), changes.end(),
                                      [](const FieldChange& c) { return c.path == "instances"; });
  return Finish(only_instances ? Action::kScale : Action::kUpdate, std::move(changes));
}

}  // namespace converge::marathon
