// `converge sandbox --sagemaker-<flag>`: the SageMaker emulator built from flag values.
#include "reconcilers/common/emulator/flags.h"
#include "reconcilers/sagemaker/emulator.h"

namespace converge::sagemaker {
namespace {

constexpr char kSandboxAccessKey[] = "AKIDSANDBOX";
constexpr char kSandboxSecretKey[] = "sandbox-secret";

}  // namespace

std::vector<emulator::EmulatorFlag> EmulatorFlags() {
  return {
      {"access-key",
       "Access key SageMaker requests must be SigV4-signed with (empty = no signature check)",
       kSandboxAccessKey, false},
      {"secret-key", "Its secret (the environment variable keeps it off the command line)",
       kSandboxSecretKey, false},
      {"region", "Only accept requests signed for this region (default: any)", "", false},
  };
}

Result<std::unique_ptr<emulator::Emulator>> MakeEmulator(
    const emulator::EmulatorFlagValues& flags) {
  EmulatorOptions o;
  CONVERGE_RETURN_IF_ERROR(
      emulator::ReadSharedKnobs(flags, &o.transition_ms, &o.failing_images));
  o.access_key = emulator::FlagValue(flags, "access-key", kSandboxAccessKey);
  o.secret_key = emulator::FlagValue(flags, "secret-key", kSandboxSecretKey);
  o.region = emulator::FlagValue(flags, "region");
  return std::unique_ptr<emulator::Emulator>(std::make_unique<Emulator>(std::move(o)));
}

}  // namespace converge::sagemaker
