// Watches directory trees with Linux inotify and reports which paths changed.
//
// Every directory below a root is watched (hidden directories such as `.git/` are not entered;
// symlinked directories are not followed, as in the spec loader). Directories created or moved
// into the tree are added to the watch, directories deleted or moved out are dropped. The
// events that matter are reported as paths, not interpreted: a file written in place
// (IN_CLOSE_WRITE), renamed over (IN_MOVED_TO: editors and `git checkout` write a temp file and
// rename it), created, deleted or moved out. The caller re-reads the reported paths, so the
// exact sequence of events never matters, only that every changed path is reported. When the
// kernel queue overflows, Poll() says so and the caller rescans everything.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "specs/base/status.h"

namespace converge::watch {

struct WatchEvents {
  std::set<std::string> paths;  // files or directories that changed (absolute or as added)
  std::set<std::string> dirs;   // of those, directories that appeared or disappeared
  bool overflow = false;        // events were lost: rescan everything
  bool root_gone = false;       // a watched root was deleted or moved away
};

class TreeWatcher {
 public:
  TreeWatcher();
  ~TreeWatcher();
  TreeWatcher(const TreeWatcher&) = delete;
  TreeWatcher& operator=(const TreeWatcher&) = delete;

  // Watches `root` and every directory below it.
  Status AddTree(const std::string& root);
  // Watches one directory only (used for a git directory's top level).
  Status AddDir(const std::string& dir);

  // The inotify file descriptor, for poll(); readable when events are waiting.
  int fd() const { return fd_; }
  // Reads every waiting event without blocking and returns what changed.
  WatchEvents Read();

  size_t WatchCount() const { return paths_.size(); }

  // Walks every tree root again and adds the directories that have no watch yet: after an
  // overflow (directories created while events were lost) and on SIGHUP. Existing watches
  // are kept.
  void Rewatch();
  // Directories that could not be watched since the last call ("inotify_add_watch DIR: No
  // space left on device (raise fs.inotify.max_user_watches)"), for the log.
  std::vector<std::string> TakeErrors();

 private:
  Status AddOne(const std::string& dir, bool recursive);
  void AddRecursive(const std::string& dir, WatchEvents* out);
  std::vector<std::string> errors_;
  std::set<std::string> tree_roots_;
  void RemoveUnder(const std::string& dir);

  int fd_ = -1;
  std::map<int, std::string> paths_;  // watch descriptor -> directory
  std::map<int, bool> recursive_;     // watch descriptor -> subdirectories are watched too
  std::set<std::string> roots_;
};

// True for names the watcher and the loader never look at: hidden files and directories
// (.git, .swp files, emacs lock files .#x) — the loader skips them too.
bool HiddenName(const std::string& name);

}  // namespace converge::watch
