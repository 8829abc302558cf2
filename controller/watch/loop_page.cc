// The status page's data: the resource board (copied under mu_) and the state store (read
// outside mu_: the store has its own lock), rendered by status_page.h.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "controller/watch/loop.h"

namespace converge::watch {
namespace {

constexpr int kRunsShown = 30;
constexpr int kJournalShown = 50;

}  // namespace

PageResource Loop::PageResourceOf(const std::string& key, const ResourceState& r) const {
  PageResource p;
  p.key = key;
  p.backend = r.backend;
  p.state = r.state;
  p.reason = r.reason;
  p.health = r.health;
  p.revision = r.revision;
  p.source = r.source;
  p.last_change = r.last_change;
  p.last_sync = r.last_sync;
  p.last_error = r.last_error;
  p.last_commit = r.last_commit;
  p.last_run = r.last_run;
  p.retries = r.retries;
  p.labels = r.labels;
  return p;
}

std::string Loop::OverviewHtml(const std::string& filter) {
  auto specs = Specs();
  OverviewData d;
  d.failed_files.assign(specs->failed_files.begin(), specs->failed_files.end());
  for (const auto& diag : specs->diagnostics)
    if (diag.severity == Severity::kError) d.spec_errors.push_back(diag.ToString());
  {
    std::lock_guard<std::mutex> lock(mu_);
    d.dir = o_.dir;
    d.commit = o_.committed_only ? head_ : "";
    d.ready = first_resync_ok_ && observe_ok_ && initial_pending_.empty();
    d.last_successful_sync = last_success_;
    d.backends_error = connect_error_;
    d.resources.reserve(board_.size());
    for (const auto& [key, r] : board_) d.resources.push_back(PageResourceOf(key, r));
  }
  return RenderOverview(d, filter);
}

std::optional<std::string> Loop::ResourceHtml(const std::string& backend, const std::string& key) {
  ResourcePageData d;
  d.state_dir = o_.state_dir;
  bool on_board = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = board_.find(key);
    if (it != board_.end() && it->second.backend == backend) {
      on_board = true;
      d.r = PageResourceOf(key, it->second);
      d.planned_action = it->second.planned_action;
      d.planned_at = it->second.planned_at;
      d.planned_fields = it->second.planned_fields;
    }
  }
  if (auto journal = store_->History(key, kJournalShown); journal.ok()) d.journal = *journal;
  if (!on_board) {
    // Gone from the board (deleted, or never seen since start): shown from its journal when
    // it has one in this backend.
    if (d.journal.empty() || d.journal.front().backend != backend) return std::nullopt;
    d.r.key = key;
    d.r.backend = backend;
    d.r.state = "unknown";
    d.r.reason = "not among the resources converge watch knows now (deleted, or no spec)";
  }
  // Changed before this watch started: the journal knows when and by which run.
  if (d.r.last_change.empty() && !d.journal.empty()) {
    d.r.last_change = d.journal.front().updated_at;
    d.r.last_run = d.journal.front().run_id;
    if (auto run = store_->GetRun(d.r.last_run); run.ok() && run->has_value())
      d.r.last_commit = (*run)->git_commit;
  }
  if (auto snaps = store_->Snapshots(key); snaps.ok()) d.snapshots = *snaps;
  if (auto hold = store_->GetHold(key); hold.ok()) d.hold = *hold;
  return RenderResourcePage(d);
}

std::string Loop::RunsHtml() {
  RunsPageData d;
  if (auto runs = store_->Runs(kRunsShown); runs.ok()) d.runs = *runs;
  for (const auto& run : d.runs) {
    if (auto entries = store_->Journal(run.id); entries.ok()) d.changes[run.id] = *entries;
  }
  return RenderRunsPage(d);
}

}  // namespace converge::watch
