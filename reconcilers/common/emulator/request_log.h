// The sandbox's request counters and log (GET /_admin/requests): totals by method, writes, and the
// last `capacity` requests with the status answered (0 = the connection was dropped by a fault).
// Thread-safe.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace converge::emulator {

class RequestLog {
 public:
  explicit RequestLog(size_t capacity = 1000) : capacity_(capacity) {}

  void Record(const std::string& method, const std::string& path, int status);
  // {"total": N, "by_method": {"GET": N, ...}, "writes": N, "log": [{"method", "path", "status"}]}
  nlohmann::json Json() const;
  void Clear();

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  long total_ = 0;
  long writes_ = 0;
  std::map<std::string, long> by_method_;
  std::deque<nlohmann::json> log_;
};

}  // namespace converge::emulator
