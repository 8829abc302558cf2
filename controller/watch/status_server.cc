#include "controller/watch/status_server.h"

#include <httplib.h>

#include "controller/watch/status_page.h"

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
  AddPageRoutes();
}

void StatusServer::AddPageRoutes() {
  auto& http = impl_->http;
  auto& h = impl_->handlers;
  constexpr const char* kHtml = "text/html; charset=utf-8";
  // Read-only: anything but GET (and HEAD, answered by the GET routes) is refused before routing.
  http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "GET" || req.method == "HEAD")
      return httplib::Server::HandlerResponse::Unhandled;
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
    res.set_content("method not allowed: this endpoint is read-only\n", "text/plain");
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    for (const auto& [name, value] : PageHeaders()) res.set_header(name, value);
  });
  http.Get("/", [&h](const httplib::Request& req, httplib::Response& res) {
    std::string q = req.has_param("q") ? req.get_param_value("q") : "";
    res.set_content(h.overview_html ? h.overview_html(q) : RenderNotFound("no status page"), kHtml);
  });
  http.Get("/runs", [&h](const httplib::Request&, httplib::Response& res) {
    res.set_content(h.runs_html ? h.runs_html() : RenderNotFound("no runs page"), kHtml);
  });
  // The path arrives decoded: a Marathon id's encoded slashes are slashes again, so the name is
  // everything after the kind (backend and kind names have no slash).
  http.Get(R"(/resources/([^/]+)/([^/]+)/(.+))",
           [&h](const httplib::Request& req, httplib::Response& res) {
             std::string key = req.matches[2].str() + "/" + req.matches[3].str();
             std::optional<std::string> page;
             if (h.resource_html) page = h.resource_html(req.matches[1].str(), key);
             if (!page) {
               res.status = 404;
               page = RenderNotFound("No resource " + key + " in backend " + req.matches[1].str() +
                                     " is known to converge watch.");
             }
             res.set_content(*page, kHtml);
           });
  http.Get(R"(/ui/([A-Za-z0-9_.-]+))", [](const httplib::Request& req, httplib::Response& res) {
    if (auto a = FindAsset(req.matches[1].str())) {
      res.set_content(std::string(a->body), a->content_type);
    } else {
      res.status = 404;
      res.set_content("no such asset\n", "text/plain");
    }
  });
  http.Get(".*", [](const httplib::Request& req, httplib::Response& res) {
    res.status = 404;
    res.set_content(RenderNotFound("Nothing is served at " + req.path + "."), kHtml);
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
