#include "reconcilers/iceberg/manifests.h"

#include <avro.h>

#include <cinttypes>
#include <cstdio>
#include <functional>
#include <map>

#include "reconcilers/iceberg/manifests_avro.h"

namespace converge::iceberg {
namespace {

// One Avro object container file in memory, read record by record with generic values. The
// container is checked (and its blocks inflated) by CheckAvroContainer; Avro C only decodes
// checked blocks from memory. Every Avro C object is released by the destructor, on every path.
class AvroFile {
 public:
  AvroFile() = default;
  AvroFile(const AvroFile&) = delete;
  AvroFile& operator=(const AvroFile&) = delete;
  ~AvroFile() {
    if (reader_ != nullptr) avro_reader_free(reader_);
    if (has_value_) avro_value_decref(&value_);
    if (iface_ != nullptr) avro_value_iface_decref(iface_);
    if (schema_ != nullptr) avro_schema_decref(schema_);
  }

  // `max_records`: more than that is reported by the caller's loop (one more is let through).
  Status Open(const std::string& bytes, const std::string& what, size_t max_bytes,
              size_t max_records) {
    what_ = what;
    if (bytes.size() > max_bytes)
      return Fail("is " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                  std::to_string(max_bytes));
    // Avro C trusts the lengths it reads: only blocks whose every length has been checked
    // against the bytes left reach it.
    auto checked = CheckAvroContainer(bytes, max_bytes, max_records);
    if (!checked.ok()) return Fail(checked.status().message());
    file_ = std::move(*checked);
    if (avro_schema_from_json_length(file_.schema.data(), file_.schema.size(), &schema_) != 0) {
      schema_ = nullptr;
      return Fail(std::string("has an invalid Avro schema: ") + avro_strerror());
    }
    if (!is_avro_record(schema_)) return Fail("does not hold records");
    iface_ = avro_generic_class_from_schema(schema_);
    if (iface_ == nullptr || avro_generic_value_new(iface_, &value_) != 0)
      return Fail(std::string("has a schema Avro C cannot read: ") + avro_strerror());
    has_value_ = true;
    return Status::Ok();
  }

  // Reads the next record into value(); false at the end, or with `err` set on corruption.
  bool Next(Status& err) {
    while (left_in_block_ == 0) {
      if (reader_ != nullptr) avro_reader_free(reader_);
      reader_ = nullptr;
      if (block_ >= file_.blocks.size()) return false;
      const AvroBlock& b = file_.blocks[block_++];
      reader_ = avro_reader_memory(b.data.data(), static_cast<int64_t>(b.data.size()));
      if (reader_ == nullptr) {
        err = Fail("cannot be read in memory");
        return false;
      }
      left_in_block_ = b.count;
    }
    --left_in_block_;
    if (avro_value_read(reader_, &value_) == 0) return true;
    err = Fail(std::string("is corrupt: ") + avro_strerror());
    return false;
  }
  avro_value_t* value() { return &value_; }
  Status Fail(const std::string& m) const { return InvalidError(what_ + " " + m); }

 private:
  std::string what_;
  AvroContainer file_;
  size_t block_ = 0;
  size_t left_in_block_ = 0;
  avro_reader_t reader_ = nullptr;
  avro_schema_t schema_ = nullptr;
  avro_value_iface_t* iface_ = nullptr;
  avro_value_t value_{};
  bool has_value_ = false;
};

// A record member, looking through a ["null", T] union. nullopt: absent or null.
std::optional<avro_value_t> Member(avro_value_t* rec, const char* name) {
  avro_value_t child;
  if (avro_value_get_by_name(rec, name, &child, nullptr) != 0) return std::nullopt;
  if (avro_value_get_type(&child) == AVRO_UNION) {
    avro_value_t branch;
    if (avro_value_get_current_branch(&child, &branch) != 0) return std::nullopt;
    child = branch;
  }
  if (avro_value_get_type(&child) == AVRO_NULL) return std::nullopt;
  return child;
}

std::optional<int64_t> Long(avro_value_t* rec, const char* name) {
  auto v = Member(rec, name);
  if (!v) return std::nullopt;
  if (avro_value_get_type(&*v) == AVRO_INT64) {
    int64_t out = 0;
    if (avro_value_get_long(&*v, &out) == 0) return out;
  } else if (avro_value_get_type(&*v) == AVRO_INT32) {
    int32_t out = 0;
    if (avro_value_get_int(&*v, &out) == 0) return out;
  }
  return std::nullopt;
}

std::optional<std::string> String(avro_value_t* rec, const char* name) {
  auto v = Member(rec, name);
  if (!v || avro_value_get_type(&*v) != AVRO_STRING) return std::nullopt;
  const char* s = nullptr;
  size_t size = 0;
  if (avro_value_get_string(&*v, &s, &size) != 0 || s == nullptr) return std::nullopt;
  return std::string(s, size > 0 ? size - 1 : 0);  // size counts the NUL
}

// days since 1970-01-01 -> y, m, d (proleptic Gregorian).
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

std::string PartitionValue(avro_value_t* v, const std::string& transform,
                           const std::string& source_type) {
  char buf[64];
  switch (avro_value_get_type(v)) {
    case AVRO_INT32: {
      int32_t i = 0;
      avro_value_get_int(v, &i);
      return RenderPartitionValue(transform, i, source_type);
    }
    case AVRO_INT64: {
      int64_t i = 0;
      avro_value_get_long(v, &i);
      return RenderPartitionValue(transform, i, source_type);
    }
    case AVRO_STRING: {
      const char* s = nullptr;
      size_t size = 0;
      avro_value_get_string(v, &s, &size);
      return s == nullptr ? "" : std::string(s, size > 0 ? size - 1 : 0);
    }
    case AVRO_BOOLEAN: {
      int b = 0;
      avro_value_get_boolean(v, &b);
      return b ? "true" : "false";
    }
    case AVRO_FLOAT: {
      float f = 0;
      avro_value_get_float(v, &f);
      std::snprintf(buf, sizeof(buf), "%g", f);
      return buf;
    }
    case AVRO_DOUBLE: {
      double f = 0;
      avro_value_get_double(v, &f);
      std::snprintf(buf, sizeof(buf), "%g", f);
      return buf;
    }
    case AVRO_BYTES:
    case AVRO_FIXED: {
      const void* p = nullptr;
      size_t size = 0;
      if (avro_value_get_type(v) == AVRO_BYTES)
        avro_value_get_bytes(v, &p, &size);
      else
        avro_value_get_fixed(v, &p, &size);
      std::string hex;
      for (size_t i = 0; i < size && i < 32; ++i) {
        std::snprintf(buf, sizeof(buf), "%02x", static_cast<const unsigned char*>(p)[i]);
        hex += buf;
      }
      return hex;
    }
    default:
      return "?";
  }
}

// "day=2026-11-30/bucket=3" from the partition record.
// A partition value as JSON: int, long, string, boolean; anything else null.
nlohmann::json RawValue(avro_value_t* v) {
  switch (avro_value_get_type(v)) {
    case AVRO_INT32: {
      int32_t i = 0;
      avro_value_get_int(v, &i);
      return i;
    }
    case AVRO_INT64: {
      int64_t i = 0;
      avro_value_get_long(v, &i);
      return i;
    }
    case AVRO_BOOLEAN: {
      int b = 0;
      avro_value_get_boolean(v, &b);
      return b != 0;
    }
    case AVRO_STRING: {
      const char* s = nullptr;
      size_t n = 0;
      avro_value_get_string(v, &s, &n);
      return s == nullptr ? std::string() : std::string(s, n > 0 ? n - 1 : 0);
    }
    default:
      return nullptr;
  }
}

// The manifest list entry's partition field summaries (absent: empty).
std::vector<ManifestFile::PartitionSummary> Summaries(avro_value_t* rec) {
  std::vector<ManifestFile::PartitionSummary> out;
  auto list = Member(rec, "partitions");
  if (!list || avro_value_get_type(&*list) != AVRO_ARRAY) return out;
  size_t n = 0;
  avro_value_get_size(&*list, &n);
  for (size_t i = 0; i < n; ++i) {
    avro_value_t item;
    if (avro_value_get_by_index(&*list, i, &item, nullptr) != 0 ||
        avro_value_get_type(&item) != AVRO_RECORD)
      continue;
    ManifestFile::PartitionSummary fs;
    int flag = 0;
    if (auto x = Member(&item, "contains_null");
        x && avro_value_get_type(&*x) == AVRO_BOOLEAN && avro_value_get_boolean(&*x, &flag) == 0)
      fs.contains_null = flag != 0;
    if (auto x = Member(&item, "contains_nan");
        x && avro_value_get_type(&*x) == AVRO_BOOLEAN && avro_value_get_boolean(&*x, &flag) == 0)
      fs.contains_nan = flag != 0;
    for (auto [name, slot] : {std::pair{"lower_bound", &fs.lower_bound},
                              std::pair{"upper_bound", &fs.upper_bound}}) {
      const void* p = nullptr;
      size_t len = 0;
      if (auto x = Member(&item, name); x && avro_value_get_type(&*x) == AVRO_BYTES &&
                                        avro_value_get_bytes(&*x, &p, &len) == 0)
        *slot = std::string(static_cast<const char*>(p), len);
    }
    out.push_back(std::move(fs));
  }
  return out;
}

std::string RenderPartition(avro_value_t* entry_file, const PartitionSpec* spec,
                            const TableMetadata* table, nlohmann::json* raw) {
  avro_value_t part;
  if (avro_value_get_by_name(entry_file, "partition", &part, nullptr) != 0 ||
      avro_value_get_type(&part) != AVRO_RECORD)
    return "";
  size_t n = 0;
  avro_value_get_size(&part, &n);
  std::string out;
  for (size_t i = 0; i < n && i < 64; ++i) {
    avro_value_t field;
    const char* name = nullptr;
    if (avro_value_get_by_index(&part, i, &field, &name) != 0 || name == nullptr) continue;
    std::string transform = "identity";
    std::string source_type;
    if (spec != nullptr)
      for (const PartitionField& f : spec->fields)
        if (f.name == name) {
          transform = f.transform;
          if (auto t = table->field_types.find(f.source_id); t != table->field_types.end())
            source_type = t->second;
        }
    std::string value = "null";
    if (avro_value_get_type(&field) == AVRO_UNION) {
      avro_value_t branch;
      if (avro_value_get_current_branch(&field, &branch) == 0) field = branch;
    }
    (*raw)[name] = RawValue(&field);
    if (avro_value_get_type(&field) != AVRO_NULL) value = PartitionValue(&field, transform, source_type);
    out += (out.empty() ? "" : "/") + std::string(name) + "=" + value;
  }
  return out;
}

}  // namespace

const char* ContentName(FileContent c) {
  switch (c) {
    case FileContent::kData:
      return "data";
    case FileContent::kPositionDeletes:
      return "position-deletes";
    case FileContent::kEqualityDeletes:
      return "equality-deletes";
  }
  return "?";
}

const char* StatusName(EntryStatus s) {
  switch (s) {
    case EntryStatus::kExisting:
      return "EXISTING";
    case EntryStatus::kAdded:
      return "ADDED";
    case EntryStatus::kDeleted:
      return "DELETED";
  }
  return "?";
}

namespace {

// An identity partition of a date or time column, as the format spec writes such a value in JSON
// ("2017-11-16", "22:31:08.123456", "2017-11-16T22:31:08.123456", ...+00:00 for the tz types,
// nine digits for the _ns ones); "" for any other type.
std::string RenderTemporal(const std::string& type, int64_t v) {
  char buf[64];
  int64_t y = 0;
  unsigned m = 0, d = 0;
  if (type == "date") {
    CivilFromDays(v, &y, &m, &d);
    std::snprintf(buf, sizeof(buf), "%04" PRId64 "-%02u-%02u", y, m, d);
    return buf;
  }
  const bool nanos = type == "timestamp_ns" || type == "timestamptz_ns";
  const bool zoned = type == "timestamptz" || type == "timestamptz_ns";
  if (type != "time" && type != "timestamp" && type != "timestamptz" && !nanos) return "";
  const int64_t per_second = nanos ? 1000000000 : 1000000;
  const int64_t per_day = 86400 * per_second;
  int64_t day = v / per_day, in_day = v % per_day;  // no overflow, even at INT64_MIN
  if (in_day < 0) {
    in_day += per_day;
    day -= 1;
  }
  const int64_t secs = in_day / per_second, frac = in_day % per_second;
  char clock[40];
  std::snprintf(clock, sizeof(clock), "%02" PRId64 ":%02" PRId64 ":%02" PRId64 ".%0*" PRId64,
                secs / 3600, secs / 60 % 60, secs % 60, nanos ? 9 : 6, frac);
  if (type == "time") return clock;
  CivilFromDays(day, &y, &m, &d);
  std::snprintf(buf, sizeof(buf), "%04" PRId64 "-%02u-%02uT%s%s", y, m, d, clock,
                zoned ? "+00:00" : "");
  return buf;
}

}  // namespace

std::string RenderPartitionValue(const std::string& transform, int64_t v,
                                 const std::string& source_type) {
  char buf[48];
  int64_t y = 0;
  unsigned m = 0, d = 0;
  // Dates beyond ±2^40 days (hostile or corrupt input) stay numbers: the calendar arithmetic
  // below would overflow.
  constexpr int64_t kCalendarLimit = int64_t{1} << 40;
  if ((v > kCalendarLimit || v < -kCalendarLimit) &&
      (transform != "identity" || source_type == "date")) {
    std::snprintf(buf, sizeof(buf), "%" PRId64, v);
    return buf;
  }
  if (transform == "identity") {
    if (std::string t = RenderTemporal(source_type, v); !t.empty()) return t;
  }
  if (transform == "day") {
    CivilFromDays(v, &y, &m, &d);
    std::snprintf(buf, sizeof(buf), "%04" PRId64 "-%02u-%02u", y, m, d);
  } else if (transform == "hour") {
    CivilFromDays(FloorDiv(v, 24), &y, &m, &d);
    std::snprintf(buf, sizeof(buf), "%04" PRId64 "-%02u-%02u-%02" PRId64, y, m, d,
                  v - FloorDiv(v, 24) * 24);
  } else if (transform == "month") {
    std::snprintf(buf, sizeof(buf), "%04" PRId64 "-%02" PRId64, 1970 + FloorDiv(v, 12),
                  v - FloorDiv(v, 12) * 12 + 1);
  } else if (transform == "year") {
    std::snprintf(buf, sizeof(buf), "%04" PRId64, 1970 + v);
  } else {
    std::snprintf(buf, sizeof(buf), "%" PRId64, v);
  }
  return buf;
}

Result<std::vector<ManifestFile>> ReadManifestList(const std::string& bytes,
                                                   const ReadLimits& limits) {
  AvroFile f;
  CONVERGE_RETURN_IF_ERROR(
      f.Open(bytes, "manifest list", limits.max_file_bytes, limits.max_manifests));
  std::vector<ManifestFile> out;
  Status err;
  while (f.Next(err)) {
    if (out.size() >= limits.max_manifests)
      return f.Fail("lists more than " + std::to_string(limits.max_manifests) + " manifests");
    avro_value_t* r = f.value();
    ManifestFile m;
    auto path = String(r, "manifest_path");
    auto length = Long(r, "manifest_length");
    auto spec = Long(r, "partition_spec_id");
    auto added = Long(r, "added_snapshot_id");
    if (!path || !length || !spec || !added)
      return f.Fail("entry " + std::to_string(out.size()) +
                    " lacks manifest_path, manifest_length, partition_spec_id or "
                    "added_snapshot_id");
    m.path = *path;
    m.length = *length;
    m.spec_id = static_cast<int>(*spec);
    m.added_snapshot_id = *added;
    m.deletes = Long(r, "content").value_or(0) == 1;
    m.sequence_number = Long(r, "sequence_number").value_or(0);
    m.min_sequence_number = Long(r, "min_sequence_number").value_or(0);
    m.added_files = static_cast<int>(Long(r, "added_files_count").value_or(0));
    m.existing_files = static_cast<int>(Long(r, "existing_files_count").value_or(0));
    m.deleted_files = static_cast<int>(Long(r, "deleted_files_count").value_or(0));
    m.added_rows = Long(r, "added_rows_count").value_or(0);
    m.existing_rows = Long(r, "existing_rows_count").value_or(0);
    m.deleted_rows = Long(r, "deleted_rows_count").value_or(0);
    m.partitions = Summaries(r);
    out.push_back(std::move(m));
  }
  if (!err.ok()) return err;
  return out;
}

Result<std::vector<DataFileEntry>> ReadManifest(const std::string& bytes,
                                                const ManifestFile& manifest,
                                                const TableMetadata* table,
                                                const ReadLimits& limits) {
  AvroFile f;
  CONVERGE_RETURN_IF_ERROR(
      f.Open(bytes, "manifest " + manifest.path, limits.max_file_bytes, limits.max_entries));
  const PartitionSpec* spec = table != nullptr ? table->FindSpec(manifest.spec_id) : nullptr;
  std::vector<DataFileEntry> out;
  Status err;
  while (f.Next(err)) {
    if (out.size() >= limits.max_entries)
      return f.Fail("has more than " + std::to_string(limits.max_entries) + " entries");
    avro_value_t* r = f.value();
    std::string at = "entry " + std::to_string(out.size());
    auto status = Long(r, "status");
    avro_value_t file;
    if (!status || *status < 0 || *status > 2)
      return f.Fail(at + " has no valid status (0, 1 or 2)");
    if (avro_value_get_by_name(r, "data_file", &file, nullptr) != 0 ||
        avro_value_get_type(&file) != AVRO_RECORD)
      return f.Fail(at + " has no data_file record");
    DataFileEntry e;
    e.status = static_cast<EntryStatus>(*status);
    e.snapshot_id = Long(r, "snapshot_id").value_or(manifest.added_snapshot_id);
    e.sequence_number = Long(r, "sequence_number");
    e.file_sequence_number = Long(r, "file_sequence_number");
    if (e.status == EntryStatus::kAdded) {
      if (!e.sequence_number) e.sequence_number = manifest.sequence_number;
      if (!e.file_sequence_number) e.file_sequence_number = manifest.sequence_number;
    }
    auto content = Long(&file, "content").value_or(0);
    if (content < 0 || content > 2) return f.Fail(at + " has content " + std::to_string(content));
    e.content = static_cast<FileContent>(content);
    auto path = String(&file, "file_path");
    auto records = Long(&file, "record_count");
    auto size = Long(&file, "file_size_in_bytes");
    if (!path || !records || !size)
      return f.Fail(at + " lacks file_path, record_count or file_size_in_bytes");
    e.path = *path;
    e.format = String(&file, "file_format").value_or("");
    e.record_count = *records;
    e.file_size_bytes = *size;
    e.spec_id = manifest.spec_id;
    e.partition = RenderPartition(&file, spec, table, &e.partition_values);
    out.push_back(std::move(e));
  }
  if (!err.ok()) return err;
  return out;
}

Result<SnapshotFiles> ReadSnapshotFiles(const TableMetadata& table, const Snapshot& snapshot,
                                        FileSource& source, const ReadLimits& limits) {
  if (snapshot.manifest_list.empty())
    return InvalidError("snapshot " + std::to_string(snapshot.id) +
                        " has no manifest list (a v1 snapshot with inline manifests)");
  auto list_bytes = source.Read(snapshot.manifest_list);
  if (!list_bytes.ok()) return list_bytes.status().Annotate("reading " + snapshot.manifest_list);
  auto list = ReadManifestList(*list_bytes, limits);
  if (!list.ok()) return list.status().Annotate(snapshot.manifest_list);
  SnapshotFiles out;
  for (const ManifestFile& m : *list) {
    auto bytes = source.Read(m.path);
    if (!bytes.ok()) return bytes.status().Annotate("reading " + m.path);
    ReadLimits left = limits;
    left.max_entries =
        limits.max_entries > out.live.size() ? limits.max_entries - out.live.size() : 0;
    auto entries = ReadManifest(*bytes, m, &table, left);
    if (!entries.ok()) return entries.status();
    for (DataFileEntry& e : *entries)
      if (e.status != EntryStatus::kDeleted) out.live.push_back(std::move(e));
    ++out.manifests;
  }
  return out;
}

int64_t SmallFileThreshold(int64_t target) {
  return target / 4 * 3 + (target % 4) * 3 / 4;
}

std::vector<PartitionSmallFiles> SmallFiles(const std::vector<DataFileEntry>& files,
                                            int64_t target_file_size) {
  const int64_t threshold = SmallFileThreshold(target_file_size);
  std::map<std::string, int64_t> counts;
  for (const DataFileEntry& f : files) {
    if (f.status == EntryStatus::kDeleted || f.content != FileContent::kData) continue;
    if (f.file_size_bytes < threshold) ++counts[f.partition];
  }
  std::vector<PartitionSmallFiles> out;
  for (const auto& [p, n] : counts) out.push_back({p, n});
  return out;
}

}  // namespace converge::iceberg
