// Reading the specs (the work tree, or the commit with --committed-only) and queueing what changed.
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "controller/watch/loop.h"

namespace converge::watch {

Status Loop::RefreshCommitted(const char* why) {
  auto head = GitHead(*repo_);
  if (!head.ok()) return head.status();
  if (*head == head_ && cache_.Current()->files > 0) return Status::Ok();
  auto tree = GitListTree(*repo_, *head);
  if (!tree.ok()) return tree.status();
  std::vector<std::pair<std::string, std::string>> files;
  for (auto& f : *tree) files.emplace_back(f.path, f.blob);
  GitRepo repo = *repo_;
  CacheUpdate u = cache_.UpdateFromTree(
      files, [&repo](const std::vector<std::string>& blobs) { return GitReadBlobs(repo, blobs); });
  bool moved = *head != head_;
  {
    std::lock_guard<std::mutex> lock(mu_);  // workers read it (CommitForRun), /status too
    head_ = *head;
  }
  if (moved)
    log_.Info(std::string(why) == "start" ? "applying the commit" : "HEAD moved",
              {{"commit", head_.empty() ? "(none)" : head_}});
  AfterUpdate(u, why);
  return Status::Ok();
}

Status Loop::LoadInitial() {
  if (o_.committed_only) return RefreshCommitted("start");
  AfterUpdate(cache_.Rescan(), "start");
  return Status::Ok();
}

void Loop::HandleChanges(const std::set<std::string>& items) {
  metrics_.Inc("converge_file_events_total", {}, static_cast<double>(items.size()));
  if (o_.committed_only) {
    Status s = RefreshCommitted();
    if (!s.ok()) log_.Error("cannot read the commit", {{"error", s.message()}});
    return;
  }
  if (items.count(kRescanAll)) {
    AfterUpdate(cache_.Rescan(), "rescan");
  } else {
    AfterUpdate(cache_.UpdatePaths(items), "change");
  }
}

// Publishes the new spec set and queues what it changed.
void Loop::AfterUpdate(const CacheUpdate& u, const char* why) {
  auto specs = cache_.Current();
  bool failed_files_changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    failed_files_changed = specs_ && specs_->failed_files != specs->failed_files;
    specs_ = specs;
    for (const auto& k : u.affected) terminal_.erase(k);  // a new spec: try again
  }
  metrics_.Set("converge_spec_files", static_cast<double>(specs->files));
  metrics_.Set("converge_spec_files_failed", static_cast<double>(specs->failed_files.size()));
  if (u.parsed) metrics_.Inc("converge_spec_reloads_total", {}, 1);
  // Report the errors of the files just read (the others were reported when they were read).
  std::set<std::string> changed(u.changed_files.begin(), u.changed_files.end());
  for (const auto& d : specs->diagnostics) {
    if (!changed.count(d.pos.file) && std::string(why) != "start") continue;
    Logger::Fields f{{"file", d.pos.ToString()}};
    if (!d.document.empty()) f["document"] = d.document;
    if (d.severity == Severity::kError) {
      log_.Error("spec error: " + d.message, f);
    } else {
      log_.Warn("spec warning: " + d.message, f);
    }
  }
  if (!u.changed_files.empty() || !u.affected.empty()) {
    log_.Info("specs reloaded", {{"trigger", why},
                                 {"files_parsed", std::to_string(u.parsed)},
                                 {"resources_affected", std::to_string(u.affected.size())},
                                 {"failed_files", std::to_string(specs->failed_files.size())}});
  }
  if (std::string(why) == "start") return;  // the first resync queues everything
  // Prunes held back while a file failed to load are decided again when that set changes,
  // and a Backend change may move every resource: both need a full pass.
  if (u.backends_changed || failed_files_changed) {
    if (u.backends_changed) {
      log_.Info("a Backend document changed: reconnecting and resyncing");
      Connect();
    }
    std::lock_guard<std::mutex> lock(resync_mu_);
    resync_requested_ = true;
    resync_cv_.notify_all();
  }
  // A spec whose desired state embeds another's (a SageMaker config names its models by
  // content hash) is planned again with it, in the same batch.
  std::vector<std::string> queued;
  for (const auto& k : WithDependents(u.affected, *specs)) {
    if (k.rfind("Backend/", 0) == 0) continue;
    queue_.Forget(k);
    queued.push_back(k);
  }
  queue_.AddAll(queued);
}

std::string Loop::CommitForRun() {
  if (o_.committed_only) {
    std::lock_guard<std::mutex> lock(mu_);
    return head_;
  }
  return repo_ ? GitCommitOf(o_.dir) : "";
}

}  // namespace converge::watch
