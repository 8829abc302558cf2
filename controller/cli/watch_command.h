// `converge watch DIR`: the long-running GitOps loop (controller/watch/watch_loop.h). This file
// holds its flags and their parsing; docs/cli.md and docs/operations.md describe them.
#pragma once

#include <string>

#include "controller/cli/commands.h"

namespace CLI {
class App;
}

namespace converge::cli {

struct WatchCmdOptions {
  std::string dir;
  std::string listen = "127.0.0.1:9464";
  bool listen_any = false;
  bool committed_only = false;
  std::string resync = "5m";
  bool self_heal = false;
  bool prune = false;
  int max_deletes = 5;
  std::string debounce = "100ms";
  int workers = 2;
  int parallelism = 4;
  double backend_qps = 20;
  int backend_burst = 40;
  std::string health_timeout;
  std::string shutdown_timeout = "30s";
  std::string log_format = "text";
  bool once = false;
};

// Adds the `watch` subcommand and its flags to `app`; the caller adds --state-dir/--instance.
CLI::App* AddWatchCommand(CLI::App& app, WatchCmdOptions& o);
int RunWatch(const GlobalOptions& g, const WatchCmdOptions& o);

}  // namespace converge::cli
