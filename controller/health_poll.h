// When a health wait polls next. A fixed interval makes every change wait for the next tick after
// it became healthy: with 1 s deployments and 500 ms polls, a change is seen healthy at 1.0 or
// 1.5 s, and a parallel apply pays that lag on every change. The changes of one apply on one
// backend and kind mostly take about as long as each other, so the executor learns how long they
// take and polls around that time instead. What it promises:
//  * Without an estimate (the first changes of an apply), polls every `interval`.
//  * With one: the first poll comes when the estimate is reached (never later than `interval`
//    from the previous poll), then a fine interval (interval / 5, at least 20 ms) until
//    1.5 × the estimate (and at least two `interval`s past it), then `interval` again — so a
//    change that takes much longer than its peers costs a few extra polls, never a storm.
//  * The estimate is the median of the last 16 completed waits' lower bounds (the time of the
//    last poll that was not yet healthy), so the lag of the polls that measured it does not feed
//    back into it. Thread-safe: apply workers share one HealthDurations.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace converge {

using Millis = std::chrono::milliseconds;

// The pause before the next poll of a wait that started `elapsed` ago.
Millis NextPollDelay(Millis interval, std::optional<Millis> estimate, Millis elapsed);

class HealthDurations {
 public:
  // `group`: the backend and kind ("marathon-prod/App").
  std::optional<Millis> Estimate(const std::string& group) const;
  // A wait of `group` became healthy; `lower_bound` is when it was last seen not healthy
  // (0 when the first poll was already healthy).
  void Record(const std::string& group, Millis lower_bound);

 private:
  static constexpr size_t kKeep = 16;
  mutable std::mutex mu_;
  std::map<std::string, std::deque<Millis>> samples_;
};

}  // namespace converge
