#include "controller/sandbox/sandbox.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>
#include <thread>

#include "controller/sandbox/admin.h"
#include "reconcilers/common/emulator/connection.h"
#include "reconcilers/common/emulator/faults.h"
#include "reconcilers/common/emulator/request_log.h"
#include "reconcilers/common/emulator/state_file.h"

namespace converge::sandbox {
namespace {

using json = nlohmann::json;

constexpr char kStateFormat[] = "converge-sandbox/1";
// Marks a response whose connection a fault drops: "reset" (already logged) or "after".
constexpr char kFaultHeader[] = "X-Converge-Fault";

struct ListenAddress {
  std::string host;
  int port = 0;
};

std::optional<ListenAddress> ParseListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 >= listen.size()) return std::nullopt;
  ListenAddress a;
  a.host = listen.substr(0, colon);
  if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']') {
    a.host = a.host.substr(1, a.host.size() - 2);
  }
  if (a.host.empty()) return std::nullopt;
  std::string port = listen.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  a.port = std::stoi(port);
  if (a.port > 65535) return std::nullopt;
  return a;
}

std::vector<std::string> NamesOf(const std::vector<MountedEmulator>& emulators) {
  std::vector<std::string> names;
  for (const MountedEmulator& m : emulators) names.push_back(m.name);
  return names;
}

bool IsAdmin(const std::string& path) {
  return path.rfind("/_admin", 0) == 0;
}

}  // namespace

struct Server::Impl {
  Options options;
  httplib::Server http;
  std::thread listener;
  int port = 0;
  std::string host;
  bool started = false;
  bool stopped = false;
  emulator::FaultRules faults;
  emulator::RequestLog requests;
  // Members of the loaded state file that belong to no mounted emulator, written back as read.
  json foreign_state = json::object();
  std::unique_ptr<emulator::StateSaver> saver;

  explicit Impl(Options o) : options(std::move(o)), faults(NamesOf(options.emulators)) {}

  emulator::Emulator* Find(const std::string& name) {
    for (MountedEmulator& m : options.emulators) {
      if (m.name == name) return m.emulator.get();
    }
    return nullptr;
  }

  // ----- faults -------------------------------------------------------------------------------

  httplib::Server::HandlerResponse ApplyFaults(const httplib::Request& req,
                                               httplib::Response& res) {
    if (IsAdmin(req.path)) return httplib::Server::HandlerResponse::Unhandled;
    emulator::FaultRequest fr{"", req.method, req.path, ""};
    const emulator::Emulator* target = nullptr;
    for (const MountedEmulator& m : options.emulators) {
      const std::string mount = "/" + m.name;
      if (req.path == mount || req.path.rfind(mount + "/", 0) == 0) {
        fr.backend = m.name;
        fr.path = req.path.substr(mount.size());
        target = m.emulator.get();
      }
    }
    if (target != nullptr) fr.target = target->FaultTarget(req);
    std::optional<emulator::FaultRule> fire = faults.Fire(fr);
    if (!fire) return httplib::Server::HandlerResponse::Unhandled;
    if (fire->latency_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(fire->latency_ms));
    }
    if (fire->after) {
      res.set_header(kFaultHeader, "after");  // Record() drops the connection once routed
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (fire->reset_connection) {
      // Counted now: the client sees the connection drop before the post-routing hook runs.
      requests.Record(req.method, req.path, 0);
      res.set_header(kFaultHeader, "reset");
      emulator::DropConnection(req, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (fire->status == 0) return httplib::Server::HandlerResponse::Unhandled;  // latency only
    if (target != nullptr) {
      target->AnswerFault(fire->status, fire->body, res);
    } else {
      emulator::DefaultFaultAnswer(fire->status, fire->body, res);
    }
    if (!fire->retry_after.empty()) res.set_header("Retry-After", fire->retry_after);
    return httplib::Server::HandlerResponse::Handled;
  }

  // Post-routing: runs after the handler, before the response is written, so a client that got
  // its answer sees it counted, and an "after" fault can still withhold the answer.
  void Record(const httplib::Request& req, httplib::Response& res) {
    if (IsAdmin(req.path)) return;
    const std::string fault = res.get_header_value(kFaultHeader);
    if (fault == "reset") return;  // logged before routing
    if (fault == "after") {
      requests.Record(req.method, req.path, 0);
      emulator::DropConnection(req, res);
      return;
    }
    requests.Record(req.method, req.path, res.status);
  }

  // ----- persistence --------------------------------------------------------------------------

  Status Load() {
    if (options.state_file.empty()) return Status::Ok();
    auto text = emulator::ReadFileIfExists(options.state_file);
    if (!text.ok()) return text.status();
    if (!text->has_value() || (*text)->empty()) return Status::Ok();  // first run
    json state = json::parse(**text, nullptr, false);
    bool known = state.is_object() && state.value("format", "") == kStateFormat;
    for (const MountedEmulator& m : options.emulators) {
      known = known || (state.is_object() && state.contains(m.name));
    }
    if (!known) return InvalidError("state file " + options.state_file + " is not a sandbox state");
    for (auto& [name, member] : state.items()) {
      if (name == "format") continue;
      emulator::Emulator* e = Find(name);
      if (e == nullptr) {
        foreign_state[name] = member;
        continue;
      }
      CONVERGE_RETURN_IF_ERROR(e->ImportState(member).Annotate("state file " + options.state_file));
    }
    return Status::Ok();  // a backend missing from the file (added since) starts empty
  }

  Status SaveNow() {
    if (options.state_file.empty()) return Status::Ok();
    std::string state = std::string("{\"format\":\"") + kStateFormat + "\"";
    for (const MountedEmulator& m : options.emulators) {
      state += "," + json(m.name).dump() + ":" + m.emulator->SerializeState();
    }
    for (const auto& [name, member] : foreign_state.items()) {
      state += "," + json(name).dump() + ":" + member.dump();
    }
    state += "}";
    return emulator::WriteFileAtomically(options.state_file, state);
  }

  // ----- routes -------------------------------------------------------------------------------

  void InstallRoutes() {
    http.new_task_queue = [] { return new httplib::ThreadPool(32); };
    // httplib's default also sets SO_REUSEPORT, which would let a second sandbox share the port.
    http.set_socket_options([](int sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    http.set_keep_alive_timeout(2);
    // httplib writes the headers and the body of an answer separately: without TCP_NODELAY,
    // Nagle plus the client's delayed ACK hold every body back ~40 ms (per request!).
    http.set_tcp_nodelay(true);
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      return ApplyFaults(req, res);
    });
    http.set_post_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { Record(req, res); });
    for (MountedEmulator& m : options.emulators) {
      m.emulator->Mount(http, "/" + m.name);
      MountKnobRoutes(http, "/_admin/" + m.name, *m.emulator);
      m.emulator->MountAdmin(http, "/_admin/" + m.name);
    }
    MountFaultRoutes(http, faults);
    MountRequestRoutes(http, requests);
    http.Post("/_admin/reset", [this](const httplib::Request&, httplib::Response& res) {
      for (MountedEmulator& m : options.emulators) m.emulator->Reset();
      SetJson(res, 200, {{"reset", true}});
    });
  }
};

Server::Server(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  Stop();
}

Status Server::Start() {
  Impl& s = *impl_;
  if (s.started) return InternalError("sandbox server already started");
  auto addr = ParseListen(s.options.listen);
  if (!addr) return InvalidError("bad listen address '" + s.options.listen + "' (want host:port)");
  CONVERGE_RETURN_IF_ERROR(s.Load());
  s.InstallRoutes();
  if (addr->port == 0) {
    s.port = s.http.bind_to_any_port(addr->host);
    if (s.port < 0) return UnavailableError("cannot listen on " + s.options.listen);
  } else {
    if (!s.http.bind_to_port(addr->host, addr->port)) {
      return UnavailableError("cannot listen on " + s.options.listen +
                              " (address in use or not available)");
    }
    s.port = addr->port;
  }
  s.host = (addr->host == "0.0.0.0" || addr->host == "::") ? "127.0.0.1" : addr->host;
  if (!s.options.state_file.empty()) {
    s.saver =
        std::make_unique<emulator::StateSaver>([impl = impl_.get()] { return impl->SaveNow(); });
    for (MountedEmulator& m : s.options.emulators) {
      m.emulator->SetMutationObserver([impl = impl_.get()] { impl->saver->MarkDirty(); });
    }
  }
  // A job of one emulator may run a command another one carries out (a compaction submitted to
  // the sandbox's YARN rewrites a sandbox Iceberg table): each is offered to the others in turn.
  for (MountedEmulator& m : s.options.emulators) {
    emulator::Emulator* self = m.emulator.get();
    m.emulator->SetCommandRunner([impl = impl_.get(), self](const std::string& command) {
      for (MountedEmulator& other : impl->options.emulators) {
        if (other.emulator.get() == self) continue;
        if (auto st = other.emulator->RunCommand(command)) return st;
      }
      return std::optional<Status>();
    });
  }
  s.listener = std::thread([impl = impl_.get()] { impl->http.listen_after_bind(); });
  s.started = true;
  // stop() only works once the accept loop runs; the socket already queues connections.
  for (int i = 0; i < 5000 && !s.http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::Ok();
}

void Server::Stop() {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.http.stop();
  if (s.listener.joinable()) s.listener.join();
  for (MountedEmulator& m : s.options.emulators) {
    m.emulator->SetMutationObserver(nullptr);
    m.emulator->SetCommandRunner(nullptr);
  }
  if (s.saver) s.saver->Stop();
  Status st = s.SaveNow();
  if (!st.ok()) std::cerr << "converge sandbox: " << st.ToString() << std::endl;
}

int Server::port() const {
  return impl_->port;
}

std::string Server::url() const {
  std::string host =
      impl_->host.find(':') != std::string::npos ? "[" + impl_->host + "]" : impl_->host;
  return "http://" + host + ":" + std::to_string(impl_->port);
}

emulator::Emulator* Server::Find(const std::string& name) {
  return impl_->Find(name);
}

namespace {

int g_signal_pipe[2] = {-1, -1};

void OnSignal(int) {
  int saved = errno;
  char c = 1;
  [[maybe_unused]] ssize_t n = ::write(g_signal_pipe[1], &c, 1);
  errno = saved;
}

}  // namespace

int Run(Options options) {
  if (::pipe2(g_signal_pipe, O_CLOEXEC) != 0) {
    std::cerr << "converge sandbox: pipe: " << std::strerror(errno) << std::endl;
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {};
  struct sigaction old_term {};
  struct sigaction ignore_pipe {};
  struct sigaction old_pipe {};
  ignore_pipe.sa_handler = SIG_IGN;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGPIPE, &ignore_pipe, &old_pipe);
  auto restore = [&] {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    sigaction(SIGPIPE, &old_pipe, nullptr);
    ::close(g_signal_pipe[0]);
    ::close(g_signal_pipe[1]);
    g_signal_pipe[0] = g_signal_pipe[1] = -1;
  };

  int rc = 0;
  {
    Server server(std::move(options));
    Status st = server.Start();
    if (!st.ok()) {
      std::cerr << "converge sandbox: " << st.message() << std::endl;
      rc = 1;
    } else {
      std::cout << "converge sandbox listening on " << server.url() << std::endl;
      char c;
      while (true) {
        ssize_t n = ::read(g_signal_pipe[0], &c, 1);
        if (n == 1 || (n < 0 && errno != EINTR)) break;
      }
      server.Stop();
    }
  }
  restore();
  return rc;
}

}  // namespace converge::sandbox
