// `converge sandbox --marathon-<flag>`: the Marathon emulator built from flag values.
#include "reconcilers/common/emulator/flags.h"
#include "reconcilers/marathon/emulator.h"

namespace converge::marathon {

std::vector<emulator::EmulatorFlag> EmulatorFlags() {
  return {
      {"basic-auth", "Require HTTP Basic USER:PASS on the Marathon emulator", "", false},
      {"token", "Require the DC/OS token `Authorization: token=TOKEN` (or the Basic credentials)",
       "", false},
  };
}

Result<std::unique_ptr<emulator::Emulator>> MakeEmulator(
    const emulator::EmulatorFlagValues& flags) {
  EmulatorOptions o;
  CONVERGE_RETURN_IF_ERROR(
      emulator::ReadSharedKnobs(flags, &o.transition_ms, &o.failing_images));
  o.basic_auth = emulator::FlagValue(flags, "basic-auth");
  o.token = emulator::FlagValue(flags, "token");
  return std::unique_ptr<emulator::Emulator>(std::make_unique<Emulator>(std::move(o)));
}

}  // namespace converge::marathon
