// Marathon emulator: the deployment and health model, /v2/deployments.
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

const char* StepKindName(StepKind k) {
  switch (k) {
    case StepKind::kStart:
      return "start";
    case StepKind::kStop:
      return "stop";
    case StepKind::kScale:
      return "scale";
    case StepKind::kRestart:
      return "restart";
    case StepKind::kNoop:
      return "noop";
  }
  return "noop";
}

std::optional<StepKind> StepKindFromName(const std::string& s) {
  for (StepKind k :
       {StepKind::kStart, StepKind::kStop, StepKind::kScale, StepKind::kRestart, StepKind::kNoop}) {
    if (s == StepKindName(k)) return k;
  }
  return std::nullopt;
}

Embed ParseEmbed(const httplib::Request& req) {
  Embed e;
  size_t n = req.get_param_value_count("embed");
  for (size_t i = 0; i < n; ++i) {
    std::string v = req.get_param_value("embed", i);
    for (const char* prefix : {"apps.", "app."}) {
      if (v.rfind(prefix, 0) == 0) {
        v = v.substr(std::string(prefix).size());
        break;
      }
    }
    if (v == "tasks") e.tasks = true;
    if (v == "lastTaskFailure") e.last_task_failure = true;
    if (v == "readiness") e.readiness = true;
    if (v == "taskStats") e.task_stats = true;
    if (v == "failures") e.tasks = e.last_task_failure = true;
  }
  return e;
}

json StepActions(const std::vector<AppChange>& changes, int step) {
  json actions = json::array();
  for (const AppChange& c : changes) {
    const char* action = nullptr;
    switch (c.kind) {
      case StepKind::kStart:
        action = step == 0 ? "StartApplication" : "ScaleApplication";
        break;
      case StepKind::kStop:
        action = step == 0 ? "StopApplication" : nullptr;
        break;
      case StepKind::kScale:
        action = step == 0 ? "ScaleApplication" : nullptr;
        break;
      case StepKind::kRestart:
        action = step == 0 ? "RestartApplication" : nullptr;
        break;
      case StepKind::kNoop:
        break;
    }
    if (action != nullptr) actions.push_back({{"action", action}, {"app", c.app_id}});
  }
  return actions;
}

json StepsOf(const std::vector<AppChange>& changes) {
  json steps = json::array();
  for (int step = 0; step < 2; ++step) {
    json actions = StepActions(changes, step);
    if (!actions.empty()) steps.push_back({{"actions", actions}});
  }
  return steps;
}

}  // namespace emulator_detail

std::string Emulator::Impl::NextVersion() {
  WallMs t = std::chrono::time_point_cast<milliseconds>(options.wall_now());
  if (t <= last_version) t = last_version + milliseconds(1);
  last_version = t;
  return FormatIsoTime(t);
}

std::string Emulator::Impl::Wall() {
  return FormatIsoTime(options.wall_now());
}

bool Emulator::Impl::IsBadImage(const json& def) const {
  if (failing_images.empty()) return false;
  auto c = def.find("container");
  if (c == def.end()) return false;
  auto d = c->find("docker");
  if (d == c->end()) return false;
  auto image = d->find("image");
  return image != d->end() && image->is_string() &&
         failing_images.count(image->get<std::string>()) > 0;
}

const AppChange* Emulator::Impl::ChangeFor(const AppRecord& app, const std::string& id,
                                           const Deployment** deployment) const {
  *deployment = nullptr;
  if (app.deployment_id.empty()) return nullptr;
  auto it = deployments.find(app.deployment_id);
  if (it == deployments.end()) return nullptr;
  for (const AppChange& c : it->second.changes) {
    if (c.app_id == id) {
      *deployment = &it->second;
      return &c;
    }
  }
  return nullptr;
}

Counts Emulator::Impl::CountsOf(const std::string& id, const AppRecord& app, SteadyTime now) const {
  const Deployment* d = nullptr;
  const AppChange* change = ChangeFor(app, id, &d);
  bool stopping = change != nullptr && change->kind == StepKind::kStop;
  int instances = app.def.value("instances", 1);
  int target = stopping ? 0 : instances;
  int running = target;
  if (change != nullptr) {
    // Moves from the count at deployment start toward the target; reaches it at the end.
    double delta = (target - change->from_running) * d->Progress(now);
    running = change->from_running + static_cast<int>(delta);
  }
  bool health_checks = !app.def["healthChecks"].empty();
  Counts c;
  if (!stopping && IsBadImage(app.def)) {
    if (health_checks) {
      c.running = running;
      c.unhealthy = running;
    }
    return c;  // without health checks the tasks keep failing: nothing runs
  }
  c.running = running;
  c.healthy = health_checks ? running : 0;
  return c;
}

bool Emulator::Impl::Stuck(const Deployment& d) const {
  for (const AppChange& c : d.changes) {
    if (c.kind == StepKind::kStop) continue;
    auto it = apps.find(c.app_id);
    if (it != apps.end() && IsBadImage(it->second.def)) return true;
  }
  return false;
}

void Emulator::Impl::RecordFailureIfFailing(const std::string& id, AppRecord& app) {
  if (!IsBadImage(app.def) || !app.def["healthChecks"].empty()) return;
  if (app.def.value("instances", 1) == 0) return;
  std::string version = app.def["version"].get<std::string>();
  if (!app.last_task_failure.is_null() && app.last_task_failure["version"] == version) return;
  std::string task_id = TaskPrefix(id) + ".instance-" + NewUuid(rng);
  std::string image = app.def["container"]["docker"]["image"].get<std::string>();
  app.last_task_failure = {{"appId", id},
                           {"host", "agent-1.sandbox.local"},
                           {"message", "Container exited with status 1 (image " + image + ")"},
                           {"state", "TASK_FAILED"},
                           {"taskId", task_id},
                           {"timestamp", Wall()},
                           {"version", version},
                           {"slaveId", "sandbox-agent-1"}};
}

bool Emulator::Impl::Advance(SteadyTime now) {
  bool changed = false;
  for (auto it = by_end.begin(); it != by_end.end() && it->first <= now;) {
    auto d = deployments.find(it->second);
    if (d == deployments.end()) {
      it = by_end.erase(it);
      continue;
    }
    if (Stuck(d->second)) {
      ++it;
      continue;
    }
    Finish(d->second);
    deployments.erase(d);
    it = by_end.erase(it);
    changed = true;
  }
  return changed;
}

void Emulator::Impl::Finish(const Deployment& d) {
  for (const AppChange& c : d.changes) {
    auto it = apps.find(c.app_id);
    if (it == apps.end() || it->second.deployment_id != d.id) continue;
    if (c.kind == StepKind::kStop) {
      RemoveApp(it);
      continue;
    }
    it->second.deployment_id.clear();
    if (c.kind == StepKind::kRestart || c.kind == StepKind::kStart) {
      // Old tasks were replaced by tasks of the new version.
      std::string version = it->second.def["version"].get<std::string>();
      auto& tasks = it->second.tasks;
      tasks.erase(std::remove_if(tasks.begin(), tasks.end(),
                                 [&](const Task& t) { return t.version != version; }),
                  tasks.end());
    }
  }
}

void Emulator::Impl::Cancel(const std::string& deployment_id) {
  auto d = deployments.find(deployment_id);
  if (d == deployments.end()) return;
  for (const AppChange& c : d->second.changes) {
    auto it = apps.find(c.app_id);
    if (it != apps.end() && it->second.deployment_id == deployment_id) {
      it->second.deployment_id.clear();
    }
  }
  by_end.erase({d->second.end(), deployment_id});
  deployments.erase(d);
}

std::string Emulator::Impl::StartDeployment(std::vector<AppChange> changes,
                                            const std::string& version, SteadyTime now) {
  Deployment d;
  d.id = NewUuid(rng);
  d.version = version;
  d.start = now;
  bool noop = std::all_of(changes.begin(), changes.end(),
                          [](const AppChange& c) { return c.kind == StepKind::kNoop; });
  d.duration = milliseconds(noop ? 0 : transition_ms);
  for (const AppChange& c : changes) {
    auto it = apps.find(c.app_id);
    if (it != apps.end()) {
      it->second.deployment_id = d.id;
      RecordFailureIfFailing(c.app_id, it->second);
    }
  }
  d.changes = std::move(changes);
  by_end.insert({d.end(), d.id});
  std::string id = d.id;
  deployments.emplace(id, std::move(d));
  return id;
}

json Emulator::Impl::DeploymentJson(const Deployment& d, SteadyTime now) const {
  json steps = StepsOf(d.changes);
  json affected = json::array();
  for (const AppChange& c : d.changes) affected.push_back(c.app_id);
  int total = static_cast<int>(steps.size());
  int current = 0;
  json current_actions = json::array();
  if (total > 0) {
    current = std::min(total, 1 + static_cast<int>(d.Progress(now) * total));
    for (const json& a : steps[current - 1]["actions"]) {
      json action = a;
      action["readinessCheckResults"] = json::array();
      current_actions.push_back(action);
    }
  }
  return {{"id", d.id},
          {"version", d.version},
          {"affectedApps", affected},
          {"affectedPods", json::array()},
          {"steps", steps},
          {"currentActions", current_actions},
          {"currentStep", current},
          {"totalSteps", total}};
}

std::optional<Reply> Emulator::Impl::CheckLocks(const std::vector<std::string>& ids, bool force) {
  std::set<std::string> locking;
  for (const std::string& id : ids) {
    auto it = apps.find(id);
    if (it != apps.end() && !it->second.deployment_id.empty()) {
      locking.insert(it->second.deployment_id);
    }
  }
  if (locking.empty()) return std::nullopt;
  if (!force) {
    json deps = json::array();
    for (const std::string& d : locking) deps.push_back({{"id", d}});
    return JsonReply(409, {{"message", kLockedMessage}, {"deployments", deps}});
  }
  for (const std::string& d : locking) Cancel(d);
  return std::nullopt;
}

Reply Emulator::Impl::ListDeployments(SteadyTime now) {
  json out = json::array();
  for (const auto& [id, d] : deployments) out.push_back(DeploymentJson(d, now));
  return JsonReply(200, out);
}

Reply Emulator::Impl::DeleteDeployment(const std::string& deployment_id, bool force, SteadyTime now,
                                       bool* mutated) {
  auto it = deployments.find(deployment_id);
  if (it == deployments.end()) {
    return MessageReply(404, "DeploymentPlan " + deployment_id + " does not exist");
  }
  if (force) {
    Cancel(deployment_id);
    *mutated = true;
    Reply r;
    r.status = 202;
    r.content_type.clear();
    return r;
  }
  // Rollback: a new deployment restoring every affected app's previous definition.
  Deployment d = it->second;
  std::vector<std::pair<std::string, int>> running;
  for (const AppChange& c : d.changes) {
    auto app = apps.find(c.app_id);
    if (app != apps.end())
      running.emplace_back(c.app_id, CountsOf(c.app_id, app->second, now).running);
  }
  Cancel(deployment_id);
  std::string version = NextVersion();
  std::vector<AppChange> changes;
  for (const AppChange& c : d.changes) {
    auto app = apps.find(c.app_id);
    if (c.before.is_null()) {
      if (app == apps.end()) continue;
      AppChange stop;
      stop.app_id = c.app_id;
      stop.kind = StepKind::kStop;
      stop.before = app->second.def;
      for (const auto& [rid, n] : running) {
        if (rid == c.app_id) stop.from_running = n;
      }
      changes.push_back(stop);
    } else {
      changes.push_back(ApplyDefinition(c.app_id, c.before, version, now, true));
      for (const auto& [rid, n] : running) {
        if (rid == c.app_id) changes.back().from_running = n;
      }
    }
  }
  std::string rollback = StartDeployment(std::move(changes), version, now);
  *mutated = true;
  return DeploymentResultReply(200, rollback, version);
}

}  // namespace converge::marathon
