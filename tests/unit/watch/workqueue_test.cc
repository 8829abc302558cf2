#include "controller/watch/workqueue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace converge::watch {
namespace {

using namespace std::chrono_literals;

TEST(ExponentialBackoffTest, DoublesFromTheBaseAndIsCapped) {
  ExponentialBackoff b(5ms, 1000s);
  EXPECT_EQ(b.When("a"), 5ms);
  EXPECT_EQ(b.When("a"), 10ms);
  EXPECT_EQ(b.When("a"), 20ms);
  EXPECT_EQ(b.Failures("a"), 3);
  EXPECT_EQ(b.When("b"), 5ms);  // per key
  for (int i = 0; i < 100; ++i) b.When("a");
  EXPECT_EQ(b.When("a"), std::chrono::milliseconds(1000s));
  b.Forget("a");
  EXPECT_EQ(b.Failures("a"), 0);
  EXPECT_EQ(b.When("a"), 5ms);
}

TEST(WorkQueueTest, DeduplicatesReadyKeys) {
  WorkQueue q;
  q.Add("a");
  q.Add("b");
  q.Add("a");
  EXPECT_EQ(q.Len(), 2u);
  auto batch = q.GetBatch(10);
  EXPECT_EQ(batch, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(q.InFlight(), 2u);
  q.Done(batch);
  EXPECT_TRUE(q.Idle());
}

TEST(WorkQueueTest, AKeyInFlightIsNotHandedOutAgainButRequeuedByDone) {
  WorkQueue q;
  q.Add("a");
  auto first = q.GetBatch(10);
  ASSERT_EQ(first, std::vector<std::string>{"a"});
  q.Add("a");  // an event while a worker has it
  q.Add("b");
  auto second = q.GetBatch(10);
  EXPECT_EQ(second, std::vector<std::string>{"b"});  // never "a" twice at once
  q.Done(first);
  EXPECT_EQ(q.Len(), 1u);  // the event was not lost
  auto third = q.GetBatch(10);
  EXPECT_EQ(third, std::vector<std::string>{"a"});
  q.Done(second);
  q.Done(third);
  EXPECT_TRUE(q.Idle());
}

TEST(WorkQueueTest, BatchesAreBounded) {
  WorkQueue q;
  for (int i = 0; i < 5; ++i) q.Add("k" + std::to_string(i));
  EXPECT_EQ(q.GetBatch(2).size(), 2u);
  EXPECT_EQ(q.GetBatch(0).size(), 3u);  // 0 = everything ready
}

TEST(WorkQueueTest, RateLimitedKeysComeBackAfterTheirBackoff) {
  WorkQueue q(5ms, 1000s);
  auto d1 = q.AddRateLimited("a");
  EXPECT_EQ(d1, 5ms);
  EXPECT_EQ(q.Len(), 0u);
  EXPECT_EQ(q.Delayed(), 1u);
  auto start = std::chrono::steady_clock::now();
  auto batch = q.GetBatch(10);  // blocks until the delay passed
  EXPECT_GE(std::chrono::steady_clock::now() - start, 4ms);
  EXPECT_EQ(batch, std::vector<std::string>{"a"});
  q.Done(batch);
  EXPECT_EQ(q.AddRateLimited("a"), 10ms);
  q.Forget("a");
  EXPECT_EQ(q.Failures("a"), 0);
}

TEST(WorkQueueTest, AddMakesADelayedKeyReadyAtOnce) {
  WorkQueue q;
  q.AddAfter("a", 1h);
  q.Add("a");
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_EQ(q.Delayed(), 0u);
}

TEST(WorkQueueTest, AddAllLandsInOneBatch) {
  WorkQueue q;
  q.Add("b");
  (void)q.GetBatch(0);  // "b" in flight: adding it again marks it dirty, not ready
  q.AddAll({"Model/m", "EndpointConfig/c", "Endpoint/e", "Model/m", "b"});
  auto batch = q.GetBatch(0);
  EXPECT_EQ(batch, (std::vector<std::string>{"Model/m", "EndpointConfig/c", "Endpoint/e"}));
  q.Done(batch);
  q.Done({"b"});
  EXPECT_EQ(q.GetBatch(0), std::vector<std::string>{"b"});
}

TEST(WorkQueueTest, ShutDownWakesWorkersAndStopsTakingWork) {
  WorkQueue q;
  std::atomic<bool> returned{false};
  std::thread worker([&] {
    auto b = q.GetBatch(1);
    EXPECT_TRUE(b.empty());
    returned = true;
  });
  q.ShutDown();
  worker.join();
  EXPECT_TRUE(returned);
  q.Add("a");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, ConcurrentWorkersNeverShareAKey) {
  WorkQueue q;
  std::mutex mu;
  std::set<std::string> busy;
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (true) {
        auto batch = q.GetBatch(3);
        if (batch.empty()) return;
        {
          std::lock_guard<std::mutex> l(mu);
          for (auto& k : batch)
            if (!busy.insert(k).second) overlap = true;
        }
        std::this_thread::sleep_for(100us);
        {
          std::lock_guard<std::mutex> l(mu);
          for (auto& k : batch) busy.erase(k);
        }
        processed += static_cast<int>(batch.size());
        q.Done(batch);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) q.Add("k" + std::to_string(i % 7));
  while (!q.Idle()) std::this_thread::sleep_for(1ms);
  q.ShutDown();
  for (auto& t : workers) t.join();
  EXPECT_FALSE(overlap);
  EXPECT_GT(processed.load(), 0);
}

TEST(TokenBucketTest, BurstThenRate) {
  TokenBucket b(10, 3);  // 10/s, burst 3
  auto t = std::chrono::steady_clock::now();
  EXPECT_EQ(b.Reserve(t).count(), 0);
  EXPECT_EQ(b.Reserve(t).count(), 0);
  EXPECT_EQ(b.Reserve(t).count(), 0);
  EXPECT_NEAR(b.Reserve(t).count(), 100000, 1000);  // the 4th waits 1/rate
  EXPECT_NEAR(b.Reserve(t).count(), 200000, 1000);  // and the 5th behind it
  // After a second the bucket has refilled (up to the burst, minus the debt).
  auto later = t + std::chrono::seconds(1);
  EXPECT_EQ(b.Reserve(later).count(), 0);
}

TEST(TokenBucketTest, ZeroRateIsUnlimited) {
  TokenBucket b(0, 1);
  auto t = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b.Reserve(t).count(), 0);
}

}  // namespace
}  // namespace converge::watch
