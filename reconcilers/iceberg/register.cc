// The Iceberg REST catalog backend (`type: iceberg-rest`): TablePolicy maintenance (compaction,
// snapshot expiry, orphan-file removal) and its sandbox catalog, served at /iceberg
// (`sandbox_mount`). The kinds and the reconciler are not built yet: `connect` says so.
#include "reconcilers/iceberg/emulator.h"
#include "reconcilers/registry.h"

namespace converge::iceberg {

void RegisterBackend(BackendRegistry& registry) {
  BackendFactory f;
  f.type = "iceberg-rest";
  f.sandbox_mount = "iceberg";
  f.auth_types = {"none", "bearer", "oauth2"};
  f.connect = [](const BackendConfig&,
                 const ConnectContext&) -> Result<std::unique_ptr<converge::Reconciler>> {
    return InvalidError("the iceberg-rest reconciler is not built yet (only the sandbox catalog)");
  };
  f.emulator_flags = EmulatorFlags();
  f.make_emulator = MakeEmulator;
  f.default_transition_ms = 0;
  registry.Register(std::move(f));
}

}  // namespace converge::iceberg
