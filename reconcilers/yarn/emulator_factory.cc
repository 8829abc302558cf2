// `converge sandbox --yarn-<flag>`: the YARN emulator built from flag values.
#include <charconv>

#include "reconcilers/common/emulator/flags.h"
#include "reconcilers/yarn/emulator.h"

namespace converge::yarn {
namespace {

Status IntFlag(const emulator::EmulatorFlagValues& flags, const std::string& name, int min,
               int* out) {
  std::string text = emulator::FlagValue(flags, name);
  if (text.empty()) return Status::Ok();
  int v = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (err != std::errc() || end != text.data() + text.size() || v < min) {
    return InvalidError("--yarn-" + name + " must be an integer >= " + std::to_string(min) +
                        ", not '" + text + "'");
  }
  *out = v;
  return Status::Ok();
}

Status BoolFlag(const emulator::EmulatorFlagValues& flags, const std::string& name, bool* out) {
  std::string text = emulator::FlagValue(flags, name);
  if (text.empty()) return Status::Ok();
  if (text != "true" && text != "false") {
    return InvalidError("--yarn-" + name + " must be true or false, not '" + text + "'");
  }
  *out = text == "true";
  return Status::Ok();
}

}  // namespace

std::vector<emulator::EmulatorFlag> EmulatorFlags() {
  return {
      {"app-run-ms",
       "How long an RM application runs (after RUNNING) before it FINISHES; default 4 steps", "",
       false},
      {"max-memory-mb", "The RM's maximum-resource-capability memory (MB)", "8192", false},
      {"max-vcores", "The RM's maximum-resource-capability vCores", "32", false},
      {"queue", "A queue that exists (repeatable; an app in another queue FAILS)", "default", true},
      {"static-user",
       "The user of requests without ?user.name= (as hadoop.http.staticuser.user); unset: such "
       "writes are refused",
       "", false},
      {"services-api-disabled",
       "true: every /app/v1 call answers 503 (yarn.webapp.api-service.enable=false)", "false",
       false},
      {"upgrade-disabled", "true: service upgrades answer 400 (yarn.service.upgrade.enabled=false)",
       "false", false},
  };
}

Result<std::unique_ptr<emulator::Emulator>> MakeEmulator(
    const emulator::EmulatorFlagValues& flags) {
  EmulatorOptions o;
  CONVERGE_RETURN_IF_ERROR(emulator::ReadSharedKnobs(flags, &o.transition_ms, &o.failing_images));
  o.app_run_ms = -1;
  CONVERGE_RETURN_IF_ERROR(IntFlag(flags, "app-run-ms", 0, &o.app_run_ms));
  CONVERGE_RETURN_IF_ERROR(IntFlag(flags, "max-memory-mb", 1, &o.max_memory_mb));
  CONVERGE_RETURN_IF_ERROR(IntFlag(flags, "max-vcores", 1, &o.max_vcores));
  std::vector<std::string> queues = emulator::FlagValues(flags, "queue");
  if (!queues.empty()) o.queues = queues;
  o.static_user = emulator::FlagValue(flags, "static-user");
  CONVERGE_RETURN_IF_ERROR(BoolFlag(flags, "services-api-disabled", &o.services_api_disabled));
  CONVERGE_RETURN_IF_ERROR(BoolFlag(flags, "upgrade-disabled", &o.upgrade_disabled));
  return std::unique_ptr<emulator::Emulator>(std::make_unique<Emulator>(std::move(o)));
}

}  // namespace converge::yarn
