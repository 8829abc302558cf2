// Time behind an interface so retry, backoff and health waits are tested without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

namespace converge {

// A one-way "stop now" signal shared by the waits of a process (`converge watch` fires it when
// its shutdown timeout passes). Every wait that may be long goes through Clock::SleepUnless with
// one, so SIGTERM cuts any wait short.
class Cancellation {
 public:
  void Cancel();
  bool cancelled() const { return cancelled_.load(); }
  // Blocks up to `d` or until Cancel(); true when cancelled.
  bool WaitFor(std::chrono::milliseconds d) const;

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  virtual std::chrono::system_clock::time_point WallNow() const = 0;
  virtual void SleepFor(std::chrono::milliseconds d) = 0;
  // Sleeps `d`, or less when `cancel` (may be null) fires first. Returns false when cancelled.
  // The default sleeps with SleepFor (fake clocks: instantly) and then looks at the flag; the
  // real clock wakes at once.
  virtual bool SleepUnless(std::chrono::milliseconds d, const Cancellation* cancel) {
    if (cancel != nullptr && cancel->cancelled()) return false;
    SleepFor(d);
    return cancel == nullptr || !cancel->cancelled();
  }
};

// The real clock.
Clock& SystemClock();

// ISO-8601 UTC with milliseconds, e.g. 2026-11-23T09:26:00.123Z.
std::string FormatIsoTime(std::chrono::system_clock::time_point t);

}  // namespace converge
