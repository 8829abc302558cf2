#include "controller/sandbox/admin.h"

#include <httplib.h>

#include <functional>
#include <optional>
#include <vector>

namespace converge::sandbox {
namespace {

using json = nlohmann::json;
using httplib::Request;
using httplib::Response;

constexpr long long kMaxTransitionMs = 86400000;  // a day

std::optional<json> ParseJsonBody(const Request& req, Response& res) {
  json j = json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
  if (j.is_discarded()) {
    SetJson(res, 400, {{"message", "Invalid JSON"}});
    return std::nullopt;
  }
  return j;
}

// body[key] as a list of strings; nullopt when it is not one (absent = empty).
std::optional<std::vector<std::string>> StringList(const json& body, const char* key) {
  std::vector<std::string> out;
  const json list = body.is_object() ? body.value(key, json::array()) : json();
  if (!list.is_array()) return std::nullopt;
  for (const json& i : list) {
    if (!i.is_string()) return std::nullopt;
    out.push_back(i.get<std::string>());
  }
  return out;
}

void ImagesRoutes(httplib::Server& http, const std::string& path, emulator::Emulator& e) {
  http.Post(path, [&e](const Request& req, Response& res) {
    auto body = ParseJsonBody(req, res);
    if (!body) return;
    auto images = StringList(*body, "images");
    if (!images) {
      SetJson(res, 400, {{"message", "images must be an array of strings"}});
      return;
    }
    e.SetFailingImages(*images);
    SetJson(res, 200, {{"images", e.FailingImages()}});
  });
  http.Get(path, [&e](const Request&, Response& res) {
    SetJson(res, 200, {{"images", e.FailingImages()}});
  });
}

void TransitionRoutes(httplib::Server& http, const std::string& path, emulator::Emulator& e) {
  http.Post(path, [&e](const Request& req, Response& res) {
    auto body = ParseJsonBody(req, res);
    if (!body) return;
    auto ms = body->is_object() ? body->find("ms") : body->end();
    if (ms == body->end() || !ms->is_number_integer() || ms->get<long long>() < 0 ||
        ms->get<long long>() > kMaxTransitionMs) {
      SetJson(res, 400, {{"message", "ms must be an integer within 0..86400000"}});
      return;
    }
    e.SetTransitionMs(ms->get<int>());
    SetJson(res, 200, {{"ms", e.TransitionMs()}});
  });
  http.Get(path, [&e](const Request&, Response& res) {
    SetJson(res, 200, {{"ms", e.TransitionMs()}});
  });
}

}  // namespace

void SetJson(Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void MountFaultRoutes(httplib::Server& http, emulator::FaultRules& faults) {
  http.Post("/_admin/faults", [&faults](const Request& req, Response& res) {
    auto body = ParseJsonBody(req, res);
    if (!body) return;
    Result<json> rule = faults.Add(*body);
    if (!rule.ok()) {
      SetJson(res, 400, {{"message", rule.status().message()}});
      return;
    }
    SetJson(res, 201, *rule);
  });
  http.Get("/_admin/faults",
           [&faults](const Request&, Response& res) { SetJson(res, 200, faults.List()); });
  http.Delete("/_admin/faults", [&faults](const Request&, Response& res) {
    SetJson(res, 200, {{"cleared", faults.Clear()}});
  });
}

void MountRequestRoutes(httplib::Server& http, emulator::RequestLog& requests) {
  http.Get("/_admin/requests",
           [&requests](const Request&, Response& res) { SetJson(res, 200, requests.Json()); });
  http.Delete("/_admin/requests", [&requests](const Request&, Response& res) {
    requests.Clear();
    SetJson(res, 200, {{"total", 0}});
  });
}

void MountKnobRoutes(httplib::Server& http, const std::string& admin_prefix,
                     emulator::Emulator& emulator) {
  std::map<std::string, std::string> routes = {{"failing-images", "failing-images"},
                                               {"transition-ms", "transition-ms"}};
  for (const auto& [alias, knob] : emulator.AdminAliases()) routes.emplace(alias, knob);
  for (const auto& [name, knob] : routes) {
    if (knob == "failing-images") ImagesRoutes(http, admin_prefix + "/" + name, emulator);
    if (knob == "transition-ms") TransitionRoutes(http, admin_prefix + "/" + name, emulator);
  }
}

}  // namespace converge::sandbox
