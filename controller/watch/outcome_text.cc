#include "controller/watch/outcome_text.h"

namespace converge::watch {

bool IsTerminal(const ChangeResult& result) {
  const std::string& m = result.message;
  for (Code c : {Code::kInvalid, Code::kPermission, Code::kStale}) {
    std::string prefix = std::string(CodeName(c)) + ": ";
    if (m.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

bool PlanErrorNames(const std::string& error, const std::string& key) {
  return error.find(": " + key + " already exists") != std::string::npos ||
         error.find(": " + key + ": ") != std::string::npos;
}

}  // namespace converge::watch
