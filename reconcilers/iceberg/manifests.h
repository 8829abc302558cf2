// Reading a snapshot's files: the Avro manifest list and manifests (format/spec.md "Manifest
// Lists", "Manifests"), bytes in memory, read with Avro C. I/O is a FileSource the caller gives.
// What it promises:
//  * Manifest lists and manifests of format v1, v2 and v3 are read by field name (Avro schema
//    resolution is not needed: optional members may be absent or null). Sequence numbers and
//    snapshot ids follow the spec's inheritance: an ADDED entry with null values takes them from
//    its manifest's list entry.
//  * Partition tuples are shown the way Iceberg paths show them, `name=value` joined by `/`,
//    with day / month / year / hour transforms rendered as dates (`day=2026-11-30`,
//    `hour=2026-11-30-10`); an unpartitioned file's tuple is "".
//  * Input is hostile: a file that is not Avro, is truncated, lacks a required member or
//    exceeds ReadLimits is a kInvalid Status naming the file, never a crash or an exception.
//    Every file is checked by manifests_avro.h before Avro C sees it (every length bounded by
//    the bytes left, codecs null and deflate), and every Avro C object is released on every path.
//  * This is converge's one Avro reader: the sandbox catalog (avro_manifest.h) reads through it.
//  * SmallFiles counts, per partition, the live data files under 75 % of the target size (the
//    threshold Iceberg's rewrite planner and AWS Glue use).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/iceberg/metadata.h"
#include "specs/base/status.h"

namespace converge::iceberg {

// Reads a whole file by URI (local path, s3://, http(s)://) — implemented by the caller.
class FileSource {
 public:
  virtual ~FileSource() = default;
  virtual Result<std::string> Read(const std::string& uri) = 0;
};

struct ReadLimits {
  size_t max_file_bytes = 64u << 20;  // one manifest list or manifest
  size_t max_manifests = 100000;      // entries of one manifest list
  size_t max_entries = 10000000;      // manifest entries over the whole snapshot
};

struct ManifestFile {
  std::string path;
  int64_t length = 0;
  int spec_id = 0;
  bool deletes = false;  // content 1: a delete manifest
  int64_t sequence_number = 0;
  int64_t min_sequence_number = 0;
  int64_t added_snapshot_id = 0;
  // Counts and partition summaries (0 / empty when the list does not record them).
  int added_files = 0;
  int existing_files = 0;
  int deleted_files = 0;
  int64_t added_rows = 0;
  int64_t existing_rows = 0;
  int64_t deleted_rows = 0;
  struct PartitionSummary {
    bool contains_null = false;
    std::optional<bool> contains_nan;
    std::optional<std::string> lower_bound;  // single-value binary serialization
    std::optional<std::string> upper_bound;
  };
  std::vector<PartitionSummary> partitions;
};

enum class FileContent { kData = 0, kPositionDeletes = 1, kEqualityDeletes = 2 };
enum class EntryStatus { kExisting = 0, kAdded = 1, kDeleted = 2 };
const char* ContentName(FileContent c);  // "data", "position-deletes", "equality-deletes"
const char* StatusName(EntryStatus s);   // "EXISTING", "ADDED", "DELETED"

struct DataFileEntry {
  EntryStatus status = EntryStatus::kAdded;
  int64_t snapshot_id = 0;
  std::optional<int64_t> sequence_number;  // data sequence number
  std::optional<int64_t> file_sequence_number;
  FileContent content = FileContent::kData;
  std::string path;
  std::string format;     // parquet | avro | orc | puffin
  std::string partition;  // "day=2026-11-30", "" when unpartitioned
  int spec_id = 0;
  int64_t record_count = 0;
  int64_t file_size_bytes = 0;
  // The partition tuple's raw values by field name: int, long, string, boolean or null (other
  // types, e.g. bytes, as null).
  nlohmann::json partition_values = nlohmann::json::object();
};

Result<std::vector<ManifestFile>> ReadManifestList(const std::string& bytes,
                                                   const ReadLimits& limits = {});
// `manifest` is the list entry the manifest came from (for inheritance and its spec id);
// `table` gives the partition transforms (nullptr: values are shown raw).
Result<std::vector<DataFileEntry>> ReadManifest(const std::string& bytes,
                                                const ManifestFile& manifest,
                                                const TableMetadata* table,
                                                const ReadLimits& limits = {});

struct SnapshotFiles {
  std::vector<DataFileEntry> live;  // status ADDED or EXISTING, data and delete files
  size_t manifests = 0;
};

// The live files of a snapshot: its manifest list, then every manifest in it.
Result<SnapshotFiles> ReadSnapshotFiles(const TableMetadata& table, const Snapshot& snapshot,
                                        FileSource& source, const ReadLimits& limits = {});

struct PartitionSmallFiles {
  std::string partition;
  int64_t small_files = 0;
};

// Per partition (sorted by partition), the live data files under 75 % of `target_file_size`.
// Partitions without small files are left out.
std::vector<PartitionSmallFiles> SmallFiles(const std::vector<DataFileEntry>& files,
                                            int64_t target_file_size);
int64_t SmallFileThreshold(int64_t target_file_size);  // 75 %, rounded down

// Renders one partition value for a transform ("day" and 20787 -> "2026-11-30"). An identity
// partition of a date or time column (`source_type`, the column's type) reads as the format
// spec writes that type ("date" and 20787 -> "2026-11-30").
std::string RenderPartitionValue(const std::string& transform, int64_t value,
                                 const std::string& source_type = "");

}  // namespace converge::iceberg
