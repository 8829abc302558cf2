// Time behind an interface so retry, backoff and health waits are tested without sleeping.
#pragma once

#include <chrono>
#include <string>

namespace converge {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  virtual std::chrono::system_clock::time_point WallNow() const = 0;
  virtual void SleepFor(std::chrono::milliseconds d) = 0;
};

// The real clock.
Clock& SystemClock();

// ISO-8601 UTC with milliseconds, e.g. 2026-11-23T09:26:00.123Z.
std::string FormatIsoTime(std::chrono::system_clock::time_point t);

}  // namespace converge
