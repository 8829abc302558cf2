// Jobs: the desired state "a run for this spec revision exists". The job name carries the
// content hash, so re-applying never starts a duplicate and a changed spec starts a new run; a
// failed run is a notice (with its FailureReason) and is not restarted; `converge rerun` starts
// <name>-<hash>-r<N>; runs are history, never rolled back and never pruned.
#include <algorithm>

#include "reconcilers/sagemaker/reconciler.h"
#include "reconcilers/sagemaker/reconciler_internal.h"

namespace converge::sagemaker {

using internal::CreationTime;
using internal::kPrivate;

std::optional<std::chrono::seconds> RunTimeout(const json& desired) {
  if (!desired.is_object() || !desired.contains("StoppingCondition")) return std::nullopt;
  const json& sc = desired["StoppingCondition"];
  long long total = 0;
  for (const char* m : {"MaxRuntimeInSeconds", "MaxWaitTimeInSeconds"})
    if (sc.is_object() && sc.contains(m) && sc[m].is_number_integer())
      total = std::max<long long>(total, sc[m].get<long long>());  // wait time includes runtime
  if (total == 0) return std::nullopt;
  return std::chrono::seconds(total + 15 * 60);  // time to start, and to upload the output
}

// Runs of a job spec: jobs named <live name> or <live name>-r<N>, newest first, with the
// failure reason of the newest when it failed.
Status Reconciler::ObserveRuns(const KindSpec& k, const std::string& name, json& runs) {
  const std::string base = LiveName(k.kind, name);
  runs = json::array();
  const std::string name_member = k.name_member;
  Status s = api_->ListAll(k.list_op, {{"NameContains", base}}, k.list_member, [&](json& o) {
    std::string n = o.value(name_member, "");
    bool mine = n == base || (n.rfind(base + "-r", 0) == 0 &&
                              std::all_of(n.begin() + base.size() + 2, n.end(), ::isdigit) &&
                              n.size() > base.size() + 2);
    if (mine)
      runs.push_back({{"Name", n},
                      {"Arn", o.value(k.arn_member, "")},
                      {"Status", o.value(k.status_member, "")},
                      {"CreationTime", o.value("CreationTime", json(0))}});
    return Status::Ok();
  });
  if (!s.ok()) return s;
  std::sort(runs.begin(), runs.end(),
            [](const json& a, const json& b) { return CreationTime(a) > CreationTime(b); });
  if (!runs.empty() && (runs[0]["Status"] == "Failed" || runs[0]["Status"] == "Stopped")) {
    auto d = api_->Call(k.describe_op, {{k.name_member, runs[0]["Name"]}});
    if (d.ok()) runs[0]["FailureReason"] = d->value("FailureReason", "");
  }
  return Status::Ok();
}

Status Reconciler::ObserveJobs(const KindSpec& k, const SpecMap& bound,
                               std::vector<LiveObject>& out) {
  // Jobs are looked up by the names their specs give; runs of removed specs are history,
  // never pruned.
  auto it = bound.find(k.kind);
  if (it == bound.end()) return Status::Ok();
  for (const auto& [name, _] : it->second) {
    json runs;
    CONVERGE_RETURN_IF_ERROR(ObserveRuns(k, name, runs));
    if (runs.empty()) continue;
    LiveObject o;
    o.key = {k.kind, name};
    o.doc = {{"Runs", std::move(runs)}};
    o.owned = true;
    out.push_back(std::move(o));
  }
  return Status::Ok();
}

Result<std::optional<LiveObject>> Reconciler::GetJob(const KindSpec& k, const ResourceKey& key) {
  json runs;
  CONVERGE_RETURN_IF_ERROR(ObserveRuns(k, key.name, runs));
  if (runs.empty()) return std::optional<LiveObject>();
  LiveObject o;
  o.key = key;
  o.doc = {{"Runs", std::move(runs)}};
  o.owned = true;
  return std::optional<LiveObject>(std::move(o));
}

DiffResult Reconciler::DiffJob(const KindSpec& k, const json& desired, const json& live) {
  DiffResult d;
  const std::string want = desired.value(k.name_member, "");
  if (live.is_null() || live.value("Runs", json::array()).empty()) {
    d.action = Action::kRun;
    d.reason = "no run for this spec revision yet: starts " + want;
    return d;
  }
  const json& last = live["Runs"][0];
  const std::string status = last.value("Status", "");
  if (status == "Failed" || status == "Stopped")
    d.notice =
        "run " + last.value("Name", "") + " " + status +
        (last.value("FailureReason", "").empty() ? "" : ": " + last.value("FailureReason", "")) +
        "; not restarted until the spec changes or `converge rerun " + k.kind + "/" +
        desired[kPrivate].value("Name", "") + "`";
  return d;
}

Status Reconciler::StartRun(const KindSpec& k, const json& desired) {
  auto r = api_->Call(k.create_op, WireRequest(desired));
  // The name carries the revision: "already exists" means an earlier attempt (whose answer was
  // lost) started exactly this run.
  if (!r.ok() && r.status().code() != Code::kConflict) return r.status();
  return Status::Ok();
}

Result<Health> Reconciler::JobHealth(const KindSpec& k, const json& desired) {
  auto d = api_->Call(k.describe_op, {{k.name_member, desired.value(k.name_member, "")}});
  if (!d.ok())
    return d.status().code() == Code::kNotFound
               ? Result<Health>(Health{HealthState::kMissing, "not found"})
               : Result<Health>(d.status());
  const std::string status = d->value(k.status_member, "");
  std::string msg = status;
  if (d->contains("SecondaryStatus")) msg += "/" + (*d)["SecondaryStatus"].get<std::string>();
  if (status == "Completed") return Health{HealthState::kHealthy, msg};
  if (status == "Failed" || status == "Stopped")
    return Health{HealthState::kFailed, msg + ": " + d->value("FailureReason", "no reason given")};
  return Health{HealthState::kProgressing, msg};
}

Result<json> Reconciler::DesiredForRerun(const Document& doc) {
  const KindSpec* k = FindKind(doc.kind);
  if (!k || !k->job) return InvalidError(doc.kind + " is not a job kind; only jobs can be rerun");
  json runs;
  CONVERGE_RETURN_IF_ERROR(ObserveRuns(*k, doc.name, runs));
  const std::string base = LiveName(doc.kind, doc.name);
  int next = 1;
  for (const auto& r : runs) {
    const std::string n = r.value("Name", "");
    if (n.size() > base.size() + 2) next = std::max(next, std::stoi(n.substr(base.size() + 2)) + 1);
  }
  if (runs.empty()) next = 0;
  json desired = Desired(doc);
  if (next > 0) desired[k->name_member] = base + "-r" + std::to_string(next);
  return desired;
}
}  // namespace converge::sagemaker
