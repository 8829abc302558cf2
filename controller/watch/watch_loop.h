// `converge watch`: the long-running reconcile loop.
//
//   inotify (work tree) or ref moves (.git, --committed-only)
//     └─► debounce ─► SpecCache: re-parse only the changed files ─► affected resource keys
//                                                                        │
//   periodic resync (--resync): observe everything, find drift ─────────►├─► WorkQueue
//                                                                        │   (dedup, in-flight
//   workers (--workers): take a batch of keys ◄──────────────────────────┘    set, backoff)
//     └─► observe ─► ComputePlan restricted to the batch ─► drift gate (selfHeal) ─►
//         Executor::Apply (journal → snapshot → write → health → done; rollback → hold)
//
// The safety rules are the planner's and the executor's, unchanged: a spec file that fails to
// load blocks every prune, held resources are skipped (and shown as held), --max-deletes
// bounds the deletions of a batch, every change is journalled and snapshotted. Unlike
// `converge apply`, a spec error does not stop the other files from being applied.
//
// The process holds the state directory's writer lock for its lifetime. SIGTERM/SIGINT stop
// taking work and let the changes in flight finish (up to --shutdown-timeout; after that their
// journal entries and runs are marked interrupted) and exit 0; SIGHUP re-reads every spec file,
// reconnects the backends and resyncs.
#pragma once

#include <chrono>
#include <string>

namespace converge::watch {

struct WatchOptions {
  std::string dir;
  std::string state_dir;
  std::string instance = "converge";
  std::string listen = "127.0.0.1:9464";  // "off" disables the HTTP endpoints
  bool listen_any = false;                // allow a non-loopback --listen address
  bool committed_only = false;
  std::chrono::seconds resync{300};  // 0 = never
  bool self_heal = false;
  bool prune = false;
  int max_deletes = 5;
  std::chrono::milliseconds debounce{100};
  int workers = 2;
  int parallelism = 4;
  double backend_qps = 20;  // per backend; 0 = unlimited
  int backend_burst = 40;
  std::chrono::seconds health_timeout{0};
  std::chrono::seconds shutdown_timeout{30};
  bool json_logs = false;
  bool once = false;  // converge once (like apply, but with watch's per-file semantics) and exit
};

// Runs until SIGTERM/SIGINT (or, with `once`, until the first sync is done). Returns the exit
// code: 0 after a clean stop, 1 when it could not start (lock held, bad directory, port in
// use) or, with `once`, when a resource failed.
int RunWatchLoop(const WatchOptions& options);

}  // namespace converge::watch
