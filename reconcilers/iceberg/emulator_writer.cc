// The Iceberg catalog emulator's simulated writer and maintenance jobs: appends of small files,
// a binpack rewrite (Spark's rewrite_data_files) and orphan-file removal, all on the table files
// in the warehouse, committed through the same commit path as REST clients.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "reconcilers/iceberg/emulator_internal.h"

namespace converge::iceberg {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kDayMs = 86400000;

// Days since 1970-01-01 <-> "YYYY-MM-DD" (proleptic Gregorian).
std::string DateText(int64_t days) {
  int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp + (mp < 10 ? 3 : -9);
  char buf[48];  // room for any int64 year, so no truncation
  snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y + (m <= 2)),
           static_cast<long long>(m), static_cast<long long>(d));
  return buf;
}

std::optional<int64_t> DateDays(const std::string& s) {
  int y = 0, m = 0, d = 0;
  if (sscanf(s.c_str(), "%d-%d-%d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
    return std::nullopt;
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

json DefaultSchema() {
  return json::parse(R"({"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "id", "required": true, "type": "long"},
    {"id": 2, "name": "event_date", "required": true, "type": "date"},
    {"id": 3, "name": "payload", "required": false, "type": "string"}]})");
}

json DefaultSpec() {
  return json::parse(R"({"spec-id": 0, "fields": [
    {"name": "event_date", "transform": "identity", "source-id": 2, "field-id": 1000}]})");
}

const json* CurrentOf(const json& list, const char* key, const json& id) {
  for (const json& e : list)
    if (e.value(key, json()) == id) return &e;
  return nullptr;
}

// The partition tuple's fields of the table's default spec.
std::vector<avro::PartitionField> PartitionFields(const json& m) {
  std::vector<avro::PartitionField> out;
  const json* spec = CurrentOf(m["partition-specs"], "spec-id", m.value("default-spec-id", 0));
  const json* schema = CurrentOf(m["schemas"], "schema-id", m.value("current-schema-id", 0));
  if (spec == nullptr) return out;
  for (const json& f : spec->value("fields", json::array())) {
    avro::PartitionField pf{f.value("name", ""), f.value("field-id", 1000), "int"};
    const std::string tr = f.value("transform", "identity");
    std::string src = "string";
    if (schema != nullptr)
      for (const json& c : schema->value("fields", json::array()))
        if (c.value("id", -1) == f.value("source-id", -2) && c["type"].is_string()) src = c["type"];
    if (tr == "identity" || tr.rfind("truncate", 0) == 0) {
      pf.type = src == "int" || src == "long" || src == "boolean" || src == "date" ? src : "string";
      if (src.rfind("timestamp", 0) == 0 || src == "time") pf.type = "long";
    } else if (tr == "day") {
      pf.type = "date";
    }
    out.push_back(pf);
  }
  return out;
}

// The partition tuple of a request's "partition" (defaults: today, 0, "default", false).
Result<json> PartitionValues(const std::vector<avro::PartitionField>& fields, const json& given,
                             int64_t now_ms) {
  json out = json::object();
  for (const avro::PartitionField& f : fields) {
    json v = given.is_object() ? given.value(f.name, json()) : json();
    if (f.type == "date") {
      if (v.is_string()) {
        auto d = DateDays(v.get<std::string>());
        if (!d) return InvalidError("partition " + f.name + " must be a date YYYY-MM-DD");
        v = *d;
      } else if (v.is_null()) {
        v = now_ms / kDayMs;
      }
    } else if (v.is_null()) {
      v = f.type == "string" ? json("default") : f.type == "boolean" ? json(false) : json(0);
    }
    if ((f.type == "string" && !v.is_string()) || (f.type == "boolean" && !v.is_boolean()) ||
        (f.type != "string" && f.type != "boolean" && !v.is_number_integer()))
      return InvalidError("partition " + f.name + " has the wrong type (want " + f.type + ")");
    out[f.name] = v;
  }
  return out;
}

std::string PartitionPath(const std::vector<avro::PartitionField>& fields, const json& values) {
  std::string p;
  for (const avro::PartitionField& f : fields) {
    const json& v = values[f.name];
    std::string text = f.type == "date" && v.is_number_integer() ? DateText(v.get<int64_t>())
                       : v.is_string()                           ? v.get<std::string>()
                                                                 : v.dump();
    p += "/" + f.name + "=" + text;
  }
  return p;
}

Status Placeholder(const std::string& path, int64_t size) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return UnavailableError("cannot create " + path);
  int rc = ::ftruncate(fd, size);
  ::close(fd);
  if (rc != 0) return UnavailableError("cannot size " + path);
  return Status::Ok();
}

int64_t Num(const json& summary, const char* key) {
  std::string v = summary.value(key, "0");
  return std::strtoll(v.c_str(), nullptr, 10);
}

struct Live {
  avro::ManifestEntry entry;
  size_t manifest = 0;
};

}  // namespace

Result<Table*> Emulator::Impl::FindTable(const std::string& dotted) {
  size_t dot = dotted.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == dotted.size())
    return InvalidError("table must be <namespace>.<table>, not '" + dotted + "'");
  Namespace ns;
  size_t start = 0;
  while (start <= dot) {
    size_t end = dotted.find('.', start);
    ns.push_back(dotted.substr(start, end - start));
    start = end + 1;
  }
  auto it = tables.find({ns, dotted.substr(dot + 1)});
  if (it == tables.end()) return NotFoundError("Table does not exist: " + dotted);
  return &it->second;
}

Status Emulator::Impl::CommitSnapshot(Table& t, int64_t id, int64_t seq,
                                      const std::vector<avro::ManifestFile>& manifests,
                                      json summary) {
  const json parent = t.metadata.value("current-snapshot-id", json(-1));
  const std::string list = LocalPath(t.metadata["location"]) + "/metadata/snap-" +
                           std::to_string(id) + "-1-" + Uuid() + ".avro";
  const int64_t parent_id = parent.is_number_integer() ? parent.get<int64_t>() : -1;
  CONVERGE_RETURN_IF_ERROR(avro::WriteManifestList(list, id, parent_id, seq, manifests));
  json snap = {{"snapshot-id", id},     {"sequence-number", seq},
               {"timestamp-ms", Now()}, {"manifest-list", "file://" + list},
               {"summary", summary},    {"schema-id", t.metadata.value("current-schema-id", 0)}};
  if (parent_id >= 0) snap["parent-snapshot-id"] = parent_id;
  json request = {{"requirements",
                   {{{"type", "assert-ref-snapshot-id"},
                     {"ref", "main"},
                     {"snapshot-id", parent_id >= 0 ? json(parent_id) : json()}}}},
                  {"updates",
                   {{{"action", "add-snapshot"}, {"snapshot", snap}},
                    {{"action", "set-snapshot-ref"},
                     {"ref-name", "main"},
                     {"type", "branch"},
                     {"snapshot-id", id}}}}};
  json m;
  if (auto e = Commit(t, request, &m)) return InternalError(e->message);
  return WriteMetadata(t, std::move(m));
}

namespace {

// The live entries of the current snapshot and its manifests.
Status ReadCurrent(const json& m, std::vector<avro::ManifestFile>* manifests,
                   std::vector<Live>* live, json* prev_summary) {
  if (!m.contains("snapshots") || !m["snapshots"].is_array()) return Status::Ok();
  const json* snap =
      CurrentOf(m["snapshots"], "snapshot-id", m.value("current-snapshot-id", json(-1)));
  if (snap == nullptr) return Status::Ok();
  *prev_summary = snap->value("summary", json::object());
  auto list = avro::ReadManifestList(LocalPath(snap->value("manifest-list", "")));
  if (!list.ok()) return list.status();
  *manifests = *list;
  for (size_t i = 0; i < manifests->size(); ++i) {
    (*manifests)[i].path = LocalPath((*manifests)[i].path);
    auto entries = avro::ReadManifest((*manifests)[i]);
    if (!entries.ok()) return entries.status();
    for (avro::ManifestEntry& e : *entries)
      if (e.status != avro::kDeleted) live->push_back({std::move(e), i});
  }
  return Status::Ok();
}

json Totals(const json& prev, int64_t files, int64_t records, int64_t bytes) {
  return {{"total-data-files", std::to_string(Num(prev, "total-data-files") + files)},
          {"total-records", std::to_string(Num(prev, "total-records") + records)},
          {"total-files-size", std::to_string(Num(prev, "total-files-size") + bytes)},
          {"total-delete-files", std::to_string(Num(prev, "total-delete-files"))},
          {"total-position-deletes", std::to_string(Num(prev, "total-position-deletes"))},
          {"total-equality-deletes", std::to_string(Num(prev, "total-equality-deletes"))}};
}

}  // namespace

Result<json> Emulator::Impl::Append(const json& req) {
  const std::string dotted = req.value("table", "");
  const int64_t commits = req.value("commits", 1), per = req.value("files_per_commit", 1);
  const int64_t size = req.value("file_size_bytes", int64_t{1} << 20);
  if (commits < 1 || commits > 10000 || per < 1 || per > 10000 || size < 1)
    return InvalidError(
        "commits and files_per_commit must be within 1..10000, file_size_bytes >= 1");
  auto found = FindTable(dotted);
  if (!found.ok() && found.status().code() != Code::kNotFound) return found.status();
  if (!found.ok()) {
    size_t dot = dotted.rfind('.');
    Namespace ns;
    for (size_t s = 0; s <= dot;) {
      size_t e = dotted.find('.', s);
      ns.push_back(dotted.substr(s, e - s));
      s = e + 1;
    }
    for (const std::string& p : ns)
      if (auto e = CheckName(p, "namespace")) return InvalidError(e->message);
    if (auto e = CheckName(dotted.substr(dot + 1), "table")) return InvalidError(e->message);
    namespaces.emplace(ns, json::object());
    found = NewTable(ns, dotted.substr(dot + 1), DefaultSchema(), DefaultSpec(),
                     {{"order-id", 0}, {"fields", json::array()}}, json::object(), "");
    if (!found.ok()) return found.status();
  }
  Table& t = **found;
  const std::vector<avro::PartitionField> fields = PartitionFields(t.metadata);
  auto values = PartitionValues(fields, req.value("partition", json()), Now());
  if (!values.ok()) return values.status();
  const std::string base = LocalPath(t.metadata["location"]);
  json ids = json::array();
  for (int64_t c = 0; c < commits; ++c) {
    std::vector<avro::ManifestFile> manifests;
    std::vector<Live> live;
    json prev = json::object();
    CONVERGE_RETURN_IF_ERROR(ReadCurrent(t.metadata, &manifests, &live, &prev));
    const int64_t id = NewSnapshotId();
    const int64_t seq = t.metadata.value("last-sequence-number", int64_t{0}) + 1;
    std::vector<avro::ManifestEntry> added;
    for (int64_t i = 0; i < per; ++i) {
      avro::ManifestEntry e;
      e.status = avro::kAdded;
      e.snapshot_id = id;
      e.file.path = base + "/data" + PartitionPath(fields, *values) + "/00000-" +
                    std::to_string(i) + "-" + Uuid() + "-00001.parquet";
      e.file.partition = *values;
      e.file.size_bytes = size;
      e.file.record_count = std::max<int64_t>(1, size / 100);
      CONVERGE_RETURN_IF_ERROR(Placeholder(e.file.path, size));
      e.file.path = "file://" + e.file.path;
      added.push_back(std::move(e));
    }
    avro::ManifestHeader h;
    h.schema = *CurrentOf(t.metadata["schemas"], "schema-id", t.metadata["current-schema-id"]);
    h.schema_id = t.metadata.value("current-schema-id", 0);
    h.spec_id = t.metadata.value("default-spec-id", 0);
    h.spec_fields = CurrentOf(t.metadata["partition-specs"], "spec-id", h.spec_id)->at("fields");
    avro::ManifestFile mf;
    CONVERGE_RETURN_IF_ERROR(avro::WriteManifest(base + "/metadata/" + Uuid() + "-m0.avro", fields,
                                                 h, added, id, seq, &mf));
    mf.path = "file://" + mf.path;
    for (avro::ManifestFile& old : manifests) old.path = "file://" + old.path;
    manifests.insert(manifests.begin(), mf);
    json summary = {{"operation", "append"},
                    {"added-data-files", std::to_string(per)},
                    {"added-records", std::to_string(mf.added_rows)},
                    {"added-files-size", std::to_string(per * size)},
                    {"changed-partition-count", "1"}};
    summary.update(Totals(prev, per, mf.added_rows, per * size));
    CONVERGE_RETURN_IF_ERROR(CommitSnapshot(t, id, seq, manifests, summary));
    ids.push_back(id);
  }
  return json{{"snapshots", ids}, {"metadata-location", t.metadata_location}};
}

Result<json> Emulator::Impl::Rewrite(const json& req) {
  auto found = FindTable(req.value("table", ""));
  if (!found.ok()) return found.status();
  Table& t = **found;
  const int64_t target = req.value("target_file_size_bytes", int64_t{512} << 20);
  const int64_t min_inputs = req.value("min_input_files", 5);
  if (target < 1 || min_inputs < 1)
    return InvalidError("target_file_size_bytes and min_input_files must be positive");
  for (const std::string& image : o.failing_images)
    if (!image.empty() && t.Dotted().find(image) != std::string::npos)
      return InternalError("rewrite_data_files of " + t.Dotted() + " failed (failing image " +
                           image + ")");
  std::vector<avro::ManifestFile> manifests;
  std::vector<Live> live;
  json prev = json::object();
  CONVERGE_RETURN_IF_ERROR(ReadCurrent(t.metadata, &manifests, &live, &prev));
  const std::vector<avro::PartitionField> fields = PartitionFields(t.metadata);
  json filter = json();
  if (req.contains("partition") && req["partition"].is_object()) {
    auto v = PartitionValues(fields, req["partition"], Now());
    if (!v.ok()) return v.status();
    filter = *v;
  }
  std::map<std::string, std::vector<size_t>> groups;  // partition -> indexes into live
  for (size_t i = 0; i < live.size(); ++i) {
    const avro::DataFile& f = live[i].entry.file;
    if (f.content != 0 || f.size_bytes >= target * 3 / 4) continue;
    if (!filter.is_null() && f.partition != filter) continue;
    groups[f.partition.dump()].push_back(i);
  }
  std::set<size_t> replaced;
  std::vector<avro::ManifestEntry> added;
  int64_t del_records = 0, del_bytes = 0, add_bytes = 0, partitions = 0;
  const int64_t id = NewSnapshotId();
  const int64_t seq = t.metadata.value("last-sequence-number", int64_t{0}) + 1;
  const std::string base = LocalPath(t.metadata["location"]);
  for (const auto& [key, idx] : groups) {
    if (static_cast<int64_t>(idx.size()) < min_inputs) continue;
    ++partitions;
    int64_t bytes = 0, records = 0;
    for (size_t i : idx) {
      replaced.insert(i);
      bytes += live[i].entry.file.size_bytes;
      records += live[i].entry.file.record_count;
    }
    del_bytes += bytes;
    del_records += records;
    const json part = live[idx[0]].entry.file.partition;
    const int64_t n = (bytes + target - 1) / target;
    for (int64_t k = 0; k < n; ++k) {
      avro::ManifestEntry e;
      e.snapshot_id = id;
      e.file.partition = part;
      e.file.size_bytes = k + 1 < n ? target : bytes - target * (n - 1);
      e.file.record_count = records / n + (k < records % n ? 1 : 0);
      std::string path = base + "/data" + PartitionPath(fields, part) + "/00000-" +
                         std::to_string(k) + "-" + Uuid() + "-00001.parquet";
      CONVERGE_RETURN_IF_ERROR(Placeholder(path, e.file.size_bytes));
      e.file.path = "file://" + path;
      add_bytes += e.file.size_bytes;
      added.push_back(std::move(e));
    }
  }
  json out = {{"rewritten_data_files_count", replaced.size()},
              {"added_data_files_count", added.size()},
              {"rewritten_bytes_count", del_bytes}};
  if (replaced.empty()) return out;
  avro::ManifestHeader h;
  h.schema = *CurrentOf(t.metadata["schemas"], "schema-id", t.metadata["current-schema-id"]);
  h.schema_id = t.metadata.value("current-schema-id", 0);
  h.spec_id = t.metadata.value("default-spec-id", 0);
  h.spec_fields = CurrentOf(t.metadata["partition-specs"], "spec-id", h.spec_id)->at("fields");
  std::vector<avro::ManifestFile> next;
  avro::ManifestFile mf;
  CONVERGE_RETURN_IF_ERROR(avro::WriteManifest(base + "/metadata/" + Uuid() + "-m0.avro", fields, h,
                                               added, id, seq, &mf));
  next.push_back(mf);
  for (size_t m = 0; m < manifests.size(); ++m) {
    bool touched = false;
    for (size_t i : replaced) touched = touched || live[i].manifest == m;
    if (!touched) {
      next.push_back(manifests[m]);
      continue;
    }
    std::vector<avro::ManifestEntry> kept;
    for (size_t i = 0; i < live.size(); ++i) {
      if (live[i].manifest != m) continue;
      avro::ManifestEntry e = live[i].entry;
      e.status = replaced.count(i) ? avro::kDeleted : avro::kExisting;
      if (e.status == avro::kDeleted) e.snapshot_id = id;
      kept.push_back(std::move(e));
    }
    avro::ManifestFile rewritten;
    CONVERGE_RETURN_IF_ERROR(avro::WriteManifest(base + "/metadata/" + Uuid() + "-m1.avro", fields,
                                                 h, kept, id, seq, &rewritten));
    next.push_back(rewritten);
  }
  for (avro::ManifestFile& f : next)
    if (f.path.rfind("file://", 0) != 0) f.path = "file://" + f.path;
  const int64_t add_records = del_records;
  json summary = {{"operation", "replace"},
                  {"added-data-files", std::to_string(added.size())},
                  {"deleted-data-files", std::to_string(replaced.size())},
                  {"added-records", std::to_string(add_records)},
                  {"deleted-records", std::to_string(del_records)},
                  {"added-files-size", std::to_string(add_bytes)},
                  {"removed-files-size", std::to_string(del_bytes)},
                  {"changed-partition-count", std::to_string(partitions)}};
  summary.update(Totals(prev,
                        static_cast<int64_t>(added.size()) - static_cast<int64_t>(replaced.size()),
                        add_records - del_records, add_bytes - del_bytes));
  CONVERGE_RETURN_IF_ERROR(CommitSnapshot(t, id, seq, next, summary));
  out["snapshot-id"] = id;
  return out;
}

Result<json> Emulator::Impl::RemoveOrphans(const json& req) {
  auto found = FindTable(req.value("table", ""));
  if (!found.ok()) return found.status();
  Table& t = **found;
  if (!req.contains("older_than_ms") || !req["older_than_ms"].is_number_integer())
    return InvalidError("older_than_ms (epoch milliseconds) is required");
  const int64_t cutoff = req["older_than_ms"];
  const json& m = t.metadata;
  std::set<std::string> used = {LocalPath(t.metadata_location)};
  for (const json& e : m.value("metadata-log", json::array()))
    used.insert(LocalPath(e.value("metadata-file", "")));
  for (const char* k : {"statistics", "partition-statistics"})
    for (const json& e : m.value(k, json::array()))
      used.insert(LocalPath(e.value("statistics-path", "")));
  for (const json& s : m.value("snapshots", json::array())) {
    const std::string list = LocalPath(s.value("manifest-list", ""));
    used.insert(list);
    auto files = avro::ReadManifestList(list);
    if (!files.ok()) return files.status().Annotate("remove-orphans");  // never guess: stop
    for (avro::ManifestFile f : *files) {
      f.path = LocalPath(f.path);
      used.insert(f.path);
      auto entries = avro::ReadManifest(f);
      if (!entries.ok()) return entries.status().Annotate("remove-orphans");
      for (const avro::ManifestEntry& e : *entries)
        if (e.status != avro::kDeleted) used.insert(LocalPath(e.file.path));
    }
  }
  const fs::path root = LocalPath(m.value("location", ""));
  std::set<std::string> others;  // tables nested under this one's location
  for (const auto& [k, other] : tables)
    if (&other != &t) others.insert(LocalPath(other.metadata.value("location", "")));
  json deleted = json::array();
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const std::string p = it->path().string();
    if (it->is_directory()) {
      if (others.count(p)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || used.count(p)) continue;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) continue;
    const int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000;
    if (mtime >= cutoff) continue;
    deleted.push_back("file://" + p);
  }
  if (!req.value("dry_run", false))
    for (const json& p : deleted) fs::remove(LocalPath(p.get<std::string>()), ec);
  return json{{"orphan_file_locations", deleted}};
}

}  // namespace converge::iceberg
