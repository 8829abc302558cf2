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

  Result<std::string> Stop(const Job& job, StopReason why) override {
    if (why == StopReason::kCancelled)  // found again after the restart
      return std::string("the YARN application runs on and is found again by its name");
    const std::string run = DesiredOf(job).value("application-name", job.name);
    auto r = yarn_->Runs()->ReadRun(kYarnApplicationKind, run);
    if (!r.ok()) return r.status().Annotate("stop YARN application " + run);
    if (r->phase != RunPhase::kSucceeded && r->phase != RunPhase::kFailed)
      CONVERGE_RETURN_IF_ERROR(
          yarn_->Runs()->StopRun(kYarnApplicationKind, *r).Annotate("stop YARN application " + run));
    return std::string("the YARN application is being killed");
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

class CommandJobRunner : public JobRunner {
 public:
  CommandJobRunner(CommandJobs* jobs, std::vector<std::string> argv,
                   std::map<std::string, std::string> env)
      : jobs_(jobs), argv_(std::move(argv)), env_(std::move(env)) {}

  Status Start(const Job& job) override { return jobs_->Start(job.name, argv_, env_); }
  Result<JobStatus> Poll(const Job& job) override { return jobs_->Poll(job.name); }
  Result<std::string> Stop(const Job& job, StopReason) override {
    jobs_->Stop(job.name);
    return std::string("the command was killed");
  }

 private:
  CommandJobs* jobs_;
  std::vector<std::string> argv_;
  std::map<std::string, std::string> env_;
};

constexpr size_t kRedactMinLength = 4;  // shorter values ("1", "on") would garble messages

std::string Redacted(std::string text, const std::vector<std::string>& values) {
  for (const std::string& v : values) {
    for (size_t at = text.find(v); at != std::string::npos; at = text.find(v, at + 3))
      text.replace(at, v.size(), "***");
  }
  return text;
}

}  // namespace

std::unique_ptr<JobRunner> CommandJobs::Runner(std::vector<std::string> argv,
                                               std::map<std::string, std::string> env) {
  return std::make_unique<CommandJobRunner>(this, std::move(argv), std::move(env));
}

Status CommandJobs::Start(const std::string& name, const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env) {
  if (argv.empty()) return InvalidError("maintenance job " + name + ": an empty command");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(name);
  if (it != jobs_.end()) {
    if (!it->second.process->Poll()) return Status::Ok();  // still running: not started twice
    jobs_.erase(it);  // ended and never polled: this start runs it again
  }
  process::SpawnOptions o;
  o.argv = argv;
  o.env = env;
  o.env["CONVERGE_JOB"] = name;
  auto p = launcher_.Spawn(o);
  if (!p.ok()) return p.status().Annotate("start maintenance job " + name);
  Running r{std::move(*p), argv[0], {}};
  for (const auto& [k, v] : env)
    if (v.size() >= kRedactMinLength) r.redact.push_back(v);
  jobs_.emplace(name, std::move(r));
  return Status::Ok();
}

JobStatus CommandJobs::Poll(const std::string& name) {
  Running job;
  process::ExitStatus st;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(name);
    if (it == jobs_.end())
      return JobStatus{JobPhase::kFailed,
                       "command job " + name + " is not running in this converge"};
    std::optional<process::ExitStatus> ended = it->second.process->Poll();
    if (!ended) {
      return JobStatus{JobPhase::kRunning, "command " + it->second.program + " (pid " +
                                               std::to_string(it->second.process->pid()) +
                                               ") running"};
    }
    st = *ended;
    job = std::move(it->second);
    jobs_.erase(it);
  }
  if (st.ok()) return JobStatus{JobPhase::kSucceeded, "command " + job.program + " succeeded"};
  std::string tail = process::Tail(job.process->Stderr().text, /*max_lines=*/8,
                                   /*max_bytes=*/1000);
  std::string one_line;  // the lines joined with " | "
  for (char c : tail) {
    if (c == '\r') continue;
    one_line += c == '\n' ? std::string(" | ") : std::string(1, c == '\t' ? ' ' : c);
  }
  tail = Redacted(one_line, job.redact);
  return JobStatus{JobPhase::kFailed, "command " + job.program + " failed with " + st.Describe() +
                                          (tail.empty() ? "" : ": " + tail)};
}

void CommandJobs::Stop(const std::string& name) {
  std::unique_ptr<process::Process> stopped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(name);
    if (it == jobs_.end()) return;
    stopped = std::move(it->second.process);
    jobs_.erase(it);
  }
  stopped->Kill();
  stopped->Wait();
}

size_t CommandJobs::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.size();
}

std::shared_ptr<CommandJobs> SystemCommandJobs() {
  // Never destroyed: a job still running at exit is left to end on its own, as after a crash.
  static auto* const kJobs =
      new std::shared_ptr<CommandJobs>(std::make_shared<CommandJobs>(process::SystemLauncher()));
  return *kJobs;
}

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
