#include "controller/watch/spec_cache.h"

#include <fstream>

#include "controller/watch/inotify_watcher.h"

namespace converge::watch {
namespace fs = std::filesystem;

namespace {

bool IsSpecFile(const fs::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

}  // namespace

std::map<std::string, std::string> DesiredSignature(const LoadResult& r) {
  std::map<std::string, std::string> out;
  for (const Document& d : r.documents) out[d.Key()] = d.backend + "\n" + d.revision;
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
  std::error_code ec;
  auto size = fs::file_size(display, ec);
  std::string content;
  bool readable = !ec;
  if (readable && size <= limits_.max_file_bytes) {
    std::ifstream in(display, std::ios::binary);
    readable = static_cast<bool>(in);
    if (readable)
      content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::string identity = !readable                       ? "unreadable"
                         : size > limits_.max_file_bytes ? "too-large:" + std::to_string(size)
                                                         : ContentHash(content);
  auto it = files_.find(display);
  if (it != files_.end() && it->second.identity == identity) return false;
  Entry e;
  e.identity = identity;
  if (!readable) {
    e.part.diagnostics.push_back(
        Diagnostic{Severity::kError, SourcePos{display, 0, 0}, "", "cannot read: " + ec.message()});
    e.part.failed_files.insert(display);
    ++e.part.files;
  } else if (size > limits_.max_file_bytes) {
    e.part.diagnostics.push_back(Diagnostic{Severity::kError, SourcePos{display, 0, 0}, "",
                                            "file is " + std::to_string(size) +
                                                " bytes; the limit is " +
                                                std::to_string(limits_.max_file_bytes) + " bytes"});
    e.part.failed_files.insert(display);
    ++e.part.files;
  } else {
    LoadContent(display, content, registry_, limits_, e.part);
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
      f = files_.erase(f);
      changed = true;
    } else {
      ++f;
    }
  }
  return changed;
}

bool SpecCache::Remove(const std::string& display, CacheUpdate& u) {
  if (!files_.erase(display)) return false;
  u.changed_files.push_back(display);
  return true;
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
          it = files_.erase(it);
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
    for (const auto& [f, _] : files_) u.changed_files.push_back(f);
    files_.clear();
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
      f = files_.erase(f);
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

void SpecCache::Rebuild(CacheUpdate& u) {
  auto next = std::make_shared<LoadResult>();
  if (root_missing_) {
    next->diagnostics.push_back(Diagnostic{Severity::kError, SourcePos{root_, 0, 0}, "",
                                           "no such directory (deleted or moved away?)"});
    next->failed_files.insert(root_);
  }
  for (const auto& [_, e] : files_) {
    next->files += e.part.files;
    next->documents.insert(next->documents.end(), e.part.documents.begin(), e.part.documents.end());
    next->diagnostics.insert(next->diagnostics.end(), e.part.diagnostics.begin(),
                             e.part.diagnostics.end());
    next->failed_files.insert(e.part.failed_files.begin(), e.part.failed_files.end());
  }
  CheckDocumentSet(registry_, *next);
  auto before = DesiredSignature(*current_);
  auto after = DesiredSignature(*next);
  for (const auto& [k, sig] : after) {
    auto it = before.find(k);
    if (it == before.end() || it->second != sig) u.affected.insert(k);
  }
  for (const auto& [k, _] : before)
    if (!after.count(k)) u.affected.insert(k);
  for (const auto& k : u.affected)
    if (k.rfind("Backend/", 0) == 0) u.backends_changed = true;
  current_ = std::move(next);
}

}  // namespace converge::watch
