#include "controller/watch/spec_cache.h"

#include "controller/watch/inotify_watcher.h"
#include "specs/base/files.h"

namespace converge::watch {
namespace fs = std::filesystem;

namespace {

bool IsSpecFile(const fs::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

using Signatures = std::map<std::string, std::string>;  // Kind/name -> backend + revision

void AddSignatures(const DocumentList& docs, Signatures& out) {
  for (const Document& d : docs) out[d.Key()] = d.backend + "\n" + d.revision;
}

// The keys whose desired state differs between `before` and `after`.
void AddAffected(const Signatures& before, const Signatures& after, std::set<std::string>& out) {
  for (const auto& [k, sig] : after) {
    auto it = before.find(k);
    if (it == before.end() || it->second != sig) out.insert(k);
  }
  for (const auto& [k, _] : before)
    if (!after.count(k)) out.insert(k);
}

}  // namespace

std::map<std::string, std::string> DesiredSignature(const LoadResult& r) {
  Signatures out;
  AddSignatures(r.documents, out);
  return out;
}

SpecCache::SpecCache(std::string root, KindRegistry registry, LoadLimits limits)
    : root_(std::move(root)), registry_(std::move(registry)), limits_(limits) {
  current_ = std::make_shared<LoadResult>();
}

std::string SpecCache::Display(const fs::path& p) const {
  return p.lexically_normal().string();
}

// Hidden components below the root (.git/, .#x.yaml) are never specs, as in the loader.
bool SpecCache::IgnoredPath(const fs::path& p) const {
  fs::path rel = p.lexically_normal().lexically_relative(fs::path(root_).lexically_normal());
  if (rel.empty() || rel.native().rfind("..", 0) == 0) return true;  // outside the root
  for (const auto& part : rel)
    if (HiddenName(part.string())) return true;
  return false;
}

bool SpecCache::LoadFile(const std::string& display, CacheUpdate& u) {
  FileText file = ReadFileText(display, limits_.max_file_bytes);
  std::string identity = file.state == FileText::State::kUnreadable ? "unreadable"
                         : file.state == FileText::State::kTooLarge
                             ? "too-large:" + std::to_string(file.size)
                             : ContentHash(file.text);
  auto it = files_.find(display);
  if (it != files_.end() && it->second.identity == identity) return false;
  Stash(display);
  Entry e;
  e.identity = identity;
  if (file.state == FileText::State::kUnreadable) {
    e.part.diagnostics.push_back(
        Diagnostic{Severity::kError, SourcePos{display, 0, 0}, "", "cannot read: " + file.error});
    e.part.failed_files.insert(display);
    ++e.part.files;
  } else if (file.state == FileText::State::kTooLarge) {
    e.part.diagnostics.push_back(Diagnostic{Severity::kError, SourcePos{display, 0, 0}, "",
                                            "file is " + std::to_string(file.size) +
                                                " bytes; the limit is " +
                                                std::to_string(limits_.max_file_bytes) + " bytes"});
    e.part.failed_files.insert(display);
    ++e.part.files;
  } else {
    LoadContent(display, file.text, registry_, limits_, e.part);
  }
  files_[display] = std::move(e);
  ++u.parsed;
  u.changed_files.push_back(display);
  return true;
}

bool SpecCache::LoadTree(const fs::path& dir, const std::string& under, CacheUpdate& u) {
  bool changed = false;
  std::set<std::string> seen;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& f = it->path();
    if (HiddenName(f.filename().string())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink(ec) && fs::is_directory(f, ec)) continue;
    if (IsSpecFile(f) && !it->is_directory(ec)) {
      seen.insert(Display(f));
      changed |= LoadFile(Display(f), u);
    }
  }
  for (auto f = files_.begin(); f != files_.end();) {
    if ((under.empty() || f->first.rfind(under, 0) == 0) && !seen.count(f->first)) {
      u.changed_files.push_back(f->first);
      f = Erase(f);
      changed = true;
    } else {
      ++f;
    }
  }
  return changed;
}

bool SpecCache::Remove(const std::string& display, CacheUpdate& u) {
  auto it = files_.find(display);
  if (it == files_.end()) return false;
  Erase(it);
  u.changed_files.push_back(display);
  return true;
}

void SpecCache::Stash(const std::string& display) {
  if (stashed_.count(display)) return;
  auto it = files_.find(display);
  stashed_.emplace(display, it == files_.end() ? std::nullopt : std::optional<Entry>(it->second));
}

std::map<std::string, SpecCache::Entry, SpecCache::PathLess>::iterator SpecCache::Erase(
    std::map<std::string, Entry, PathLess>::iterator it) {
  Stash(it->first);
  return files_.erase(it);
}

CacheUpdate SpecCache::UpdatePaths(const std::set<std::string>& paths) {
  CacheUpdate u;
  bool changed = false;
  for (const std::string& raw : paths) {
    fs::path p(raw);
    std::string display = Display(p);
    if (IgnoredPath(p)) continue;
    std::error_code ec;
    auto st = fs::symlink_status(p, ec);
    bool exists = !ec && fs::exists(st);
    bool is_dir = exists && fs::is_directory(st);
    if (!is_dir) {
      // Whatever was cached below a path that is not a directory (any more) is gone.
      std::string prefix = display + "/";
      for (auto it = files_.lower_bound(display); it != files_.end();) {
        if (it->first.rfind(prefix, 0) == 0) {
          u.changed_files.push_back(it->first);
          it = Erase(it);
          changed = true;
        } else if (it->first == display) {
          ++it;
        } else {
          break;
        }
      }
    }
    if (!exists) {
      changed |= Remove(display, u);
      continue;
    }
    if (is_dir) {
      // A directory appeared or was moved in: load what is below it; drop cached files that
      // are no longer there.
      changed |= LoadTree(p, display + "/", u);
      continue;
    }
    if (!IsSpecFile(p)) continue;
    changed |= LoadFile(display, u);
  }
  if (changed) Rebuild(u);
  return u;
}

CacheUpdate SpecCache::Rescan() {
  CacheUpdate u;
  std::error_code ec;
  bool missing = !fs::is_directory(root_, ec);
  bool changed = missing != root_missing_;
  root_missing_ = missing;
  if (missing) {
    // Never read a vanished root as "every resource removed": keep nothing, fail the load.
    for (auto f = files_.begin(); f != files_.end();) {
      u.changed_files.push_back(f->first);
      f = Erase(f);
    }
    Rebuild(u);
    return u;
  }
  changed |= LoadTree(root_, "", u);
  if (changed || current_->files == 0) Rebuild(u);
  return u;
}

CacheUpdate SpecCache::UpdateFromTree(const std::vector<std::pair<std::string, std::string>>& files,
                                      const BlobReader& read) {
  CacheUpdate u;
  bool changed = root_missing_;
  root_missing_ = false;
  std::map<std::string, std::string> wanted;  // display -> blob
  for (const auto& [rel, blob] : files) wanted[Display(fs::path(root_) / rel)] = blob;
  for (auto f = files_.begin(); f != files_.end();) {
    if (!wanted.count(f->first)) {
      u.changed_files.push_back(f->first);
      f = Erase(f);
      changed = true;
    } else {
      ++f;
    }
  }
  std::vector<std::string> need;
  for (const auto& [display, blob] : wanted) {
    auto it = files_.find(display);
    if (it == files_.end() || it->second.identity != blob) need.push_back(blob);
  }
  auto contents = read(need);
  for (const auto& [display, blob] : wanted) {
    auto it = files_.find(display);
    if (it != files_.end() && it->second.identity == blob) continue;
    Stash(display);
    Entry e;
    e.identity = blob;
    const std::string* content = nullptr;
    if (contents.ok()) {
      auto c = contents->find(blob);
      if (c != contents->end()) content = &c->second;
    }
    if (content) {
      LoadContent(display, *content, registry_, limits_, e.part);
    } else {
      e.identity = "unreadable";  // read again next time
      e.part.diagnostics.push_back(
          Diagnostic{Severity::kError, SourcePos{display, 0, 0}, "",
                     "cannot read blob " + blob + " from git" +
                         (contents.ok() ? std::string() : ": " + contents.status().message())});
      e.part.failed_files.insert(display);
      ++e.part.files;
    }
    files_[display] = std::move(e);
    ++u.parsed;
    u.changed_files.push_back(display);
    changed = true;
  }
  if (changed || current_->files == 0) Rebuild(u);
  return u;
}

void SpecCache::ResolveEntry(Entry& e, const std::vector<bool>* dup, size_t offset) {
  LoadResult one;
  one.documents = e.part.documents;
  std::vector<bool> bad(one.documents.size(), false);
  if (dup)
    for (size_t j = 0; j < bad.size(); ++j) bad[j] = (*dup)[offset + j];
  ResolveBackends(registry_, backends_, one, bad);
  e.part.documents = one.documents;  // as resolved: shared with the next results while unchanged
  DropDocuments(one, bad);
  e.kept = std::move(one.documents);
  e.set_diagnostics = std::move(one.diagnostics);
}

// The same LoadResult as LoadContent of every file + CheckDocumentSet: load diagnostics in file
// order, then the duplicates, then the backend checks in document order.
std::shared_ptr<LoadResult> SpecCache::Assemble() const {
  auto next = std::make_shared<LoadResult>();
  if (root_missing_) {
    next->diagnostics.push_back(Diagnostic{Severity::kError, SourcePos{root_, 0, 0}, "",
                                           "no such directory (deleted or moved away?)"});
    next->failed_files.insert(root_);
  }
  next->documents.reserve(key_count_.size());
  for (const auto& [display, e] : files_) {
    next->files += e.part.files;
    next->documents.append(e.kept);
    next->diagnostics.insert(next->diagnostics.end(), e.part.diagnostics.begin(),
                             e.part.diagnostics.end());
    next->failed_files.insert(e.part.failed_files.begin(), e.part.failed_files.end());
    for (const Diagnostic& d : e.set_diagnostics) next->failed_files.insert(d.pos.file);
  }
  next->diagnostics.insert(next->diagnostics.end(), duplicate_diagnostics_.begin(),
                           duplicate_diagnostics_.end());
  next->failed_files.insert(duplicate_files_.begin(), duplicate_files_.end());
  for (const auto& [_, e] : files_)
    next->diagnostics.insert(next->diagnostics.end(), e.set_diagnostics.begin(),
                             e.set_diagnostics.end());
  return next;
}

// Only the stashed files changed: none of them has (or had) a Backend, and each of their kind +
// names is (and was) defined once. Keeps key_count_ up to date either way.
bool SpecCache::CanRebuildChangedOnly() {
  bool ok = built_ && !root_missing_ && !built_root_missing_;
  for (const auto& [display, old] : stashed_) {
    if (!old) continue;
    for (const Document& d : old->part.documents) {
      if (d.kind == "Backend" || key_count_[d.Key()] != 1) ok = false;
      if (--key_count_[d.Key()] == 0) key_count_.erase(d.Key());
    }
  }
  for (const auto& [display, _] : stashed_) {
    auto it = files_.find(display);
    if (it == files_.end()) continue;
    for (const Document& d : it->second.part.documents) ++key_count_[d.Key()];
  }
  for (const auto& [display, _] : stashed_) {
    auto it = files_.find(display);
    if (it == files_.end()) continue;
    for (const Document& d : it->second.part.documents)
      if (d.kind == "Backend" || key_count_[d.Key()] != 1) ok = false;
  }
  return ok;
}

void SpecCache::RebuildAll(CacheUpdate& u) {
  LoadResult all;
  key_count_.clear();
  for (const auto& [_, e] : files_) {
    all.documents.append(e.part.documents);
    for (const Document& d : e.part.documents) ++key_count_[d.Key()];
  }
  std::vector<bool> dup(all.documents.size(), false);
  CheckDuplicates(all, dup);
  duplicate_diagnostics_ = std::move(all.diagnostics);
  duplicate_files_ = std::move(all.failed_files);
  backends_ = IndexBackends(all.documents);
  size_t offset = 0;
  for (auto& [_, e] : files_) {
    ResolveEntry(e, &dup, offset);
    offset += e.part.documents.size();
  }
  auto next = Assemble();
  AddAffected(DesiredSignature(*current_), DesiredSignature(*next), u.affected);
  current_ = std::move(next);
}

void SpecCache::Rebuild(CacheUpdate& u) {
  if (CanRebuildChangedOnly()) {
    Signatures before, after;  // the changed files' keys only
    for (auto& [display, old] : stashed_) {
      if (old) AddSignatures(old->kept, before);
      auto it = files_.find(display);
      if (it == files_.end()) continue;
      ResolveEntry(it->second, nullptr, 0);
      AddSignatures(it->second.kept, after);
    }
    AddAffected(before, after, u.affected);
    current_ = Assemble();
  } else {
    RebuildAll(u);
  }
  stashed_.clear();
  built_ = true;
  built_root_missing_ = root_missing_;
  for (const auto& k : u.affected)
    if (k.rfind("Backend/", 0) == 0) u.backends_changed = true;
}

}  // namespace converge::watch
