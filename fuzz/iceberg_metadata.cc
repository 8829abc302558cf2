// Fuzz target: Iceberg table metadata JSON (reconcilers/iceberg/metadata.h's ParseMetadataText)
// on hostile text. Every answer is a TableMetadata or a kInvalid Status; nothing crashes, leaks,
// hits undefined behaviour or throws. A parsed table's lookups run too (current snapshot,
// ancestry, specs, properties), since the reconciler calls them on whatever a catalog returns.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "reconcilers/iceberg/metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto t = converge::iceberg::ParseMetadataText(text);
  if (!t.ok()) {
    if (t.status().code() != converge::Code::kInvalid) {
      std::fprintf(stderr, "guarantee broken: %s\n", t.status().ToString().c_str());
      std::abort();
    }
    return 0;
  }
  for (const auto& s : t->snapshots) {
    (void)t->Ancestry(s.id, 1000);
    (void)s.SummaryInt("added-data-files");
  }
  for (const auto& [name, ref] : t->refs) (void)t->RefHead(name);
  (void)t->FindSpec(t->default_spec_id);
  (void)t->PropertyInt("write.target-file-size-bytes", 0);
  return 0;
}
