// Marathon emulator: the /v2/apps handlers.
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

Reply Emulator::Impl::ListApps(const httplib::Request& req, SteadyTime now) {
  std::string id_filter = QueryParam(req, "id").value_or("");
  std::string cmd_filter = QueryParam(req, "cmd").value_or("");
  std::vector<LabelSelector> selectors;
  if (auto label = QueryParam(req, "label")) {
    auto parsed = ParseLabelQuery(*label);
    if (!parsed) return MessageReply(400, "Invalid label selector: " + *label);
    selectors = std::move(*parsed);
  }
  Embed embed = ParseEmbed(req);
  Reply r;
  r.body = "{\"apps\":[";
  r.body.reserve(apps.size() * 1200 + 16);
  bool first = true;
  for (auto& [id, app] : apps) {
    if (!id_filter.empty() && id.find(id_filter) == std::string::npos) continue;
    if (!cmd_filter.empty()) {
      auto cmd = app.def.find("cmd");
      if (cmd == app.def.end() || cmd->get<std::string>().find(cmd_filter) == std::string::npos) {
        continue;
      }
    }
    const json& labels = app.def["labels"];
    bool matches = std::all_of(selectors.begin(), selectors.end(),
                               [&](const LabelSelector& s) { return s.Matches(labels); });
    if (!matches) continue;
    if (!first) r.body += ',';
    first = false;
    AppendAppInfo(r.body, id, app, embed, now);
  }
  r.body += "]}";
  return r;
}

Reply Emulator::Impl::GetApp(const std::string& id, const httplib::Request& req, SteadyTime now) {
  auto it = apps.find(id);
  if (it == apps.end()) return AppNotFound(id);
  Embed embed = ParseEmbed(req);
  embed.tasks = embed.last_task_failure = true;  // always embedded for compatibility
  Reply r;
  r.body = "{\"app\":";
  AppendAppInfo(r.body, id, it->second, embed, now);
  r.body += "}";
  return r;
}

Reply Emulator::Impl::CreateApp(const json& body, SteadyTime now, bool* mutated) {
  Prepared p = Prepare(body, "", nullptr, false);
  if (p.error) return *p.error;
  std::string id = p.def["id"].get<std::string>();
  if (apps.count(id) > 0) {
    return MessageReply(409, "An app with id [" + id + "] already exists.");
  }
  std::string version = NextVersion();
  AppChange change = ApplyDefinition(id, std::move(p.def), version, now);
  std::string deployment = StartDeployment({change}, version, now);
  *mutated = true;
  Reply r;
  r.status = 201;
  Embed embed;
  AppendAppInfo(r.body, id, apps[id], embed, now);
  r.headers.emplace_back("Location", id);
  r.headers.emplace_back("Marathon-Deployment-Id", deployment);
  return r;
}

Reply Emulator::Impl::UpdateApp(const std::string& id, const json& body, bool partial, bool force,
                                bool create_allowed, SteadyTime now, bool* mutated) {
  auto existing = apps.find(id);
  if (existing == apps.end() && !create_allowed) return AppNotFound(id);
  // {"version": "..."} rolls the app back to that version.
  if (existing != apps.end() && body.is_object() && body.contains("version") &&
      body["version"].is_string() &&
      (body.size() == 1 || (body.size() == 2 && body.contains("id")))) {
    const std::string wanted = body["version"].get<std::string>();
    const HistoryEntry* found = nullptr;
    for (const HistoryEntry& v : existing->second.history) {
      if (v.version == wanted) found = &v;
    }
    if (found == nullptr) {
      return MessageReply(404, "App '" + id + "' does not exist in version " + wanted);
    }
    if (auto locked = CheckLocks({id}, force)) return *locked;
    json def = json::parse(found->dump);
    def.erase("version");
    def.erase("versionInfo");
    std::string version = NextVersion();
    AppChange change = ApplyDefinition(id, std::move(def), version, now);
    std::string deployment = StartDeployment({change}, version, now);
    *mutated = true;
    return DeploymentResultReply(200, deployment, version);
  }
  const json* current = existing == apps.end() ? nullptr : &existing->second.def;
  Prepared p = Prepare(body, id, current, partial);
  if (p.error) return *p.error;
  if (auto locked = CheckLocks({id}, force)) return *locked;
  bool created = apps.count(id) == 0;
  std::string version = NextVersion();
  AppChange change = ApplyDefinition(id, std::move(p.def), version, now);
  std::string deployment = StartDeployment({change}, version, now);
  *mutated = true;
  Reply r = DeploymentResultReply(created ? 201 : 200, deployment, version);
  if (created) r.headers.emplace_back("Location", id);
  return r;
}

Reply Emulator::Impl::UpdateApps(const json& body, bool partial, bool force, bool create_allowed,
                                 SteadyTime now, bool* mutated) {
  if (!body.is_array()) return InvalidJsonReply({{"/", "error.expected.jsarray"}});
  std::vector<std::pair<std::string, json>> defs;
  std::set<std::string> seen;
  for (size_t i = 0; i < body.size(); ++i) {
    const json& item = body[i];
    if (!item.is_object() || !item.contains("id") || !item["id"].is_string()) {
      return InvalidJsonReply({{Checker::Index("", i) + "/id", "error.path.missing"}});
    }
    auto id = ResolvePath(item["id"].get<std::string>(), "/");
    if (!id || *id == "/")
      return NotValidReply({{Checker::Index("", i) + "/id", kIdPatternMessage}});
    auto existing = apps.find(*id);
    if (existing == apps.end() && !create_allowed) return AppNotFound(*id);
    if (!seen.insert(*id).second) {
      return NotValidReply({{"/", "Duplicate app id " + *id + " in request"}});
    }
    const json* current = existing == apps.end() ? nullptr : &existing->second.def;
    Prepared p = Prepare(item, *id, current, partial);
    if (p.error) return *p.error;
    defs.emplace_back(*id, std::move(p.def));
  }
  std::vector<std::string> ids;
  for (const auto& d : defs) ids.push_back(d.first);
  if (auto locked = CheckLocks(ids, force)) return *locked;
  std::string version = NextVersion();
  std::vector<AppChange> changes;
  for (auto& [id, def] : defs) changes.push_back(ApplyDefinition(id, std::move(def), version, now));
  std::string deployment = StartDeployment(std::move(changes), version, now);
  *mutated = true;
  return DeploymentResultReply(200, deployment, version);
}

Reply Emulator::Impl::DeleteApp(const std::string& id, bool force, SteadyTime now, bool* mutated) {
  auto it = apps.find(id);
  if (it == apps.end()) return AppNotFound(id);
  int from_running = CountsOf(id, it->second, now).running;
  if (auto locked = CheckLocks({id}, force)) return *locked;
  AppChange change;
  change.app_id = id;
  change.kind = StepKind::kStop;
  change.before = it->second.def;
  change.from_running = from_running;
  std::string version = NextVersion();
  std::string deployment = StartDeployment({change}, version, now);
  *mutated = true;
  return DeploymentResultReply(200, deployment, version);
}

Reply Emulator::Impl::RestartApp(const std::string& id, bool force, SteadyTime now, bool* mutated) {
  auto it = apps.find(id);
  if (it == apps.end()) return AppNotFound(id);
  int from_running = CountsOf(id, it->second, now).running;
  if (auto locked = CheckLocks({id}, force)) return *locked;
  AppRecord& app = it->second;
  AppChange change;
  change.app_id = id;
  change.kind = StepKind::kRestart;
  change.before = app.def;
  change.from_running = from_running;
  std::string version = NextVersion();
  json def = app.def;
  SetVersionInfo(def, version, nullptr, false);
  StoreNewVersion(app, std::move(def));
  std::string deployment = StartDeployment({change}, version, now);
  *mutated = true;
  return DeploymentResultReply(200, deployment, version);
}

}  // namespace converge::marathon
