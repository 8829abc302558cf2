#include "controller/watch/log.h"

#include <nlohmann/json.hpp>

#include "specs/base/clock.h"

namespace converge::watch {

void Logger::Log(const char* level, const std::string& msg, const Fields& fields) {
  std::string line;
  const std::string ts = FormatIsoTime(SystemClock().WallNow());
  if (format_ == Format::kJson) {
    nlohmann::json j;
    j["ts"] = ts;
    j["level"] = level;
    j["msg"] = msg;
    for (const auto& [k, v] : fields) j[k] = v;
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    std::string upper(level);
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    line = ts + " " + upper + " " + msg;
    for (const auto& [k, v] : fields) {
      bool quote = v.empty() || v.find_first_of(" \"=\t") != std::string::npos;
      line +=
          " " + k + "=" +
          (quote ? nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                 : v);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

namespace {

struct StreamCookie {
  Logger* logger;
  std::string component;
  std::string partial;
};

ssize_t StreamWrite(void* c, const char* buf, size_t size) {
  auto* cookie = static_cast<StreamCookie*>(c);
  cookie->partial.append(buf, size);
  size_t nl;
  while ((nl = cookie->partial.find('\n')) != std::string::npos) {
    std::string line = cookie->partial.substr(0, nl);
    cookie->partial.erase(0, nl + 1);
    if (!line.empty()) cookie->logger->Info(line, {{"component", cookie->component}});
  }
  return static_cast<ssize_t>(size);
}

int StreamClose(void* c) {
  delete static_cast<StreamCookie*>(c);
  return 0;
}

}  // namespace

FILE* Logger::Stream(const std::string& component) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(component);
  if (it != streams_.end()) return it->second;
  cookie_io_functions_t io{nullptr, StreamWrite, nullptr, StreamClose};
  FILE* f = fopencookie(new StreamCookie{this, component, ""}, "w", io);
  if (f) setvbuf(f, nullptr, _IOLBF, 0);
  streams_[component] = f ? f : out_;
  return streams_[component];
}

Logger::~Logger() {
  for (auto& [_, f] : streams_)
    if (f != out_) std::fclose(f);
}

}  // namespace converge::watch
