// A RunDriver for tests of the run lifecycle: runs kept by name in memory; a started run goes
// through the phases scripted for it (one per ReadRun / ListRuns), then stays in the last one.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "reconcilers/reconciler.h"

namespace converge::test {

class FakeRunDriver : public RunDriver {
 public:
  // Phases a run named `name` takes once started (default: succeeded at once).
  std::map<std::string, std::vector<RunPhase>> script;
  // Answers of the next StartRun calls, in order (default: ok, and the run exists). An
  // kUnknownOutcome answer with `lands` true starts the run anyway (the reply was lost).
  struct Start {
    Status status;
    bool lands = true;
  };
  std::vector<Start> starts;
  std::string cannot_start;  // CannotStart's answer
  std::string failure_reason = "exit code 1";

  void Add(const std::string& name, RunPhase phase, int64_t created_ms) {
    std::lock_guard<std::mutex> l(mu_);
    runs_[name] = RunRecord{name, phase, RunPhaseName(phase),
                            phase == RunPhase::kFailed ? failure_reason : "", created_ms};
  }
  std::vector<std::string> started() const {
    std::lock_guard<std::mutex> l(mu_);
    return started_;
  }
  int reads() const {
    std::lock_guard<std::mutex> l(mu_);
    return reads_;
  }

  Result<std::vector<RunRecord>> ListRuns(const std::string&, const std::string& base) override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<RunRecord> out;
    for (auto& [name, r] : runs_)
      if (name.rfind(base, 0) == 0) out.push_back(Advance(r));
    return out;
  }
  Result<RunRecord> ReadRun(const std::string&, const std::string& name) override {
    std::lock_guard<std::mutex> l(mu_);
    ++reads_;
    auto it = runs_.find(name);
    if (it == runs_.end()) return NotFoundError("no run " + name);
    return Advance(it->second);
  }
  Status StartRun(const std::string&, const json& desired) override {
    std::lock_guard<std::mutex> l(mu_);
    const std::string name = desired.value("id", "");
    started_.push_back(name);
    Start s;
    if (!starts.empty()) {
      s = starts.front();
      starts.erase(starts.begin());
    }
    if (s.status.ok() || s.lands) {
      if (!runs_.count(name)) runs_[name] = RunRecord{name, RunPhase::kPending, "Pending", "", ++clock_};
    }
    return s.status;
  }
  std::string CannotStart(const std::string&, const json&) const override { return cannot_start; }

 private:
  RunRecord Advance(RunRecord& r) {
    auto it = script.find(r.name);
    if (it == script.end() || it->second.empty()) {
      if (r.phase == RunPhase::kPending && it == script.end()) r.phase = RunPhase::kSucceeded;
    } else {
      r.phase = it->second.front();
      if (it->second.size() > 1) it->second.erase(it->second.begin());
    }
    r.status = RunPhaseName(r.phase);
    r.reason = r.phase == RunPhase::kFailed ? failure_reason : "";
    return r;
  }

  mutable std::mutex mu_;
  std::map<std::string, RunRecord> runs_;
  std::vector<std::string> started_;
  int reads_ = 0;
  int64_t clock_ = 1000;
};

}  // namespace converge::test
