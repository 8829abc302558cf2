// Fuzz target: converge's one Avro reader (reconcilers/iceberg/manifests.h) on hostile bytes — the
// same bytes as a manifest list and as a manifest (with a day-partitioned table, so partition
// rendering runs). Every answer is a value or a kInvalid Status naming the file; nothing crashes,
// leaks, over-allocates (ASan's allocation-size-too-big, libFuzzer's -rss_limit_mb) or throws.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "reconcilers/iceberg/manifests.h"

namespace {

const converge::iceberg::TableMetadata& Table() {
  static const converge::iceberg::TableMetadata* const kTable = [] {
    auto t = converge::iceberg::ParseMetadataText(R"({
      "format-version": 2, "table-uuid": "9c12d441-03fe-4693-9a96-a0705ddf69c1",
      "location": "s3://b/t", "last-sequence-number": 1, "last-updated-ms": 1,
      "last-column-id": 2, "current-schema-id": 0,
      "schemas": [{"type": "struct", "schema-id": 0, "fields": [
        {"id": 1, "name": "id", "required": true, "type": "long"},
        {"id": 2, "name": "ts", "required": true, "type": "timestamp"}]}],
      "default-spec-id": 0, "last-partition-id": 1001,
      "partition-specs": [{"spec-id": 0, "fields": [
        {"name": "ts_day", "transform": "day", "source-id": 2, "field-id": 1000},
        {"name": "ts_hour", "transform": "hour", "source-id": 2, "field-id": 1001}]}],
      "default-sort-order-id": 0, "sort-orders": [{"order-id": 0, "fields": []}]})");
    if (!t.ok()) {
      std::fprintf(stderr, "fuzz table: %s\n", t.status().ToString().c_str());
      std::abort();
    }
    return new converge::iceberg::TableMetadata(*t);
  }();
  return *kTable;
}

void Check(const converge::Status& s, const char* what) {
  if (s.ok()) return;
  if (s.code() != converge::Code::kInvalid || s.message().rfind(what, 0) != 0) {
    std::fprintf(stderr, "guarantee broken: %s\n", s.ToString().c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  converge::iceberg::ReadLimits limits;
  limits.max_file_bytes = 1 << 20;
  auto list = converge::iceberg::ReadManifestList(bytes, limits);
  Check(list.status(), "manifest list");
  converge::iceberg::ManifestFile m;
  m.path = "s3://b/t/metadata/m0.avro";
  m.sequence_number = 3;
  m.added_snapshot_id = 7;
  auto entries = converge::iceberg::ReadManifest(bytes, m, &Table(), limits);
  Check(entries.status(), "manifest s3://b/t/metadata/m0.avro");
  return 0;
}
