// Jobs follow the run lifecycle (controller/run_lifecycle.h decides): this file is the
// RunDriver — listing, reading and starting SageMaker jobs. The job name carries the content
// hash (<name>-<hash8>, reruns -r<N>), so the name is the idempotency key.
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

RunRecord Reconciler::RunOf(const KindSpec& k, const json& o) const {
  RunRecord r;
  r.name = o.value(k.name_member, "");
  const std::string status = o.value(k.status_member, "");
  r.status = status;
  if (o.contains("SecondaryStatus") && o["SecondaryStatus"].is_string())
    r.status += "/" + o["SecondaryStatus"].get<std::string>();
  r.phase = status == "Completed"                         ? RunPhase::kSucceeded
            : status == "Failed" || status == "Stopped"   ? RunPhase::kFailed
            : status.empty()                              ? RunPhase::kPending
                                                          : RunPhase::kRunning;
  r.reason = o.value("FailureReason", "");
  r.created_ms = static_cast<int64_t>(CreationTime(o) * 1000);
  return r;
}

Result<std::vector<RunRecord>> Reconciler::ListRuns(const std::string& kind,
                                                    const std::string& base) {
  const KindSpec* k = FindKind(kind);
  if (!k || !k->job) return InvalidError("SageMaker has no job kind " + kind);
  // What the spec of these runs references outside converge must exist (CannotStart): look
  // it up, as Get does for the other kinds.
  const auto bound = Specs();
  if (auto ks = bound->find(kind); ks != bound->end()) {
    for (const auto& [name, _] : ks->second) {
      if (LiveName(*bound, kind, name) != base) continue;
      for (const ResourceKey& r : ExternalRefs(kind, name)) {
        const KindSpec* rk = FindKind(r.kind);
        auto d = api_->Call(rk->describe_op, {{rk->name_member, r.name}});
        if (!d.ok() && d.status().code() != Code::kNotFound) return d.status();
        NoteExisting(r.kind, r.name, d.ok());
      }
    }
  }
  std::vector<RunRecord> runs;
  Status s = api_->ListAll(k->list_op, {{"NameContains", base}}, k->list_member, [&](json& o) {
    RunRecord r = RunOf(*k, o);
    if (r.name.rfind(base, 0) == 0) runs.push_back(std::move(r));  // NameContains is a substring
    return Status::Ok();
  });
  if (!s.ok()) return s;
  // The summaries carry no FailureReason: the newest failed run's is read.
  auto newest = std::max_element(runs.begin(), runs.end(), [](const auto& a, const auto& b) {
    return a.created_ms < b.created_ms;
  });
  if (newest != runs.end() && newest->phase == RunPhase::kFailed) {
    auto d = api_->Call(k->describe_op, {{k->name_member, newest->name}});
    if (d.ok()) newest->reason = d->value("FailureReason", "");
  }
  return runs;
}

Result<RunRecord> Reconciler::ReadRun(const std::string& kind, const std::string& name) {
  const KindSpec* k = FindKind(kind);
  if (!k || !k->job) return InvalidError("SageMaker has no job kind " + kind);
  auto d = api_->Call(k->describe_op, {{k->name_member, name}});
  if (!d.ok()) return d.status();
  return RunOf(*k, *d);
}

Status Reconciler::StartRun(const std::string& kind, const json& desired) {
  const KindSpec* k = FindKind(kind);
  if (!k || !k->job) return InvalidError("SageMaker has no job kind " + kind);
  auto r = api_->Call(k->create_op, WireRequest(desired));
  // The name carries the revision: "already exists" means an earlier attempt (whose answer was
  // lost) started exactly this run.
  if (!r.ok() && r.status().code() != Code::kConflict) return r.status();
  return Status::Ok();
}

std::string Reconciler::CannotStart(const std::string& kind, const json& desired) const {
  if (!desired.is_object() || !desired.contains(kPrivate)) return "";
  return DanglingReference(desired[kPrivate].value("Kind", ""),
                           desired[kPrivate].value("Name", ""));
}

}  // namespace converge::sagemaker
