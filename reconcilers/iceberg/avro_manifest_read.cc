// Reading manifest lists and manifests with libavro's file reader (generic values), with the
// spec's inheritance of snapshot ids and sequence numbers; and an Avro file header's metadata.
#include <avro.h>

#include <fstream>
#include <iterator>

#include "reconcilers/iceberg/avro_manifest.h"

namespace converge::iceberg::avro {
namespace {
std::optional<int64_t> GetOptLong(avro_value_t* rec, const char* name) {
  avro_value_t f, b;
  if (avro_value_get_by_name(rec, name, &f, nullptr) != 0) return std::nullopt;
  if (avro_value_get_current_branch(&f, &b) != 0 || avro_value_get_type(&b) == AVRO_NULL)
    return std::nullopt;
  int64_t v = 0;
  avro_value_get_long(&b, &v);
  return v;
}
int64_t GetLong(avro_value_t* rec, const char* name) {
  avro_value_t f;
  int64_t v = 0;
  if (avro_value_get_by_name(rec, name, &f, nullptr) == 0) avro_value_get_long(&f, &v);
  return v;
}
int GetInt(avro_value_t* rec, const char* name) {
  avro_value_t f;
  int32_t v = 0;
  if (avro_value_get_by_name(rec, name, &f, nullptr) == 0) avro_value_get_int(&f, &v);
  return v;
}
std::string GetString(avro_value_t* rec, const char* name) {
  avro_value_t f;
  const char* s = nullptr;
  size_t n = 0;
  if (avro_value_get_by_name(rec, name, &f, nullptr) != 0) return "";
  if (avro_value_get_string(&f, &s, &n) != 0 || s == nullptr) return "";
  return std::string(s, n > 0 ? n - 1 : 0);  // libavro counts the NUL
}

json ScalarOf(avro_value_t* v) {
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
      return std::string(s, n > 0 ? n - 1 : 0);
    }
    default:
      return nullptr;
  }
}

// Reads every record of an Avro container file.
template <typename Fn>
Status ReadRecords(const std::string& path, Fn fn) {
  avro_file_reader_t reader;
  if (avro_file_reader(path.c_str(), &reader) != 0)
    return NotFoundError("cannot read Avro file " + path + ": " + avro_strerror());
  avro_schema_t ws = avro_file_reader_get_writer_schema(reader);
  avro_value_iface_t* iface = avro_generic_class_from_schema(ws);
  avro_value_t rec;
  avro_generic_value_new(iface, &rec);
  Status st = Status::Ok();
  while (st.ok() && avro_file_reader_read_value(reader, &rec) == 0) st = fn(&rec);
  avro_value_decref(&rec);
  avro_value_iface_decref(iface);
  avro_file_reader_close(reader);
  return st;
}

}  // namespace

Result<std::vector<ManifestFile>> ReadManifestList(const std::string& path) {
  std::vector<ManifestFile> out;
  Status st = ReadRecords(path, [&](avro_value_t* rec) {
    ManifestFile m;
    m.path = GetString(rec, "manifest_path");
    m.length = GetLong(rec, "manifest_length");
    m.spec_id = GetInt(rec, "partition_spec_id");
    m.content = GetInt(rec, "content");
    m.sequence_number = GetLong(rec, "sequence_number");
    m.min_sequence_number = GetLong(rec, "min_sequence_number");
    m.added_snapshot_id = GetLong(rec, "added_snapshot_id");
    m.added_files = GetInt(rec, "added_files_count");
    m.existing_files = GetInt(rec, "existing_files_count");
    m.deleted_files = GetInt(rec, "deleted_files_count");
    m.added_rows = GetLong(rec, "added_rows_count");
    m.existing_rows = GetLong(rec, "existing_rows_count");
    m.deleted_rows = GetLong(rec, "deleted_rows_count");
    avro_value_t f, list;
    if (avro_value_get_by_name(rec, "partitions", &f, nullptr) == 0 &&
        avro_value_get_current_branch(&f, &list) == 0 && avro_value_get_type(&list) == AVRO_ARRAY) {
      size_t n = 0;
      avro_value_get_size(&list, &n);
      for (size_t i = 0; i < n; ++i) {
        avro_value_t item, x, b;
        avro_value_get_by_index(&list, i, &item, nullptr);
        FieldSummary fs;
        int flag = 0;
        if (avro_value_get_by_name(&item, "contains_null", &x, nullptr) == 0)
          avro_value_get_boolean(&x, &flag);
        fs.contains_null = flag != 0;
        if (avro_value_get_by_name(&item, "contains_nan", &x, nullptr) == 0 &&
            avro_value_get_current_branch(&x, &b) == 0 && avro_value_get_type(&b) == AVRO_BOOLEAN) {
          avro_value_get_boolean(&b, &flag);
          fs.contains_nan = flag != 0;
        }
        for (auto [name, slot] : {std::pair{"lower_bound", &fs.lower_bound},
                                  std::pair{"upper_bound", &fs.upper_bound}}) {
          const void* p = nullptr;
          size_t len = 0;
          if (avro_value_get_by_name(&item, name, &x, nullptr) == 0 &&
              avro_value_get_current_branch(&x, &b) == 0 && avro_value_get_type(&b) == AVRO_BYTES &&
              avro_value_get_bytes(&b, &p, &len) == 0)
            *slot = std::string(static_cast<const char*>(p), len);
        }
        m.partitions.push_back(std::move(fs));
      }
    }
    out.push_back(std::move(m));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<ManifestEntry>> ReadManifest(const ManifestFile& file) {
  std::vector<ManifestEntry> out;
  Status st = ReadRecords(file.path, [&](avro_value_t* rec) {
    ManifestEntry e;
    e.status = GetInt(rec, "status");
    e.snapshot_id = GetOptLong(rec, "snapshot_id");
    e.sequence_number = GetOptLong(rec, "sequence_number");
    e.file_sequence_number = GetOptLong(rec, "file_sequence_number");
    if (!e.snapshot_id) e.snapshot_id = file.added_snapshot_id;
    if (e.status == kAdded && !e.sequence_number) e.sequence_number = file.sequence_number;
    if (e.status == kAdded && !e.file_sequence_number)
      e.file_sequence_number = file.sequence_number;
    avro_value_t df;
    avro_value_get_by_name(rec, "data_file", &df, nullptr);
    e.file.content = GetInt(&df, "content");
    e.file.path = GetString(&df, "file_path");
    e.file.format = GetString(&df, "file_format");
    e.file.record_count = GetLong(&df, "record_count");
    e.file.size_bytes = GetLong(&df, "file_size_in_bytes");
    avro_value_t part;
    avro_value_get_by_name(&df, "partition", &part, nullptr);
    size_t n = 0;
    avro_value_get_size(&part, &n);
    for (size_t i = 0; i < n; ++i) {
      avro_value_t f, b;
      const char* name = nullptr;
      avro_value_get_by_index(&part, i, &f, &name);
      json v;
      if (avro_value_get_current_branch(&f, &b) == 0) v = ScalarOf(&b);
      e.file.partition[name] = v;
    }
    out.push_back(std::move(e));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::map<std::string, std::string>> ReadFileMetadata(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < 4 || data.compare(0, 3, "Obj") != 0 || data[3] != '\x01')
    return InvalidError(path + " is not an Avro object container file");
  size_t pos = 4;
  auto get_long = [&](int64_t* v) {
    uint64_t z = 0;
    int shift = 0;
    while (pos < data.size()) {
      uint8_t b = static_cast<uint8_t>(data[pos++]);
      z |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        *v = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
        return true;
      }
      shift += 7;
    }
    return false;
  };
  auto get_bytes = [&](std::string* s) {
    int64_t n = 0;
    if (!get_long(&n) || n < 0 || pos + static_cast<size_t>(n) > data.size()) return false;
    *s = data.substr(pos, static_cast<size_t>(n));
    pos += static_cast<size_t>(n);
    return true;
  };
  std::map<std::string, std::string> meta;
  while (true) {
    int64_t count = 0;
    if (!get_long(&count)) return InvalidError(path + ": truncated header");
    if (count == 0) break;
    if (count < 0) {
      int64_t bytes = 0;
      get_long(&bytes);
      count = -count;
    }
    for (int64_t i = 0; i < count; ++i) {
      std::string k, v;
      if (!get_bytes(&k) || !get_bytes(&v)) return InvalidError(path + ": truncated header");
      meta[k] = v;
    }
  }
  return meta;
}

}  // namespace converge::iceberg::avro
