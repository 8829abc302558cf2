#include "reconcilers/iceberg/jobs.h"

namespace converge::iceberg {

namespace {

constexpr char kYarnApplicationKind[] = "YarnApplication";

std::string SubstituteText(std::string s, const std::map<std::string, std::string>& vars) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t open = s.find('{', i);
    if (open == std::string::npos) break;
    size_t close = s.find('}', open + 1);
    if (close == std::string::npos) break;
    out.append(s, i, open - i);
    auto it = vars.find(s.substr(open + 1, close - open - 1));
    if (it != vars.end()) {
      out += it->second;
    } else {
      out.append(s, open, close - open + 1);
    }
    i = close + 1;
  }
  out.append(s, i, std::string::npos);
  return out;
}

class YarnJobRunner : public JobRunner {
 public:
  YarnJobRunner(converge::Reconciler* yarn, json application)
      : yarn_(yarn), application_(std::move(application)) {}

  Status Start(const Job& job) override {
    if (yarn_->Runs() == nullptr)
      return InvalidError("the executor's backend does not run applications");
    json desired = DesiredOf(job);
    return yarn_->Runs()->StartRun(kYarnApplicationKind, desired)
        .Annotate("submit maintenance job " + job.name);
  }

  Result<JobStatus> Poll(const Job& job) override {
    json desired = DesiredOf(job);
    const std::string run = desired.value("application-name", job.name);
    auto r = yarn_->Runs()->ReadRun(kYarnApplicationKind, run);
    if (!r.ok()) return r.status();
    JobStatus s;
    s.message = "YARN application " + run + (r->id.empty() ? "" : " (" + r->id + ")") + " " +
                r->status;
    switch (r->phase) {
      case RunPhase::kPending:
      case RunPhase::kRunning: s.phase = JobPhase::kRunning; break;
      case RunPhase::kSucceeded: s.phase = JobPhase::kSucceeded; break;
      case RunPhase::kFailed:
        s.phase = JobPhase::kFailed;
        if (!r->reason.empty()) s.message += ": " + r->reason;
        break;
    }
    return s;
  }

 private:
  // The YARN backend's own desired document: run name <job>-<hash of the spec>, ownership tags.
  json DesiredOf(const Job& job) const {
    Document doc;
    doc.kind = kYarnApplicationKind;
    doc.name = job.name;
    doc.spec = Substitute(application_, job.vars);
    return yarn_->Desired(doc);
  }

  converge::Reconciler* yarn_;
  json application_;
};

}  // namespace

json Substitute(const json& value, const std::map<std::string, std::string>& vars) {
  if (value.is_string()) return SubstituteText(value.get<std::string>(), vars);
  if (value.is_array()) {
    json out = json::array();
    for (const json& v : value) out.push_back(Substitute(v, vars));
    return out;
  }
  if (value.is_object()) {
    json out = json::object();
    for (const auto& [k, v] : value.items()) out[k] = Substitute(v, vars);
    return out;
  }
  return value;
}

std::unique_ptr<JobRunner> NewYarnJobRunner(converge::Reconciler* yarn, json application) {
  return std::make_unique<YarnJobRunner>(yarn, std::move(application));
}

}  // namespace converge::iceberg
