// Reading an emulator's flag values (EmulatorFlagValues) in a backend's MakeEmulator, with the
// two flags every emulator takes: transition-ms and failing-image.
#pragma once

#include <string>
#include <vector>

#include "reconcilers/common/emulator/emulator.h"
#include "specs/base/status.h"

namespace converge::emulator {

inline constexpr char kTransitionMsFlag[] = "transition-ms";
inline constexpr char kFailingImageFlag[] = "failing-image";
inline constexpr int kMaxTransitionMs = 86400000;  // a day
// Not a flag: `converge sandbox` passes its --state FILE under this key (when given), for an
// emulator that keeps files beside it (the Iceberg catalog's warehouse).
inline constexpr char kStateFileValue[] = "_state-file";

// The last value of `name`, or `default_value` when the flag was not given.
std::string FlagValue(const EmulatorFlagValues& flags, const std::string& name,
                      const std::string& default_value = "");
// Every value of a repeated flag.
std::vector<std::string> FlagValues(const EmulatorFlagValues& flags, const std::string& name);
// transition-ms as a number of milliseconds within 0..kMaxTransitionMs.
Result<int> TransitionMsFlag(const EmulatorFlagValues& flags, int default_ms);

// The two knobs every emulator takes, read into its options: transition-ms (kept when not given)
// and the repeated failing-image.
Status ReadSharedKnobs(const EmulatorFlagValues& flags, int* transition_ms,
                       std::vector<std::string>* failing_images);

}  // namespace converge::emulator
