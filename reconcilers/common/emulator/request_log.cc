#include "reconcilers/common/emulator/request_log.h"

#include <vector>

namespace converge::emulator {

using json = nlohmann::json;

void RequestLog::Record(const std::string& method, const std::string& path, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++total_;
  ++by_method_[method];
  if (method != "GET" && method != "HEAD") ++writes_;
  log_.push_back({{"method", method}, {"path", path}, {"status", status}});
  while (log_.size() > capacity_) log_.pop_front();
}

json RequestLog::Json() const {
  std::lock_guard<std::mutex> lock(mu_);
  json methods = json::object();
  for (const auto& [m, n] : by_method_) methods[m] = n;
  return {{"total", total_},
          {"by_method", methods},
          {"writes", writes_},
          {"log", json(std::vector<json>(log_.begin(), log_.end()))}};
}

void RequestLog::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  total_ = writes_ = 0;
  by_method_.clear();
  log_.clear();
}

}  // namespace converge::emulator
