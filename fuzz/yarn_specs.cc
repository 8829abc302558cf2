// Fuzz target: YARN's YarnService and YarnApplication as the loader validates them — a spec file of
// those kinds and `Backend` documents, against the kinds exactly as the backend registers them.
#include "fuzz/fuzz_load.h"
#include "reconcilers/registry.h"

namespace converge::yarn {
void RegisterBackend(BackendRegistry& registry);
}  // namespace converge::yarn

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const converge::KindRegistry* const kKinds = [] {
    converge::BackendRegistry backends;
    converge::yarn::RegisterBackend(backends);
    return new converge::KindRegistry(backends.LoaderKinds());
  }();
  converge::fuzz::LoadAndCheck(*kKinds, data, size);
  return 0;
}
