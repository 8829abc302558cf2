// The ResourceManager apps API of the YARN emulator (/ws/v1/cluster/apps...): new-application,
// submit, report, list, kill. NOTES.md §1 and rm-rest/ResourceManagerRest.md.
#include <cstdio>

#include "reconcilers/yarn/emulator_internal.h"

namespace converge::yarn {
namespace {

constexpr char kNoUser[] = "Unable to obtain user name, user not authenticated";

bool ValidAppId(const std::string& id) {
  // application_<cluster timestamp>_<sequence>
  if (id.rfind("application_", 0) != 0) return false;
  std::string rest = id.substr(12);
  size_t us = rest.find('_');
  if (us == std::string::npos || us == 0 || us + 1 >= rest.size()) return false;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (i != us && !std::isdigit(static_cast<unsigned char>(rest[i]))) return false;
  }
  return true;
}

std::vector<std::string> TagsOf(const json& v) {
  std::vector<std::string> out;
  auto add = [&out](const json& t) {
    if (t.is_string()) out.push_back(t.get<std::string>());
  };
  if (v.is_array()) {
    for (const json& t : v) add(t);
  } else if (v.is_object() && v.contains("tag")) {
    const json& t = v["tag"];
    if (t.is_array()) {
      for (const json& x : t) add(x);
    } else {
      add(t);
    }
  } else if (v.is_string()) {
    out = SplitComma(v.get<std::string>());
  }
  return out;
}

std::string JoinTags(const std::vector<std::string>& tags) {
  std::string out;
  for (const std::string& t : tags) out += (out.empty() ? "" : ",") + t;
  return out;
}

// Every value of a query parameter, comma lists split (states=A,B or states=A&states=B).
std::vector<std::string> ParamList(const httplib::Request& req, const std::string& name) {
  std::vector<std::string> out;
  for (const std::string& value : QueryValues(req, name)) {
    for (const std::string& v : SplitComma(value)) out.push_back(v);
  }
  return out;
}

}  // namespace

std::string Emulator::Impl::NewAppId() {
  char buf[64];
  std::snprintf(buf, sizeof buf, "application_%lld_%04d", static_cast<long long>(cluster_ts),
                next_app_seq++);
  return buf;
}

AppView Emulator::Impl::View(const App& app, int64_t now) const {
  const int64_t t = Step();
  const int64_t running_at = app.submitted_ms + kAmSteps * t;
  AppView v;
  int64_t end = kNever;
  std::string end_state, end_final, end_diag;
  const bool failing = app.service.empty() && Failing(app.command);
  if (!app.fail_reason.empty()) {
    end = app.submitted_ms + t;
    end_state = "FAILED";
    end_final = "FAILED";
    end_diag = app.fail_reason;
  } else if (failing) {
    end = running_at + t;
    end_state = "FAILED";
    end_final = "FAILED";
    char attempt[96];
    std::snprintf(attempt, sizeof attempt, "appattempt_%lld_%04d_000002",
                  static_cast<long long>(cluster_ts), app.seq);
    end_diag = "Application " + app.id + " failed 2 times due to AM Container for " + attempt +
               " exited with  exitCode: 1\nFailing this attempt.Diagnostics: [converge sandbox] "
               "the AM command names a failing image: " +
               app.command;
  } else if (app.run_ms >= 0) {
    end = running_at + app.run_ms;
    end_state = app.command_error.empty() ? "FINISHED" : "FAILED";
    end_final = app.command_error.empty() ? "SUCCEEDED" : "FAILED";
    if (!app.command_error.empty())
      end_diag = "Application " + app.id + " failed: the AM exited with exitCode: 1. " +
                 app.command_error;
  }
  if (app.end_ms >= 0 && app.end_ms < end) {
    end = app.end_ms;
    end_state = "FINISHED";
    end_final = "ENDED";
    end_diag = "Service stopped";
  }
  if (app.kill_ms >= 0 && app.kill_ms < end) {
    end = app.kill_ms + t;
    end_state = "KILLED";
    end_final = "KILLED";
    end_diag = "Application killed by user.";
  }
  if (now >= end) {
    v.state = end_state;
    v.final_status = end_final;
    v.diagnostics = end_diag;
    v.finished_ms = end;
    v.progress = 100;
    return v;
  }
  v.final_status = "UNDEFINED";
  int64_t step = t == 0 ? kAmSteps : (now - app.submitted_ms) / t;
  static const char* kEarly[] = {"NEW", "SUBMITTED", "ACCEPTED"};
  if (step < kAmSteps) {
    v.state = kEarly[std::max<int64_t>(0, step)];
    if (v.state == "ACCEPTED") {
      v.diagnostics =
          "[converge sandbox] Scheduler has assigned a container for AM, waiting for AM "
          "container to be launched";
    }
    return v;
  }
  v.state = "RUNNING";
  if (app.run_ms > 0 && end != kNever) {
    v.progress = 100.0 * static_cast<double>(now - running_at) / static_cast<double>(app.run_ms);
  }
  return v;
}

json Emulator::Impl::AppJson(const App& app, int64_t now) const {
  AppView v = View(app, now);
  const bool done = v.finished_ms > 0;
  const bool running = v.state == "RUNNING";
  const int64_t end = done ? v.finished_ms : now;
  const int64_t elapsed = std::max<int64_t>(0, end - app.submitted_ms);
  char container[96];
  std::snprintf(container, sizeof container, "container_e01_%lld_%04d_01_000001",
                static_cast<long long>(cluster_ts), app.seq);
  return {{"id", app.id},
          {"user", app.user},
          {"name", app.name},
          {"queue", app.queue},
          {"state", v.state},
          {"finalStatus", v.final_status},
          {"progress", v.progress},
          {"trackingUI", done ? "History" : "ApplicationMaster"},
          {"trackingUrl", done ? "http://localhost:8088/cluster/app/" + app.id
                               : "http://localhost:8088/proxy/" + app.id + "/"},
          {"diagnostics", v.diagnostics},
          {"clusterId", cluster_ts},
          {"applicationType", app.type},
          {"applicationTags", JoinTags(app.tags)},
          {"priority", app.priority},
          {"startedTime", app.submitted_ms},
          {"launchTime", app.submitted_ms + kAmSteps * Step()},
          {"finishedTime", done ? v.finished_ms : 0},
          {"elapsedTime", elapsed},
          {"amContainerLogs",
           std::string("http://localhost:8042/node/containerlogs/") + container + "/" + app.user},
          {"amHostHttpAddress", "localhost:8042"},
          {"allocatedMB", running ? app.memory : -1},
          {"allocatedVCores", running ? app.vcores : -1},
          {"runningContainers", running ? 1 : -1},
          {"memorySeconds", static_cast<int64_t>(app.memory) * elapsed / 1000},
          {"vcoreSeconds", static_cast<int64_t>(app.vcores) * elapsed / 1000},
          {"queueUsagePercentage", 0},
          {"clusterUsagePercentage", 0},
          {"preemptedResourceMB", 0},
          {"preemptedResourceVCores", 0},
          {"numNonAMContainerPreempted", 0},
          {"numAMContainerPreempted", 0},
          {"logAggregationStatus", "DISABLED"},
          {"unmanagedApplication", false},
          {"appNodeLabelExpression", ""},
          {"amNodeLabelExpression", ""}};
}

App& Emulator::Impl::SubmitServiceApp(Service& s, int64_t now) {
  App app;
  app.id = NewAppId();
  app.seq = next_app_seq - 1;
  app.user = s.user;
  app.name = s.name;
  app.queue = s.spec.value("queue", "default");
  app.type = kServiceAppType;
  app.tags = {AsciiLower("name: " + s.name), AsciiLower("version: " + s.version)};
  std::string description = s.spec.value("description", "");
  if (!description.empty()) app.tags.push_back(AsciiLower("description: " + description));
  std::sort(app.tags.begin(), app.tags.end());
  app.command = "ServiceMaster";
  app.memory = 1024;
  app.vcores = 1;
  app.submitted_ms = now;
  app.run_ms = -1;
  app.service = s.name;
  s.app_id = app.id;
  s.created_ms = now;
  return apps[app.id] = std::move(app);
}

Reply Emulator::Impl::RouteRm(const httplib::Request& req, const std::string& path,
                              const std::string& base, const std::string& user, bool* mutated) {
  const int64_t now = Now();
  const std::string& m = req.method;
  if (path == "apps/new-application") {
    if (m != "POST") return RemoteError(405, "WebApplicationException", "Method Not Allowed");
    if (user.empty()) return RemoteError(401, "AuthorizationException", kNoUser);
    std::string id = NewAppId();
    issued_ids.insert(id);
    *mutated = true;
    return JsonReply(200, {{"application-id", id},
                           {"maximum-resource-capability",
                            {{"memory", options.max_memory_mb}, {"vCores", options.max_vcores}}}});
  }
  if (path == "apps" || path == "apps/") {
    if (m == "GET") {
      auto states = ParamList(req, "states");
      for (const std::string& s : ParamList(req, "state")) states.push_back(s);
      auto types = ParamList(req, "applicationTypes");
      auto tags = ParamList(req, "applicationTags");
      std::string queue = QueryValue(req, "queue");
      std::string want_user = QueryValue(req, "user");
      std::string name = QueryValue(req, "name");
      std::string final_status = QueryValue(req, "finalStatus");
      int64_t limit = -1;
      if (HasQuery(req, "limit")) {
        auto l = AsInteger(json(QueryValue(req, "limit")));
        if (!l || *l <= 0) {
          return RemoteError(400, "BadRequestException", "limit value must be greater then 0");
        }
        limit = *l;
      }
      auto time_param = [&req](const char* p, int64_t dflt) {
        auto v = HasQuery(req, p) ? AsInteger(json(QueryValue(req, p))) : std::nullopt;
        return v ? *v : dflt;
      };
      int64_t sb = time_param("startedTimeBegin", 0), se = time_param("startedTimeEnd", kNever);
      int64_t fb = time_param("finishedTimeBegin", 0), fe = time_param("finishedTimeEnd", kNever);
      json list = json::array();
      for (const auto& entry : apps) {  // not [id, app]: clang 14 cannot capture a binding
        const auto& app = entry.second;
        if (limit >= 0 && static_cast<int64_t>(list.size()) >= limit) break;
        AppView v = View(app, now);
        auto any = [](const std::vector<std::string>& wanted, auto pred) {
          if (wanted.empty()) return true;
          for (const std::string& w : wanted) {
            if (pred(w)) return true;
          }
          return false;
        };
        if (!any(states, [&](const std::string& s) { return ToUpper(s) == v.state; })) continue;
        if (!any(types, [&](const std::string& t) { return AsciiLower(t) == AsciiLower(app.type); }))
          continue;
        if (!any(tags, [&](const std::string& t) {
              return std::find(app.tags.begin(), app.tags.end(), AsciiLower(t)) != app.tags.end();
            }))
          continue;
        if (!want_user.empty() && want_user != app.user) continue;
        if (!name.empty() && name != app.name) continue;
        if (!queue.empty() && (queue != app.queue || v.finished_ms > 0)) continue;
        if (!final_status.empty() && ToUpper(final_status) != v.final_status) continue;
        if (app.submitted_ms < sb || app.submitted_ms > se) continue;
        if ((fb > 0 || fe != kNever) &&
            (v.finished_ms == 0 || v.finished_ms < fb || v.finished_ms > fe))
          continue;
        list.push_back(AppJson(app, now));
      }
      if (list.empty()) return JsonReply(200, {{"apps", nullptr}});
      return JsonReply(200, {{"apps", {{"app", list}}}});
    }
    if (m != "POST") return RemoteError(405, "WebApplicationException", "Method Not Allowed");
    if (user.empty()) return RemoteError(401, "AuthorizationException", kNoUser);
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) {
      return RemoteError(400, "BadRequestException",
                         "Unable to parse the application submission context");
    }
    std::string id = body.value("application-id", "");
    if (id.empty()) {
      return RemoteError(400, "BadRequestException",
                         "Trying to submit an application with no application id");
    }
    const std::string location = base + "/ws/v1/cluster/apps/" + id;
    if (apps.count(id)) {  // a repeated submission is accepted again (ClientRMService)
      Reply r = TextReply(202, "");
      r.headers.emplace_back("Location", location);
      return r;
    }
    if (!issued_ids.count(id)) {
      return RemoteError(400, "BadRequestException",
                         "Application id " + id +
                             " was not issued by this ResourceManager "
                             "(POST /ws/v1/cluster/apps/new-application first)");
    }
    App app;
    app.id = id;
    app.seq = static_cast<int>(std::stoll(id.substr(id.rfind('_') + 1)));
    app.user = user;
    app.name = body.value("application-name", "N/A");
    app.queue = body.value("queue", "default");
    if (body.contains("priority"))
      app.priority = static_cast<int>(AsInteger(body["priority"]).value_or(0));
    app.type = body.value("application-type", "YARN");
    if (body.contains("application-tags")) {
      for (std::string t : TagsOf(body["application-tags"])) {
        t = AsciiLower(t);
        if (std::find(app.tags.begin(), app.tags.end(), t) == app.tags.end()) app.tags.push_back(t);
      }
      std::sort(app.tags.begin(), app.tags.end());
    }
    const json* spec = body.contains("am-container-spec") ? &body["am-container-spec"] : nullptr;
    if (spec && spec->is_object() && spec->contains("commands")) {
      const json& c = (*spec)["commands"];
      if (c.is_object() && c.contains("command") && c["command"].is_string()) {
        app.command = c["command"].get<std::string>();
      } else if (c.is_string()) {
        app.command = c.get<std::string>();
      }
    }
    app.memory = 1024;
    app.vcores = 1;
    if (body.contains("resource") && body["resource"].is_object()) {
      const json& r = body["resource"];
      if (r.contains("memory")) app.memory = static_cast<int>(AsInteger(r["memory"]).value_or(0));
      if (r.contains("vCores")) app.vcores = static_cast<int>(AsInteger(r["vCores"]).value_or(0));
    }
    if (app.memory < 0 || app.vcores < 0 || app.memory > options.max_memory_mb ||
        app.vcores > options.max_vcores) {
      std::string max = "<memory:" + std::to_string(options.max_memory_mb) +
                        ", vCores:" + std::to_string(options.max_vcores) + ">";
      return RemoteError(
          400, "BadRequestException",
          "Invalid resource request, requested resource type=[" +
              std::string(app.memory < 0 || app.memory > options.max_memory_mb ? "memory-mb"
                                                                               : "vcores") +
              "] < 0 or greater than maximum allowed allocation. Requested resource=<memory:" +
              std::to_string(app.memory) + ", vCores:" + std::to_string(app.vcores) +
              ">, maximum allowed allocation=" + max);
    }
    if (std::find(options.queues.begin(), options.queues.end(), app.queue) ==
        options.queues.end()) {
      app.fail_reason =
          "Application " + id + " submitted by user " + user + " to unknown queue: " + app.queue;
    }
    app.submitted_ms = now;
    app.run_ms = RunMs();
    issued_ids.erase(id);
    apps[id] = std::move(app);
    *mutated = true;
    Reply r = TextReply(202, "");
    r.headers.emplace_back("Location", location);
    return r;
  }
  if (path.rfind("apps/", 0) != 0) {
    return RemoteError(404, "NotFoundException", "java.lang.Exception: no such path " + path);
  }
  std::string rest = path.substr(5);
  std::string sub;
  if (size_t slash = rest.find('/'); slash != std::string::npos) {
    sub = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (!ValidAppId(rest)) {
    return RemoteError(400, "BadRequestException", "Invalid ApplicationId: " + rest);
  }
  auto it = apps.find(rest);
  if (it == apps.end()) {
    return RemoteError(404, "NotFoundException",
                       "java.lang.Exception: app with id: " + rest + " not found");
  }
  App& app = it->second;
  if (sub.empty() && m == "GET") return JsonReply(200, {{"app", AppJson(app, now)}});
  if (sub != "state") {
    return RemoteError(404, "NotFoundException", "java.lang.Exception: no such path " + path);
  }
  if (m == "GET") return JsonReply(200, {{"state", View(app, now).state}});
  if (m != "PUT") return RemoteError(405, "WebApplicationException", "Method Not Allowed");
  if (user.empty()) return RemoteError(401, "AuthorizationException", kNoUser);
  json body = json::parse(req.body, nullptr, false);
  std::string target = body.is_object() ? body.value("state", "") : "";
  AppView v = View(app, now);
  if (target == v.state) return JsonReply(200, {{"state", v.state}});
  if (target != "KILLED") {
    return RemoteError(400, "BadRequestException", "Only 'KILLED' is allowed as a target state.");
  }
  if (v.finished_ms > 0) return JsonReply(200, {{"state", v.state}});
  if (app.kill_ms < 0) {
    app.kill_ms = now;
    *mutated = true;
  }
  v = View(app, now);
  if (v.state == "KILLED") return JsonReply(200, {{"state", "KILLED"}});
  Reply r = JsonReply(202, {{"state", "ACCEPTED"}});
  r.headers.emplace_back("Location", base + "/ws/v1/cluster/apps/" + app.id);
  return r;
}

}  // namespace converge::yarn
