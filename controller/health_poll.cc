#include "controller/health_poll.h"

#include <algorithm>
#include <vector>

namespace converge {

Millis NextPollDelay(Millis interval, std::optional<Millis> estimate, Millis elapsed) {
  if (!estimate || estimate->count() <= 0) return interval;
  const Millis fine = std::max(Millis(20), interval / 5);
  if (elapsed < *estimate) return std::min(interval, *estimate - elapsed);
  const Millis fine_until = std::max(*estimate + *estimate / 2, *estimate + 2 * interval);
  return elapsed < fine_until ? fine : interval;
}

std::optional<Millis> HealthDurations::Estimate(const std::string& group) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = samples_.find(group);
  if (it == samples_.end() || it->second.empty()) return std::nullopt;
  std::vector<Millis> v(it->second.begin(), it->second.end());
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

void HealthDurations::Record(const std::string& group, Millis lower_bound) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& d = samples_[group];
  d.push_back(lower_bound);
  if (d.size() > kKeep) d.pop_front();
}

}  // namespace converge
