// Marathon emulator: tasks and the AppInfo rendering, /v2/apps/{id}/tasks.
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

Task Emulator::Impl::NewTask(const std::string& id, const AppRecord& app, bool running) {
  Task t;
  t.id = TaskPrefix(id) + ".instance-" + NewUuid(rng);
  t.version = app.def["version"].get<std::string>();
  t.staged_at = Wall();
  if (running) t.started_at = t.staged_at;
  size_t ports = ServicePortsOf(app.def).size();
  for (size_t i = 0; i < ports; ++i) {
    t.host_ports.push_back(next_host_port++);
    if (next_host_port > kHostPortMax) next_host_port = kHostPortMin;
  }
  return t;
}

void Emulator::Impl::SyncTasks(const std::string& id, AppRecord& app, const Counts& counts) {
  size_t want = static_cast<size_t>(std::max(0, counts.running + counts.staged));
  // Marathon's default killSelection kills the youngest first.
  while (app.tasks.size() > want) app.tasks.pop_back();
  while (app.tasks.size() < want) {
    app.tasks.push_back(NewTask(id, app, app.tasks.size() < size_t(counts.running)));
  }
}

json Emulator::Impl::TaskJson(const std::string& id, const AppRecord& app, const Task& t,
                              size_t index, const Counts& counts) const {
  bool running = index < size_t(counts.running);
  json j = {{"appId", id},
            {"host", "agent-1.sandbox.local"},
            {"id", t.id},
            {"ipAddresses", json::array({{{"ipAddress", "127.0.0.1"}, {"protocol", "IPv4"}}})},
            {"ports", t.host_ports},
            {"servicePorts", ServicePortsOf(app.def)},
            {"slaveId", "sandbox-agent-1"},
            {"stagedAt", t.staged_at},
            {"state", running ? "TASK_RUNNING" : "TASK_STAGING"},
            {"version", t.version},
            {"localVolumes", json::array()},
            {"region", "sandbox"},
            {"zone", "sandbox-a"},
            {"role", "*"}};
  if (running) j["startedAt"] = t.started_at.empty() ? t.staged_at : t.started_at;
  if (running && !app.def["healthChecks"].empty()) {
    bool alive = index < size_t(counts.healthy);
    std::string instance = t.id;
    json result = {{"alive", alive},
                   {"consecutiveFailures", alive ? 0 : 1},
                   {"instanceId", instance},
                   {"taskId", t.id}};
    if (alive) {
      result["firstSuccess"] = t.staged_at;
      result["lastSuccess"] = t.staged_at;
    } else {
      result["lastFailure"] = t.staged_at;
      result["lastFailureCause"] = "health check failed";
    }
    json results = json::array();
    for (size_t i = 0; i < app.def["healthChecks"].size(); ++i) results.push_back(result);
    j["healthCheckResults"] = results;
  }
  return j;
}

json Emulator::Impl::TasksJson(const std::string& id, AppRecord& app, const Counts& counts) {
  SyncTasks(id, app, counts);
  json tasks = json::array();
  for (size_t i = 0; i < app.tasks.size(); ++i) {
    tasks.push_back(TaskJson(id, app, app.tasks[i], i, counts));
  }
  return tasks;
}

json Emulator::Impl::TaskStatsJson(const Counts& c) {
  if (c.running == 0 && c.staged == 0) return json::object();
  json stats = {{"stats",
                 {{"counts",
                   {{"staged", c.staged},
                    {"running", c.running},
                    {"healthy", c.healthy},
                    {"unhealthy", c.unhealthy}}},
                  {"lifeTime", {{"averageSeconds", 0.0}, {"medianSeconds", 0.0}}}}}};
  return {{"startedAfterLastScaling", stats}, {"withLatestConfig", stats}, {"totalSummary", stats}};
}

void Emulator::Impl::AppendAppInfo(std::string& out, const std::string& id, AppRecord& app,
                                   const Embed& embed, SteadyTime now) {
  Counts c = CountsOf(id, app, now);
  RecordFailureIfFailing(id, app);
  out.append(app.dump, 0, app.dump.size() - 1);
  out += ",\"tasksStaged\":" + std::to_string(c.staged);
  out += ",\"tasksRunning\":" + std::to_string(c.running);
  out += ",\"tasksHealthy\":" + std::to_string(c.healthy);
  out += ",\"tasksUnhealthy\":" + std::to_string(c.unhealthy);
  out += ",\"deployments\":[";
  if (!app.deployment_id.empty()) out += "{\"id\":\"" + app.deployment_id + "\"}";
  out += "]";
  if (embed.tasks) out += ",\"tasks\":" + TasksJson(id, app, c).dump();
  if (embed.last_task_failure && !app.last_task_failure.is_null()) {
    out += ",\"lastTaskFailure\":" + app.last_task_failure.dump();
  }
  if (embed.readiness) out += ",\"readinessCheckResults\":[]";
  if (embed.task_stats) out += ",\"tasksStats\":" + TaskStatsJson(c).dump();
  out += "}";
}

Reply Emulator::Impl::Tasks(const std::string& id, SteadyTime now) {
  auto it = apps.find(id);
  if (it == apps.end()) return AppNotFound(id);
  Counts c = CountsOf(id, it->second, now);
  return JsonReply(200, {{"tasks", TasksJson(id, it->second, c)}});
}

Reply Emulator::Impl::KillTasks(const std::string& id, const std::string& task_id,
                                const httplib::Request& req, SteadyTime now, bool* mutated) {
  auto it = apps.find(id);
  if (it == apps.end()) return AppNotFound(id);
  AppRecord& app = it->second;
  Counts c = CountsOf(id, app, now);
  SyncTasks(id, app, c);
  std::string host = req.get_param_value("host");
  std::vector<size_t> victims;
  for (size_t i = 0; i < app.tasks.size(); ++i) {
    if (!task_id.empty() && app.tasks[i].id != task_id) continue;
    if (!host.empty() && host != "agent-1.sandbox.local") continue;
    victims.push_back(i);
  }
  if (!task_id.empty() && victims.empty()) {
    return MessageReply(404, "Task '" + task_id + "' does not exist");
  }
  if (IsTrue(req, "scale", false)) {
    json def = app.def;
    def["instances"] = std::max(0, def.value("instances", 1) - int(victims.size()));
    if (auto locked = CheckLocks({id}, IsTrue(req, "force", false))) return *locked;
    std::string version = NextVersion();
    for (auto v = victims.rbegin(); v != victims.rend(); ++v)
      app.tasks.erase(app.tasks.begin() + *v);
    AppChange change = ApplyDefinition(id, std::move(def), version, now);
    std::string deployment = StartDeployment({change}, version, now);
    *mutated = true;
    return DeploymentResultReply(200, deployment, version);
  }
  json killed = json::array();
  for (size_t v : victims) killed.push_back(TaskJson(id, app, app.tasks[v], v, c));
  for (auto v = victims.rbegin(); v != victims.rend(); ++v) app.tasks.erase(app.tasks.begin() + *v);
  if (!task_id.empty()) return JsonReply(200, {{"task", killed[0]}});
  return JsonReply(200, {{"tasks", killed}});
}

}  // namespace converge::marathon
