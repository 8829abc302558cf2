#include "controller/watch/status_server.h"

#include <httplib.h>

namespace converge::watch {

struct StatusServer::Impl {
  httplib::Server http;
  ServerHandlers handlers;
};

StatusServer::StatusServer(ServerHandlers handlers) : impl_(std::make_unique<Impl>()) {
  impl_->handlers = std::move(handlers);
  auto& h = impl_->handlers;
  impl_->http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  impl_->http.Get("/readyz", [&h](const httplib::Request&, httplib::Response& res) {
    bool ready = h.ready && h.ready();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n" : "not ready\n", "text/plain");
  });
  impl_->http.Get("/metrics", [&h](const httplib::Request&, httplib::Response& res) {
    res.set_content(h.metrics ? h.metrics() : "", "text/plain; version=0.0.4; charset=utf-8");
  });
  impl_->http.Get("/status", [&h](const httplib::Request&, httplib::Response& res) {
    res.set_content(h.status_json ? h.status_json() : "{}", "application/json");
  });
}

StatusServer::~StatusServer() {
  Stop();
}

Status StatusServer::Start(const std::string& host, int port) {
  if (port == 0) {
    port_ = impl_->http.bind_to_any_port(host);
  } else {
    port_ = impl_->http.bind_to_port(host, port) ? port : -1;
  }
  if (port_ <= 0)
    return UnavailableError("cannot listen on " + host + ":" + std::to_string(port) +
                            " (address in use or not local?)");
  thread_ = std::thread([this] { impl_->http.listen_after_bind(); });
  return Status::Ok();
}

void StatusServer::Stop() {
  if (thread_.joinable()) {
    impl_->http.stop();
    thread_.join();
  }
}

bool ParseListen(const std::string& listen, std::string* host, int* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string h = listen.substr(0, colon), p = listen.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos)
    return false;
  int n = std::stoi(p);
  if (n > 65535) return false;
  *host = h;
  *port = n;
  return true;
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace converge::watch
