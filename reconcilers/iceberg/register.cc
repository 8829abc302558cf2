// The Iceberg REST catalog backend (`type: iceberg-rest`): TablePolicy maintenance (compaction,
// snapshot expiry, orphan-file removal) and its sandbox catalog. Under construction: the factory
// is registered once the client, the reconciler and the emulator land.
#include "reconcilers/registry.h"

namespace converge::iceberg {

void RegisterBackend(BackendRegistry& /*registry*/) {}

}  // namespace converge::iceberg
