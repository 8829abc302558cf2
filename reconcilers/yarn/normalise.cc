#include "reconcilers/yarn/normalise.h"

#include <algorithm>

#include "reconcilers/common/json_diff.h"

namespace converge::yarn {
namespace {

bool IsConvergeProperty(const std::string& key) {
  return key == kManagedByProperty || key.rfind("converge/", 0) == 0;
}

bool IsEmpty(const json& v) {
  return v.is_null() || ((v.is_object() || v.is_array()) && v.empty());
}

// Drops null members and empty collections, depth first (YARN answers with
// "configuration": {"properties": {}, "env": {}, "files": []} for a spec that had none).
void DropEmpty(json& v) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end();) {
      DropEmpty(*it);
      it = IsEmpty(*it) ? v.erase(it) : std::next(it);
    }
  } else if (v.is_array()) {
    for (auto& e : v) DropEmpty(e);
  }
}

const json_diff::Options& DiffOptions() {
  static const json_diff::Options kOptions = [] {
    json_diff::Options o;
    o.subset = true;
    o.empty_is_absent = true;
    o.array_key = [](const std::string& member) -> std::string {
      if (member == "components") return "name";
      if (member == "files") return "dest_file";
      return "";
    };
    return o;
  }();
  return kOptions;
}

bool IsCountPath(const std::string& path) {
  static const std::string kSuffix = "].number_of_containers";
  return path.rfind("components[", 0) == 0 && path.size() > kSuffix.size() &&
         path.compare(path.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
}

std::string Dump(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Short(const json& v) {
  std::string s = v.is_null() ? "(unset)" : Dump(v);
  if (s.size() <= 40) return s;
  size_t cut = 40;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "…";
}

std::string Reason(const std::vector<FieldChange>& fields) {
  const FieldChange& f = fields.front();
  if (fields.size() == 1)
    return f.before.is_primitive() && f.after.is_primitive()
               ? f.path + " " + Short(f.before) + " → " + Short(f.after)
               : f.path + " changed";
  size_t others = fields.size() - 1;
  return f.path + " and " + std::to_string(others) + " other field" + (others == 1 ? "" : "s") +
         " changed";
}

}  // namespace

std::string Property(const json& service, const std::string& key) {
  if (!service.is_object()) return "";
  auto c = service.find("configuration");
  if (c == service.end() || !c->is_object()) return "";
  auto p = c->find("properties");
  if (p == c->end() || !p->is_object()) return "";
  auto v = p->find(key);
  return v != p->end() && v->is_string() ? v->get<std::string>() : "";
}

void SetProperty(json& service, const std::string& key, const std::string& value) {
  if (!service.contains("configuration") || !service["configuration"].is_object())
    service["configuration"] = json::object();
  json& c = service["configuration"];
  if (!c.contains("properties") || !c["properties"].is_object()) c["properties"] = json::object();
  c["properties"][key] = value;
}

std::string RunState(const json& service) {
  std::string s = service.is_object() ? service.value("state", "") : "";
  return s == "STOPPED" || s == "FAILED" || s == "SUCCEEDED" ? "STOPPED" : "STARTED";
}

json ServiceDefinition(const json& live) {
  if (!live.is_object()) return live;
  json def = live;
  for (const char* m : {"id", "launch_time", "number_of_running_containers"}) def.erase(m);
  def["state"] = RunState(live);
  if (auto l = def.find("lifetime"); l != def.end() && l->is_number() && l->get<double>() <= 0)
    def.erase(l);  // -1: unlimited, what a spec says by leaving lifetime out
  if (auto comps = def.find("components"); comps != def.end() && comps->is_array()) {
    for (json& c : *comps) {
      if (!c.is_object()) continue;
      c.erase("containers");
      c.erase("state");
    }
  }
  DropEmpty(def);
  return def;
}

json ForDiff(const json& service) {
  if (!service.is_object()) return service;
  json d = service;
  d.erase("state");
  if (auto c = d.find("configuration"); c != d.end() && c->is_object()) {
    if (auto p = c->find("properties"); p != c->end() && p->is_object()) {
      for (auto it = p->begin(); it != p->end();)
        it = IsConvergeProperty(it.key()) ? p->erase(it) : std::next(it);
      if (p->empty()) c->erase(p);
    }
    if (c->empty()) d.erase(c);
  }
  return d;
}

ServiceChange Classify(const json& desired, const json& live, const json& last_applied) {
  ServiceChange c;
  json def = ServiceDefinition(live);
  c.fields = json_diff::Diff(ForDiff(desired), ForDiff(def), ForDiff(last_applied), DiffOptions());
  c.want_state = RunState(desired);
  c.have_state = RunState(def);
  if (c.fields.empty()) return c;
  c.scale_only = std::all_of(c.fields.begin(), c.fields.end(),
                             [](const FieldChange& f) { return IsCountPath(f.path); });
  if (c.scale_only) {
    for (const json& comp : desired.value("components", json::array()))
      if (comp.is_object() && comp.contains("name") && comp["name"].is_string() &&
          comp.contains("number_of_containers") && comp["number_of_containers"].is_number())
        c.counts[comp["name"]] = comp["number_of_containers"].get<long>();
  }
  c.lifetime_only = std::all_of(c.fields.begin(), c.fields.end(), [](const FieldChange& f) {
    return f.path == "lifetime" && f.after.is_number() && f.after.get<double>() > 0;
  });
  return c;
}

DiffResult DiffService(const json& desired, const json& live, const json& last_applied,
                       bool upgrade_enabled) {
  DiffResult r;
  if (desired.is_null() && live.is_null()) {
    r.reason = "up to date";
    return r;
  }
  if (desired.is_null()) {
    r.action = Action::kDelete;
    r.reason = "service is not in any spec";
    return r;
  }
  if (live.is_null()) {
    r.action = Action::kCreate;
    r.fields = json_diff::Leaves(ForDiff(desired), DiffOptions());
    r.reason = RunState(desired) == "STOPPED" ? "service does not exist (saved stopped)"
                                              : "service does not exist";
    return r;
  }
  ServiceChange c = Classify(desired, live, last_applied);
  if (c.empty()) {
    r.reason = "up to date";
    return r;
  }
  r.fields = c.fields;
  const bool state_change = c.want_state != c.have_state;
  if (state_change) {
    r.fields.push_back(FieldChange{"state", c.have_state, c.want_state});
    std::sort(r.fields.begin(), r.fields.end(),
              [](const FieldChange& a, const FieldChange& b) { return a.path < b.path; });
  }
  if (c.fields.empty()) {  // start or stop only
    r.action = Action::kUpdate;
    r.reason = c.want_state == "STOPPED" ? "stop the service" : "start the service";
    return r;
  }
  if (c.scale_only && !state_change) {
    r.action = Action::kScale;
    r.reason = Reason(c.fields);
    return r;
  }
  if (c.lifetime_only && !state_change) {
    r.action = Action::kUpdate;
    r.reason = Reason(c.fields);
    return r;
  }
  // Anything else changes what the containers run: YARN's upgrade, or a replace.
  std::string why_not_upgrade;
  if (!upgrade_enabled) {
    why_not_upgrade =
        "the Backend says the ResourceManager does not allow upgrades "
        "(upgrade: disabled, yarn.service.upgrade.enabled=false)";
  } else if (c.have_state == "STOPPED" || c.want_state == "STOPPED") {
    why_not_upgrade = "YARN upgrades only a running service, and this one " +
                      std::string(c.have_state == "STOPPED" ? "is" : "is to be") + " stopped";
  }
  if (why_not_upgrade.empty()) {
    if (desired.value("version", "") == ServiceDefinition(live).value("version", "")) {
      r.error = "YarnService " + desired.value("name", "") + ": " + Reason(c.fields) +
                ", which YARN applies by an upgrade, and an upgrade needs a new version: change "
                "spec.version (now " +
                desired.value("version", "") + ")";
      return r;
    }
    r.action = Action::kUpdate;
    r.reason = "upgrade to version " + desired.value("version", "") + ": " + Reason(c.fields);
    return r;
  }
  if (Property(desired, kAllowReplaceProperty) == "true") {
    r.action = Action::kReplace;
    r.reason =
        "replace (stop, destroy, create) because " + why_not_upgrade + ": " + Reason(c.fields);
    return r;
  }
  r.error = "YarnService " + desired.value("name", "") + ": " + Reason(c.fields) +
            "; that needs an upgrade, but " + why_not_upgrade +
            "; add the annotation converge/allowReplace: \"true\" to stop, destroy and re-create "
            "the service instead (its containers restart)";
  return r;
}

}  // namespace converge::yarn
