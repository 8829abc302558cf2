#include "reconcilers/common/emulator/flags.h"

#include <charconv>

namespace converge::emulator {

std::string FlagValue(const EmulatorFlagValues& flags, const std::string& name,
                      const std::string& default_value) {
  auto it = flags.find(name);
  if (it == flags.end() || it->second.empty()) return default_value;
  return it->second.back();
}

std::vector<std::string> FlagValues(const EmulatorFlagValues& flags, const std::string& name) {
  auto it = flags.find(name);
  return it == flags.end() ? std::vector<std::string>{} : it->second;
}

Result<int> TransitionMsFlag(const EmulatorFlagValues& flags, int default_ms) {
  auto it = flags.find(kTransitionMsFlag);
  if (it == flags.end() || it->second.empty()) return default_ms;
  const std::string& text = it->second.back();
  long long ms = -1;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (err != std::errc() || end != text.data() + text.size() || ms < 0 || ms > kMaxTransitionMs) {
    return InvalidError(std::string(kTransitionMsFlag) + " must be an integer within 0.." +
                        std::to_string(kMaxTransitionMs) + ", not '" + text + "'");
  }
  return static_cast<int>(ms);
}

Status ReadSharedKnobs(const EmulatorFlagValues& flags, int* transition_ms,
                       std::vector<std::string>* failing_images) {
  Result<int> ms = TransitionMsFlag(flags, *transition_ms);
  if (!ms.ok()) return ms.status();
  *transition_ms = *ms;
  *failing_images = FlagValues(flags, kFailingImageFlag);
  return Status::Ok();
}

}  // namespace converge::emulator
