#include "controller/watch/workqueue.h"

#include <algorithm>
#include <thread>

namespace converge::watch {

std::chrono::milliseconds ExponentialBackoff::When(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  int n = failures_[key]++;
  // base * 2^n without overflow: stop doubling once past the cap.
  double delay = static_cast<double>(base_.count());
  for (int i = 0; i < n && delay < cap_.count(); ++i) delay *= 2;
  return std::chrono::milliseconds(
      static_cast<long long>(std::min<double>(delay, static_cast<double>(cap_.count()))));
}

void ExponentialBackoff::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

int ExponentialBackoff::Failures(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::AddLocked(const std::string& key) {
  if (shutdown_) return;
  if (in_flight_.count(key)) {
    dirty_in_flight_.insert(key);
    return;
  }
  if (ready_set_.insert(key).second) ready_.push_back(key);
  delayed_.erase(key);  // ready now: any pending delay is moot
}

void WorkQueue::Add(const std::string& key) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    AddLocked(key);
  }
  cv_.notify_one();
}

void WorkQueue::AddAll(const std::vector<std::string>& keys) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& k : keys) AddLocked(k);
  }
  cv_.notify_all();
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::milliseconds delay) {
  if (delay.count() <= 0) return Add(key);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_ || ready_set_.count(key)) return;
    auto when = Clock::now() + delay;
    auto it = delayed_.find(key);
    if (it == delayed_.end() || when < it->second) delayed_[key] = when;  // keep the earliest
  }
  cv_.notify_all();  // a sleeping worker may need an earlier wake-up
}

std::chrono::milliseconds WorkQueue::AddRateLimited(const std::string& key) {
  auto delay = backoff_.When(key);
  AddAfter(key, delay);
  return delay;
}

void WorkQueue::PromoteDueLocked(Clock::time_point now) {
  for (auto it = delayed_.begin(); it != delayed_.end();) {
    if (it->second <= now) {
      std::string key = it->first;
      it = delayed_.erase(it);
      if (in_flight_.count(key)) {
        dirty_in_flight_.insert(key);
      } else if (ready_set_.insert(key).second) {
        ready_.push_back(key);
      }
    } else {
      ++it;
    }
  }
}

std::vector<std::string> WorkQueue::GetBatch(size_t max) {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (shutdown_) return {};
    PromoteDueLocked(Clock::now());
    if (!ready_.empty()) break;
    if (delayed_.empty()) {
      cv_.wait(lock);
    } else {
      auto next = std::min_element(delayed_.begin(), delayed_.end(), [](auto& a, auto& b) {
                    return a.second < b.second;
                  })->second;
      cv_.wait_until(lock, next);
    }
  }
  size_t n = std::min(max == 0 ? ready_.size() : max, ready_.size());
  std::vector<std::string> out(ready_.begin(), ready_.begin() + n);
  ready_.erase(ready_.begin(), ready_.begin() + n);
  for (const auto& k : out) {
    ready_set_.erase(k);
    in_flight_.insert(k);
  }
  if (!ready_.empty()) cv_.notify_one();  // more work for another worker
  return out;
}

void WorkQueue::Done(const std::vector<std::string>& keys) {
  bool requeued = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& k : keys) {
      in_flight_.erase(k);
      if (dirty_in_flight_.erase(k) && !shutdown_) {
        if (ready_set_.insert(k).second) ready_.push_back(k);
        requeued = true;
      }
    }
  }
  if (requeued) cv_.notify_one();
}

void WorkQueue::ShutDown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutdown_;
}

size_t WorkQueue::Len() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ready_.size();
}

size_t WorkQueue::Delayed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return delayed_.size();
}

size_t WorkQueue::InFlight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_flight_.size();
}

bool WorkQueue::Idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ready_.empty() && delayed_.empty() && in_flight_.empty();
}

TokenBucket::TokenBucket(double rate_per_second, double burst)
    : rate_(rate_per_second),
      burst_(std::max(1.0, burst)),
      tokens_(std::max(1.0, burst)),
      last_(std::chrono::steady_clock::now()) {}

std::chrono::microseconds TokenBucket::Reserve(std::chrono::steady_clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (rate_ <= 0) return std::chrono::microseconds(0);
  if (now > last_) {
    tokens_ =
        std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
    last_ = now;
  }
  tokens_ -= 1;  // may go negative: later callers queue behind this reservation
  if (tokens_ >= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(static_cast<long long>(-tokens_ / rate_ * 1e6));
}

std::chrono::microseconds TokenBucket::Acquire() {
  auto wait = Reserve(std::chrono::steady_clock::now());
  if (wait.count() > 0) std::this_thread::sleep_for(wait);
  return wait;
}

}  // namespace converge::watch
