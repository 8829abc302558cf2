#include "specs/base/clock.h"

#include <ctime>
#include <thread>

namespace converge {
namespace {

class RealClock : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point WallNow() const override {
    return std::chrono::system_clock::now();
  }
  void SleepFor(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }
  bool SleepUnless(std::chrono::milliseconds d, const Cancellation* cancel) override {
    if (cancel == nullptr) {
      SleepFor(d);
      return true;
    }
    return !cancel->WaitFor(d);
  }
};

}  // namespace

void Cancellation::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
}

bool Cancellation::WaitFor(std::chrono::milliseconds d) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, d, [this] { return cancelled_.load(); });
}

Clock& SystemClock() {
  static RealClock clock;
  return clock;
}

std::string FormatIsoTime(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace converge
