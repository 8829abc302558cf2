#include "specs/base/status.h"

namespace converge {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalid: return "invalid";
    case Code::kNotFound: return "not found";
    case Code::kConflict: return "conflict";
    case Code::kUnavailable: return "unavailable";
    case Code::kTimeout: return "timeout";
    case Code::kPermission: return "permission denied";
    case Code::kStale: return "stale";
    case Code::kLocked: return "locked";
    case Code::kInternal: return "internal";
    case Code::kCancelled: return "cancelled";
    case Code::kUnknownOutcome: return "unknown outcome";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace converge
