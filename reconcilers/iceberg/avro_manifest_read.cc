// The sandbox catalog's reads of manifest lists and manifests: the file's bytes (bounded by
// ReadLimits) through converge's one Avro reader (manifests.h), converted to the writer's types;
// and an Avro file header's metadata (manifests_avro.h).
#include <fstream>
#include <iterator>

#include "reconcilers/iceberg/avro_manifest.h"
#include "reconcilers/iceberg/manifests.h"
#include "reconcilers/iceberg/manifests_avro.h"

namespace converge::iceberg::avro {
namespace {

Result<std::string> ReadLocal(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return NotFoundError("cannot read Avro file " + path);
  const std::streamoff size = in.tellg();
  const size_t max = ReadLimits{}.max_file_bytes;
  if (size < 0 || static_cast<uint64_t>(size) > max)
    return InvalidError("Avro file " + path + " is over the limit of " + std::to_string(max) +
                        " bytes");
  std::string data(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(data.data(), size)) return NotFoundError("cannot read Avro file " + path);
  return data;
}

}  // namespace

Result<std::vector<ManifestFile>> ReadManifestList(const std::string& path) {
  auto bytes = ReadLocal(path);
  if (!bytes.ok()) return bytes.status();
  auto list = iceberg::ReadManifestList(*bytes);
  if (!list.ok()) return list.status().Annotate(path);
  std::vector<ManifestFile> out;
  for (const iceberg::ManifestFile& f : *list) {
    ManifestFile m;
    m.path = f.path;
    m.length = f.length;
    m.spec_id = f.spec_id;
    m.content = f.deletes ? 1 : 0;
    m.sequence_number = f.sequence_number;
    m.min_sequence_number = f.min_sequence_number;
    m.added_snapshot_id = f.added_snapshot_id;
    m.added_files = f.added_files;
    m.existing_files = f.existing_files;
    m.deleted_files = f.deleted_files;
    m.added_rows = f.added_rows;
    m.existing_rows = f.existing_rows;
    m.deleted_rows = f.deleted_rows;
    for (const auto& p : f.partitions)
      m.partitions.push_back({p.contains_null, p.contains_nan, p.lower_bound, p.upper_bound});
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<ManifestEntry>> ReadManifest(const ManifestFile& file) {
  auto bytes = ReadLocal(file.path);
  if (!bytes.ok()) return bytes.status();
  iceberg::ManifestFile from;
  from.path = file.path;
  from.length = file.length;
  from.spec_id = file.spec_id;
  from.deletes = file.content == 1;
  from.sequence_number = file.sequence_number;
  from.min_sequence_number = file.min_sequence_number;
  from.added_snapshot_id = file.added_snapshot_id;
  auto entries = iceberg::ReadManifest(*bytes, from, nullptr);
  if (!entries.ok()) return entries.status();
  std::vector<ManifestEntry> out;
  for (DataFileEntry& d : *entries) {
    ManifestEntry e;
    e.status = static_cast<int>(d.status);
    e.snapshot_id = d.snapshot_id;
    e.sequence_number = d.sequence_number;
    e.file_sequence_number = d.file_sequence_number;
    e.file.content = static_cast<int>(d.content);
    e.file.path = std::move(d.path);
    e.file.format = std::move(d.format);
    e.file.partition = std::move(d.partition_values);
    e.file.record_count = d.record_count;
    e.file.size_bytes = d.file_size_bytes;
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::map<std::string, std::string>> ReadFileMetadata(const std::string& path) {
  auto bytes = ReadLocal(path);
  if (!bytes.ok()) return bytes.status();
  auto meta = ParseAvroHeader(*bytes);
  if (!meta.ok()) return meta.status().Annotate(path);
  return meta;
}

}  // namespace converge::iceberg::avro
