// The HTTP endpoints of `converge watch` (cpp-httplib, its own threads):
//   GET /healthz   200 "ok" while the process runs its loop
//   GET /readyz    200 once the first full sync finished and the backends answered; 503 before
//                  and while the backends cannot be observed
//   GET /metrics   Prometheus text exposition
//   GET /status    JSON: every resource (synced / drifted / held / failed / progressing), the
//                  commit, failed spec files, queue depth
//   GET /, /resources/<backend>/<kind>/<name>, /runs, /ui/*
//                  the status page for people (status_page.h)
// Any other method is 405 (GET and HEAD only); every answer carries PageHeaders() (a strict
// Content-Security-Policy, nosniff, no framing).
// Unauthenticated and read-only: it listens on loopback unless told otherwise (see
// docs/operations.md).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "specs/base/status.h"

namespace converge::watch {

struct ServerHandlers {
  std::function<bool()> ready;
  std::function<std::string()> metrics;
  std::function<std::string()> status_json;
  // The status page's HTML. `filter` is the overview's ?q=; `key` is "Kind/name"; nullopt: no
  // such resource (404).
  std::function<std::string(const std::string& filter)> overview_html;
  std::function<std::optional<std::string>(const std::string& backend, const std::string& key)>
      resource_html;
  std::function<std::string()> runs_html;
};

class StatusServer {
 public:
  explicit StatusServer(ServerHandlers handlers);
  ~StatusServer();

  // Binds host:port (port 0 = any free port) and serves in the background.
  Status Start(const std::string& host, int port);
  void Stop();
  int port() const { return port_; }

 private:
  void AddPageRoutes();

  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::thread thread_;
};

// Splits "host:port" ("[::1]:9464" for IPv6). False on garbage.
bool ParseListen(const std::string& listen, std::string* host, int* port);
// 127.0.0.0/8, ::1 and localhost.
bool IsLoopbackHost(const std::string& host);

}  // namespace converge::watch
