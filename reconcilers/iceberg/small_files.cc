#include "reconcilers/iceberg/small_files.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace converge::iceberg {

namespace {

constexpr size_t kMaxCachedManifests = 50000;
// In every cache file's name; bumped when what a file holds changes (v2: an identity partition
// of a date column is a date, no longer a day number).
constexpr char kCacheFormat[] = "v2";
constexpr long kPruneEveryWrites = 256;

// FNV-1a 64: a stable name for a cached file (the path itself is inside, and checked).
std::string Hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::optional<json> ReadJsonFile(const std::string& file) {
  if (file.empty()) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// Best effort: a cache that cannot be written only costs a read next time.
void WriteJsonFile(const std::string& file, const json& j) {
  if (file.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ec);
  const std::string tmp = file + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return;
    out << j.dump();
    if (!out) return;
  }
  std::filesystem::rename(tmp, file, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

// A disk hit: the file is in use, so the pruning below keeps it longest.
void Touch(const std::string& file) {
  std::error_code ec;
  std::filesystem::last_write_time(file, std::filesystem::file_time_type::clock::now(), ec);
}

// Trims `dir` (the cache directory, converge's own): files of another cache format and
// leftovers of writes interrupted over an hour ago always go; then, above `max_bytes`, the
// files used longest ago until 3/4 of it. Returns how many files it removed.
long PruneCacheDir(const std::string& dir, uint64_t max_bytes) {
  namespace fs = std::filesystem;
  struct File {
    fs::file_time_type used;
    uint64_t size;
    fs::path path;
  };
  const auto now = fs::file_time_type::clock::now();
  const std::string current = std::string("-") + kCacheFormat + "-";
  std::vector<File> files;
  uint64_t total = 0;
  long removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fe;
    if (!it->is_regular_file(fe)) continue;
    const std::string name = it->path().filename().string();
    const auto used = it->last_write_time(fe);
    if (fe) continue;
    const bool temporary = name.find(".tmp.") != std::string::npos;
    const bool ours = !temporary && name.find(current) != std::string::npos &&
                      name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0;
    if (!ours) {
      if ((!temporary || now - used > std::chrono::hours(1)) && fs::remove(it->path(), fe))
        ++removed;
      continue;
    }
    const uint64_t size = it->file_size(fe);
    if (fe) continue;
    files.push_back(File{used, size, it->path()});
    total += size;
  }
  if (total <= max_bytes) return removed;
  std::sort(files.begin(), files.end(),
            [](const File& a, const File& b) { return a.used < b.used; });
  for (const File& f : files) {
    if (total <= max_bytes / 4 * 3) break;
    std::error_code fe;
    if (fs::remove(f.path, fe)) ++removed;
    total -= f.size;
  }
  return removed;
}

}  // namespace

SmallFileCounter::SmallFileCounter(std::unique_ptr<FileSource> source, std::string cache_dir,
                                   ReadLimits limits, uint64_t cache_max_bytes)
    : source_(std::move(source)),
      cache_dir_(std::move(cache_dir)),
      limits_(limits),
      cache_max_bytes_(cache_max_bytes) {}

void SmallFileCounter::MaybePrune() {
  if (cache_dir_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_writes_++ % kPruneEveryWrites != 0) return;
  }
  const long removed = PruneCacheDir(cache_dir_, cache_max_bytes_);
  std::lock_guard<std::mutex> lock(mu_);
  stats_.cache_files_pruned += removed;
}

SmallFileCounter::Stats SmallFileCounter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::string SmallFileCounter::CacheFile(const std::string& kind, const std::string& path) const {
  if (cache_dir_.empty()) return "";
  return cache_dir_ + "/" + kind + "-" + kCacheFormat + "-" + Hash(path) + ".json";
}

Result<SmallFileCounter::List> SmallFileCounter::ManifestList(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = lists_.find(path); it != lists_.end()) {
      ++stats_.memory_hits;
      return it->second;
    }
  }
  const std::string file = CacheFile("list", path);
  std::vector<ManifestFile> list;
  bool from_disk = false;
  if (auto j = ReadJsonFile(file); j && j->value("path", "") == path &&
                                   j->contains("manifests") && (*j)["manifests"].is_array()) {
    try {
      for (const json& m : (*j)["manifests"]) {
        ManifestFile f;
        f.path = m.at("path").get<std::string>();
        f.length = m.at("length").get<int64_t>();
        f.spec_id = m.at("spec_id").get<int>();
        f.deletes = m.at("deletes").get<bool>();
        f.sequence_number = m.at("sequence_number").get<int64_t>();
        f.min_sequence_number = m.at("min_sequence_number").get<int64_t>();
        f.added_snapshot_id = m.at("added_snapshot_id").get<int64_t>();
        list.push_back(std::move(f));
      }
      from_disk = true;
    } catch (const std::exception&) {
      list.clear();  // a damaged cache file: read the source instead
    }
  }
  if (!from_disk) {
    auto bytes = source_->Read(path);
    if (!bytes.ok()) return bytes.status();
    auto read = ReadManifestList(*bytes, limits_);
    if (!read.ok()) return read.status();
    list = std::move(*read);
    json out = json::array();
    for (const ManifestFile& f : list)
      out.push_back({{"path", f.path},
                     {"length", f.length},
                     {"spec_id", f.spec_id},
                     {"deletes", f.deletes},
                     {"sequence_number", f.sequence_number},
                     {"min_sequence_number", f.min_sequence_number},
                     {"added_snapshot_id", f.added_snapshot_id}});
    WriteJsonFile(file, {{"path", path}, {"manifests", out}});
    MaybePrune();
  } else {
    Touch(file);
  }
  auto shared = std::make_shared<const std::vector<ManifestFile>>(std::move(list));
  std::lock_guard<std::mutex> lock(mu_);
  ++(from_disk ? stats_.disk_hits : stats_.files_read);
  if (lists_.size() >= kMaxCachedManifests) lists_.clear();
  lists_[path] = shared;
  return List(shared);
}

Result<SmallFileCounter::Entries> SmallFileCounter::Manifest(const TableMetadata& table,
                                                             const ManifestFile& manifest) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = manifests_.find(manifest.path); it != manifests_.end()) {
      ++stats_.memory_hits;
      return it->second;
    }
  }
  const std::string file = CacheFile("manifest", manifest.path);
  std::vector<Entry> entries;
  bool from_disk = false;
  if (auto j = ReadJsonFile(file); j && j->value("path", "") == manifest.path &&
                                   j->contains("entries") && (*j)["entries"].is_array()) {
    try {
      for (const json& e : (*j)["entries"])
        entries.push_back(Entry{e.at(0).get<std::string>(), e.at(1).get<int64_t>(),
                                e.at(2).get<int>(), e.at(3).get<int>()});
      from_disk = true;
    } catch (const std::exception&) {
      entries.clear();
    }
  }
  if (!from_disk) {
    auto bytes = source_->Read(manifest.path);
    if (!bytes.ok()) return bytes.status();
    auto read = ReadManifest(*bytes, manifest, &table, limits_);
    if (!read.ok()) return read.status();
    json out = json::array();
    for (const DataFileEntry& d : *read) {
      entries.push_back(Entry{d.partition, d.file_size_bytes, static_cast<int>(d.content),
                              static_cast<int>(d.status)});
      out.push_back(json::array({d.partition, d.file_size_bytes, static_cast<int>(d.content),
                                 static_cast<int>(d.status)}));
    }
    WriteJsonFile(file, {{"path", manifest.path}, {"entries", out}});
    MaybePrune();
  } else {
    Touch(file);
  }
  auto shared = std::make_shared<const std::vector<Entry>>(std::move(entries));
  std::lock_guard<std::mutex> lock(mu_);
  ++(from_disk ? stats_.disk_hits : stats_.files_read);
  // Bounded: a long-running watch sees manifests come and go; past the cap the memory cache
  // starts again (the cache directory still has them).
  if (manifests_.size() >= kMaxCachedManifests) manifests_.clear();
  manifests_[manifest.path] = shared;
  return Entries(shared);
}

Result<SmallFileInfo> SmallFileCounter::Count(const TableMetadata& table,
                                              int64_t target_file_size) {
  SmallFileInfo info;
  info.threshold_bytes = SmallFileThreshold(target_file_size);
  info.estimate = false;
  if (!table.current_snapshot_id) return info;
  const Snapshot* snap = table.FindSnapshot(*table.current_snapshot_id);
  if (snap == nullptr)
    return InvalidError("table metadata: current-snapshot-id " +
                        std::to_string(*table.current_snapshot_id) + " is not among its snapshots");
  if (snap->manifest_list.empty())
    return InvalidError("snapshot " + std::to_string(snap->id) +
                        " lists its manifests inline (format v1): not read");
  auto list = ManifestList(snap->manifest_list);
  if (!list.ok()) return list.status();
  std::vector<DataFileEntry> live;
  size_t total = 0;
  for (const ManifestFile& m : **list) {
    if (m.deletes) continue;  // delete manifests hold no data files
    auto entries = Manifest(table, m);
    if (!entries.ok()) return entries.status();
    total += (*entries)->size();
    if (total > limits_.max_entries)
      return InvalidError("snapshot " + std::to_string(snap->id) + " has more than " +
                          std::to_string(limits_.max_entries) + " manifest entries");
    for (const Entry& e : **entries) {
      if (e.status == static_cast<int>(EntryStatus::kDeleted) ||
          e.content != static_cast<int>(FileContent::kData))
        continue;
      DataFileEntry d;
      d.status = static_cast<EntryStatus>(e.status);
      d.content = FileContent::kData;
      d.partition = e.partition;
      d.file_size_bytes = e.size;
      live.push_back(std::move(d));
    }
  }
  info.partitions = SmallFiles(live, target_file_size);
  return info;
}

std::optional<SmallFileInfo> SmallFilesOf(SmallFileCounter* counter, const TableMetadata& table,
                                          const TablePolicy& policy,
                                          const std::string& table_name) {
  if (counter == nullptr || !policy.compaction || !policy.triggers.small_file_count)
    return std::nullopt;
  auto info = counter->Count(table, policy.compaction->target_file_size_bytes);
  if (info.ok()) return *info;
  const std::string why = table_name + ": " + info.status().message();
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(counter->mu_);
    first = counter->warned_.insert(why).second;
  }
  if (first)
    spdlog::warn("iceberg: small files of {} estimated from snapshot summaries: {}", table_name,
                 info.status().message());
  return std::nullopt;
}

}  // namespace converge::iceberg
