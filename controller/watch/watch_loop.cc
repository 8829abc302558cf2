#include "controller/watch/watch_loop.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "controller/backends.h"
#include "controller/executor.h"
#include "controller/planner.h"
#include "controller/store/store.h"
#include "controller/watch/debouncer.h"
#include "controller/watch/git_source.h"
#include "controller/watch/inotify_watcher.h"
#include "controller/watch/counting_reconciler.h"
#include "controller/watch/log.h"
#include "controller/watch/metrics.h"
#include "controller/watch/spec_cache.h"
#include "controller/watch/status_server.h"
#include "controller/watch/workqueue.h"

namespace converge::watch {
namespace {

namespace fs = std::filesystem;
using std::chrono::steady_clock;

// The debouncer item that means "rescan everything" (overflow, root moved, SIGHUP).
constexpr const char* kRescanAll = "\n*";
// The debouncer item that means "the git refs moved" (--committed-only).
constexpr const char* kGitRefs = "\ngit";
// Keys handed to one worker at most at once.
constexpr size_t kMaxBatch = 1000;

std::string Now() {
  return FormatIsoTime(SystemClock().WallNow());
}

double UnixNow() {
  return std::chrono::duration<double>(SystemClock().WallNow().time_since_epoch()).count();
}

// A change's failure is terminal when retrying cannot fix it: the executor reports the
// Status as "<code name>: message" (Status::ToString).
// Whether a plan error is about resource `key` ("FILE:L:C: KEY already exists ...", or
// "FILE:L:C: KEY: a reference to nothing").
bool ErrorNames(const std::string& error, const std::string& key) {
  return error.find(": " + key + " already exists") != std::string::npos ||
         error.find(": " + key + ": ") != std::string::npos;
}

bool TerminalMessage(const std::string& m) {
  for (Code c : {Code::kInvalid, Code::kPermission, Code::kStale}) {
    std::string prefix = std::string(CodeName(c)) + ": ";
    if (m.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// What the status endpoint and the metrics report per resource.
struct ResourceState {
  std::string backend;
  std::string state;   // synced | drifted | held | failed | progressing | not-pruned
  std::string reason;  // why (held reason, drift fields, error)
  std::string revision;
  std::string source;
  std::string last_change;  // last time converge changed it
  std::string last_sync;    // last time it was reconciled
  std::string last_error;
  int retries = 0;
};

class Loop {
 public:
  explicit Loop(const WatchOptions& o)
      : o_(o),
        log_(o.json_logs ? Logger::Format::kJson : Logger::Format::kText),
        cache_(o.dir, DefaultKindRegistry()),
        debouncer_(o.debounce, std::max(o.debounce * 10, std::chrono::milliseconds(1000))) {
    DeclareMetrics();
  }

  int Run();

 private:
  void DeclareMetrics();
  Status LoadInitial();
  void HandleChanges(const std::set<std::string>& items);
  void AfterUpdate(const CacheUpdate& u, const char* why);
  Status RefreshCommitted(const char* why = "commit");
  void Connect();
  std::shared_ptr<BackendSet> Backends() {
    std::lock_guard<std::mutex> lock(mu_);
    return backends_;
  }
  std::shared_ptr<const LoadResult> Specs() {
    std::lock_guard<std::mutex> lock(mu_);
    return specs_;
  }
  std::string CommitForRun();
  // Binds the newest published specs to the reconcilers of `set` when not bound yet, and returns
  // them with `planning` holding the binding (shared): no other thread rebinds until it is
  // released, so a batch observes and plans with exactly the specs its reconcilers see.
  std::shared_ptr<const LoadResult> BindForPlanning(const std::shared_ptr<BackendSet>& set,
                                                   std::shared_lock<std::shared_mutex>& planning);
  // `keys` plus every spec that references one of them, transitively (Reconciler::References).
  std::set<std::string> WithDependents(const std::set<std::string>& keys, const LoadResult& specs);

  void Worker();
  void ProcessBatch(const std::vector<std::string>& keys);
  // The live objects a batch needs: one Get per key for a small batch whose keys' backends are
  // known (a file edit: milliseconds, whatever the size of the backend), else a full observe.
  Result<std::map<std::string, std::vector<LiveObject>>> ObserveBatch(
      BackendSet& backends, const std::vector<std::string>& keys,
      const std::function<const Document*(const std::string&)>& doc_of);
  void ResyncThread();
  bool Resync(const char* why);
  bool SelfHeal(const Document* doc) const;

  void SetState(const std::string& key, const std::string& state, const std::string& reason,
                const Document* doc = nullptr);
  std::string StatusJson();
  std::string MetricsText();
  bool Ready();
  void MarkInterrupted();

  WatchOptions o_;
  Logger log_;
  Metrics metrics_;
  SpecCache cache_;
  Debouncer debouncer_;
  WorkQueue queue_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::StateLock> lock_;
  std::optional<GitRepo> repo_;
  std::string head_;  // --committed-only: the commit being applied
  std::optional<steady_clock::time_point> git_busy_since_;  // main thread only

  std::mutex mu_;  // guards the members below
  std::shared_ptr<const LoadResult> specs_;
  std::shared_ptr<BackendSet> backends_;
  // SIGTERM/SIGINT: no new change starts (no_new_changes_); past --shutdown-timeout health waits
  // stop too (cancel_). ExecOptions::stop_starting / cancel.
  std::atomic<bool> no_new_changes_{false};
  std::atomic<bool> cancel_{false};
  std::shared_mutex bind_rw_;  // guards the two below; held shared while a batch plans
  std::shared_ptr<BackendSet> bound_set_;
  std::shared_ptr<const LoadResult> bound_specs_;
  std::string connect_error_;
  std::map<std::string, std::shared_ptr<TokenBucket>> buckets_;
  std::map<std::string, ResourceState> board_;
  std::map<std::string, std::string> terminal_;  // key -> revision that failed terminally
  std::set<std::string> initial_pending_;        // keys the first resync queued
  std::set<int64_t> runs_in_flight_;
  bool first_resync_ok_ = false;
  bool first_resync_done_ = false;  // attempted, whatever the outcome (--once)
  bool observe_ok_ = false;
  bool any_failure_ = false;
  std::string last_success_;

  // Resync scheduling.
  std::mutex resync_mu_;
  std::condition_variable resync_cv_;
  bool resync_requested_ = true;  // the first resync runs at start
  bool stopping_ = false;

  // Shutdown accounting: threads that have returned.
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  int threads_done_ = 0;
};

void Loop::DeclareMetrics() {
  metrics_.DeclareCounter("converge_reconciles_total",
                          "Resources reconciled, by result (success, drift, skipped, error, "
                          "terminal)");
  metrics_.DeclareHistogram("converge_reconcile_duration_seconds",
                            "Duration of one reconcile pass (observe, plan, apply a batch)",
                            {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900});
  metrics_.DeclareGauge("converge_workqueue_depth",
                        "Resource keys in the work queue, by state (ready, delayed, in_flight)");
  metrics_.DeclareCounter("converge_workqueue_retries_total",
                          "Keys re-queued with backoff after a retryable failure");
  metrics_.DeclareGauge("converge_drifted_resources",
                        "Resources whose live state differs from an unchanged spec");
  metrics_.DeclareGauge("converge_resources", "Resources by state");
  metrics_.DeclareCounter("converge_backend_requests_total",
                          "HTTP requests to backends (retries included) by backend and status "
                          "code (\"error\": no answer)");
  metrics_.DeclareCounter("converge_backend_operations_total",
                          "Reconciler calls by backend, operation and result (ok or error code)");
  metrics_.DeclareGauge("converge_last_successful_sync_timestamp_seconds",
                        "Unix time of the last pass or resync that ended without error");
  metrics_.DeclareGauge("converge_spec_files", "Spec files loaded");
  metrics_.DeclareGauge("converge_spec_files_failed",
                        "Spec files that failed to load (they block every prune)");
  metrics_.DeclareCounter("converge_spec_reloads_total",
                          "Spec reloads after file events, by files parsed");
  metrics_.DeclareCounter("converge_file_events_total", "inotify events handled (debounced)");
  metrics_.DeclareCounter("converge_runs_total", "Runs recorded in the state, by status");
}

// ----- specs -----------------------------------------------------------------------------------

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

// ----- backends --------------------------------------------------------------------------------

std::shared_ptr<const LoadResult> Loop::BindForPlanning(const std::shared_ptr<BackendSet>& set,
                                                        std::shared_lock<std::shared_mutex>& planning) {
  while (true) {
    {
      std::shared_lock<std::shared_mutex> shared(bind_rw_);
      auto latest = Specs();
      if (bound_set_ == set && bound_specs_ == latest) {
        planning = std::move(shared);
        return latest;
      }
    }
    // Rebinding waits for the batches planning against the old binding (observe + plan; not
    // their applies) and always binds the newest published specs.
    std::unique_lock<std::shared_mutex> exclusive(bind_rw_);
    auto latest = Specs();
    if (bound_set_ != set || bound_specs_ != latest) {
      BindSpecs(*set, *latest);
      bound_set_ = set;
      bound_specs_ = latest;
    }
  }
}

std::set<std::string> Loop::WithDependents(const std::set<std::string>& keys,
                                           const LoadResult& specs) {
  auto backends = Backends();
  if (!backends || keys.empty()) return keys;
  std::map<std::string, std::vector<std::string>> referenced_by;
  for (const Document& d : specs.documents) {
    auto rec = backends->reconcilers.find(d.backend);
    if (d.kind == "Backend" || rec == backends->reconcilers.end()) continue;
    for (const ResourceKey& r : rec->second->References(d))
      referenced_by[r.ToString()].push_back(d.Key());
  }
  std::set<std::string> out = keys;
  std::vector<std::string> todo(keys.begin(), keys.end());
  while (!todo.empty()) {
    std::string k = std::move(todo.back());
    todo.pop_back();
    auto it = referenced_by.find(k);
    if (it == referenced_by.end()) continue;
    for (const auto& dep : it->second)
      if (out.insert(dep).second) todo.push_back(dep);
  }
  return out;
}

void Loop::Connect() {
  auto specs = Specs();
  auto configs = BackendsOf(*specs);
  // Every HTTP attempt to a backend (retries included) takes a token from that backend's bucket
  // and is counted by status code.
  std::map<std::string, std::shared_ptr<TokenBucket>> buckets;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, _] : configs) {
      auto& bucket = buckets_[name];
      if (!bucket) bucket = std::make_shared<TokenBucket>(o_.backend_qps, o_.backend_burst);
      buckets[name] = bucket;
    }
  }
  ConnectOptions options;
  options.attempt_hooks = [this, &buckets](const std::string& backend) {
    http::AttemptHooks hooks;
    hooks.before = [bucket = buckets.at(backend)](const http::Request&) { bucket->Acquire(); };
    hooks.after = [this, backend](const http::Request&, int status) {
      metrics_.Inc("converge_backend_requests_total",
                   {{"backend", backend}, {"code", status ? std::to_string(status) : "error"}});
    };
    return hooks;
  };
  auto set = ConnectBackends(configs, o_.instance, SystemClock(), options);
  std::lock_guard<std::mutex> lock(mu_);
  if (!set.ok()) {
    connect_error_ = set.status().message();
    backends_ = nullptr;
    log_.Error("cannot connect the backends", {{"error", connect_error_}});
    return;
  }
  auto wrapped = std::make_shared<BackendSet>();
  for (auto& [name, rec] : set->owned) {
    auto counted = std::make_unique<CountingReconciler>(std::move(rec), name, &metrics_);
    wrapped->reconcilers[name] = counted.get();
    wrapped->owned[name] = std::move(counted);
  }
  wrapped->configs = set->configs;
  backends_ = wrapped;
  connect_error_.clear();
}

// ----- status ----------------------------------------------------------------------------------

void Loop::SetState(const std::string& key, const std::string& state, const std::string& reason,
                    const Document* doc) {
  std::lock_guard<std::mutex> lock(mu_);
  ResourceState& r = board_[key];
  r.state = state;
  r.reason = reason;
  r.last_sync = Now();
  if (doc) {
    r.backend = doc->backend;
    r.revision = doc->revision;
    r.source = doc->pos.ToString();
  }
  if (state == "failed") r.last_error = reason;
}

bool Loop::SelfHeal(const Document* doc) const {
  if (doc) {
    auto it = doc->annotations.find("converge/self-heal");
    if (it != doc->annotations.end()) return it->second == "true";
  }
  return o_.self_heal;
}

bool Loop::Ready() {
  std::lock_guard<std::mutex> lock(mu_);
  return first_resync_ok_ && observe_ok_ && initial_pending_.empty();
}

std::string Loop::StatusJson() {
  auto specs = Specs();
  json out;
  std::lock_guard<std::mutex> lock(mu_);
  out["ready"] = first_resync_ok_ && observe_ok_ && initial_pending_.empty();
  out["dir"] = o_.dir;
  out["commit"] = o_.committed_only ? head_ : "";
  out["committed_only"] = o_.committed_only;
  out["self_heal"] = o_.self_heal;
  out["last_successful_sync"] = last_success_;
  out["backends_error"] = connect_error_;
  out["queue"] = {
      {"ready", queue_.Len()}, {"delayed", queue_.Delayed()}, {"in_flight", queue_.InFlight()}};
  json failed = json::array();
  for (const auto& f : specs->failed_files) failed.push_back(f);
  out["failed_files"] = failed;
  json errors = json::array();
  for (const auto& d : specs->diagnostics)
    if (d.severity == Severity::kError) errors.push_back(d.ToString());
  out["spec_errors"] = errors;
  json resources = json::array();
  std::map<std::string, int> counts;
  for (const auto& [key, r] : board_) {
    ++counts[r.state];
    resources.push_back({{"key", key},
                         {"backend", r.backend},
                         {"state", r.state},
                         {"reason", r.reason},
                         {"revision", r.revision},
                         {"source", r.source},
                         {"last_change", r.last_change},
                         {"last_sync", r.last_sync},
                         {"last_error", r.last_error},
                         {"retries", r.retries}});
  }
  out["summary"] = counts;
  out["resources"] = resources;
  // Reasons and diagnostics may quote invalid UTF-8 from a spec file: replaced, never a 500.
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string Loop::MetricsText() {
  metrics_.Set("converge_workqueue_depth", {{"state", "ready"}}, static_cast<double>(queue_.Len()));
  metrics_.Set("converge_workqueue_depth", {{"state", "delayed"}},
               static_cast<double>(queue_.Delayed()));
  metrics_.Set("converge_workqueue_depth", {{"state", "in_flight"}},
               static_cast<double>(queue_.InFlight()));
  std::map<std::string, int> counts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [_, r] : board_) ++counts[r.state];
  }
  metrics_.ClearGauge("converge_resources");
  for (const char* s : {"synced", "drifted", "held", "failed", "progressing", "not-pruned"})
    metrics_.Set("converge_resources", {{"state", s}}, counts[s]);
  metrics_.Set("converge_drifted_resources", counts["drifted"]);
  return metrics_.Exposition();
}

// ----- the work --------------------------------------------------------------------------------

void Loop::Worker() {
  while (true) {
    std::vector<std::string> keys = queue_.GetBatch(kMaxBatch);
    if (keys.empty()) break;  // shut down
    try {
      ProcessBatch(keys);
    } catch (const std::exception& e) {
      // A bug must not take the daemon down: report, retry later.
      log_.Error("internal error while reconciling", {{"error", e.what()}});
      for (const auto& k : keys) queue_.AddRateLimited(k);
    }
    queue_.Done(keys);
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& k : keys) initial_pending_.erase(k);
  }
  std::lock_guard<std::mutex> lock(done_mu_);
  ++threads_done_;
  done_cv_.notify_all();
}

void Loop::ProcessBatch(const std::vector<std::string>& keys) {
  const auto started = steady_clock::now();
  auto backends = Backends();
  std::shared_lock<std::shared_mutex> planning;
  auto specs = backends ? BindForPlanning(backends, planning) : Specs();
  const std::set<std::string> keyset(keys.begin(), keys.end());
  std::map<std::string, const Document*> docs;
  for (const Document& d : specs->documents) docs[d.Key()] = &d;
  auto doc_of = [&](const std::string& k) -> const Document* {
    auto it = docs.find(k);
    return it == docs.end() ? nullptr : it->second;
  };
  auto retry = [&](const std::string& k, const std::string& why) {
    auto delay = queue_.AddRateLimited(k);
    metrics_.Inc("converge_workqueue_retries_total");
    metrics_.Inc("converge_reconciles_total", {{"result", "error"}});
    SetState(k, "failed", why, doc_of(k));
    std::lock_guard<std::mutex> lock(mu_);
    board_[k].retries = queue_.Failures(k);
    any_failure_ = true;
    log_.Warn("reconcile failed; retrying",
              {{"key", k}, {"error", why}, {"retry_in_ms", std::to_string(delay.count())}});
  };
  auto finish = [&](bool ok) {
    double secs = std::chrono::duration<double>(steady_clock::now() - started).count();
    metrics_.Observe("converge_reconcile_duration_seconds", secs);
    if (ok) {
      metrics_.Set("converge_last_successful_sync_timestamp_seconds", UnixNow());
      std::lock_guard<std::mutex> lock(mu_);
      last_success_ = Now();
    }
  };

  if (!backends) {
    std::string why;
    {
      std::lock_guard<std::mutex> lock(mu_);
      why = "backends are not connected: " + connect_error_;
    }
    for (const auto& k : keys) retry(k, why);
    return finish(false);
  }
  for (const auto& k : keys) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = board_.find(k);
    if (it != board_.end()) it->second.state = "progressing";
  }

  auto live = ObserveBatch(*backends, keys, doc_of);
  {
    std::lock_guard<std::mutex> lock(mu_);
    observe_ok_ = live.ok();
  }
  if (!live.ok()) {
    for (const auto& k : keys) retry(k, live.status().message());
    return finish(false);
  }

  PlanInputs in;
  in.specs = specs.get();
  in.backends = backends->configs;
  in.reconcilers = backends->reconcilers;
  in.live = std::move(*live);
  // Small batches read their own rows; a big one (a resync) reads the tables once.
  if (keys.size() > 64) {
    auto last = store_->AllLastApplied();
    auto holds = store_->AllHolds();
    if (!last.ok() || !holds.ok()) {
      for (const auto& k : keys)
        retry(k, "reading the state: " + last.status().message() + holds.status().message());
      return finish(false);
    }
    for (auto& [k, la] : *last)
      if (keyset.count(k)) in.last_applied[k] = LastAppliedDoc{la.doc, la.spec_revision};
    for (auto& [k, h] : *holds)
      if (keyset.count(k)) in.holds[k] = HoldInfo{h.spec_revision, h.reason};
  } else {
    for (const auto& k : keys) {
      auto la = store_->GetLastApplied(k);
      if (la.ok() && la->has_value())
        in.last_applied[k] = LastAppliedDoc{(*la)->doc, (*la)->spec_revision};
      auto h = store_->GetHold(k);
      if (h.ok() && h->has_value()) in.holds[k] = HoldInfo{(*h)->spec_revision, (*h)->reason};
    }
  }
  PlanOptions po;
  po.prune = o_.prune;
  po.max_deletes = o_.max_deletes;
  po.spec_dir = o_.dir;
  po.only_keys = &keyset;
  Plan plan = ComputePlan(in, po);
  planning = {};  // planned: the reconcilers may be rebound while this batch applies

  std::set<std::string> handled;
  // Plan-level errors: an object that exists but is not converge's (terminal until its spec
  // changes), or too many deletions (no deletion of this batch happens).
  bool deletes_blocked = !plan.errors.empty();
  for (const auto& e : plan.errors) {
    log_.Error("plan error: " + e);
    for (const auto& k : keys) {
      if (!ErrorNames(e, k)) continue;
      SetState(k, "failed", e, doc_of(k));
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& c : plan.changes)
        if (c.key.ToString() == k) terminal_[k] = c.revision;
      if (!terminal_.count(k))
        if (auto* d = doc_of(k)) terminal_[k] = d->revision;
      handled.insert(k);
    }
  }
  // The drift gate: a change to a resource whose desired state has not changed since it was
  // applied is drift; it is corrected only when selfHeal is on for the resource, else reported.
  std::vector<PlannedChange> to_apply;
  for (auto& c : plan.changes) {
    const std::string k = c.key.ToString();
    if (c.action == Action::kDelete && deletes_blocked) {
      SetState(k, "failed", "deletion blocked: " + plan.errors.front(), nullptr);
      metrics_.Inc("converge_reconciles_total", {{"result", "terminal"}});
      handled.insert(k);
      continue;
    }
    auto la = in.last_applied.find(k);
    // Drift: the desired state is the one last applied (same spec revision and same resolved
    // references), yet the live object differs. A spec whose referenced specs changed (a
    // SageMaker config naming a new model) has a new desired state: that is not drift.
    bool drift = c.action != Action::kDelete && la != in.last_applied.end() &&
                 la->second.revision == c.revision && la->second.doc == c.desired;
    if (drift && !SelfHeal(doc_of(k))) {
      std::string fields;
      for (const auto& f : c.fields) fields += (fields.empty() ? "" : ", ") + f.path;
      std::string why = std::string("live state differs from the spec (") + ActionName(c.action) +
                        (fields.empty() ? "" : ": " + fields) +
                        "); selfHeal is off, so it is only reported";
      bool was_drifted = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        was_drifted = board_.count(k) && board_[k].state == "drifted";
      }
      SetState(k, "drifted", why, doc_of(k));
      if (!was_drifted) log_.Warn("drift detected", {{"key", k}, {"detail", why}});
      metrics_.Inc("converge_reconciles_total", {{"result", "drift"}});
      queue_.Forget(k);
      handled.insert(k);
      continue;
    }
    if (drift) log_.Info("drift detected; healing (selfHeal)", {{"key", k}});
    to_apply.push_back(std::move(c));
  }
  for (const auto& s : plan.skipped) {
    const std::string k = s.key.ToString();
    std::string state = s.status == "held"                    ? "held"
                        : s.status == "unknown-desired-state" ? "failed"
                                                              : "not-pruned";
    SetState(k, state, s.reason, doc_of(k));
    metrics_.Inc("converge_reconciles_total", {{"result", "skipped"}});
    handled.insert(k);
    queue_.Forget(k);
  }

  bool ok = true;
  if (!to_apply.empty() || !plan.settle.empty()) {
    const std::string commit = CommitForRun();
    auto run = store_->BeginRun("watch", commit);
    if (!run.ok()) {
      for (const auto& k : keys)
        if (!handled.count(k)) retry(k, "cannot begin a run: " + run.status().message());
      return finish(false);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      runs_in_flight_.insert(*run);
    }
    // Backend specs (secret references only) are recorded as in `converge apply`, so
    // `converge rollback` works without the spec directory.
    RecordBackends(*store_, backends->configs, *run);
    log_.Info("applying", {{"run", std::to_string(*run)},
                           {"changes", std::to_string(to_apply.size())},
                           {"commit", commit}});
    Progress progress(log_.Stream("executor"));
    ExecOptions eo;
    eo.parallelism = o_.parallelism;
    eo.health_timeout = o_.health_timeout;
    eo.git_commit = commit;
    eo.stop_starting = &no_new_changes_;
    eo.cancel = &cancel_;
    Executor exec(ExecContext{store_.get(), backends->reconcilers, backends->configs,
                              &SystemClock(), &progress},
                  eo);
    std::map<std::string, std::string> planned_revision;  // what a terminal failure is kept at
    for (const auto& c : to_apply) planned_revision[c.key.ToString()] = c.revision;
    for (const auto& c : plan.settle) planned_revision[c.key.ToString()] = c.revision;
    Plan apply_plan;
    apply_plan.changes = std::move(to_apply);
    auto results = exec.Apply(*run, apply_plan);
    // Settling (the object already matches; only the record is missing) looks at health once
    // or twice instead of waiting out the health timeout: an object that matches its spec but
    // is unhealthy would otherwise hold a worker for the whole timeout on every retry. It is
    // retried with backoff and shown as failed meanwhile.
    ExecOptions settle_options = eo;
    settle_options.health_timeout = std::chrono::seconds(2);
    Executor settler(ExecContext{store_.get(), backends->reconcilers, backends->configs,
                                 &SystemClock(), &progress},
                     settle_options);
    for (auto& r : settler.Settle(*run, plan.settle)) results.push_back(std::move(r));
    int applied = 0, failed = 0, interrupted = 0;
    for (const auto& r : results) {
      const std::string k = r.key.ToString();
      handled.insert(k);
      const Document* d = doc_of(k);
      switch (r.outcome) {
        case Outcome::kApplied:
          ++applied;
          queue_.Forget(k);
          SetState(k, "synced", r.message, d);
          if (r.action != Action::kNoop) {
            std::lock_guard<std::mutex> lock(mu_);
            board_[k].last_change = Now();
            board_[k].retries = 0;
            board_[k].last_error.clear();
            if (r.action == Action::kDelete) board_.erase(k);
          }
          metrics_.Inc("converge_reconciles_total", {{"result", "success"}});
          break;
        case Outcome::kRolledBack:
          ++failed;
          queue_.Forget(k);
          SetState(k, "held", r.message, d);
          {
            std::lock_guard<std::mutex> lock(mu_);
            board_[k].last_error = r.message;
            board_[k].last_change = Now();
          }
          metrics_.Inc("converge_reconciles_total", {{"result", "terminal"}});
          break;
        case Outcome::kSkipped:  // stopping: not started, or its health wait was cut short
          ++interrupted;
          ok = false;
          SetState(k, "progressing", r.message, d);
          break;
        default:
          ++failed;
          ok = false;
          if (TerminalMessage(r.message)) {
            queue_.Forget(k);
            SetState(k, "failed", r.message, d);
            std::lock_guard<std::mutex> lock(mu_);
            if (auto pr = planned_revision.find(k); pr != planned_revision.end())
              terminal_[k] = pr->second;
            else if (d)
              terminal_[k] = d->revision;
            any_failure_ = true;
            metrics_.Inc("converge_reconciles_total", {{"result", "terminal"}});
            log_.Error("change failed (not retried until the spec changes)",
                       {{"key", k}, {"error", r.message}});
          } else {
            retry(k, r.message);
          }
      }
    }
    std::string status = failed ? "failed" : interrupted ? "interrupted" : "succeeded";
    (void)store_->FinishRun(*run, status,
                            std::to_string(applied) + " applied, " + std::to_string(failed) +
                                " failed (converge watch)");
    metrics_.Inc("converge_runs_total", {{"status", status}});
    {
      std::lock_guard<std::mutex> lock(mu_);
      runs_in_flight_.erase(*run);
    }
    log_.Info("run finished", {{"run", std::to_string(*run)},
                               {"status", status},
                               {"applied", std::to_string(applied)},
                               {"failed", std::to_string(failed)}});
  }

  // Everything else in the batch matches its spec (or is gone).
  std::set<std::string> live_keys;
  for (const auto& [_, objects] : in.live)
    for (const auto& obj : objects) live_keys.insert(obj.key.ToString());
  for (const auto& k : keys) {
    if (handled.count(k)) continue;
    const Document* d = doc_of(k);
    if (!d && !live_keys.count(k)) {
      std::lock_guard<std::mutex> lock(mu_);
      board_.erase(k);
      continue;
    }
    bool was_drifted = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      was_drifted = board_.count(k) && board_[k].state == "drifted";
    }
    if (was_drifted) log_.Info("drift resolved", {{"key", k}});
    SetState(k, "synced", "", d);
    queue_.Forget(k);
    metrics_.Inc("converge_reconciles_total", {{"result", "success"}});
  }
  finish(ok);
}

Result<std::map<std::string, std::vector<LiveObject>>> Loop::ObserveBatch(
    BackendSet& backends, const std::vector<std::string>& keys,
    const std::function<const Document*(const std::string&)>& doc_of) {
  constexpr size_t kMaxGets = 16;
  std::vector<std::pair<std::string, ResourceKey>> targets;  // backend, key
  if (keys.size() <= kMaxGets) {
    for (const auto& k : keys) {
      std::string backend;
      if (const Document* d = doc_of(k)) {
        backend = d->backend;
      } else {  // a removed spec: where it lived, as last seen
        std::lock_guard<std::mutex> lock(mu_);
        if (auto it = board_.find(k); it != board_.end()) backend = it->second.backend;
      }
      auto key = ParseResourceKey(k);
      if (backend.empty() || !key.ok() || !backends.reconcilers.count(backend)) {
        targets.clear();
        break;
      }
      targets.emplace_back(backend, *key);
    }
  }
  if (targets.empty()) return ObserveAll(backends);
  std::map<std::string, std::vector<LiveObject>> out;
  for (const auto& [name, _] : backends.reconcilers) out[name];  // every backend present
  for (const auto& [backend, key] : targets) {
    auto o = backends.reconcilers.at(backend)->Get(key);
    if (!o.ok()) return o.status().Annotate("observing " + key.ToString() + " in backend " + backend);
    if (o->has_value()) out[backend].push_back(std::move(**o));
  }
  return out;
}

// A full pass over everything: observe, plan, decide per resource. Work goes through the queue
// so a resource is never handled by two threads at once.
bool Loop::Resync(const char* why) {
  if (!Backends()) Connect();
  auto backends = Backends();
  if (!backends) return false;
  std::shared_lock<std::shared_mutex> planning;
  auto specs = BindForPlanning(backends, planning);
  auto live = ObserveAll(*backends);
  {
    std::lock_guard<std::mutex> lock(mu_);
    observe_ok_ = live.ok();
  }
  if (!live.ok()) {
    log_.Error("resync: cannot observe the backends", {{"error", live.status().message()}});
    return false;
  }
  auto last = store_->AllLastApplied();
  auto holds = store_->AllHolds();
  if (!last.ok() || !holds.ok()) {
    log_.Error("resync: cannot read the state");
    return false;
  }
  PlanInputs in;
  in.specs = specs.get();
  in.backends = backends->configs;
  in.reconcilers = backends->reconcilers;
  in.live = std::move(*live);
  for (auto& [k, la] : *last) in.last_applied[k] = LastAppliedDoc{la.doc, la.spec_revision};
  for (auto& [k, h] : *holds) in.holds[k] = HoldInfo{h.spec_revision, h.reason};
  PlanOptions po;
  po.prune = o_.prune;
  po.max_deletes = std::numeric_limits<int>::max();  // the batch's own plan enforces it
  Plan plan = ComputePlan(in, po);
  planning = {};

  std::set<std::string> queued, seen;
  std::map<std::string, const Document*> docs;
  for (const Document& d : specs->documents) docs[d.Key()] = &d;
  for (const auto& c : plan.changes) {
    const std::string k = c.key.ToString();
    seen.insert(k);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto t = terminal_.find(k);
      if (t != terminal_.end() && t->second == c.revision) continue;  // not retried
    }
    // Drift is queued too: the batch re-checks it against fresh live state and heals or
    // reports it (selfHeal).
    queued.insert(k);
  }
  for (const auto& s : plan.settle) queued.insert(s.key.ToString());
  // Plan errors (an unmanaged object in the way of a spec): the batch reports them per resource;
  // never shown as synced.
  for (const auto& e : plan.errors) {
    log_.Error("resync: plan error: " + e);
    for (const Document& d : specs->documents)
      if (ErrorNames(e, d.Key())) queued.insert(d.Key());
  }
  for (const auto& s : plan.skipped) queued.insert(s.key.ToString());  // shown as held etc.
  // Resources that already match: synced.
  for (const Document& d : specs->documents) {
    if (d.kind == "Backend" || queued.count(d.Key())) continue;
    bool was_drifted = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = board_.find(d.Key());
      was_drifted = it != board_.end() && it->second.state == "drifted";
      if (terminal_.count(d.Key())) continue;
    }
    if (was_drifted) log_.Info("drift resolved", {{"key", d.Key()}});
    SetState(d.Key(), "synced", "", &d);
  }
  // Forget resources that neither have a spec nor exist any more.
  {
    std::set<std::string> live_keys;
    for (const auto& [_, objects] : in.live)
      for (const auto& obj : objects) live_keys.insert(obj.key.ToString());
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = board_.begin(); it != board_.end();) {
      if (!docs.count(it->first) && !live_keys.count(it->first) && !queued.count(it->first))
        it = board_.erase(it);
      else
        ++it;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!first_resync_ok_) initial_pending_ = queued;
    first_resync_ok_ = true;
  }
  queue_.AddAll(std::vector<std::string>(queued.begin(), queued.end()));
  if (queued.empty()) {
    metrics_.Set("converge_last_successful_sync_timestamp_seconds", UnixNow());
    std::lock_guard<std::mutex> lock(mu_);
    last_success_ = Now();
  }
  log_.Info("resync", {{"trigger", why},
                       {"resources", std::to_string(plan.resources)},
                       {"queued", std::to_string(queued.size())}});
  return true;
}

void Loop::ResyncThread() {
  auto next = steady_clock::now();
  bool first = true;
  while (true) {
    const char* why = "periodic";
    {
      std::unique_lock<std::mutex> lock(resync_mu_);
      while (!stopping_ && !resync_requested_ && steady_clock::now() < next)
        resync_cv_.wait_until(lock, next);
      if (stopping_) break;
      if (resync_requested_) why = first ? "start" : "requested";
      resync_requested_ = false;
    }
    first = false;
    bool ok = Resync(why);
    {
      std::lock_guard<std::mutex> lock(mu_);
      first_resync_done_ = true;
    }
    // A failed resync (backends down) is retried soon; a good one after --resync (0: only when
    // asked for, e.g. by SIGHUP or a Backend change).
    steady_clock::duration interval = o_.resync.count() > 0
                                          ? steady_clock::duration(o_.resync)
                                          : steady_clock::duration(std::chrono::hours(24 * 365));
    if (!ok) interval = std::min<steady_clock::duration>(interval, std::chrono::seconds(5));
    next = steady_clock::now() + interval;
  }
  std::lock_guard<std::mutex> lock(done_mu_);
  ++threads_done_;
  done_cv_.notify_all();
}

// ----- shutdown --------------------------------------------------------------------------------

// The changes still in flight when the shutdown timeout passed: their journal entries and runs
// are marked interrupted (what the next start would conclude anyway), so the journal is
// consistent at exit. Their backend writes were made; the next start re-plans from live state.
void Loop::MarkInterrupted() {
  std::set<int64_t> runs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    runs = runs_in_flight_;
  }
  for (int64_t run : runs) {
    auto entries = store_->Journal(run);
    if (entries.ok()) {
      for (const auto& e : *entries) {
        if (e.state != store::JournalState::kIntent && e.state != store::JournalState::kInProgress)
          continue;
        (void)store_->JournalUpdate(
            e.id, store::JournalState::kInterrupted,
            std::string("interrupted while ") + store::JournalStateName(e.state) +
                ": converge watch stopped before the change finished; re-planned from live "
                "state on the next start");
        log_.Warn("change interrupted by shutdown", {{"key", e.key}, {"run", std::to_string(run)}});
      }
    }
    (void)store_->FinishRun(run, "interrupted", "converge watch stopped (signal)");
  }
}

int Loop::Run() {
  // Signals are handled synchronously through a signalfd; RunWatchLoop blocked them before any
  // thread started, so no thread is interrupted by them.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  int sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sig_fd < 0) {
    log_.Error("signalfd failed");
    return 1;
  }

  std::error_code ec;
  if (!fs::is_directory(o_.dir, ec)) {
    log_.Error("not a directory: " + o_.dir);
    return 1;
  }
  auto st = store::Store::Open(o_.state_dir);
  if (!st.ok()) {
    log_.Error("cannot open the state directory",
               {{"dir", o_.state_dir}, {"error", st.status().message()}});
    return 1;
  }
  store_ = std::move(*st);
  auto lock = store::StateLock::Acquire(o_.state_dir, "watch");
  if (!lock.ok()) {
    log_.Error(lock.status().message());
    return 1;
  }
  lock_ = std::move(*lock);
  if (auto rec = store_->RecoverInterrupted(); rec.ok()) {
    for (const auto& e : *rec)
      log_.Warn("an earlier run was interrupted; re-planned from live state",
                {{"run", std::to_string(e.run_id)}, {"key", e.key}, {"action", e.action}});
  }

  auto repo = LocateGit(o_.dir);
  if (repo.ok()) {
    repo_ = *repo;
  } else if (o_.committed_only) {
    log_.Error("--committed-only needs a git work tree: " + repo.status().message());
    return 1;
  }
  Status loaded = LoadInitial();
  if (!loaded.ok()) {
    log_.Error("cannot load the specs", {{"error", loaded.message()}});
    return 1;
  }
  Connect();

  TreeWatcher watcher;
  Status w = Status::Ok();
  if (o_.committed_only) {
    // Commits, checkouts, resets and pulls move HEAD or a ref (written as a lock file renamed
    // into place); packed-refs changes on gc/pack-refs.
    w = watcher.AddDir(repo_->git_dir);
    if (w.ok()) w = watcher.AddTree(repo_->common_dir + "/refs");
    if (w.ok() && repo_->common_dir != repo_->git_dir) w = watcher.AddDir(repo_->common_dir);
  } else {
    w = watcher.AddTree(o_.dir);
  }
  if (!w.ok()) {
    log_.Error("cannot watch", {{"error", w.message()}});
    return 1;
  }

  std::unique_ptr<StatusServer> server;
  if (o_.listen != "off") {
    std::string host;
    int port = 0;
    ParseListen(o_.listen, &host, &port);  // validated by the command line
    server = std::make_unique<StatusServer>(ServerHandlers{[this] { return Ready(); },
                                                           [this] { return MetricsText(); },
                                                           [this] { return StatusJson(); }});
    Status s = server->Start(host, port);
    if (!s.ok()) {
      log_.Error(s.message());
      return 1;
    }
    std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    log_.Info("listening", {{"url", "http://" + shown + ":" + std::to_string(server->port())}});
  }
  log_.Info("watching", {{"dir", o_.dir},
                         {"mode", o_.committed_only ? "committed-only" : "work-tree"},
                         {"watches", std::to_string(watcher.WatchCount())},
                         {"files", std::to_string(cache_.FileCount())},
                         {"self_heal", o_.self_heal ? "true" : "false"},
                         {"prune", o_.prune ? "true" : "false"}});

  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, o_.workers); ++i) threads.emplace_back([this] { Worker(); });
  threads.emplace_back([this] { ResyncThread(); });

  bool stop = false;
  int exit_code = 0;
  while (!stop) {
    int timeout_ms = 500;
    if (auto d = debouncer_.Deadline()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*d - steady_clock::now());
      timeout_ms = static_cast<int>(std::clamp<long long>(left.count(), 0, 500));
    }
    struct pollfd fds[2] = {{watcher.fd(), POLLIN, 0}, {sig_fd, POLLIN, 0}};
    int n = poll(fds, 2, timeout_ms);
    if (n > 0 && (fds[1].revents & POLLIN)) {
      struct signalfd_siginfo si;
      while (read(sig_fd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
          log_.Info("SIGHUP: reloading specs and backends");
          if (o_.committed_only) {
            std::lock_guard<std::mutex> l(mu_);
            head_.clear();  // force a re-read of the commit
          }
          debouncer_.Add(o_.committed_only ? kGitRefs : kRescanAll, steady_clock::now());
          watcher.Rewatch();
          Connect();
          std::lock_guard<std::mutex> l(resync_mu_);
          resync_requested_ = true;
          resync_cv_.notify_all();
        } else {
          log_.Info(std::string("received ") + (si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT") +
                    ": stopping (changes in flight are finished first)");
          stop = true;
        }
      }
    }
    if (stop) break;
    if (n > 0 && (fds[0].revents & POLLIN)) {
      WatchEvents ev = watcher.Read();
      auto now = steady_clock::now();
      if (o_.committed_only) {
        if (!ev.paths.empty() || ev.overflow) debouncer_.Add(kGitRefs, now);
      } else if (ev.overflow || ev.root_gone) {
        if (ev.overflow) {
          log_.Warn("inotify queue overflowed: re-watching the tree and rescanning every file");
          watcher.Rewatch();
        }
        if (ev.root_gone) log_.Error("the watched directory was deleted or moved away");
        debouncer_.Add(kRescanAll, now);
      } else {
        for (const auto& p : ev.paths) debouncer_.Add(p, now);
      }
    }
    for (const auto& e : watcher.TakeErrors())
      log_.Error("a directory is not watched: its changes are seen only on a rescan or resync",
                 {{"error", e}});
    if (debouncer_.Due(steady_clock::now())) {
      // A checkout, merge or rebase in progress holds .git/index.lock while it rewrites the
      // tree: acting on half of it could delete resources and create them again a moment
      // later. Wait for the lock to go (up to 60 s: a stale lock must not stop the watch).
      auto now = steady_clock::now();
      std::error_code ec;
      bool git_busy = !o_.committed_only && repo_ &&
                      std::filesystem::exists(repo_->git_dir + "/index.lock", ec);
      if (git_busy && !git_busy_since_) git_busy_since_ = now;
      if (!git_busy) git_busy_since_.reset();
      if (git_busy && now - *git_busy_since_ < std::chrono::seconds(60)) {
        debouncer_.HoldUntil(now + std::chrono::milliseconds(50));
      } else {
        if (git_busy) log_.Warn(".git/index.lock has been there for 60s: applying anyway");
        git_busy_since_.reset();
        HandleChanges(debouncer_.Take());
      }
    }
    if (o_.once) {
      // Done when every resource has been tried once: a failure waiting out its backoff is not
      // waited for (exit 1), and backends that cannot be observed end it at once (exit 1).
      std::lock_guard<std::mutex> l(mu_);
      bool tried_all = first_resync_ok_ && initial_pending_.empty() && queue_.Len() == 0 &&
                       queue_.InFlight() == 0 && debouncer_.Deadline() == std::nullopt;
      if (first_resync_done_ && !first_resync_ok_) {
        log_.Error("--once: the backends could not be observed");
        exit_code = 1;
        stop = true;
      } else if (tried_all) {
        // 0 only when everything is synced (or left alone on purpose: not pruned).
        bool all_synced = true;
        for (const auto& [_, r] : board_)
          if (r.state != "synced" && r.state != "not-pruned") all_synced = false;
        exit_code = any_failure_ || queue_.Delayed() > 0 || !all_synced ? 1 : 0;
        stop = true;
      }
    }
  }

  // Stop taking work and starting changes; changes in flight finish (health wait included) up
  // to the shutdown timeout, then their health waits stop (journalled interrupted).
  queue_.ShutDown();
  no_new_changes_ = true;
  {
    std::lock_guard<std::mutex> l(resync_mu_);
    stopping_ = true;
    resync_cv_.notify_all();
  }
  bool finished = false;
  {
    std::unique_lock<std::mutex> l(done_mu_);
    finished = done_cv_.wait_for(l, o_.shutdown_timeout,
                                 [&] { return threads_done_ == static_cast<int>(threads.size()); });
  }
  if (!finished) {
    // Health waits stop at their next poll and journal their change interrupted; a backend
    // call that hangs is what the grace period below is for.
    log_.Warn("shutdown timeout passed with changes in flight; interrupting their health waits",
              {{"timeout_s", std::to_string(o_.shutdown_timeout.count())}});
    cancel_ = true;
    std::unique_lock<std::mutex> l(done_mu_);
    finished = done_cv_.wait_for(l, std::chrono::seconds(15), [&] {
      return threads_done_ == static_cast<int>(threads.size());
    });
  }
  if (!finished) {
    log_.Warn("changes still in flight after the grace period; marking them interrupted");
    MarkInterrupted();
    log_.Info("stopped");
    std::fflush(nullptr);
    _exit(exit_code);  // threads still wait on backends; the journal already says what happened
  }
  for (auto& t : threads) t.join();
  if (server) server->Stop();
  close(sig_fd);
  log_.Info("stopped");
  return exit_code;
}

}  // namespace

int RunWatchLoop(const WatchOptions& options) {
  // Block the signals the loop reads from its signalfd in this thread before any other thread
  // exists, so every thread inherits the mask.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  Loop loop(options);
  return loop.Run();
}

}  // namespace converge::watch
