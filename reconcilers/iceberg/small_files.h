// Exact small-file counts for compaction's smallFileCount trigger: the current snapshot's manifest
// list and manifests, read through the Backend's `storage` (storage.h) with manifests.h.
// What it promises:
//  * Count() gives, per partition, the live data files of `main`'s current snapshot under 75 % of
//    the target (manifests.h SmallFiles), not an estimate. A table without a snapshot has none.
//  * Manifest lists and manifests never change once written (a new snapshot writes new files),
//    so what was read is cached by path: in memory for the process, and on disk under the
//    cache directory when one is given (ConnectContext::cache_dir), one small JSON file per
//    manifest holding only what the count needs (partition, size, content, status). A plan of an
//    unchanged table reads no file; a new append reads its new manifest list and manifests only.
//    The memory cache is bounded (50,000 manifests, then it starts again). The cache directory
//    is bounded too (`cache_max_bytes`, 64 MiB by default, about 1.5 million data files): at the
//    first write of a process and every 256 writes after, files of an older cache format and
//    leftovers of interrupted writes go, then the files used longest ago (a disk hit renews a
//    file's time) until 3/4 of the bound. A pruned file only costs one read of its manifest.
//  * An error (storage cannot read the location, a corrupt manifest, a limit exceeded) is
//    returned: the caller falls back to the estimate and says so.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconcilers/iceberg/manifests.h"
#include "reconcilers/iceberg/metadata.h"
#include "reconcilers/iceberg/policy.h"
#include "reconcilers/iceberg/triggers.h"

namespace converge::iceberg {

class SmallFileCounter {
 public:
  static constexpr uint64_t kDefaultCacheMaxBytes = uint64_t{64} << 20;
  // `cache_dir` "" = no cache across processes.
  SmallFileCounter(std::unique_ptr<FileSource> source, std::string cache_dir,
                   ReadLimits limits = {}, uint64_t cache_max_bytes = kDefaultCacheMaxBytes);

  Result<SmallFileInfo> Count(const TableMetadata& table, int64_t target_file_size);

  struct Stats {
    long files_read = 0;   // manifest lists and manifests read through the source
    long memory_hits = 0;  // served from this process's cache
    long disk_hits = 0;    // served from the cache directory
    long cache_files_pruned = 0;  // removed from the cache directory
  };
  Stats stats() const;

 private:
  // What the count keeps of one manifest entry.
  struct Entry {
    std::string partition;
    int64_t size = 0;
    int content = 0;
    int status = 0;
  };
  using Entries = std::shared_ptr<const std::vector<Entry>>;
  using List = std::shared_ptr<const std::vector<ManifestFile>>;

  Result<List> ManifestList(const std::string& path);
  Result<Entries> Manifest(const TableMetadata& table, const ManifestFile& manifest);
  std::string CacheFile(const std::string& kind, const std::string& path) const;
  // After a cache file was written: trims the cache directory when it is time (above).
  void MaybePrune();

  std::unique_ptr<FileSource> source_;
  std::string cache_dir_;
  ReadLimits limits_;
  uint64_t cache_max_bytes_;
  long cache_writes_ = 0;
  mutable std::mutex mu_;  // guards the caches and stats
  std::map<std::string, List> lists_;
  std::map<std::string, Entries> manifests_;
  Stats stats_;
  std::set<std::string> warned_;  // "table: error" already logged
  friend std::optional<SmallFileInfo> SmallFilesOf(SmallFileCounter*, const TableMetadata&,
                                                   const TablePolicy&, const std::string&);
};

}  // namespace converge::iceberg

namespace converge::iceberg {

// The exact counts for a policy with a smallFileCount trigger when `counter` is set and can read
// the table; nullopt (the caller estimates) otherwise. A read error is logged once per table
// and error, without secrets (storage errors name only URIs and statuses).
std::optional<SmallFileInfo> SmallFilesOf(SmallFileCounter* counter, const TableMetadata& table,
                                          const TablePolicy& policy,
                                          const std::string& table_name);

}  // namespace converge::iceberg
