#include "controller/watch/debouncer.h"

#include <gtest/gtest.h>

namespace converge::watch {
namespace {

using namespace std::chrono_literals;

TEST(DebouncerTest, FiresAfterTheQuietPeriod) {
  Debouncer d(100ms, 1000ms);
  auto t0 = std::chrono::steady_clock::time_point() + 1h;
  EXPECT_FALSE(d.Pending());
  EXPECT_FALSE(d.Deadline().has_value());
  d.Add("a.yaml", t0);
  d.Add("b.yaml", t0 + 50ms);
  d.Add("a.yaml", t0 + 90ms);
  EXPECT_FALSE(d.Due(t0 + 150ms));  // quiet period restarted at +90ms
  EXPECT_TRUE(d.Due(t0 + 190ms));
  auto items = d.Take();
  EXPECT_EQ(items, (std::set<std::string>{"a.yaml", "b.yaml"}));
  EXPECT_FALSE(d.Pending());
}

TEST(DebouncerTest, AContinuousStreamStillFiresAtMaxWait) {
  Debouncer d(100ms, 500ms);
  auto t0 = std::chrono::steady_clock::time_point() + 1h;
  for (int i = 0; i < 10; ++i) d.Add("hot.yaml", t0 + i * 60ms);  // never quiet for 100ms
  EXPECT_TRUE(d.Due(t0 + 500ms));
  EXPECT_EQ(*d.Deadline(), t0 + 500ms);
}

TEST(DebouncerTest, HoldUntilPostponesADueBurstPastTheCap) {
  Debouncer d(100ms, 500ms);
  auto t0 = std::chrono::steady_clock::time_point() + 1h;
  d.Add("a.yaml", t0);
  ASSERT_TRUE(d.Due(t0 + 600ms));
  d.HoldUntil(t0 + 650ms);  // git is rewriting the tree
  EXPECT_FALSE(d.Due(t0 + 640ms));
  EXPECT_TRUE(d.Due(t0 + 650ms));
  EXPECT_EQ(d.Take(), std::set<std::string>{"a.yaml"});
  d.HoldUntil(t0 + 10s);  // nothing pending: no effect
  EXPECT_FALSE(d.Pending());
}

TEST(DebouncerTest, ANewBurstStartsAfterTake) {
  Debouncer d(100ms, 500ms);
  auto t0 = std::chrono::steady_clock::time_point() + 1h;
  d.Add("a", t0);
  d.Take();
  d.Add("b", t0 + 2s);
  EXPECT_EQ(*d.Deadline(), t0 + 2s + 100ms);
}

}  // namespace
}  // namespace converge::watch
