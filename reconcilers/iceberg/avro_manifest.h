// Iceberg manifest lists and manifests as Avro object container files (format/spec.md,
// "Manifests" and "Manifest Lists", format version 2), written and read with Debian's Avro C
// library (libavro). What it promises:
//  * The Avro schemas are the spec's v2 schemas with their field ids (`field-id`, `element-id`,
//    `key-id`/`value-id` on int-keyed maps stored as arrays of key/value records), record names
//    `manifest_file`, `r508`, `manifest_entry`, `r2`, `r102`; the writer's schema text and the
//    file metadata the spec requires (manifest: schema, schema-id, partition-spec,
//    partition-spec-id, format-version, content; manifest list: snapshot-id, parent-snapshot-id,
//    sequence-number, format-version) are in the file header. Blocks are uncompressed.
//  * Reading applies the spec's inheritance: an entry's null snapshot id and sequence numbers come
//    from the manifest list entry (`ReadManifest(file)`), as a reader must.
//  * Partition values are JSON scalars keyed by partition field name: int, long, string,
//    boolean, and dates as int days since 1970-01-01 (`type` "date").
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "specs/base/status.h"

namespace converge::iceberg::avro {

using json = nlohmann::json;

// A field of the partition tuple: its partition field id and name, and its result type:
// "int" | "long" | "string" | "boolean" | "date".
struct PartitionField {
  std::string name;
  int field_id = 1000;
  std::string type = "int";
};

struct DataFile {
  int content = 0;  // 0 data, 1 position deletes, 2 equality deletes
  std::string path;
  std::string format = "PARQUET";
  json partition = json::object();  // field name -> value (null allowed)
  int64_t record_count = 0;
  int64_t size_bytes = 0;
};

enum EntryStatus { kExisting = 0, kAdded = 1, kDeleted = 2 };

struct ManifestEntry {
  int status = kAdded;
  std::optional<int64_t> snapshot_id;
  std::optional<int64_t> sequence_number;  // data sequence number
  std::optional<int64_t> file_sequence_number;
  DataFile file;
};

struct FieldSummary {
  bool contains_null = false;
  std::optional<bool> contains_nan;
  std::optional<std::string> lower_bound;  // single-value binary serialization
  std::optional<std::string> upper_bound;
};

struct ManifestFile {
  std::string path;
  int64_t length = 0;
  int spec_id = 0;
  int content = 0;  // 0 data, 1 deletes
  int64_t sequence_number = 0;
  int64_t min_sequence_number = 0;
  int64_t added_snapshot_id = 0;
  int added_files = 0;
  int existing_files = 0;
  int deleted_files = 0;
  int64_t added_rows = 0;
  int64_t existing_rows = 0;
  int64_t deleted_rows = 0;
  std::vector<FieldSummary> partitions;
};

// What the manifest's header says about the table.
struct ManifestHeader {
  json schema;  // the table schema (Schema JSON)
  int schema_id = 0;
  json spec_fields = json::array();  // the partition spec's fields
  int spec_id = 0;
  std::string content = "data";
};

// Writes a manifest; fills `out` (when given) with its manifest list entry: path, length,
// counts, partition summaries and min_sequence_number (of the entries whose sequence numbers
// are known; `sequence_number`, the snapshot's, is used for the inherited ones).
Status WriteManifest(const std::string& path, const std::vector<PartitionField>& fields,
                     const ManifestHeader& header, const std::vector<ManifestEntry>& entries,
                     int64_t snapshot_id, int64_t sequence_number, ManifestFile* out);

// Writes a manifest list for snapshot `snapshot_id` (parent -1 = none).
Status WriteManifestList(const std::string& path, int64_t snapshot_id, int64_t parent_id,
                         int64_t sequence_number, const std::vector<ManifestFile>& files);

Result<std::vector<ManifestFile>> ReadManifestList(const std::string& path);
// The entries of `file`, inheritance applied.
Result<std::vector<ManifestEntry>> ReadManifest(const ManifestFile& file);
// The key/value metadata of an Avro container file's header.
Result<std::map<std::string, std::string>> ReadFileMetadata(const std::string& path);

// The Avro schema texts (for tests).
std::string ManifestEntrySchema(const std::vector<PartitionField>& fields);
std::string ManifestListSchema();

}  // namespace converge::iceberg::avro
