// Iceberg table metadata (format/spec.md "Table Metadata", v1, v2 and v3) as a plain struct.
// What it promises:
//  * ParseMetadata accepts what Iceberg's own parser accepts among the upstream examples
//    (upstream/table-metadata/) and rejects the invalid ones with a kInvalid Status that names the
//    member: an unsupported format-version, a v2+ table without sort-orders, a current-schema-id
//    naming no schema, a schema field without a (parsable) type, a missing required member.
//  * No exception leaves the module; a JSON value of the wrong type is an error, never a crash.
//  * `refs` always holds `main` when the table has a current snapshot (v1 tables and tables
//    without a refs map get it from current-snapshot-id); current-snapshot-id -1 means "none".
//  * Only what maintenance needs is kept; the raw JSON stays available in `raw`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "specs/base/status.h"
#include "specs/document.h"

namespace converge::iceberg {

struct Snapshot {
  int64_t id = 0;
  std::optional<int64_t> parent_id;
  int64_t sequence_number = 0;  // 0 for v1 tables
  int64_t timestamp_ms = 0;
  std::string manifest_list;  // "" for v1 snapshots that list manifests inline
  std::string operation;      // summary.operation: append | replace | overwrite | delete
  std::map<std::string, std::string> summary;  // every summary member, operation included
  std::optional<int> schema_id;

  // A numeric summary member ("added-data-files"); 0 when missing or not a number.
  int64_t SummaryInt(const std::string& key) const;
};

struct SnapshotRef {
  enum class Type { kBranch, kTag };
  Type type = Type::kBranch;
  int64_t snapshot_id = 0;
  std::optional<int64_t> max_ref_age_ms;
  std::optional<int64_t> max_snapshot_age_ms;  // branches only
  std::optional<int> min_snapshots_to_keep;    // branches only
  bool is_branch() const { return type == Type::kBranch; }
};

struct PartitionField {
  int source_id = 0;
  int field_id = 0;
  std::string name;
  std::string transform;  // identity, day, bucket[16], ...
};

struct PartitionSpec {
  int spec_id = 0;
  std::vector<PartitionField> fields;
};

struct SortField {
  int source_id = 0;
  std::string transform;
  std::string direction;   // asc | desc
  std::string null_order;  // nulls-first | nulls-last
};

struct SortOrder {
  int order_id = 0;
  std::vector<SortField> fields;
};

struct TableMetadata {
  int format_version = 0;
  std::string table_uuid;
  std::string location;
  int64_t last_sequence_number = 0;
  int64_t last_updated_ms = 0;
  std::optional<int64_t> current_snapshot_id;  // nullopt: the table has no snapshot yet
  std::vector<Snapshot> snapshots;             // in the metadata's order
  std::map<std::string, SnapshotRef> refs;
  std::map<std::string, std::string> properties;
  std::vector<int> schema_ids;
  int current_schema_id = 0;
  // The primitive type of every field of every schema, by field id ("date", "long",
  // "decimal(9,2)"): how an identity partition's value reads.
  std::map<int, std::string> field_types;
  int default_spec_id = 0;
  std::vector<PartitionSpec> partition_specs;
  int default_sort_order_id = 0;
  std::vector<SortOrder> sort_orders;
  json raw;

  const Snapshot* FindSnapshot(int64_t id) const;
  const PartitionSpec* FindSpec(int spec_id) const;
  // The snapshot a branch or tag points at (nullptr if the ref or the snapshot is missing).
  const Snapshot* RefHead(const std::string& ref) const;
  // `from` and its ancestors, newest first, following parent ids while the parent is still in
  // the metadata (expired ancestors end the walk). At most `limit` entries.
  std::vector<const Snapshot*> Ancestry(int64_t from, size_t limit = SIZE_MAX) const;
  // A property as int64 (`fallback` when missing or not an integer).
  int64_t PropertyInt(const std::string& key, int64_t fallback) const;
};

// Parses a TableMetadata JSON object (as in a LoadTableResult's `metadata`).
Result<TableMetadata> ParseMetadata(const json& metadata);
// Parses text first (a metadata.json file); malformed JSON is kInvalid.
Result<TableMetadata> ParseMetadataText(const std::string& text);

}  // namespace converge::iceberg
