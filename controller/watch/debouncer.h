// Debouncing of file events. Editors and `git checkout` produce bursts (write a temp file,
// rename it over the original, touch a backup); converge acts once per burst: when no new event
// arrived for `quiet` (default 100 ms), or at the latest `max_wait` after the first event of the
// burst so that a file rewritten continuously still gets applied. Pure: time is passed in.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <string>

namespace converge::watch {

class Debouncer {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  Debouncer(std::chrono::milliseconds quiet, std::chrono::milliseconds max_wait)
      : quiet_(quiet), max_wait_(std::max(quiet, max_wait)) {}

  void Add(const std::string& item, TimePoint now) {
    if (items_.empty()) first_ = now;
    items_.insert(item);
    last_ = now;
  }
  bool Pending() const { return !items_.empty(); }
  // When the pending burst is due (nullopt when nothing is pending).
  std::optional<TimePoint> Deadline() const {
    if (items_.empty()) return std::nullopt;
    return std::min(last_ + quiet_, first_ + max_wait_);
  }
  bool Due(TimePoint now) const {
    auto d = Deadline();
    return d && now >= *d;
  }
  // Holds a due burst back until `until` (the max-wait cap included): used while git holds its
  // index lock, i.e. a checkout or merge is rewriting the tree.
  void HoldUntil(TimePoint until) {
    if (items_.empty()) return;
    first_ = std::max(first_, until - max_wait_);
    last_ = std::max(last_, until - quiet_);
  }
  // The burst's items (deduplicated); the debouncer is empty afterwards.
  std::set<std::string> Take() {
    std::set<std::string> out;
    out.swap(items_);
    return out;
  }

 private:
  std::chrono::milliseconds quiet_, max_wait_;
  std::set<std::string> items_;
  TimePoint first_{}, last_{};
};

}  // namespace converge::watch
