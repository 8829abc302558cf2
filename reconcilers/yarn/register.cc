// YARN's entry in the backend registry (reconcilers/registry.h): long-running services
// (YarnService, the Services API) and one-shot applications (YarnApplication, the RM apps API).
// Being built: the emulator, the client and the reconciler land here one by one.
#include "reconcilers/registry.h"
#include "reconcilers/yarn/emulator.h"

namespace converge::yarn {

void RegisterBackend(BackendRegistry& registry) {
  BackendFactory f;
  f.type = "yarn";
  f.auth_types = {"none", "simple", "spnego"};
  f.backend_schema = {{"properties", json::object()}};
  f.connect = [](const BackendConfig& cfg,
                 const ConnectContext&) -> Result<std::unique_ptr<converge::Reconciler>> {
    return InvalidError("backend " + cfg.name + ": the yarn backend is not built yet");
  };
  f.emulator_flags = EmulatorFlags();
  f.make_emulator = MakeEmulator;
  f.default_transition_ms = 300;
  registry.Register(std::move(f));
}

}  // namespace converge::yarn
