// Fuzz target: Iceberg's TablePolicy and Executor as the loader validates them — a spec file of
// those kinds and `Backend` documents, against the kinds exactly as the backend registers them.
#include "fuzz/fuzz_load.h"
#include "reconcilers/registry.h"

namespace converge::iceberg {
void RegisterBackend(BackendRegistry& registry);
}  // namespace converge::iceberg

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const converge::KindRegistry* const kKinds = [] {
    converge::BackendRegistry backends;
    converge::iceberg::RegisterBackend(backends);
    return new converge::KindRegistry(backends.LoaderKinds());
  }();
  converge::fuzz::LoadAndCheck(*kKinds, data, size);
  return 0;
}
