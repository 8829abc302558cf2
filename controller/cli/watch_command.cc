#include "controller/cli/watch_command.h"
#include "controller/cli/command_support.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "controller/watch/status_server.h"
#include "controller/watch/watch_loop.h"
#include "specs/backend.h"
#include "specs/base/memory.h"

namespace converge::cli {
namespace {

// "100ms", "2s", "5m", "1h", "0"; false on garbage.
bool ParseMillis(const std::string& s, std::chrono::milliseconds* out) {
  if (s.size() > 2 && s.compare(s.size() - 2, 2, "ms") == 0) {
    std::string n = s.substr(0, s.size() - 2);
    if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos)
      return false;
    *out = std::chrono::milliseconds(std::stoll(n));
    return true;
  }
  std::chrono::seconds secs;
  if (!ParseDuration(s, &secs)) return false;
  *out = secs;
  return true;
}

}  // namespace

CLI::App* AddWatchCommand(CLI::App& app, WatchCmdOptions& o) {
  auto* w = app.add_subcommand(
      "watch",
      "Run as a service: apply spec changes as files (or commits) land, find and heal drift, "
      "serve /healthz /readyz /metrics /status");
  w->add_option("dir", o.dir, "Spec directory (a git checkout or any directory)")->required();
  w->add_option("--listen", o.listen,
                "host:port for /healthz, /readyz, /metrics and /status (default "
                "127.0.0.1:9464; port 0 picks a free port; \"off\" disables). A non-loopback "
                "host needs --listen-any: the endpoints have no authentication");
  w->add_flag("--listen-any", o.listen_any,
              "Allow --listen on a non-loopback address (e.g. 0.0.0.0:9464 for a Prometheus on "
              "another host)");
  w->add_flag("--committed-only", o.committed_only,
              "Apply what HEAD of the git checkout holds, not uncommitted edits; act when a "
              "commit, checkout or pull moves HEAD");
  w->add_option("--resync", o.resync,
                "Re-observe every backend this often to find drift, e.g. 30s, 5m (default 5m; "
                "0 = never)");
  w->add_flag("--self-heal", o.self_heal,
              "Correct drift (live state changed behind converge's back while the spec did "
              "not); without it drift is only reported. Per resource: annotation "
              "converge/self-heal: \"true\" | \"false\"");
  w->add_flag("--prune", o.prune, "Delete owned objects whose spec was removed");
  w->add_option("--max-deletes", o.max_deletes,
                "Refuse the deletions of a batch that would delete more than N objects "
                "(default 5)");
  w->add_option("--debounce", o.debounce,
                "Wait this long after the last file event before acting, e.g. 100ms, 1s "
                "(default 100ms; at most 10x this, min 1s, after the first event)");
  w->add_option("--workers", o.workers,
                "Batches of resources reconciled at once (default 2); a resource is never in "
                "two batches")
      ->check(CLI::Range(1, 64));
  w->add_option("--parallelism", o.parallelism,
                "Changes applied at once within a batch's wave (default 4)")
      ->check(CLI::Range(1, 64));
  w->add_option("--backend-qps", o.backend_qps,
                "HTTP requests per second per backend, retries included (token bucket; default 20; 0 = unlimited)")
      ->check(CLI::Range(0.0, 100000.0));
  w->add_option("--backend-burst", o.backend_burst,
                "Requests a backend may receive at once before --backend-qps applies "
                "(default 40)")
      ->check(CLI::Range(1, 100000));
  w->add_option("--health-timeout", o.health_timeout,
                "How long to wait for a change to become healthy (default: the backend's "
                "healthTimeout, 10m)");
  w->add_option("--shutdown-timeout", o.shutdown_timeout,
                "On SIGTERM/SIGINT no new change starts; changes in flight get this long to "
                "finish, then their health waits stop and they are journalled interrupted "
                "(default 30s)");
  w->add_option("--log-format", o.log_format, "text | json (one object per line) on stderr")
      ->check(CLI::IsMember({"text", "json"}));
  w->add_flag("--once", o.once,
              "Try every resource once and exit: 0 when everything is synced, 1 otherwise "
              "(failures are not retried; unreachable backends end it at once). A broken file "
              "does not stop the other files, unlike apply");
  return w;
}

int RunWatch(const GlobalOptions& g, const WatchCmdOptions& o) {
  // A daemon: what it keeps resident matters more than malloc's speed on many threads (no
  // thread has started yet).
  LimitMallocArenas();
  watch::WatchOptions w;
  w.dir = o.dir;
  w.state_dir = g.state_dir;
  w.instance = g.instance;
  w.listen = o.listen;
  w.listen_any = o.listen_any;
  w.committed_only = o.committed_only;
  w.self_heal = o.self_heal;
  w.prune = o.prune;
  w.max_deletes = o.max_deletes;
  w.workers = o.workers;
  w.parallelism = o.parallelism;
  w.backend_qps = o.backend_qps;
  w.backend_burst = o.backend_burst;
  w.json_logs = o.log_format == "json";
  w.once = o.once;
  if (o.max_deletes < 0) {
    Err("--max-deletes must be 0 or more");
    return 1;
  }
  if (o.resync == "0") {
    w.resync = std::chrono::seconds(0);
  } else if (!ParseDuration(o.resync, &w.resync) || w.resync.count() <= 0) {
    Err("--resync: expected a duration such as 30s or 5m (or 0), got \"" + o.resync + "\"");
    return 1;
  }
  std::chrono::milliseconds debounce;
  if (!ParseMillis(o.debounce, &debounce) || debounce.count() < 0 ||
      debounce > std::chrono::minutes(1)) {
    Err("--debounce: expected a duration such as 100ms or 1s (at most 1m), got \"" + o.debounce +
        "\"");
    return 1;
  }
  w.debounce = debounce;
  if (!o.health_timeout.empty() &&
      (!ParseDuration(o.health_timeout, &w.health_timeout) || w.health_timeout.count() <= 0)) {
    Err("--health-timeout: expected a duration such as 90s or 10m, got \"" + o.health_timeout +
        "\"");
    return 1;
  }
  if (!ParseDuration(o.shutdown_timeout, &w.shutdown_timeout)) {
    Err("--shutdown-timeout: expected a duration such as 30s, got \"" + o.shutdown_timeout + "\"");
    return 1;
  }
  if (o.listen != "off") {
    std::string host;
    int port = 0;
    if (!watch::ParseListen(o.listen, &host, &port)) {
      Err("--listen: expected host:port (e.g. 127.0.0.1:9464) or off, got \"" + o.listen + "\"");
      return 1;
    }
    if (!watch::IsLoopbackHost(host) && !o.listen_any) {
      Err("--listen " + o.listen +
          " is not a loopback address; the endpoints are unauthenticated, so add --listen-any "
          "to serve them beyond this host");
      return 1;
    }
  }
  return watch::RunWatchLoop(w);
}

}  // namespace converge::cli
