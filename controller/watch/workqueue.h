// The work queue of `converge watch`, modelled on controller-runtime's (client-go workqueue):
//
//  * keyed and deduplicated: adding a key that is already waiting is a no-op;
//  * a key being processed is never handed out again until Done(); adding it meanwhile marks it
//    dirty and it is queued again by Done() (so no event is lost and no key runs twice at once);
//  * AddAfter / AddRateLimited delay a key; the per-key delay grows exponentially with the
//    number of consecutive failures (ExponentialBackoff), Forget() resets it after a success;
//  * ShutDown() stops handing out work; keys in flight are finished by their workers.
//
// Workers take a batch (every key ready at that moment, up to a maximum) so a commit touching
// many resources is planned once and applied in wave/dependency order by the executor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace converge::watch {

// Per-key exponential backoff: base * 2^failures, capped (controller-runtime's
// ItemExponentialFailureRateLimiter: 5 ms base, 1000 s cap). Thread-safe.
class ExponentialBackoff {
 public:
  explicit ExponentialBackoff(std::chrono::milliseconds base = std::chrono::milliseconds(5),
                              std::chrono::milliseconds cap = std::chrono::seconds(1000))
      : base_(base), cap_(cap) {}

  // The delay before the next retry of `key`; counts one more failure.
  std::chrono::milliseconds When(const std::string& key);
  void Forget(const std::string& key);
  int Failures(const std::string& key) const;

 private:
  std::chrono::milliseconds base_, cap_;
  mutable std::mutex mu_;
  std::map<std::string, int> failures_;
};

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WorkQueue(std::chrono::milliseconds base = std::chrono::milliseconds(5),
                     std::chrono::milliseconds cap = std::chrono::seconds(1000))
      : backoff_(base, cap) {}

  void Add(const std::string& key);
  // Adds several keys at once, so a worker that takes a batch sees all of them together
  // (specs that depend on each other are then planned in one dependency-ordered batch).
  void AddAll(const std::vector<std::string>& keys);
  void AddAfter(const std::string& key, std::chrono::milliseconds delay);
  // Re-queues after the key's backoff delay (one more failure counted); returns the delay.
  std::chrono::milliseconds AddRateLimited(const std::string& key);
  void Forget(const std::string& key) { backoff_.Forget(key); }
  int Failures(const std::string& key) const { return backoff_.Failures(key); }

  // Blocks until at least one key is ready (or shutdown) and returns up to `max` ready keys,
  // now in flight. An empty result means the queue was shut down.
  std::vector<std::string> GetBatch(size_t max);
  // Marks keys as processed; a key added while in flight is queued again.
  void Done(const std::vector<std::string>& keys);

  void ShutDown();
  bool ShuttingDown() const;

  size_t Len() const;       // ready keys
  size_t Delayed() const;   // keys waiting for their delay
  size_t InFlight() const;  // keys being processed
  // True when nothing is ready, delayed or in flight.
  bool Idle() const;

 private:
  void PromoteDueLocked(Clock::time_point now);
  void AddLocked(const std::string& key);

  ExponentialBackoff backoff_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> ready_;   // FIFO of ready keys
  std::set<std::string> ready_set_;  // dedup of ready_
  std::set<std::string> in_flight_;
  std::set<std::string> dirty_in_flight_;             // added while in flight
  std::map<std::string, Clock::time_point> delayed_;  // key -> when it becomes ready
  bool shutdown_ = false;
};

// A token bucket (requests per second with a burst), one per backend: Acquire() blocks until
// a token is available. rate <= 0 means unlimited. Thread-safe.
class TokenBucket {
 public:
  TokenBucket(double rate_per_second, double burst);
  // Waits for a token; returns how long it waited.
  std::chrono::microseconds Acquire();
  // For tests: the wait a request arriving at `now` would need (and takes the token).
  std::chrono::microseconds Reserve(std::chrono::steady_clock::time_point now);

 private:
  double rate_, burst_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
  std::mutex mu_;
};

}  // namespace converge::watch
