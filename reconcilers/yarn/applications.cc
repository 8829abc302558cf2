#include "reconcilers/yarn/applications.h"
#include "specs/base/ascii.h"

#include <algorithm>
#include <cctype>

namespace converge::yarn {

namespace {

constexpr const char* kRunTag = "converge.io/run=";
constexpr const char* kRunOfTag = "converge.io/run-of=";
constexpr const char* kManagedByTag = "converge.io/managed-by=";

// Query-string escaping of a tag value ('=' and '/' included: the RM splits on ',').
std::string Escape(const std::string& s) { return http::UrlEncode(s); }

RunRecord RecordOf(const json& app) {
  RunRecord r;
  r.name = app.value("name", "");
  const std::string state = app.value("state", "");
  const std::string final_status = app.value("finalStatus", "");
  r.status = state + (final_status.empty() || final_status == "UNDEFINED" ? "" : "/" + final_status);
  if (state == "RUNNING") {
    r.phase = RunPhase::kRunning;
  } else if (state == "FINISHED" && final_status == "SUCCEEDED") {
    r.phase = RunPhase::kSucceeded;
  } else if (state == "FINISHED" || state == "FAILED" || state == "KILLED") {
    r.phase = RunPhase::kFailed;
    r.reason = app.value("diagnostics", "");
  } else {
    r.phase = RunPhase::kPending;
  }
  if (app.contains("startedTime") && app["startedTime"].is_number_integer())
    r.created_ms = app["startedTime"].get<int64_t>();
  r.id = app.value("id", "");
  // The spec: the run name is <spec>-<hash8>[-r<N>] (application names keep their case).
  std::string n = r.name;
  if (auto p = n.rfind("-r"); p != std::string::npos && p + 2 < n.size() &&
      std::all_of(n.begin() + p + 2, n.end(), ::isdigit))
    n = n.substr(0, p);
  if (n.size() > 9 && n[n.size() - 9] == '-') r.spec_name = n.substr(0, n.size() - 9);
  return r;
}

void CheckResourceMember(const json& spec, const std::string& path,
                         std::vector<PathDiagnostic>& out) {
  if (!spec.contains("resource")) return;
  const json& r = spec["resource"];
  if (!r.is_object()) {
    out.push_back({path + "/resource", "must be an object {memory, vCores}"});
    return;
  }
  for (const char* m : {"memory", "vCores"}) {
    if (!r.contains(m)) continue;
    if (!r[m].is_number_integer() || r[m].get<long long>() < 1 ||
        r[m].get<long long>() > 2147483647LL)
      out.push_back({path + "/resource/" + m, "must be an integer from 1 to 2147483647"});
  }
}

}  // namespace

KindInfo ApplicationKind() {
  KindInfo k;
  k.backend_type = "yarn";
  k.validate = [](Document& doc, std::vector<PathDiagnostic>& out) {
    const json& s = doc.spec.Edit();
    if (!s.is_object()) {
      out.push_back({"/spec", "must be an application submission context (an object)"});
      return;
    }
    if (s.contains("application-id"))
      out.push_back({"/spec/application-id",
                     "must be left out: the ResourceManager assigns one to every run"});
    if (s.contains(kApplicationNameMember))
      out.push_back({"/spec/application-name",
                     "must be left out: the name is metadata.name plus the spec's hash"});
    const json* am = s.contains("am-container-spec") ? &s["am-container-spec"] : nullptr;
    if (am == nullptr || !am->is_object() || !am->contains("commands") ||
        !(*am)["commands"].is_object() || !(*am)["commands"].contains("command") ||
        !(*am)["commands"]["command"].is_string())
      out.push_back({"/spec", "needs am-container-spec.commands.command: the AM's command line"});
    CheckResourceMember(s, "/spec", out);
    for (const char* m : {"queue", "application-type"})
      if (s.contains(m) && !s[m].is_string()) out.push_back({std::string("/spec/") + m, "must be a string"});
    if (s.contains("max-app-attempts") && !s["max-app-attempts"].is_number_integer())
      out.push_back({"/spec/max-app-attempts", "must be an integer"});
    if (s.contains("application-tags") && !s["application-tags"].is_object() &&
        !s["application-tags"].is_array())
      out.push_back({"/spec/application-tags", "must be a list of tags"});
  };
  return k;
}

json ApplicationDesired(const Document& doc, const std::string& instance) {
  json d = doc.spec.Get();
  const std::string run = doc.name + "-" + ContentHash(d.dump()).substr(0, 8);
  d[kApplicationNameMember] = run;
  if (!d.contains("application-type")) d["application-type"] = "converge";
  // The user's tags (a list, or the RM's {"tag": [...]} form), then converge's.
  json tags = json::array();
  if (d.contains("application-tags")) {
    const json& t = d["application-tags"];
    const json& list = t.is_object() ? t.value("tag", json::array()) : t;
    for (const auto& v : list)
      if (v.is_string()) tags.push_back(v);
  }
  tags.push_back(kManagedByTag + AsciiLower(instance));
  d["application-tags"] = {{"tag", tags}};
  return d;
}

Result<std::vector<RunRecord>> ApplicationRuns::ListTagged(const std::string& tag,
                                                           const std::string& query) {
  auto r = client_.Call("GET", "/ws/v1/cluster/apps?applicationTags=" + Escape(tag) + query);
  if (!r.ok()) return r.status();
  CONVERGE_RETURN_IF_ERROR(StatusFromResponse(*r));
  std::vector<RunRecord> out;
  const json& apps = r->body.is_object() ? r->body.value("apps", json()) : json();
  if (!apps.is_object()) return out;  // {"apps": null}: none
  for (const json& app : apps.value("app", json::array())) {
    // The RM matches any of the tags asked for; keep the apps that carry this one.
    std::string tags = "," + AsciiLower(app.value("applicationTags", "")) + ",";
    if (tags.find("," + tag + ",") == std::string::npos) continue;
    out.push_back(RecordOf(app));
  }
  return out;
}

Result<std::vector<RunRecord>> ApplicationRuns::ListRuns(const std::string& kind,
                                                         const std::string& base) {
  if (kind != kApplicationKind) return InvalidError("yarn: " + kind + " is not a run kind");
  return ListTagged(kRunOfTag + AsciiLower(base));
}

Result<RunRecord> ApplicationRuns::ReadRun(const std::string& kind, const std::string& name) {
  if (kind != kApplicationKind) return InvalidError("yarn: " + kind + " is not a run kind");
  auto runs = ListTagged(kRunTag + AsciiLower(name));
  if (!runs.ok()) return runs.status();
  if (runs->empty()) return NotFoundError("no YARN application of run " + name);
  // A run submitted twice (never by converge) reads as its newest submission.
  return *std::max_element(runs->begin(), runs->end(), [](const auto& a, const auto& b) {
    return a.created_ms < b.created_ms;
  });
}

Status ApplicationRuns::StartRun(const std::string& kind, const json& desired) {
  if (kind != kApplicationKind) return InvalidError("yarn: " + kind + " is not a run kind");
  const std::string name = desired.value(kApplicationNameMember, "");
  // The name is the idempotency key: a run of that name already submitted is this one.
  auto existing = ReadRun(kind, name);
  if (existing.ok()) return Status::Ok();
  if (existing.status().code() != Code::kNotFound) return existing.status();

  auto fresh = client_.Call("POST", "/ws/v1/cluster/apps/new-application", nullptr, false);
  if (!fresh.ok()) return fresh.status();
  CONVERGE_RETURN_IF_ERROR(StatusFromResponse(*fresh).Annotate("new-application"));
  const std::string id = fresh->body.value("application-id", "");
  if (id.empty()) return Status(Code::kUnavailable, "new-application answered no application-id");
  // Checked, never clamped: distributed shell's client clamps silently; converge says why.
  const json max = fresh->body.value("maximum-resource-capability", json::object());
  if (desired.contains("resource") && desired["resource"].is_object()) {
    for (const char* m : {"memory", "vCores"}) {
      const json& want = desired["resource"].value(m, json());
      if (want.is_number_integer() && max.contains(m) && max[m].is_number_integer() &&
          want.get<long long>() > max[m].get<long long>())
        return InvalidError("run " + name + ": the AM asks for resource." + m + " " +
                            std::to_string(want.get<long long>()) +
                            ", above the cluster's maximum-resource-capability " +
                            std::to_string(max[m].get<long long>()));
    }
  }
  json submit = desired;
  submit["application-id"] = id;
  json tags = submit["application-tags"].value("tag", json::array());
  tags.push_back(kRunTag + AsciiLower(name));
  // Reruns (<base>-r<N>) belong to the revision's run name.
  std::string base = name;
  if (auto r = name.rfind("-r"); r != std::string::npos && r + 2 < name.size() &&
      std::all_of(name.begin() + r + 2, name.end(), ::isdigit))
    base = name.substr(0, r);
  tags.push_back(kRunOfTag + AsciiLower(base));
  submit["application-tags"] = {{"tag", tags}};
  auto r = client_.Call("POST", "/ws/v1/cluster/apps", &submit, false);
  if (!r.ok()) return r.status();
  return StatusFromResponse(*r).Annotate("submitting run " + name);
}

Result<std::vector<RunRecord>> ApplicationRuns::ListActiveRuns(const std::string& kind) {
  if (kind != kApplicationKind) return std::vector<RunRecord>{};
  auto runs = ListTagged(kManagedByTag + AsciiLower(instance_),
                         "&states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING");
  if (!runs.ok()) return runs.status();
  std::vector<RunRecord> out;
  for (auto& r : *runs)
    if (r.phase == RunPhase::kPending || r.phase == RunPhase::kRunning) out.push_back(std::move(r));
  return out;
}

Status ApplicationRuns::StopRun(const std::string& kind, const RunRecord& run) {
  if (kind != kApplicationKind || run.id.empty())
    return InvalidError("yarn: no application id for run " + run.name);
  const json body = {{"state", "KILLED"}};
  auto r = client_.Call("PUT", "/ws/v1/cluster/apps/" + run.id + "/state", &body);
  if (!r.ok()) return r.status();
  return StatusFromResponse(*r);  // 202 (being killed) or 200 (killed): both fine
}

}  // namespace converge::yarn
