// Manifest lists and manifests: records are built and binary-encoded with libavro's generic
// values; the container framing (header with our metadata, one block, sync marker) is written
// here because libavro's file writer cannot carry user metadata nor keep the schema's field ids.
#include "reconcilers/iceberg/avro_manifest.h"

#include <avro.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

namespace converge::iceberg::avro {
namespace {

json Opt(const json& type) {
  return json::array({"null", type});
}

json Field(const std::string& name, const json& type, int id, bool optional = false) {
  json f = {{"name", name}, {"type", optional ? Opt(type) : type}, {"field-id", id}};
  if (optional) f["default"] = nullptr;
  return f;
}

// An Iceberg map<int, V> in Avro: an array of key/value records.
json IntMap(int key_id, int value_id, const json& value_type) {
  return {{"type", "array"},
          {"logicalType", "map"},
          {"items",
           {{"type", "record"},
            {"name", "k" + std::to_string(key_id) + "_v" + std::to_string(value_id)},
            {"fields",
             {{{"name", "key"}, {"type", "int"}, {"field-id", key_id}},
              {{"name", "value"}, {"type", value_type}, {"field-id", value_id}}}}}}};
}

json ListOf(const json& element, int element_id) {
  return {{"type", "array"}, {"items", element}, {"element-id", element_id}};
}

json PartitionType(const std::string& type) {
  if (type == "date") return {{"type", "int"}, {"logicalType", "date"}};
  return type;
}

// Schemas are parsed once per call; libavro's objects are reference counted.
struct Schema {
  avro_schema_t schema = nullptr;
  avro_value_iface_t* iface = nullptr;
  ~Schema() {
    if (iface) avro_value_iface_decref(iface);
    if (schema) avro_schema_decref(schema);
  }
};

Status Parse(const std::string& text, Schema* s) {
  if (avro_schema_from_json_length(text.data(), text.size(), &s->schema) != 0)
    return InternalError(std::string("avro schema: ") + avro_strerror());
  s->iface = avro_generic_class_from_schema(s->schema);
  if (s->iface == nullptr) return InternalError(std::string("avro class: ") + avro_strerror());
  return Status::Ok();
}

// Sets an optional (["null", T]) field to null or to a branch the caller then fills.
avro_value_t Sub(avro_value_t* rec, const char* name) {
  avro_value_t v;
  avro_value_get_by_name(rec, name, &v, nullptr);
  return v;
}
void SetNull(avro_value_t* rec, const char* name) {
  avro_value_t f = Sub(rec, name), b;
  avro_value_set_branch(&f, 0, &b);
  avro_value_set_null(&b);
}
avro_value_t Branch(avro_value_t* rec, const char* name) {
  avro_value_t f = Sub(rec, name), b;
  avro_value_set_branch(&f, 1, &b);
  return b;
}
void SetOptLong(avro_value_t* rec, const char* name, std::optional<int64_t> v) {
  if (!v) return SetNull(rec, name);
  avro_value_t b = Branch(rec, name);
  avro_value_set_long(&b, *v);
}
void SetOptBytes(avro_value_t* rec, const char* name, const std::optional<std::string>& v) {
  if (!v) return SetNull(rec, name);
  avro_value_t b = Branch(rec, name);
  avro_value_set_bytes(&b, const_cast<char*>(v->data()), v->size());
}

void PutLong(std::string& out, int64_t v) {  // Avro zig-zag varint
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z & ~0x7Full) {
    out.push_back(static_cast<char>((z & 0x7F) | 0x80));
    z >>= 7;
  }
  out.push_back(static_cast<char>(z));
}
void PutBytes(std::string& out, const std::string& s) {
  PutLong(out, static_cast<int64_t>(s.size()));
  out += s;
}

Status Encode(avro_value_t* v, std::string& block) {
  size_t size = 0;
  if (avro_value_sizeof(v, &size) != 0) return InternalError(avro_strerror());
  std::string buf(size, '\0');
  avro_writer_t w = avro_writer_memory(buf.data(), static_cast<int64_t>(size));
  int rc = avro_value_write(w, v);
  avro_writer_free(w);
  if (rc != 0) return InternalError(std::string("avro write: ") + avro_strerror());
  block += buf;
  return Status::Ok();
}

// Writes an object container file: header (magic, metadata, sync), one block of `count`
// encoded records (none when count is 0).
Status WriteContainer(const std::string& path, const std::string& schema_text,
                      const std::map<std::string, std::string>& meta, const std::string& records,
                      int64_t count) {
  std::string sync(16, '\0');
  std::random_device rd;
  for (char& c : sync) c = static_cast<char>(rd() & 0xFF);
  std::string out = "Obj";
  out.push_back('\x01');
  std::map<std::string, std::string> all = meta;
  all["avro.schema"] = schema_text;
  all["avro.codec"] = "null";
  PutLong(out, static_cast<int64_t>(all.size()));
  for (const auto& [k, v] : all) {
    PutBytes(out, k);
    PutBytes(out, v);
  }
  PutLong(out, 0);
  out += sync;
  if (count > 0) {
    PutLong(out, count);
    PutLong(out, static_cast<int64_t>(records.size()));
    out += records;
    out += sync;
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(out.data(), static_cast<std::streamsize>(out.size()));
  f.close();
  if (!f) return UnavailableError("cannot write " + path);
  return Status::Ok();
}

// The single-value serialization of a partition value (format/spec.md, Appendix D).
std::optional<std::string> BoundBytes(const json& v, const std::string& type) {
  if (v.is_null()) return std::nullopt;
  std::string out;
  if (type == "string") return v.get<std::string>();
  if (type == "boolean") return std::string(1, v.get<bool>() ? '\x01' : '\x00');
  int64_t n = v.get<int64_t>();
  int width = type == "long" ? 8 : 4;
  for (int i = 0; i < width; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  return out;
}

bool Less(const json& a, const json& b) {
  return a < b;
}

Status SetPartition(avro_value_t* part, const std::vector<PartitionField>& fields,
                    const json& values) {
  for (const PartitionField& pf : fields) {
    json v = values.is_object() ? values.value(pf.name, json()) : json();
    if (v.is_null()) {
      SetNull(part, pf.name.c_str());
      continue;
    }
    avro_value_t b = Branch(part, pf.name.c_str());
    if (pf.type == "string") {
      if (!v.is_string()) return InvalidError("partition " + pf.name + " must be a string");
      avro_value_set_string(&b, v.get<std::string>().c_str());
    } else if (pf.type == "boolean") {
      if (!v.is_boolean()) return InvalidError("partition " + pf.name + " must be a boolean");
      avro_value_set_boolean(&b, v.get<bool>());
    } else if (!v.is_number_integer()) {
      return InvalidError("partition " + pf.name + " must be an integer");
    } else if (pf.type == "long") {
      avro_value_set_long(&b, v.get<int64_t>());
    } else {
      avro_value_set_int(&b, v.get<int32_t>());
    }
  }
  return Status::Ok();
}

}  // namespace

std::string ManifestEntrySchema(const std::vector<PartitionField>& fields) {
  json pfields = json::array();
  for (const PartitionField& f : fields)
    pfields.push_back(Field(f.name, PartitionType(f.type), f.field_id, true));
  json data_file = {
      {"type", "record"},
      {"name", "r2"},
      {"fields",
       {Field("content", "int", 134), Field("file_path", "string", 100),
        Field("file_format", "string", 101),
        Field("partition", {{"type", "record"}, {"name", "r102"}, {"fields", pfields}}, 102),
        Field("record_count", "long", 103), Field("file_size_in_bytes", "long", 104),
        Field("column_sizes", IntMap(117, 118, "long"), 108, true),
        Field("value_counts", IntMap(119, 120, "long"), 109, true),
        Field("null_value_counts", IntMap(121, 122, "long"), 110, true),
        Field("nan_value_counts", IntMap(138, 139, "long"), 137, true),
        Field("lower_bounds", IntMap(126, 127, "bytes"), 125, true),
        Field("upper_bounds", IntMap(129, 130, "bytes"), 128, true),
        Field("key_metadata", "bytes", 131, true),
        Field("split_offsets", ListOf("long", 133), 132, true),
        Field("equality_ids", ListOf("int", 136), 135, true),
        Field("sort_order_id", "int", 140, true)}}};
  json entry = {
      {"type", "record"},
      {"name", "manifest_entry"},
      {"fields",
       {Field("status", "int", 0), Field("snapshot_id", "long", 1, true),
        Field("sequence_number", "long", 3, true), Field("file_sequence_number", "long", 4, true),
        Field("data_file", data_file, 2)}}};
  return entry.dump();
}

std::string ManifestListSchema() {
  json summary = {
      {"type", "record"},
      {"name", "r508"},
      {"fields",
       {Field("contains_null", "boolean", 509), Field("contains_nan", "boolean", 518, true),
        Field("lower_bound", "bytes", 510, true), Field("upper_bound", "bytes", 511, true)}}};
  json list = {
      {"type", "record"},
      {"name", "manifest_file"},
      {"fields",
       {Field("manifest_path", "string", 500), Field("manifest_length", "long", 501),
        Field("partition_spec_id", "int", 502), Field("content", "int", 517),
        Field("sequence_number", "long", 515), Field("min_sequence_number", "long", 516),
        Field("added_snapshot_id", "long", 503), Field("added_files_count", "int", 504),
        Field("existing_files_count", "int", 505), Field("deleted_files_count", "int", 506),
        Field("added_rows_count", "long", 512), Field("existing_rows_count", "long", 513),
        Field("deleted_rows_count", "long", 514),
        Field("partitions", ListOf(summary, 508), 507, true),
        Field("key_metadata", "bytes", 519, true)}}};
  return list.dump();
}

Status WriteManifest(const std::string& path, const std::vector<PartitionField>& fields,
                     const ManifestHeader& header, const std::vector<ManifestEntry>& entries,
                     int64_t snapshot_id, int64_t sequence_number, ManifestFile* out) {
  const std::string text = ManifestEntrySchema(fields);
  Schema s;
  CONVERGE_RETURN_IF_ERROR(Parse(text, &s));
  avro_value_t rec;
  avro_generic_value_new(s.iface, &rec);
  std::string block;
  ManifestFile mf;
  mf.path = path;
  mf.spec_id = header.spec_id;
  mf.content = header.content == "deletes" ? 1 : 0;
  mf.sequence_number = sequence_number;
  mf.added_snapshot_id = snapshot_id;
  int64_t min_seq = sequence_number;
  std::vector<std::optional<json>> lo(fields.size()), hi(fields.size());
  std::vector<bool> nulls(fields.size(), false);
  Status st = Status::Ok();
  for (const ManifestEntry& e : entries) {
    avro_value_reset(&rec);
    avro_value_t status = Sub(&rec, "status");
    avro_value_set_int(&status, e.status);
    SetOptLong(&rec, "snapshot_id", e.snapshot_id);
    SetOptLong(&rec, "sequence_number", e.sequence_number);
    SetOptLong(&rec, "file_sequence_number", e.file_sequence_number);
    avro_value_t df = Sub(&rec, "data_file");
    avro_value_t f = Sub(&df, "content");
    avro_value_set_int(&f, e.file.content);
    f = Sub(&df, "file_path");
    avro_value_set_string(&f, e.file.path.c_str());
    f = Sub(&df, "file_format");
    avro_value_set_string(&f, e.file.format.c_str());
    avro_value_t part = Sub(&df, "partition");
    st = SetPartition(&part, fields, e.file.partition);
    if (!st.ok()) break;
    f = Sub(&df, "record_count");
    avro_value_set_long(&f, e.file.record_count);
    f = Sub(&df, "file_size_in_bytes");
    avro_value_set_long(&f, e.file.size_bytes);
    for (const char* n :
         {"column_sizes", "value_counts", "null_value_counts", "nan_value_counts", "lower_bounds",
          "upper_bounds", "key_metadata", "split_offsets", "equality_ids", "sort_order_id"})
      SetNull(&df, n);
    st = Encode(&rec, block);
    if (!st.ok()) break;
    if (e.status == kAdded) {
      ++mf.added_files;
      mf.added_rows += e.file.record_count;
    } else if (e.status == kExisting) {
      ++mf.existing_files;
      mf.existing_rows += e.file.record_count;
    } else {
      ++mf.deleted_files;
      mf.deleted_rows += e.file.record_count;
    }
    if (e.status != kDeleted && e.sequence_number) min_seq = std::min(min_seq, *e.sequence_number);
    for (size_t i = 0; i < fields.size(); ++i) {
      json v = e.file.partition.value(fields[i].name, json());
      if (v.is_null()) {
        nulls[i] = true;
        continue;
      }
      if (!lo[i] || Less(v, *lo[i])) lo[i] = v;
      if (!hi[i] || Less(*hi[i], v)) hi[i] = v;
    }
  }
  avro_value_decref(&rec);
  CONVERGE_RETURN_IF_ERROR(st);
  mf.min_sequence_number = min_seq;
  for (size_t i = 0; i < fields.size(); ++i) {
    FieldSummary fs;
    fs.contains_null = nulls[i];
    if (lo[i]) fs.lower_bound = BoundBytes(*lo[i], fields[i].type);
    if (hi[i]) fs.upper_bound = BoundBytes(*hi[i], fields[i].type);
    mf.partitions.push_back(fs);
  }
  std::map<std::string, std::string> meta = {{"schema", header.schema.dump()},
                                             {"schema-id", std::to_string(header.schema_id)},
                                             {"partition-spec", header.spec_fields.dump()},
                                             {"partition-spec-id", std::to_string(header.spec_id)},
                                             {"format-version", "2"},
                                             {"content", header.content}};
  CONVERGE_RETURN_IF_ERROR(
      WriteContainer(path, text, meta, block, static_cast<int64_t>(entries.size())));
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  mf.length = static_cast<int64_t>(in.tellg());
  if (out != nullptr) *out = std::move(mf);
  return Status::Ok();
}

Status WriteManifestList(const std::string& path, int64_t snapshot_id, int64_t parent_id,
                         int64_t sequence_number, const std::vector<ManifestFile>& files) {
  const std::string text = ManifestListSchema();
  Schema s;
  CONVERGE_RETURN_IF_ERROR(Parse(text, &s));
  avro_value_t rec;
  avro_generic_value_new(s.iface, &rec);
  std::string block;
  Status st = Status::Ok();
  for (const ManifestFile& m : files) {
    avro_value_reset(&rec);
    avro_value_t f = Sub(&rec, "manifest_path");
    avro_value_set_string(&f, m.path.c_str());
    auto set_long = [&](const char* n, int64_t v) {
      avro_value_t x = Sub(&rec, n);
      avro_value_set_long(&x, v);
    };
    auto set_int = [&](const char* n, int v) {
      avro_value_t x = Sub(&rec, n);
      avro_value_set_int(&x, v);
    };
    set_long("manifest_length", m.length);
    set_int("partition_spec_id", m.spec_id);
    set_int("content", m.content);
    set_long("sequence_number", m.sequence_number);
    set_long("min_sequence_number", m.min_sequence_number);
    set_long("added_snapshot_id", m.added_snapshot_id);
    set_int("added_files_count", m.added_files);
    set_int("existing_files_count", m.existing_files);
    set_int("deleted_files_count", m.deleted_files);
    set_long("added_rows_count", m.added_rows);
    set_long("existing_rows_count", m.existing_rows);
    set_long("deleted_rows_count", m.deleted_rows);
    avro_value_t parts = Branch(&rec, "partitions");
    for (const FieldSummary& fs : m.partitions) {
      avro_value_t item;
      avro_value_append(&parts, &item, nullptr);
      avro_value_t cn = Sub(&item, "contains_null");
      avro_value_set_boolean(&cn, fs.contains_null);
      if (fs.contains_nan) {
        avro_value_t b = Branch(&item, "contains_nan");
        avro_value_set_boolean(&b, *fs.contains_nan);
      } else {
        SetNull(&item, "contains_nan");
      }
      SetOptBytes(&item, "lower_bound", fs.lower_bound);
      SetOptBytes(&item, "upper_bound", fs.upper_bound);
    }
    SetNull(&rec, "key_metadata");
    st = Encode(&rec, block);
    if (!st.ok()) break;
  }
  avro_value_decref(&rec);
  CONVERGE_RETURN_IF_ERROR(st);
  std::map<std::string, std::string> meta = {
      {"snapshot-id", std::to_string(snapshot_id)},
      {"parent-snapshot-id", parent_id < 0 ? "null" : std::to_string(parent_id)},
      {"sequence-number", std::to_string(sequence_number)},
      {"format-version", "2"}};
  return WriteContainer(path, text, meta, block, static_cast<int64_t>(files.size()));
}

}  // namespace converge::iceberg::avro
