// SageMaker emulator: status transitions of endpoints and jobs as time passes.
#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string_view>
#include <utility>

#include "reconcilers/common/aws_sigv4.h"
#include "reconcilers/common/base64.h"
#include "reconcilers/common/emulator/mount.h"
#include "reconcilers/sagemaker/emulator_internal.h"
#include "reconcilers/sagemaker/model.h"

namespace converge::sagemaker {

bool Emulator::Impl::Advance(SteadyTime now) {
  bool changed = false;
  for (auto it = endpoints.begin(); it != endpoints.end();) {
    bool erase = false;
    changed = StepEndpoint(it->second, now, &erase) || changed;
    it = erase ? endpoints.erase(it) : std::next(it);
  }
  for (auto& by_name : jobs) {
    for (auto& [name, job] : by_name) changed = StepJob(job, now) || changed;
  }
  return changed;
}

void Emulator::Impl::Deploy(Variant& v, double t) {
  v.current_weight = v.desired_weight;
  v.current_count = v.desired_count;
  v.current_serverless = v.serverless;
  v.deployed = true;
  v.resolved_at = t;
  v.status.clear();
}

bool Emulator::Impl::StepEndpoint(Endpoint& ep, SteadyTime now, bool* erase) {
  bool changed = false;
  while (ep.phase != Phase::kNone && ep.due <= now) {
    changed = true;
    const double t = ep.due_wall;
    ep.modified = t;
    switch (ep.phase) {
      case Phase::kCreating:
        if (!ep.pending_failure.empty()) {
          ep.status = "Failed";
          ep.failure_reason = ep.pending_failure;
          for (Variant& v : ep.variants) v.status.clear();
        } else {
          ep.status = "InService";
          for (Variant& v : ep.variants) Deploy(v, t);
        }
        ep.pending_failure.clear();
        ep.phase = Phase::kNone;
        break;
      case Phase::kUpdating:
        if (!ep.pending_failure.empty()) {
          // The new fleet never became healthy: SageMaker rolls back to the old config.
          ep.status = "RollingBack";
          ep.phase = Phase::kRollingBack;
          ep.due += milliseconds(transition_ms);
          ep.due_wall += transition_ms / 1000.0;
          for (Variant& v : ep.pending) v.status = "Deleting";
        } else {
          ep.config_name = ep.pending_config;
          ep.variants = std::move(ep.pending);
          for (Variant& v : ep.variants) Deploy(v, t);
          ep.status = "InService";
          ep.failure_reason.clear();
          ep.pending.clear();
          ep.pending_config.clear();
          ep.phase = Phase::kNone;
        }
        break;
      case Phase::kRollingBack:
        ep.status = "InService";
        ep.failure_reason = ep.pending_failure;
        ep.pending_failure.clear();
        ep.pending.clear();
        ep.pending_config.clear();
        ep.phase = Phase::kNone;
        break;
      case Phase::kScaling:
        for (Variant& v : ep.variants) Deploy(v, v.resolved_at == 0 ? t : v.resolved_at);
        ep.status = "InService";
        ep.phase = Phase::kNone;
        break;
      case Phase::kDeleting:
        *erase = true;
        return true;
      case Phase::kNone:
        break;
    }
  }
  return changed;
}

void Emulator::Impl::AddTransition(Job& j, const std::string& status, double t,
                                   const std::string& message) {
  if (j.kind != int(JobKind::kTraining)) return;
  if (!j.transitions.empty()) j.transitions.back()["EndTime"] = t;
  j.transitions.push_back({{"Status", status}, {"StartTime", t}, {"StatusMessage", message}});
  j.secondary = status;
}

bool Emulator::Impl::StepJob(Job& j, SteadyTime now) {
  if (!j.active || j.due > now) return false;
  const double t = j.due_wall;
  j.active = false;
  j.modified = t;
  j.end = t;
  if (j.status == "Stopping") {
    j.status = "Stopped";
    AddTransition(j, "Stopped", t, "Training job stopped");
  } else if (!j.planned_failure.empty()) {
    j.status = "Failed";
    j.failure_reason = j.planned_failure;
    AddTransition(j, "Failed", t, "Training job failed. Reason: " + j.failure_reason);
  } else {
    j.status = "Completed";
    AddTransition(j, "Completed", t, "Training job completed");
  }
  if (!j.transitions.empty()) j.transitions.back()["EndTime"] = t;
  return true;
}

}  // namespace converge::sagemaker
