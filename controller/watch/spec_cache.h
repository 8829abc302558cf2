// The incremental spec loader of `converge watch`: one parsed result per spec file, so a change
// re-parses only the files that changed, then the cross-document checks (duplicates, backend
// resolution) run over the whole set. Its output is the same LoadResult LoadSpecs would produce
// for the same files (documents in path order), so the planner's safety rules apply unchanged:
// a file that fails to load is in `failed_files` and blocks prunes.
//
// Files come from the work tree (UpdatePaths/Rescan) or from a git commit (UpdateFromTree with
// blob ids, for --committed-only). Each update returns the resource keys whose desired state
// changed: added, removed or with a new revision or backend.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "specs/base/status.h"
#include "specs/loader.h"

namespace converge::watch {

struct CacheUpdate {
  std::set<std::string> affected;          // resource keys (Kind/name) whose desired state changed
  bool backends_changed = false;           // a Backend document was added, removed or changed
  size_t parsed = 0;                       // files parsed by this update
  std::vector<std::string> changed_files;  // display paths re-parsed or removed
};

class SpecCache {
 public:
  SpecCache(std::string root, KindRegistry registry, LoadLimits limits = {});

  // Work tree: re-reads the given paths (files or directories; missing paths are removals).
  CacheUpdate UpdatePaths(const std::set<std::string>& paths);
  // Work tree: walks the whole root (start, SIGHUP, inotify overflow).
  CacheUpdate Rescan();
  // A git tree: `files` are paths relative to the root with blob ids; `read` returns the
  // contents of the blobs asked for (an error marks those files failed).
  using BlobReader = std::function<converge::Result<std::map<std::string, std::string>>(
      const std::vector<std::string>&)>;
  CacheUpdate UpdateFromTree(const std::vector<std::pair<std::string, std::string>>& files,
                             const BlobReader& read);

  // The current whole-set result; immutable, so readers on other threads keep a consistent
  // view while the next update builds a new one.
  std::shared_ptr<const LoadResult> Current() const { return current_; }
  size_t FileCount() const { return files_.size(); }

 private:
  struct Entry {
    std::string identity;  // content hash (work tree) or blob id (git)
    LoadResult part;       // that file's documents (backends as last resolved) and diagnostics
    DocumentList kept;     // part.documents that passed the set checks
    std::vector<Diagnostic> set_diagnostics;  // the backend check's findings in this file
  };
  struct PathLess {
    bool operator()(const std::string& a, const std::string& b) const {
      return std::filesystem::path(a) < std::filesystem::path(b);
    }
  };

  std::string Display(const std::filesystem::path& p) const;
  bool IgnoredPath(const std::filesystem::path& p) const;
  // Re-reads one file from disk; returns true when its entry changed.
  bool LoadFile(const std::string& display, CacheUpdate& u);
  // Loads every spec file below `dir` and drops the cached files below it that are gone;
  // `under` is the display prefix `dir` covers ("" for the root: every cached file).
  bool LoadTree(const std::filesystem::path& dir, const std::string& under, CacheUpdate& u);
  bool Remove(const std::string& display, CacheUpdate& u);
  // Keeps the entry of `display` as it was before this update (once per update), for Rebuild.
  void Stash(const std::string& display);
  std::map<std::string, Entry, PathLess>::iterator Erase(
      std::map<std::string, Entry, PathLess>::iterator it);
  // Rebuilds current_ and fills u.affected by comparing desired states: only the files stashed
  // by this update when none of them holds a Backend or a duplicated kind + name (the other
  // files' set checks cannot have changed), else over the whole set.
  void Rebuild(CacheUpdate& u);
  bool CanRebuildChangedOnly();
  void RebuildAll(CacheUpdate& u);
  // The backend check of one file's documents against backends_; `dup` marks duplicates.
  void ResolveEntry(Entry& e, const std::vector<bool>* dup, size_t offset);
  std::shared_ptr<LoadResult> Assemble() const;

  std::string root_;
  KindRegistry registry_;
  LoadLimits limits_;
  bool root_missing_ = false;
  std::map<std::string, Entry, PathLess> files_;
  std::shared_ptr<const LoadResult> current_;
  // What the last whole-set rebuild found, reused while only other files change.
  bool built_ = false;
  bool built_root_missing_ = false;
  BackendIndex backends_;
  std::vector<Diagnostic> duplicate_diagnostics_;
  std::set<std::string> duplicate_files_;
  std::map<std::string, int> key_count_;  // Kind/name -> documents with it, over every file
  std::map<std::string, std::optional<Entry>, PathLess> stashed_;  // this update's old entries
};

// Kind/name -> backend + revision of every valid document: what "desired state changed" means.
std::map<std::string, std::string> DesiredSignature(const LoadResult& r);

}  // namespace converge::watch
