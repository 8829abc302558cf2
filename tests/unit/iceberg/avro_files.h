// Writes small Iceberg manifest lists and manifests (format v2 schemas from format/spec.md, our
// own JSON) with Avro C, into bytes, for the iceberg unit tests.
#pragma once

#include <avro.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace converge::iceberg::test {

struct ListEntry {
  std::string path;
  int64_t length = 1000;
  int spec_id = 0;
  int content = 0;
  int64_t sequence_number = 1;
  int64_t added_snapshot_id = 1;
};

struct FileEntry {
  int status = 1;  // 0 EXISTING, 1 ADDED, 2 DELETED
  std::optional<int64_t> snapshot_id;
  std::optional<int64_t> sequence_number;
  int content = 0;
  std::string path;
  std::optional<int32_t> day;  // the partition value (days since epoch); nullopt = null
  int64_t record_count = 10;
  int64_t file_size = 1000;
};

inline const char* kManifestListSchema = R"({
  "type": "record", "name": "manifest_file", "fields": [
    {"name": "manifest_path", "type": "string", "field-id": 500},
    {"name": "manifest_length", "type": "long", "field-id": 501},
    {"name": "partition_spec_id", "type": "int", "field-id": 502},
    {"name": "content", "type": "int", "field-id": 517},
    {"name": "sequence_number", "type": "long", "field-id": 515},
    {"name": "min_sequence_number", "type": "long", "field-id": 516},
    {"name": "added_snapshot_id", "type": "long", "field-id": 503},
    {"name": "added_files_count", "type": "int", "field-id": 504},
    {"name": "existing_files_count", "type": "int", "field-id": 505},
    {"name": "deleted_files_count", "type": "int", "field-id": 506},
    {"name": "added_rows_count", "type": "long", "field-id": 512},
    {"name": "existing_rows_count", "type": "long", "field-id": 513},
    {"name": "deleted_rows_count", "type": "long", "field-id": 514}
  ]})";

inline const char* kManifestSchema = R"({
  "type": "record", "name": "manifest_entry", "fields": [
    {"name": "status", "type": "int", "field-id": 0},
    {"name": "snapshot_id", "type": ["null", "long"], "default": null, "field-id": 1},
    {"name": "sequence_number", "type": ["null", "long"], "default": null, "field-id": 3},
    {"name": "file_sequence_number", "type": ["null", "long"], "default": null, "field-id": 4},
    {"name": "data_file", "field-id": 2, "type": {"type": "record", "name": "r2", "fields": [
      {"name": "content", "type": "int", "field-id": 134},
      {"name": "file_path", "type": "string", "field-id": 100},
      {"name": "file_format", "type": "string", "field-id": 101},
      {"name": "partition", "field-id": 102, "type": {"type": "record", "name": "r102",
        "fields": [{"name": "day", "type": ["null", {"type": "int", "logicalType": "date"}],
                    "default": null, "field-id": 1000}]}},
      {"name": "record_count", "type": "long", "field-id": 103},
      {"name": "file_size_in_bytes", "type": "long", "field-id": 104}
    ]}}
  ]})";

// Writes records filled by `fill` into an Avro container file and returns its bytes.
template <typename Fill>
std::string WriteAvro(const char* schema_json, size_t n, Fill fill, const char* codec = "null") {
  avro_schema_t schema = nullptr;
  EXPECT_EQ(avro_schema_from_json_length(schema_json, strlen(schema_json), &schema), 0)
      << avro_strerror();
  FILE* fp = std::tmpfile();
  avro_file_writer_t w = nullptr;
  EXPECT_EQ(avro_file_writer_create_with_codec_fp(fp, "test", 0, schema, &w, codec, 0), 0)
      << avro_strerror();
  avro_value_iface_t* iface = avro_generic_class_from_schema(schema);
  avro_value_t v;
  avro_generic_value_new(iface, &v);
  for (size_t i = 0; i < n; ++i) {
    avro_value_reset(&v);
    fill(i, &v);
    EXPECT_EQ(avro_file_writer_append_value(w, &v), 0) << avro_strerror();
  }
  avro_file_writer_close(w);
  avro_value_decref(&v);
  avro_value_iface_decref(iface);
  avro_schema_decref(schema);
  std::string out;
  std::rewind(fp);
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof(buf), fp)) > 0) out.append(buf, got);
  std::fclose(fp);
  return out;
}

inline void SetLong(avro_value_t* rec, const char* name, int64_t v) {
  avro_value_t f;
  avro_value_get_by_name(rec, name, &f, nullptr);
  avro_value_set_long(&f, v);
}
inline void SetInt(avro_value_t* rec, const char* name, int32_t v) {
  avro_value_t f;
  avro_value_get_by_name(rec, name, &f, nullptr);
  avro_value_set_int(&f, v);
}
inline void SetString(avro_value_t* rec, const char* name, const std::string& v) {
  avro_value_t f;
  avro_value_get_by_name(rec, name, &f, nullptr);
  avro_value_set_string(&f, v.c_str());
}
// A ["null", long|int] union member.
inline void SetOptional(avro_value_t* rec, const char* name, std::optional<int64_t> v,
                        bool is_int = false) {
  avro_value_t f, branch;
  avro_value_get_by_name(rec, name, &f, nullptr);
  if (!v) {
    avro_value_set_branch(&f, 0, &branch);
    avro_value_set_null(&branch);
  } else {
    avro_value_set_branch(&f, 1, &branch);
    if (is_int)
      avro_value_set_int(&branch, static_cast<int32_t>(*v));
    else
      avro_value_set_long(&branch, *v);
  }
}

inline std::string ManifestList(const std::vector<ListEntry>& entries) {
  return WriteAvro(kManifestListSchema, entries.size(), [&](size_t i, avro_value_t* r) {
    const ListEntry& e = entries[i];
    SetString(r, "manifest_path", e.path);
    SetLong(r, "manifest_length", e.length);
    SetInt(r, "partition_spec_id", e.spec_id);
    SetInt(r, "content", e.content);
    SetLong(r, "sequence_number", e.sequence_number);
    SetLong(r, "min_sequence_number", e.sequence_number);
    SetLong(r, "added_snapshot_id", e.added_snapshot_id);
    for (const char* c : {"added_files_count", "existing_files_count", "deleted_files_count"})
      SetInt(r, c, 0);
    for (const char* c : {"added_rows_count", "existing_rows_count", "deleted_rows_count"})
      SetLong(r, c, 0);
  });
}

inline std::string Manifest(const std::vector<FileEntry>& entries, const char* codec = "null") {
  return WriteAvro(
      kManifestSchema, entries.size(),
      [&](size_t i, avro_value_t* r) {
        const FileEntry& e = entries[i];
        SetInt(r, "status", e.status);
        SetOptional(r, "snapshot_id", e.snapshot_id);
        SetOptional(r, "sequence_number", e.sequence_number);
        SetOptional(r, "file_sequence_number", e.sequence_number);
        avro_value_t df, part;
        avro_value_get_by_name(r, "data_file", &df, nullptr);
        SetInt(&df, "content", e.content);
        SetString(&df, "file_path", e.path);
        SetString(&df, "file_format", "parquet");
        avro_value_get_by_name(&df, "partition", &part, nullptr);
        SetOptional(&part, "day", e.day ? std::optional<int64_t>(*e.day) : std::optional<int64_t>(),
                    true);
        SetLong(&df, "record_count", e.record_count);
        SetLong(&df, "file_size_in_bytes", e.file_size);
      },
      codec);
}

}  // namespace converge::iceberg::test
