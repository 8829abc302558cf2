// The YARN emulator's front: the active / standby RM pair, routing, knobs, admin routes and
// fault answers. The APIs live in emulator_rm.cc and emulator_services.cc.
#include "reconcilers/yarn/emulator.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "reconcilers/common/emulator/mount.h"
#include "reconcilers/yarn/emulator_internal.h"
#include "specs/base/ascii.h"

namespace converge::yarn {
namespace emulator_detail {

Reply JsonReply(int status, const json& body) {
  Reply r;
  r.status = status;
  r.body = body.dump();
  return r;
}

Reply TextReply(int status, const std::string& text) {
  Reply r;
  r.status = status;
  r.body = text;
  r.content_type = "text/plain";
  return r;
}

Reply RemoteError(int status, const std::string& exception, const std::string& message) {
  static const std::map<std::string, std::string> kClasses = {
      {"BadRequestException", "org.apache.hadoop.yarn.webapp.BadRequestException"},
      {"NotFoundException", "org.apache.hadoop.yarn.webapp.NotFoundException"},
      {"AuthorizationException", "org.apache.hadoop.security.authorize.AuthorizationException"},
      {"ForbiddenException", "org.apache.hadoop.yarn.webapp.ForbiddenException"},
      {"WebApplicationException", "javax.ws.rs.WebApplicationException"},
  };
  auto it = kClasses.find(exception);
  std::string cls = it == kClasses.end() ? "java.lang." + exception : it->second;
  return JsonReply(status,
                   {{"RemoteException",
                     {{"exception", exception}, {"message", message}, {"javaClassName", cls}}}});
}

json ServiceStatusJson(const std::string& diagnostics, const std::string& state, int code,
                       const std::string& uri) {
  json j = json::object();
  if (!uri.empty()) j["uri"] = uri;
  if (!diagnostics.empty()) j["diagnostics"] = diagnostics;
  if (!state.empty()) j["state"] = state;
  if (code != 0) j["code"] = code;
  return j;
}

Reply StatusReply(int status, const std::string& diagnostics, const std::string& state, int code,
                  const std::string& uri) {
  return JsonReply(status, ServiceStatusJson(diagnostics, state, code, uri));
}

std::string ToUpper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string part = s.substr(start, end - start);
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    if (!part.empty()) out.push_back(part);
    start = end + 1;
  }
  return out;
}

std::vector<std::string> QueryValues(const httplib::Request& req, const std::string& name) {
  std::vector<std::string> out;
  size_t q = req.target.find('?');
  if (q == std::string::npos) return out;
  std::string query = req.target.substr(q + 1);
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    std::string part = query.substr(start, end - start);
    size_t eq = part.find('=');
    std::string key = httplib::detail::decode_url(part.substr(0, eq), true);
    if (key == name) {
      out.push_back(
          eq == std::string::npos ? "" : httplib::detail::decode_url(part.substr(eq + 1), true));
    }
    start = end + 1;
  }
  return out;
}

std::string QueryValue(const httplib::Request& req, const std::string& name) {
  std::vector<std::string> v = QueryValues(req, name);
  return v.empty() ? "" : v.back();
}

bool HasQuery(const httplib::Request& req, const std::string& name) {
  return !QueryValues(req, name).empty();
}

std::optional<int64_t> AsInteger(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) return static_cast<int64_t>(v.get<double>());
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty()) return std::nullopt;
    size_t i = (s[0] == '-') ? 1 : 0;
    if (i == s.size()) return std::nullopt;
    for (size_t k = i; k < s.size(); ++k) {
      if (!std::isdigit(static_cast<unsigned char>(s[k]))) return std::nullopt;
    }
    try {
      return std::stoll(s);
    } catch (...) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

namespace {

// Which API a path belongs to, for fault answers: set by FaultTarget, read by AnswerFault on
// the same server thread (the sandbox calls them one after the other for a request).
thread_local bool last_fault_is_services = false;

bool IsServicesPath(const std::string& path) {
  return path.find("/app/v1/") != std::string::npos;
}

json ClusterInfo(int64_t ts, const std::string& ha_state) {
  return {{"clusterInfo",
           {{"id", ts},
            {"startedOn", ts},
            {"state", "STARTED"},
            {"haState", ha_state},
            {"rmStateStoreName",
             "org.apache.hadoop.yarn.server.resourcemanager.recovery.NullRMStateStore"},
            {"resourceManagerVersion", "3.3.0"},
            {"resourceManagerBuildVersion", "3.3.0 from converge-sandbox"},
            {"hadoopVersion", "3.3.0"},
            {"hadoopBuildVersion", "3.3.0 from converge-sandbox"},
            {"haZooKeeperConnectionState", "ResourceManager HA is not enabled."}}}};
}

std::string QueryOf(const httplib::Request& req) {
  size_t q = req.target.find('?');
  return q == std::string::npos ? "" : req.target.substr(q);
}

// The seconds a client waits before asking again while no RM is active.
constexpr int kRefreshSeconds = 3;

}  // namespace
}  // namespace emulator_detail

Emulator::Impl::Impl(EmulatorOptions o) : options(std::move(o)) {
  if (!options.now_ms) {
    options.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  options.transition_ms = std::max(0, options.transition_ms);
  cluster_ts = options.now_ms();
}

int64_t Emulator::Impl::RunMs() const {
  return options.app_run_ms >= 0 ? options.app_run_ms : 4 * Step();
}

bool Emulator::Impl::Failing(const std::string& text) const {
  for (const std::string& image : options.failing_images) {
    if (!image.empty() && text.find(image) != std::string::npos) return true;
  }
  return false;
}

Emulator::Emulator(EmulatorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Emulator::~Emulator() = default;

void Emulator::Mount(httplib::Server& server, const std::string& prefix) {
  for (const std::string& p : {prefix, prefix + "-standby"}) {
    MountUnderPrefix(server, p,
                     [this, p](const httplib::Request& req, httplib::Response& res,
                               const std::string& rest) { Handle(req, res, p, rest); });
  }
}

void Emulator::Handle(const httplib::Request& req, httplib::Response& res,
                      const std::string& prefix, const std::string& path) {
  Reply reply;
  bool mutated = false;
  std::function<void()> observer;
  try {
    std::lock_guard<std::mutex> lock(impl_->mu);
    const bool secondary = prefix.size() > 8 && prefix.substr(prefix.size() - 8) == "-standby";
    const std::string primary_prefix = secondary ? prefix.substr(0, prefix.size() - 8) : prefix;
    const bool is_active =
        (impl_->active == "primary" && !secondary) || (impl_->active == "standby" && secondary);
    if (path == "/ws/v1/cluster/info" || path == "/ws/v1/cluster") {
      reply = JsonReply(200, ClusterInfo(impl_->cluster_ts, is_active ? "ACTIVE" : "STANDBY"));
    } else if (path == "/isActive") {
      reply = is_active ? TextReply(200, "I am Active!") : TextReply(405, "I am not Active!");
    } else if (path == "/conf" || path == "/logs" || path == "/logs/") {
      reply = TextReply(200, "");
    } else if (!is_active && impl_->active == "none") {
      reply = TextReply(307, "Can not find any active RM. Will retry in next " +
                                 std::to_string(kRefreshSeconds) + " seconds.");
      reply.headers.emplace_back("Refresh", std::to_string(kRefreshSeconds));
    } else if (!is_active) {
      std::string other = secondary ? primary_prefix : primary_prefix + "-standby";
      std::string host = req.get_header_value("Host");
      std::string url = "http://" + host + other + path + QueryOf(req);
      reply = TextReply(307, "This is standby RM. The redirect url is: " + url);
      reply.headers.emplace_back("Location", url);
    } else {
      int64_t now = impl_->Now();
      impl_->Advance(now);
      std::string user =
          HasQuery(req, "user.name") ? QueryValue(req, "user.name") : impl_->options.static_user;
      if (path.rfind("/ws/v1/cluster/", 0) == 0) {
        std::string base = "http://" + req.get_header_value("Host") + primary_prefix +
                           (secondary ? "-standby" : "");
        reply = impl_->RouteRm(req, path.substr(15), base, user, &mutated);
      } else if (path == "/app/v1/services" || path.rfind("/app/v1/services/", 0) == 0) {
        reply = impl_->RouteServices(req, path.substr(16), user, &mutated);
      } else {
        reply = RemoteError(404, "NotFoundException", "java.lang.Exception: no such path " + path);
      }
      if (req.method != "GET" && req.method != "HEAD") {
        json body = json::parse(req.body, nullptr, false);
        impl_->writes.push_back({{"method", req.method},
                                 {"path", path},
                                 {"query", QueryOf(req)},
                                 {"body", body.is_discarded() ? json(req.body) : body},
                                 {"status", reply.status}});
        while (impl_->writes.size() > kWriteLogSize) impl_->writes.pop_front();
      }
    }
    observer = impl_->observer;
  } catch (const std::exception& e) {
    reply = TextReply(500, std::string("emulator error: ") + e.what());
  }
  res.status = reply.status;
  for (const auto& [k, v] : reply.headers) res.set_header(k, v);
  res.set_content(reply.body, reply.content_type.c_str());
  if (mutated && observer) observer();
}

void Emulator::SetTransitionMs(int ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->options.transition_ms = std::max(0, ms);
}

int Emulator::TransitionMs() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->options.transition_ms;
}

void Emulator::SetFailingImages(std::vector<std::string> images) {
  std::function<void()> observer;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->options.failing_images = std::move(images);
    observer = impl_->observer;
  }
  if (observer) observer();
}

std::vector<std::string> Emulator::FailingImages() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->options.failing_images;
}

void Emulator::Reset() {
  std::function<void()> observer;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->apps.clear();
    impl_->services.clear();
    impl_->issued_ids.clear();
    impl_->writes.clear();
    impl_->next_app_seq = 1;
    observer = impl_->observer;
  }
  if (observer) observer();
}

nlohmann::json Emulator::ExportState() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Export();
}

Status Emulator::ImportState(const nlohmann::json& state) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  try {
    impl_->Import(state);
    return Status::Ok();
  } catch (const std::exception& e) {
    return InvalidError(std::string("malformed yarn emulator state: ") + e.what());
  }
}

void Emulator::SetCommandRunner(CommandRunner runner) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->command_runner = std::move(runner);
}

void Emulator::SetMutationObserver(std::function<void()> observer) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->observer = std::move(observer);
}

std::string Emulator::FaultTarget(const httplib::Request& req) const {
  last_fault_is_services = IsServicesPath(req.path);
  return last_fault_is_services ? "services" : "rm";
}

void Emulator::AnswerFault(int status, const std::string& body, httplib::Response& res) const {
  Reply r;
  if (!body.empty()) {
    emulator::DefaultFaultAnswer(status, body, res);
    return;
  }
  if (last_fault_is_services) {
    r = StatusReply(status, "converge sandbox: injected fault");
  } else {
    r = RemoteError(status,
                    status == 503 ? "ServiceUnavailableException" : "WebApplicationException",
                    "converge sandbox: injected fault");
  }
  res.status = status;
  res.set_content(r.body, r.content_type.c_str());
}

void Emulator::MountAdmin(httplib::Server& server, const std::string& admin_prefix) {
  auto answer = [](httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
  };
  server.Get(admin_prefix + "/ha", [this, answer](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    answer(res, 200, {{"active", impl_->active}});
  });
  server.Post(
      admin_prefix + "/ha", [this, answer](const httplib::Request& req, httplib::Response& res) {
        json body = json::parse(req.body, nullptr, false);
        std::string want = body.is_object() ? body.value("active", "") : "";
        if (want != "primary" && want != "standby" && want != "none") {
          answer(res, 400, {{"message", "want {\"active\": \"primary\"|\"standby\"|\"none\"}"}});
          return;
        }
        std::lock_guard<std::mutex> lock(impl_->mu);
        impl_->active = want;
        answer(res, 200, {{"active", want}});
      });
  server.Get(admin_prefix + "/requests",
             [this, answer](const httplib::Request&, httplib::Response& res) {
               std::lock_guard<std::mutex> lock(impl_->mu);
               answer(res, 200, {{"requests", json(std::vector<json>(impl_->writes.begin(),
                                                                     impl_->writes.end()))}});
             });
  server.Delete(admin_prefix + "/requests",
                [this, answer](const httplib::Request&, httplib::Response& res) {
                  std::lock_guard<std::mutex> lock(impl_->mu);
                  impl_->writes.clear();
                  answer(res, 200, {{"requests", json::array()}});
                });
  auto options_json = [this] {
    return json{{"app_run_ms", impl_->RunMs()},
                {"services_api_disabled", impl_->options.services_api_disabled},
                {"upgrade_disabled", impl_->options.upgrade_disabled}};
  };
  server.Get(admin_prefix + "/options",
             [this, answer, options_json](const httplib::Request&, httplib::Response& res) {
               std::lock_guard<std::mutex> lock(impl_->mu);
               answer(res, 200, options_json());
             });
  server.Post(admin_prefix + "/options", [this, answer, options_json](const httplib::Request& req,
                                                                      httplib::Response& res) {
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) {
      answer(res, 400, {{"message", "want a JSON object"}});
      return;
    }
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (body.contains("app_run_ms") && body["app_run_ms"].is_number_integer())
      impl_->options.app_run_ms = body["app_run_ms"].get<int>();
    if (body.contains("services_api_disabled") && body["services_api_disabled"].is_boolean())
      impl_->options.services_api_disabled = body["services_api_disabled"].get<bool>();
    if (body.contains("upgrade_disabled") && body["upgrade_disabled"].is_boolean())
      impl_->options.upgrade_disabled = body["upgrade_disabled"].get<bool>();
    answer(res, 200, options_json());
  });
}

}  // namespace converge::yarn
