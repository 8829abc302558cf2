// The one fake Clock every unit test uses: time stands still until a test advances it, and
// SleepFor advances it at once (nothing ever really sleeps) and records the sleep, so retry,
// backoff and health-wait code is tested by the delays it asked for. Thread-safe: the executor's
// workers sleep on it concurrently. An optional hook runs after every sleep, outside the lock
// (e.g. to raise a cancel flag in the middle of a health wait).
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <vector>

#include "specs/base/clock.h"

namespace converge::test {

class FakeClock : public Clock {
 public:
  // A fixed wall time keeps HTTP dates and signatures deterministic: 2026-01-01T00:00:00Z.
  static std::chrono::system_clock::time_point DefaultWall() {
    return std::chrono::sys_days{std::chrono::year{2026} / 1 / 1};
  }

  explicit FakeClock(std::chrono::system_clock::time_point wall = DefaultWall(),
                     std::chrono::steady_clock::time_point steady = {})
      : steady_(steady), wall_(wall) {}

  std::chrono::steady_clock::time_point Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return steady_;
  }
  std::chrono::system_clock::time_point WallNow() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return wall_;
  }
  void SleepFor(std::chrono::milliseconds d) override {
    std::function<void(std::chrono::milliseconds)> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sleeps_.push_back(d);
      steady_ += d;
      wall_ += d;
      hook = on_sleep_;
    }
    if (hook) hook(d);
  }

  // Moves time forward without recording a sleep (time passing in the world, not in the code).
  void Advance(std::chrono::milliseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    steady_ += d;
    wall_ += d;
  }

  // Every SleepFor so far, in order.
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }
  std::chrono::milliseconds slept() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::chrono::milliseconds total{0};
    for (auto d : sleeps_) total += d;
    return total;
  }

  // Called after each SleepFor with its duration (set before the clock is shared).
  void OnSleep(std::function<void(std::chrono::milliseconds)> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    on_sleep_ = std::move(hook);
  }

 private:
  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point steady_;
  std::chrono::system_clock::time_point wall_;
  std::vector<std::chrono::milliseconds> sleeps_;
  std::function<void(std::chrono::milliseconds)> on_sleep_;
};

}  // namespace converge::test
