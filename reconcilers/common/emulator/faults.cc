#include "reconcilers/common/emulator/faults.h"

#include <algorithm>
#include <cctype>

namespace converge::emulator {

using json = nlohmann::json;

json FaultRule::ToJson() const {
  json j = {{"id", id},
            {"backend", backend},
            {"method", method},
            {"path_regex", path_regex},
            {"target", target},
            {"status", status},
            {"rate", rate},
            {"latency_ms", latency_ms},
            {"retry_after", retry_after},
            {"body", body},
            {"reset_connection", reset_connection},
            {"after", after},
            {"fired", fired}};
  j["remaining"] = count < 0 ? json() : json(count);
  return j;
}

Result<FaultRule> ParseFaultRule(const json& j, const std::vector<std::string>& backends) {
  if (!j.is_object()) return InvalidError("fault rule must be a JSON object");
  FaultRule rule;
  try {
    rule.backend = j.value("backend", "*");
    rule.method = j.value("method", "*");
    for (char& c : rule.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    rule.path_regex = j.value("path_regex", "");
    rule.regex = std::regex(rule.path_regex);
    rule.target = j.value("target", "");
    rule.status = j.value("status", 0);
    if (j.contains("count")) rule.count = j["count"].get<int>();
    rule.rate = j.value("rate", 1.0);
    rule.latency_ms = j.value("latency_ms", 0);
    if (j.contains("retry_after")) {
      const json& ra = j["retry_after"];
      rule.retry_after = ra.is_string() ? ra.get<std::string>() : ra.dump();
    }
    rule.body = j.value("body", "");
    rule.reset_connection = j.value("reset_connection", false);
    rule.after = j.value("after", false);
  } catch (const std::exception& e) {
    return InvalidError(std::string("invalid fault rule: ") + e.what());
  }
  if (rule.backend != "*" &&
      std::find(backends.begin(), backends.end(), rule.backend) == backends.end()) {
    return InvalidError("unknown backend " + rule.backend);
  }
  if (rule.rate < 0 || rule.rate > 1) return InvalidError("rate must be within 0..1");
  if (rule.status != 0 && (rule.status < 100 || rule.status > 599)) {
    return InvalidError("invalid status");
  }
  if (rule.after && (rule.reset_connection || rule.status != 0)) {
    return InvalidError(
        "\"after\" carries the request out and drops the reply; it cannot be "
        "combined with status or reset_connection");
  }
  if (rule.status == 0 && rule.latency_ms <= 0 && !rule.reset_connection && !rule.after) {
    return InvalidError("a fault needs a status, latency_ms, reset_connection or after");
  }
  return rule;
}

Result<json> FaultRules::Add(const json& body) {
  Result<FaultRule> rule = ParseFaultRule(body, backends_);
  if (!rule.ok()) return rule.status();
  std::lock_guard<std::mutex> lock(mu_);
  rule->id = next_id_++;
  rules_.push_back(*rule);
  return rules_.back().ToJson();
}

json FaultRules::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  json list = json::array();
  for (const FaultRule& r : rules_) list.push_back(r.ToJson());
  return {{"faults", list}};
}

size_t FaultRules::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = rules_.size();
  rules_.clear();
  rng_.seed(kSeed);
  return n;
}

std::optional<FaultRule> FaultRules::Fire(const FaultRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  for (FaultRule& r : rules_) {
    if (r.count == 0) continue;
    if (r.backend != "*" && r.backend != req.backend) continue;
    if (r.method != "*" && r.method != req.method) continue;
    if (!r.path_regex.empty() && !std::regex_search(req.path, r.regex)) continue;
    if (!r.target.empty() && r.target != req.target) continue;
    if (r.rate < 1.0) {
      std::uniform_real_distribution<double> dist(0.0, 1.0);
      if (dist(rng_) >= r.rate) continue;
    }
    if (r.count > 0) --r.count;
    ++r.fired;
    return r;
  }
  return std::nullopt;
}

}  // namespace converge::emulator
