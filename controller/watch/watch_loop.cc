// The loop's life: start (state, lock, specs, backends, watches, HTTP), the event loop on the
// main thread (inotify, signals, debounce, --once) with worker and resync threads, and shutdown.
#include "controller/watch/watch_loop.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "controller/watch/loop.h"

namespace converge::watch {
namespace {

namespace fs = std::filesystem;
using std::chrono::steady_clock;

// SIGTERM, SIGINT and SIGHUP: blocked in every thread and read from a signalfd.
sigset_t LoopSignals() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  return mask;
}

}  // namespace

int Loop::Run() {
  // Signals are handled synchronously through a signalfd; RunWatchLoop blocked them before any
  // thread started, so no thread is interrupted by them.
  sigset_t mask = LoopSignals();
  int sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sig_fd < 0) {
    log_.Error("signalfd failed");
    return 1;
  }
  if (!Start()) return 1;
  TreeWatcher watcher;
  Status w = WatchSources(watcher);
  if (!w.ok()) {
    log_.Error("cannot watch", {{"error", w.message()}});
    return 1;
  }
  std::unique_ptr<StatusServer> server;
  if (!StartServer(&server)) return 1;
  log_.Info("watching", {{"dir", o_.dir},
                         {"mode", o_.committed_only ? "committed-only" : "work-tree"},
                         {"watches", std::to_string(watcher.WatchCount())},
                         {"files", std::to_string(cache_.FileCount())},
                         {"self_heal", o_.self_heal ? "true" : "false"},
                         {"prune", o_.prune ? "true" : "false"}});

  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, o_.workers); ++i) threads.emplace_back([this] { Worker(); });
  threads.emplace_back([this] { ResyncThread(); });

  int exit_code = EventLoop(watcher, sig_fd);

  if (!StopThreads(threads.size())) {
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

// ----- start -----------------------------------------------------------------------------------

bool Loop::Start() {
  std::error_code ec;
  if (!fs::is_directory(o_.dir, ec)) {
    log_.Error("not a directory: " + o_.dir);
    return false;
  }
  auto st = store::Store::Open(o_.state_dir);
  if (!st.ok()) {
    log_.Error("cannot open the state directory",
               {{"dir", o_.state_dir}, {"error", st.status().message()}});
    return false;
  }
  store_ = std::move(*st);
  auto lock = store::StateLock::Acquire(o_.state_dir, "watch");
  if (!lock.ok()) {
    log_.Error(lock.status().message());
    return false;
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
    return false;
  }
  Status loaded = LoadInitial();
  if (!loaded.ok()) {
    log_.Error("cannot load the specs", {{"error", loaded.message()}});
    return false;
  }
  Connect();
  return true;
}

Status Loop::WatchSources(TreeWatcher& watcher) {
  if (!o_.committed_only) return watcher.AddTree(o_.dir);
  // Commits, checkouts, resets and pulls move HEAD or a ref (written as a lock file renamed
  // into place); packed-refs changes on gc/pack-refs.
  Status w = watcher.AddDir(repo_->git_dir);
  if (w.ok()) w = watcher.AddTree(repo_->common_dir + "/refs");
  if (w.ok() && repo_->common_dir != repo_->git_dir) w = watcher.AddDir(repo_->common_dir);
  return w;
}

bool Loop::StartServer(std::unique_ptr<StatusServer>* server) {
  if (o_.listen == "off") return true;
  std::string host;
  int port = 0;
  ParseListen(o_.listen, &host, &port);  // validated by the command line
  ServerHandlers h;
  h.ready = [this] { return Ready(); };
  h.metrics = [this] { return MetricsText(); };
  h.status_json = [this] { return StatusJson(); };
  h.overview_html = [this](const std::string& filter) { return OverviewHtml(filter); };
  h.resource_html = [this](const std::string& backend, const std::string& key) {
    return ResourceHtml(backend, key);
  };
  h.runs_html = [this] { return RunsHtml(); };
  *server = std::make_unique<StatusServer>(std::move(h));
  Status s = (*server)->Start(host, port);
  if (!s.ok()) {
    log_.Error(s.message());
    return false;
  }
  std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  log_.Info("listening", {{"url", "http://" + shown + ":" + std::to_string((*server)->port())}});
  return true;
}

// ----- the event loop (main thread) ------------------------------------------------------------

int Loop::EventLoop(TreeWatcher& watcher, int sig_fd) {
  while (true) {
    int timeout_ms = 500;
    if (auto d = debouncer_.Deadline()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*d - steady_clock::now());
      timeout_ms = static_cast<int>(std::clamp<long long>(left.count(), 0, 500));
    }
    struct pollfd fds[2] = {{watcher.fd(), POLLIN, 0}, {sig_fd, POLLIN, 0}};
    int n = poll(fds, 2, timeout_ms);
    if (n > 0 && (fds[1].revents & POLLIN) && HandleSignals(sig_fd, watcher)) return 0;
    if (n > 0 && (fds[0].revents & POLLIN)) HandleWatchEvents(watcher);
    for (const auto& e : watcher.TakeErrors())
      log_.Error("a directory is not watched: its changes are seen only on a rescan or resync",
                 {{"error", e}});
    if (debouncer_.Due(steady_clock::now())) TakeDueChanges();
    if (o_.once) {
      if (std::optional<int> code = OnceExitCode()) return *code;
    }
  }
}

bool Loop::HandleSignals(int sig_fd, TreeWatcher& watcher) {
  bool stop = false;
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
  return stop;
}

void Loop::HandleWatchEvents(TreeWatcher& watcher) {
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

void Loop::TakeDueChanges() {
  // A checkout, merge or rebase in progress holds .git/index.lock while it rewrites the
  // tree: acting on half of it could delete resources and create them again a moment
  // later. Wait for the lock to go (up to 60 s: a stale lock must not stop the watch).
  auto now = steady_clock::now();
  std::error_code ec;
  bool git_busy =
      !o_.committed_only && repo_ && std::filesystem::exists(repo_->git_dir + "/index.lock", ec);
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

// --once: done when every resource has been tried once: a failure waiting out its backoff is
// not waited for (exit 1), and backends that cannot be observed end it at once (exit 1).
std::optional<int> Loop::OnceExitCode() {
  std::lock_guard<std::mutex> l(mu_);
  bool tried_all = first_resync_ok_ && initial_pending_.empty() && queue_.Len() == 0 &&
                   queue_.InFlight() == 0 && debouncer_.Deadline() == std::nullopt;
  if (first_resync_done_ && !first_resync_ok_) {
    log_.Error("--once: the backends could not be observed");
    return 1;
  }
  if (!tried_all) return std::nullopt;
  // 0 only when everything is synced (or left alone on purpose: not pruned).
  bool all_synced = true;
  for (const auto& [_, r] : board_)
    if (r.state != "synced" && r.state != "not-pruned") all_synced = false;
  return any_failure_ || queue_.Delayed() > 0 || !all_synced ? 1 : 0;
}

// ----- shutdown --------------------------------------------------------------------------------

bool Loop::StopThreads(size_t threads) {
  // Stop taking work and starting changes; changes in flight finish (health wait included) up
  // to the shutdown timeout, then their health waits stop (journalled interrupted).
  queue_.ShutDown();
  no_new_changes_ = true;
  {
    std::lock_guard<std::mutex> l(resync_mu_);
    stopping_ = true;
    resync_cv_.notify_all();
  }
  auto all_done = [&] { return threads_done_ == static_cast<int>(threads); };
  {
    std::unique_lock<std::mutex> l(done_mu_);
    if (done_cv_.wait_for(l, o_.shutdown_timeout, all_done)) return true;
  }
  // Health waits stop at their next poll and journal their change interrupted; a backend
  // call that hangs is what the grace period below is for.
  log_.Warn("shutdown timeout passed with changes in flight; interrupting their health waits",
            {{"timeout_s", std::to_string(o_.shutdown_timeout.count())}});
  cancel_.Cancel();
  std::unique_lock<std::mutex> l(done_mu_);
  return done_cv_.wait_for(l, std::chrono::seconds(15), all_done);
}

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

int RunWatchLoop(const WatchOptions& options) {
  // Block the signals the loop reads from its signalfd in this thread before any other thread
  // exists, so every thread inherits the mask.
  sigset_t mask = LoopSignals();
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  Loop loop(options);
  return loop.Run();
}

}  // namespace converge::watch
