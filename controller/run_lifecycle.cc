#include "controller/run_lifecycle.h"

#include "controller/backends.h"

#include <algorithm>
#include <cctype>

namespace converge::runs {

namespace {

// The N of "<base>-r<N>", 0 for "<base>" itself, -1 for a name of another spec.
int RerunNumber(const std::string& base, const std::string& name) {
  if (name == base) return 0;
  if (name.size() <= base.size() + 2 || name.compare(0, base.size() + 2, base + "-r") != 0)
    return -1;
  const std::string digits = name.substr(base.size() + 2);
  if (digits.size() > 6 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
  return std::stoi(digits);
}

json RunJson(const RunRecord& r) {
  json j = {{"Name", r.name}, {"Phase", RunPhaseName(r.phase)}, {"Status", r.status},
            {"Reason", r.reason}};
  if (!r.id.empty()) j["Id"] = r.id;
  return j;
}

}  // namespace

std::string RunName(const KindDef& kind, const json& desired) {
  if (!desired.is_object() || !desired.contains(kind.run_name_member) ||
      !desired[kind.run_name_member].is_string())
    return "";
  return desired[kind.run_name_member].get<std::string>();
}

Result<std::optional<LiveObject>> Observe(RunDriver& driver, const KindDef& kind,
                                          const ResourceKey& key, const std::string& base) {
  auto listed = driver.ListRuns(kind.kind, base);
  if (!listed.ok()) return listed.status();
  std::vector<RunRecord> mine;
  for (auto& r : *listed)
    if (RerunNumber(base, r.name) >= 0) mine.push_back(std::move(r));
  if (mine.empty()) return std::optional<LiveObject>();
  // Newest first: by creation time, then by rerun number (equal clocks).
  std::sort(mine.begin(), mine.end(), [&](const RunRecord& a, const RunRecord& b) {
    if (a.created_ms != b.created_ms) return a.created_ms > b.created_ms;
    return RerunNumber(base, a.name) > RerunNumber(base, b.name);
  });
  LiveObject o;
  o.key = key;
  o.owned = true;  // the name carries the revision hash: only converge names runs so
  json runs = json::array();
  for (const auto& r : mine) runs.push_back(RunJson(r));
  o.doc = {{"Runs", std::move(runs)}};
  return std::optional<LiveObject>(std::move(o));
}

std::vector<LiveObject> Orphans(const KindDef& kind, const std::vector<RunRecord>& active,
                                const std::map<std::string, BoundRun>& bound) {
  std::map<std::string, LiveObject> by_spec;
  for (const RunRecord& r : active) {
    if (r.spec_name.empty()) continue;
    ResourceKey key{kind.kind, r.spec_name};
    if (bound.count(key.ToString())) continue;  // its spec is here: observed by its revision
    LiveObject& o = by_spec[r.spec_name];
    o.key = key;
    o.owned = true;
    if (o.doc.is_null()) o.doc = {{"Runs", json::array()}};
    o.doc["Runs"].push_back(RunJson(r));
  }
  std::vector<LiveObject> out;
  for (auto& [_, o] : by_spec) out.push_back(std::move(o));
  return out;
}

Result<std::string> StopRuns(RunDriver& driver, const KindDef& kind, const json& live) {
  std::string stopped;
  for (const json& r : live.value("Runs", json::array())) {
    const std::string phase = r.value("Phase", "");
    if (phase != RunPhaseName(RunPhase::kRunning) && phase != RunPhaseName(RunPhase::kPending))
      continue;
    RunRecord rec;
    rec.name = r.value("Name", "");
    rec.id = r.value("Id", "");
    CONVERGE_RETURN_IF_ERROR(driver.StopRun(kind.kind, rec).Annotate("stopping run " + rec.name));
    stopped += (stopped.empty() ? "" : ", ") + rec.name;
  }
  return stopped.empty() ? std::string("nothing was running") : "stopped " + stopped;
}

std::string NoticeStatus(const json& live) {
  if (!live.is_object() || !live.contains("Runs") || live["Runs"].empty()) return "";
  const std::string phase = live["Runs"][0].value("Phase", "");
  if (phase == RunPhaseName(RunPhase::kFailed)) return kRunFailedStatus;
  if (phase == RunPhaseName(RunPhase::kRunning) || phase == RunPhaseName(RunPhase::kPending))
    return kRunningStatus;
  return "";
}

DiffResult Diff(const RunDriver& driver, const KindDef& kind, const ResourceKey& key,
                const json& desired, const json& live) {
  DiffResult d;
  if (desired.is_null()) return d;  // a removed spec: its runs are history, never pruned
  const std::string want = RunName(kind, desired);
  if (live.is_null() || live.value("Runs", json::array()).empty()) {
    if (std::string why = driver.CannotStart(kind.kind, desired); !why.empty()) {
      d.error = why;
      return d;
    }
    d.action = Action::kRun;
    d.reason = "no run for this spec revision yet: starts " + want;
    return d;
  }
  const json& last = live["Runs"][0];
  const std::string name = last.value("Name", "");
  const std::string status = last.value("Status", "");
  const std::string reason = last.value("Reason", "");
  const std::string s = NoticeStatus(live);
  if (s == kRunFailedStatus)
    d.notice = "run " + name + " " + status + (reason.empty() ? "" : ": " + reason) +
               "; not restarted until the spec changes or `converge rerun " + key.ToString() +
               "`";
  else if (s == kRunningStatus)
    d.notice = "run " + name + " is " + (status.empty() ? "running" : status);
  return d;
}

Result<Health> RunHealth(RunDriver& driver, const KindDef& kind, const json& desired) {
  const std::string name = RunName(kind, desired);
  auto r = driver.ReadRun(kind.kind, name);
  if (!r.ok()) {
    if (r.status().code() == Code::kNotFound)
      return Health{HealthState::kMissing, name + " not found"};
    return r.status();
  }
  switch (r->phase) {
    case RunPhase::kSucceeded: return Health{HealthState::kHealthy, r->status};
    case RunPhase::kFailed:
      return Health{HealthState::kFailed,
                    r->status + ": " + (r->reason.empty() ? "no reason given" : r->reason)};
    default: return Health{HealthState::kProgressing, r->status};
  }
}

std::string RunKindsOf(const BackendRegistry& registry) {
  std::string out;
  for (const BackendFactory& f : registry.All())
    for (const KindDef& k : f.kinds)
      if (k.lifecycle == Lifecycle::kRun) out += (out.empty() ? "" : ", ") + k.kind;
  return out;
}

Result<json> DesiredForRerun(RunDriver& driver, const KindDef& kind, json desired) {
  const std::string base = RunName(kind, desired);
  if (base.empty()) return InvalidError(kind.kind + ": the desired document names no run");
  auto listed = driver.ListRuns(kind.kind, base);
  if (!listed.ok()) return listed.status();
  int next = -1;
  for (const auto& r : *listed) next = std::max(next, RerunNumber(base, r.name));
  if (next >= 0) desired[kind.run_name_member] = base + "-r" + std::to_string(next + 1);
  return desired;
}

}  // namespace converge::runs
