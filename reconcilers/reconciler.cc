#include "reconcilers/reconciler.h"

namespace converge {

const char* ActionName(Action a) {
  switch (a) {
    case Action::kNoop: return "noop";
    case Action::kCreate: return "create";
    case Action::kUpdate: return "update";
    case Action::kScale: return "scale";
    case Action::kReplace: return "replace";
    case Action::kDelete: return "delete";
    case Action::kRun: return "run";
  }
  return "noop";
}

}  // namespace converge

namespace converge {

const char* RunPhaseName(RunPhase p) {
  switch (p) {
    case RunPhase::kPending: return "pending";
    case RunPhase::kRunning: return "running";
    case RunPhase::kSucceeded: return "succeeded";
    case RunPhase::kFailed: return "failed";
  }
  return "pending";
}

}  // namespace converge
