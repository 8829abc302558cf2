// Marathon emulator: routing, auth, /v2/info, versions.
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

Reply Emulator::Impl::Versions(const std::string& id) {
  auto it = apps.find(id);
  if (it == apps.end()) return AppNotFound(id);
  json versions = json::array();
  for (auto v = it->second.history.rbegin(); v != it->second.history.rend(); ++v) {
    versions.push_back(v->version);
  }
  return JsonReply(200, {{"versions", versions}});
}

Reply Emulator::Impl::Version(const std::string& id, const std::string& version) {
  auto it = apps.find(id);
  if (it == apps.end()) return AppNotFound(id);
  for (const HistoryEntry& v : it->second.history) {
    if (v.version == version) {
      Reply r;
      r.body = v.dump;
      return r;
    }
  }
  return MessageReply(404, "App '" + id + "' does not exist in version " + version);
}

Reply Emulator::Impl::Info(const httplib::Request& req) const {
  std::string leader = req.local_addr + ":" + std::to_string(req.local_port);
  json marathon_config = {{"access_control_allow_origin", json::array()},
                          {"checkpoint", true},
                          {"decline_offer_duration", 120000},
                          {"default_network_name", "container-network"},
                          {"env_vars_prefix", "APP"},
                          {"executor", "//cmd"},
                          {"failover_timeout", 604800},
                          {"features", json::array()},
                          {"framework_name", "marathon"},
                          {"ha", false},
                          {"hostname", req.local_addr},
                          {"launch_token", 100},
                          {"launch_token_refresh_interval", 30000},
                          {"leader_proxy_connection_timeout_ms", 5000},
                          {"leader_proxy_read_timeout_ms", 10000},
                          {"local_port_max", 20000},
                          {"local_port_min", kServicePortMin},
                          {"master", "zk://localhost:2181/mesos"},
                          {"max_instances_per_offer", 5},
                          {"mesos_bridge_name", "mesos-bridge"},
                          {"mesos_leader_ui_url", "http://localhost:5050/"},
                          {"mesos_role", "*"},
                          {"mesos_user", "nobody"},
                          {"reconciliation_initial_delay", 15000},
                          {"reconciliation_interval", 600000},
                          {"task_launch_timeout", 300000},
                          {"task_reservation_timeout", 20000},
                          {"webui_url", "http://" + leader}};
  json zk = {{"zk", "zk://localhost:2181/marathon"}, {"zk_compression", true},
             {"zk_compression_threshold", 65536},    {"zk_connection_timeout", 10000},
             {"zk_max_node_size", 1024000},          {"zk_max_versions", kMaxVersionsPerApp},
             {"zk_session_timeout", 10000},          {"zk_timeout", 10000}};
  return JsonReply(200, {{"name", "marathon"},
                         {"version", "1.11.0"},
                         {"buildref", "converge-sandbox"},
                         {"elected", true},
                         {"leader", leader},
                         {"frameworkId", "converge-sandbox-0000"},
                         {"marathon_config", marathon_config},
                         {"zookeeper_config", zk},
                         {"http_config", {{"http_port", req.local_port}, {"https_port", 8443}}}});
}

bool Emulator::Impl::Authorized(const httplib::Request& req) const {
  if (basic_header.empty() && options.token.empty()) return true;
  std::string auth = req.get_header_value("Authorization");
  if (!basic_header.empty() && auth == basic_header) return true;
  if (!options.token.empty() && auth == "token=" + options.token) return true;
  return false;
}

std::optional<json> Emulator::Impl::ParseBody(const std::string& body, Reply* error) {
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) {
    *error = InvalidJsonReply({{"/", "error.expected.jsvalue: the body is not valid JSON"}});
    return std::nullopt;
  }
  return parsed;
}

Emulator::Impl::AppRoute Emulator::Impl::ParseAppRoute(const std::string& rest) {
  AppRoute r;
  auto strip = [](std::string s) {
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  };
  std::string s = strip(rest);
  auto ends_with = [&](const std::string& suffix) {
    return s.size() > suffix.size() + 1 &&
           s.compare(s.size() - suffix.size() - 1, suffix.size() + 1, "/" + suffix) == 0;
  };
  for (const char* suffix : {"versions", "tasks", "restart"}) {
    if (ends_with(suffix)) {
      r.id = s.substr(0, s.size() - std::string(suffix).size() - 1);
      r.suffix = suffix;
      return r;
    }
  }
  // {id}/versions/{version} and {id}/tasks/{taskId}
  size_t last = s.rfind('/');
  if (last != std::string::npos && last > 0) {
    std::string head = s.substr(0, last);
    for (const char* suffix : {"versions", "tasks"}) {
      std::string marker = std::string("/") + suffix;
      if (head.size() > marker.size() &&
          head.compare(head.size() - marker.size(), marker.size(), marker) == 0) {
        r.id = head.substr(0, head.size() - marker.size());
        r.suffix = suffix;
        r.arg = s.substr(last + 1);
        return r;
      }
    }
  }
  r.id = s;
  return r;
}

std::string Emulator::Impl::CanonicalUrlId(const std::string& raw) {
  auto resolved = ResolvePath(raw, "/");
  if (resolved) return *resolved;
  std::string s = raw;
  if (s.empty() || s[0] != '/') s = "/" + s;
  return s;
}

Reply Emulator::Impl::Route(const httplib::Request& req, const std::string& path, SteadyTime now,
                            bool* mutated) {
  const std::string& m = req.method;
  if (path == "/ping") {
    Reply r;
    r.body = "pong";
    r.content_type = "text/plain";
    return r;
  }
  if (!Authorized(req)) {
    Reply r = MessageReply(401, kUnauthorizedMessage);
    if (!basic_header.empty())
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Mesosphere\"");
    return r;
  }
  if (path == "/v2/info") {
    if (m != "GET") return MessageReply(405, "HTTP 405 Method Not Allowed");
    return Info(req);
  }
  if (path == "/v2/apps" || path == "/v2/apps/") {
    if (m == "GET") return ListApps(req, now);
    Reply error;
    if (m != "POST" && m != "PUT" && m != "PATCH") {
      return MessageReply(405, "HTTP 405 Method Not Allowed");
    }
    auto body = ParseBody(req.body, &error);
    if (!body) return error;
    if (m == "POST") return CreateApp(*body, now, mutated);
    return UpdateApps(*body, IsTrue(req, "partialUpdate", true), IsTrue(req, "force", false),
                      m == "PUT", now, mutated);
  }
  if (path.rfind("/v2/apps/", 0) == 0) {
    AppRoute route = ParseAppRoute(path.substr(std::string("/v2/apps").size()));
    std::string id = CanonicalUrlId(route.id);
    if (route.suffix.empty()) {
      if (m == "GET") return GetApp(id, req, now);
      if (m == "DELETE") return DeleteApp(id, IsTrue(req, "force", true), now, mutated);
      if (m == "PUT" || m == "PATCH") {
        if (!ResolvePath(route.id, "/") || id == "/") {
          return NotValidReply({{"/id", kIdPatternMessage}});
        }
        Reply error;
        auto body = ParseBody(req.body, &error);
        if (!body) return error;
        bool partial = m == "PATCH" || IsTrue(req, "partialUpdate", true);
        return UpdateApp(id, *body, partial, IsTrue(req, "force", false), m == "PUT", now, mutated);
      }
      return MessageReply(405, "HTTP 405 Method Not Allowed");
    }
    if (route.suffix == "restart") {
      if (m != "POST") return MessageReply(405, "HTTP 405 Method Not Allowed");
      return RestartApp(id, IsTrue(req, "force", false), now, mutated);
    }
    if (route.suffix == "versions") {
      if (m != "GET") return MessageReply(405, "HTTP 405 Method Not Allowed");
      return route.arg.empty() ? Versions(id) : Version(id, route.arg);
    }
    if (route.suffix == "tasks") {
      if (m == "GET" && route.arg.empty()) return Tasks(id, now);
      if (m == "DELETE") return KillTasks(id, route.arg, req, now, mutated);
      return MessageReply(405, "HTTP 405 Method Not Allowed");
    }
  }
  if (path == "/v2/tasks") {
    if (m != "GET") return MessageReply(405, "HTTP 405 Method Not Allowed");
    json tasks = json::array();
    for (auto& [id, app] : apps) {
      for (json& t : TasksJson(id, app, CountsOf(id, app, now))) tasks.push_back(std::move(t));
    }
    return JsonReply(200, {{"tasks", tasks}});
  }
  if (path == "/v2/leader") {
    if (m != "GET") return MessageReply(405, "HTTP 405 Method Not Allowed");
    return JsonReply(200, {{"leader", req.local_addr + ":" + std::to_string(req.local_port)}});
  }
  if (path == "/v2/deployments" || path == "/v2/deployments/") {
    if (m != "GET") return MessageReply(405, "HTTP 405 Method Not Allowed");
    return ListDeployments(now);
  }
  if (path.rfind("/v2/deployments/", 0) == 0) {
    if (m != "DELETE") return MessageReply(405, "HTTP 405 Method Not Allowed");
    return DeleteDeployment(path.substr(std::string("/v2/deployments/").size()),
                            IsTrue(req, "force", false), now, mutated);
  }
  return MessageReply(404, "HTTP 404 Not Found");
}

}  // namespace converge::marathon
