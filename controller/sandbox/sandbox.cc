#include "controller/sandbox/sandbox.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

namespace converge::sandbox {
namespace {

using json = nlohmann::json;

constexpr size_t kLogSize = 1000;
constexpr uint64_t kFaultSeed = 0x5eed;
constexpr char kMarathonMount[] = "/marathon";
constexpr char kSageMakerMount[] = "/sagemaker";

struct FaultRule {
  int id = 0;
  std::string backend = "*";
  std::string method = "*";
  std::string path_regex;
  std::regex regex;
  std::string target;  // SageMaker: exact X-Amz-Target (all operations are POST /); "" = any
  int status = 0;
  int count = -1;  // remaining fires; -1 = unlimited
  double rate = 1.0;
  int latency_ms = 0;
  std::string retry_after;
  std::string body;
  bool reset_connection = false;
  int fired = 0;

  json ToJson() const {
    json j = {{"id", id},
              {"backend", backend},
              {"method", method},
              {"path_regex", path_regex},
              {"target", target},
              {"status", status},
              {"rate", rate},
              {"latency_ms", latency_ms},
              {"retry_after", retry_after},
              {"body", body},
              {"reset_connection", reset_connection},
              {"fired", fired}};
    j["remaining"] = count < 0 ? json() : json(count);
    return j;
  }
};

// Parses an admin fault body; returns an error message on failure.
std::optional<std::string> ParseFault(const json& j, FaultRule* rule) {
  if (!j.is_object()) return "fault rule must be a JSON object";
  try {
    rule->backend = j.value("backend", "*");
    rule->method = j.value("method", "*");
    for (char& c : rule->method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    rule->path_regex = j.value("path_regex", "");
    rule->regex = std::regex(rule->path_regex);
    rule->target = j.value("target", "");
    rule->status = j.value("status", 0);
    if (j.contains("count")) rule->count = j["count"].get<int>();
    rule->rate = j.value("rate", 1.0);
    rule->latency_ms = j.value("latency_ms", 0);
    if (j.contains("retry_after")) {
      const json& ra = j["retry_after"];
      rule->retry_after = ra.is_string() ? ra.get<std::string>() : ra.dump();
    }
    rule->body = j.value("body", "");
    rule->reset_connection = j.value("reset_connection", false);
  } catch (const std::exception& e) {
    return std::string("invalid fault rule: ") + e.what();
  }
  if (rule->backend != "*" && rule->backend != "marathon" && rule->backend != "sagemaker")
    return "unknown backend " + rule->backend;
  if (rule->rate < 0 || rule->rate > 1) return "rate must be within 0..1";
  if (rule->status != 0 && (rule->status < 100 || rule->status > 599)) return "invalid status";
  if (rule->status == 0 && rule->latency_ms <= 0 && !rule->reset_connection) {
    return "a fault needs a status, latency_ms or reset_connection";
  }
  return std::nullopt;
}

void SetJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

// body[key] as a list of strings; nullopt when it is not one (absent = empty).
std::optional<std::vector<std::string>> StringList(const json& body, const char* key) {
  std::vector<std::string> out;
  const json list = body.is_object() ? body.value(key, json::array()) : json();
  if (!list.is_array()) return std::nullopt;
  for (const json& i : list) {
    if (!i.is_string()) return std::nullopt;
    out.push_back(i.get<std::string>());
  }
  return out;
}

std::optional<json> ParseJsonBody(const httplib::Request& req, httplib::Response& res) {
  json j = json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
  if (j.is_discarded()) {
    SetJson(res, 400, {{"message", "Invalid JSON"}});
    return std::nullopt;
  }
  return j;
}

// Finds the accepted socket serving `req` (matched by both endpoints' ports) and makes the
// kernel drop the connection: SO_LINGER 0 so closing sends a RST, and shutdown so the client
// gets nothing. Returns false if the socket was not found.
bool ResetConnection(const httplib::Request& req) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  bool done = false;
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t local_len = sizeof local;
    socklen_t peer_len = sizeof peer;
    if (getsockname(int(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    if (getpeername(int(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    auto port_of = [](const sockaddr_storage& a) -> int {
      if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
      if (a.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
      }
      return -1;
    };
    if (port_of(local) != req.local_port || port_of(peer) != req.remote_port) continue;
    linger l{1, 0};
    setsockopt(int(fd), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    shutdown(int(fd), SHUT_RDWR);
    done = true;
    break;
  }
  closedir(dir);
  return done;
}

Status WriteFileAtomically(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return InternalError("cannot write " + tmp + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = std::strerror(errno);
      ::close(fd);
      return InternalError("cannot write " + tmp + ": " + err);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return InternalError("cannot sync " + tmp + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return InternalError("cannot rename " + tmp + ": " + std::strerror(errno));
  }
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

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

}  // namespace

struct Server::Impl {
  Options options;
  marathon::Emulator emulator;
  sagemaker::Emulator sagemaker_emulator;
  httplib::Server http;
  std::thread listener;
  int port = 0;
  std::string host;
  bool started = false;
  bool stopped = false;

  // Faults.
  std::mutex fault_mu;
  std::vector<FaultRule> faults;
  int next_fault_id = 1;
  std::mt19937_64 fault_rng{kFaultSeed};

  // Request accounting.
  std::mutex stats_mu;
  long total = 0;
  long writes = 0;
  std::map<std::string, long> by_method;
  std::deque<json> log;

  // Persistence: a saver thread writes the state after mutations (coalescing bursts).
  std::mutex save_mu;
  std::condition_variable save_cv;
  bool dirty = false;
  bool saver_stop = false;
  std::thread saver;

  explicit Impl(Options o)
      : options(std::move(o)),
        emulator(EmulatorOptionsFor(options)),
        sagemaker_emulator(SageMakerOptionsFor(options)) {}

  static marathon::EmulatorOptions EmulatorOptionsFor(const Options& o) {
    marathon::EmulatorOptions e;
    e.deploy_ms = o.marathon_deploy_ms;
    e.basic_auth = o.marathon_basic_auth;
    e.token = o.marathon_token;
    return e;
  }

  static sagemaker::EmulatorOptions SageMakerOptionsFor(const Options& o) {
    sagemaker::EmulatorOptions e;
    e.delay_ms = o.sagemaker_delay_ms;
    e.failing_images = o.sagemaker_failing_images;
    e.access_key = o.sagemaker_access_key;
    e.secret_key = o.sagemaker_secret_key;
    e.region = o.sagemaker_region;
    return e;
  }

  static bool IsAdmin(const std::string& path) { return path.rfind("/_admin", 0) == 0; }

  // ----- faults -------------------------------------------------------------------------------

  httplib::Server::HandlerResponse ApplyFaults(const httplib::Request& req,
                                               httplib::Response& res) {
    if (IsAdmin(req.path)) return httplib::Server::HandlerResponse::Unhandled;
    std::string backend;
    std::string rel = req.path;
    for (const char* m : {kMarathonMount, kSageMakerMount}) {
      const std::string mount = m;
      if (req.path == mount || req.path.rfind(mount + "/", 0) == 0) {
        backend = mount.substr(1);
        rel = req.path.substr(mount.size());
      }
    }
    const std::string target = req.get_header_value("X-Amz-Target");
    std::optional<FaultRule> fire;
    {
      std::lock_guard<std::mutex> lock(fault_mu);
      for (FaultRule& r : faults) {
        if (r.count == 0) continue;
        if (r.backend != "*" && r.backend != backend) continue;
        if (r.method != "*" && r.method != req.method) continue;
        if (!r.path_regex.empty() && !std::regex_search(rel, r.regex)) continue;
        if (!r.target.empty() && r.target != target) continue;
        if (r.rate < 1.0) {
          std::uniform_real_distribution<double> dist(0.0, 1.0);
          if (dist(fault_rng) >= r.rate) continue;
        }
        if (r.count > 0) --r.count;
        ++r.fired;
        fire = r;
        break;
      }
    }
    if (!fire) return httplib::Server::HandlerResponse::Unhandled;
    if (fire->latency_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(fire->latency_ms));
    }
    if (fire->reset_connection) {
      // Counted now: the client sees the connection drop before the post-routing hook runs.
      Log(req.method, req.path, 0);
      res.set_header("X-Converge-Fault", "reset");
      if (ResetConnection(req)) {
        res.status = 500;
        return httplib::Server::HandlerResponse::Handled;
      }
      // Could not find the socket: fail the response mid-way instead (declared length unmet).
      res.status = 200;
      res.set_content_provider(1024, "application/json",
                               [](size_t, size_t, httplib::DataSink&) { return false; });
      return httplib::Server::HandlerResponse::Handled;
    }
    if (fire->status == 0) return httplib::Server::HandlerResponse::Unhandled;  // latency only
    res.status = fire->status;
    if (!fire->retry_after.empty()) res.set_header("Retry-After", fire->retry_after);
    std::string body = fire->body;
    if (body.empty() && backend == "sagemaker") {
      // An AWS error body: botocore reads the code from "__type".
      body = json{{"__type", fire->status >= 500 ? "InternalFailure" : "ThrottlingException"},
                  {"message", "converge sandbox: injected fault"}}
                 .dump();
    }
    if (body.empty()) body = json{{"message", "converge sandbox: injected fault"}}.dump();
    bool is_json = !json::parse(body, nullptr, false).is_discarded();
    if (backend == "sagemaker") {
      char request_id[40];
      std::snprintf(request_id, sizeof request_id, "%08x-0000-4000-8000-%012x",
                    static_cast<unsigned>(fire->id), static_cast<unsigned>(fire->fired));
      res.set_header("x-amzn-RequestId", request_id);
      res.set_content(body, is_json ? "application/x-amz-json-1.1" : "text/plain");
    } else {
      res.set_content(body, is_json ? "application/json" : "text/plain");
    }
    return httplib::Server::HandlerResponse::Handled;
  }

  // ----- request accounting -------------------------------------------------------------------

  void Record(const httplib::Request& req, const httplib::Response& res) {
    if (IsAdmin(req.path) || res.has_header("X-Converge-Fault")) return;  // resets: logged early
    Log(req.method, req.path, res.status);
  }

  void Log(const std::string& method, const std::string& path, int status) {
    std::lock_guard<std::mutex> lock(stats_mu);
    ++total;
    ++by_method[method];
    if (method != "GET" && method != "HEAD") ++writes;
    log.push_back({{"method", method}, {"path", path}, {"status", status}});
    while (log.size() > kLogSize) log.pop_front();
  }

  // ----- persistence --------------------------------------------------------------------------

  Status Load() {
    if (options.state_file.empty()) return Status::Ok();
    std::ifstream in(options.state_file, std::ios::binary);
    if (!in) {
      if (::access(options.state_file.c_str(), F_OK) != 0) return Status::Ok();  // first run
      return InvalidError("cannot read state file " + options.state_file);
    }
    std::stringstream buf;
    buf << in.rdbuf();
    if (buf.str().empty()) return Status::Ok();
    json state = json::parse(buf.str(), nullptr, false);
    if (state.is_discarded() || !state.is_object() || !state.contains("marathon")) {
      return InvalidError("state file " + options.state_file + " is not a sandbox state");
    }
    CONVERGE_RETURN_IF_ERROR(
        emulator.ImportState(state["marathon"]).Annotate("state file " + options.state_file));
    if (!state.contains("sagemaker")) return Status::Ok();  // written before SageMaker existed
    return sagemaker_emulator.ImportState(state["sagemaker"])
        .Annotate("state file " + options.state_file);
  }

  Status SaveNow() {
    if (options.state_file.empty()) return Status::Ok();
    std::string state =
        "{\"format\":\"converge-sandbox/1\",\"marathon\":" + emulator.SerializeState() +
        ",\"sagemaker\":" + sagemaker_emulator.ExportState().dump() + "}";
    return WriteFileAtomically(options.state_file, state);
  }

  void MarkDirty() {
    {
      std::lock_guard<std::mutex> lock(save_mu);
      dirty = true;
    }
    save_cv.notify_one();
  }

  void SaverLoop() {
    std::unique_lock<std::mutex> lock(save_mu);
    while (true) {
      save_cv.wait(lock, [this] { return dirty || saver_stop; });
      if (saver_stop) return;  // Stop() writes the final state
      dirty = false;
      lock.unlock();
      Status st = SaveNow();
      if (!st.ok()) std::cerr << "converge sandbox: " << st.ToString() << std::endl;
      lock.lock();
    }
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
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      return ApplyFaults(req, res);
    });
    // Runs before the response is written, so a client that got its answer sees it counted.
    http.set_post_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { Record(req, res); });
    emulator.Mount(http, kMarathonMount);
    sagemaker_emulator.Mount(http, kSageMakerMount);

    http.Post("/_admin/faults", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = ParseJsonBody(req, res);
      if (!body) return;
      FaultRule rule;
      if (auto err = ParseFault(*body, &rule)) {
        SetJson(res, 400, {{"message", *err}});
        return;
      }
      std::lock_guard<std::mutex> lock(fault_mu);
      rule.id = next_fault_id++;
      faults.push_back(rule);
      SetJson(res, 201, rule.ToJson());
    });
    http.Get("/_admin/faults", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(fault_mu);
      json list = json::array();
      for (const FaultRule& r : faults) list.push_back(r.ToJson());
      SetJson(res, 200, {{"faults", list}});
    });
    http.Delete("/_admin/faults", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(fault_mu);
      size_t n = faults.size();
      faults.clear();
      fault_rng.seed(kFaultSeed);
      SetJson(res, 200, {{"cleared", n}});
    });
    http.Post("/_admin/marathon/unhealthy-images",
              [this](const httplib::Request& req, httplib::Response& res) {
                auto body = ParseJsonBody(req, res);
                if (!body) return;
                std::vector<std::string> images;
                const json& list = body->value("images", json::array());
                if (!list.is_array()) {
                  SetJson(res, 400, {{"message", "images must be an array of strings"}});
                  return;
                }
                for (const json& i : list) {
                  if (!i.is_string()) {
                    SetJson(res, 400, {{"message", "images must be an array of strings"}});
                    return;
                  }
                  images.push_back(i.get<std::string>());
                }
                emulator.SetUnhealthyImages(images);
                SetJson(res, 200, {{"images", emulator.UnhealthyImages()}});
              });
    http.Get("/_admin/marathon/unhealthy-images",
             [this](const httplib::Request&, httplib::Response& res) {
               SetJson(res, 200, {{"images", emulator.UnhealthyImages()}});
             });
    http.Post("/_admin/marathon/deploy-ms",
              [this](const httplib::Request& req, httplib::Response& res) {
                auto body = ParseJsonBody(req, res);
                if (!body) return;
                auto ms = body->find("ms");
                if (ms == body->end() || !ms->is_number_integer() || ms->get<long long>() < 0) {
                  SetJson(res, 400, {{"message", "ms must be a non-negative integer"}});
                  return;
                }
                emulator.SetDeployMs(ms->get<int>());
                SetJson(res, 200, {{"ms", ms->get<int>()}});
              });
    http.Get("/_admin/requests", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(stats_mu);
      json methods = json::object();
      for (const auto& [m, n] : by_method) methods[m] = n;
      SetJson(res, 200,
              {{"total", total},
               {"by_method", methods},
               {"writes", writes},
               {"log", json(std::vector<json>(log.begin(), log.end()))}});
    });
    http.Delete("/_admin/requests", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(stats_mu);
      total = writes = 0;
      by_method.clear();
      log.clear();
      SetJson(res, 200, {{"total", 0}});
    });
    http.Post("/_admin/sagemaker/failing-images",
              [this](const httplib::Request& req, httplib::Response& res) {
                auto body = ParseJsonBody(req, res);
                if (!body) return;
                auto images = StringList(*body, "images");
                if (!images) {
                  SetJson(res, 400, {{"message", "images must be an array of strings"}});
                  return;
                }
                sagemaker_emulator.SetFailingImages(*images);
                SetJson(res, 200, {{"images", sagemaker_emulator.FailingImages()}});
              });
    http.Get("/_admin/sagemaker/failing-images",
             [this](const httplib::Request&, httplib::Response& res) {
               SetJson(res, 200, {{"images", sagemaker_emulator.FailingImages()}});
             });
    http.Post("/_admin/sagemaker/delay-ms",
              [this](const httplib::Request& req, httplib::Response& res) {
                auto body = ParseJsonBody(req, res);
                if (!body) return;
                auto ms = body->find("ms");
                if (ms == body->end() || !ms->is_number_integer() || ms->get<long long>() < 0 ||
                    ms->get<long long>() > 86400000) {
                  SetJson(res, 400, {{"message", "ms must be an integer within 0..86400000"}});
                  return;
                }
                sagemaker_emulator.SetDelayMs(ms->get<int>());
                SetJson(res, 200, {{"ms", sagemaker_emulator.DelayMs()}});
              });
    http.Get("/_admin/sagemaker/delay-ms", [this](const httplib::Request&, httplib::Response& res) {
      SetJson(res, 200, {{"ms", sagemaker_emulator.DelayMs()}});
    });
    http.Get("/_admin/sagemaker/requests", [this](const httplib::Request&, httplib::Response& res) {
      SetJson(res, 200, {{"requests", sagemaker_emulator.Requests()}});
    });
    http.Delete("/_admin/sagemaker/requests",
                [this](const httplib::Request&, httplib::Response& res) {
                  sagemaker_emulator.ClearRequests();
                  SetJson(res, 200, {{"requests", json::array()}});
                });
    http.Post("/_admin/reset", [this](const httplib::Request&, httplib::Response& res) {
      emulator.Reset();
      sagemaker_emulator.Reset();
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
    s.emulator.SetMutationObserver([impl = impl_.get()] { impl->MarkDirty(); });
    s.sagemaker_emulator.SetMutationObserver([impl = impl_.get()] { impl->MarkDirty(); });
    s.saver = std::thread([impl = impl_.get()] { impl->SaverLoop(); });
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
  if (s.saver.joinable()) {
    {
      std::lock_guard<std::mutex> lock(s.save_mu);
      s.saver_stop = true;
    }
    s.save_cv.notify_one();
    s.saver.join();
  }
  s.emulator.SetMutationObserver(nullptr);
  s.sagemaker_emulator.SetMutationObserver(nullptr);
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

marathon::Emulator& Server::marathon() {
  return impl_->emulator;
}

sagemaker::Emulator& Server::sagemaker() {
  return impl_->sagemaker_emulator;
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

int Run(const Options& options) {
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
    Server server(options);
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
