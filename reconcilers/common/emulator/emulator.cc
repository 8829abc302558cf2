#include "reconcilers/common/emulator/emulator.h"

#include <httplib.h>

namespace converge::emulator {

void DefaultFaultAnswer(int status, const std::string& body, httplib::Response& res) {
  res.status = status;
  std::string text =
      body.empty() ? nlohmann::json{{"message", "converge sandbox: injected fault"}}.dump() : body;
  const bool is_json = !nlohmann::json::parse(text, nullptr, false).is_discarded();
  res.set_content(text, is_json ? "application/json" : "text/plain");
}

void Emulator::AnswerFault(int status, const std::string& body, httplib::Response& res) const {
  DefaultFaultAnswer(status, body, res);
}

}  // namespace converge::emulator
