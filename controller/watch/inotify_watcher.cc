#include "controller/watch/inotify_watcher.h"

#include <errno.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace converge::watch {
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                           IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW |
                           IN_EXCL_UNLINK;

std::string Join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

bool Under(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

}  // namespace

bool HiddenName(const std::string& name) {
  return !name.empty() && name[0] == '.';
}

TreeWatcher::TreeWatcher() {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
}

TreeWatcher::~TreeWatcher() {
  if (fd_ >= 0) close(fd_);
}

Status TreeWatcher::AddOne(const std::string& dir, bool recursive) {
  if (fd_ < 0) return InternalError(std::string("inotify_init1: ") + std::strerror(errno));
  int wd = inotify_add_watch(fd_, dir.c_str(), kMask);
  if (wd < 0) {
    int e = errno;
    std::string hint =
        e == ENOSPC ? " (raise fs.inotify.max_user_watches, see docs/operations.md)" : "";
    return Status(e == ENOENT ? Code::kNotFound : Code::kUnavailable,
                  "inotify_add_watch " + dir + ": " + std::strerror(e) + hint);
  }
  // The same inode added again (a directory moved within the tree) keeps its descriptor: the
  // path is updated.
  paths_[wd] = dir;
  recursive_[wd] = recursive;
  return Status::Ok();
}

void TreeWatcher::AddRecursive(const std::string& dir, WatchEvents* out) {
  if (Status s = AddOne(dir, true); !s.ok()) {
    if (s.code() != Code::kNotFound && errors_.size() < 100) errors_.push_back(s.message());
    return;
  }
  std::error_code ec;
  for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (HiddenName(name) || it->is_symlink(ec) || !it->is_directory(ec)) {
      // Files already present in a directory that just appeared were created before its watch
      // existed: report them so they are read.
      if (out && !HiddenName(name)) out->paths.insert(it->path().string());
      continue;
    }
    if (out) out->paths.insert(it->path().string());
    AddRecursive(it->path().string(), out);
  }
}

Status TreeWatcher::AddTree(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return NotFoundError(root + " is not a directory");
  CONVERGE_RETURN_IF_ERROR(AddOne(root, true));
  roots_.insert(root);
  tree_roots_.insert(root);
  AddRecursive(root, nullptr);
  return Status::Ok();
}

void TreeWatcher::Rewatch() {
  for (const auto& root : tree_roots_) AddRecursive(root, nullptr);
}

std::vector<std::string> TreeWatcher::TakeErrors() {
  std::vector<std::string> out;
  out.swap(errors_);
  return out;
}

Status TreeWatcher::AddDir(const std::string& dir) {
  CONVERGE_RETURN_IF_ERROR(AddOne(dir, false));
  roots_.insert(dir);
  return Status::Ok();
}

void TreeWatcher::RemoveUnder(const std::string& dir) {
  for (auto it = paths_.begin(); it != paths_.end();) {
    if (Under(it->second, dir) && !roots_.count(it->second)) {
      inotify_rm_watch(fd_, it->first);
      recursive_.erase(it->first);
      it = paths_.erase(it);
    } else {
      ++it;
    }
  }
}

WatchEvents TreeWatcher::Read() {
  WatchEvents out;
  if (fd_ < 0) return out;
  alignas(struct inotify_event) char buf[64 * 1024];
  while (true) {
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: drained
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        out.overflow = true;
        continue;
      }
      auto dir_it = paths_.find(ev->wd);
      if (dir_it == paths_.end()) continue;  // a watch removed meanwhile
      const std::string dir = dir_it->second;
      if (ev->mask & IN_IGNORED) {
        recursive_.erase(ev->wd);
        paths_.erase(dir_it);
        continue;
      }
      if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        if (roots_.count(dir)) out.root_gone = true;
        continue;
      }
      std::string name = ev->len ? std::string(ev->name) : std::string();
      if (name.empty() || HiddenName(name)) continue;
      const std::string path = Join(dir, name);
      out.paths.insert(path);
      if (!(ev->mask & IN_ISDIR)) continue;
      out.dirs.insert(path);
      if (!recursive_[ev->wd]) continue;
      if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
        std::error_code ec;
        if (!fs::is_symlink(path, ec)) AddRecursive(path, &out);
      } else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
        RemoveUnder(path);
      }
    }
  }
  return out;
}

}  // namespace converge::watch
