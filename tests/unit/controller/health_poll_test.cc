// The health-poll schedule of the executor (controller/health_poll.h).
#include "controller/health_poll.h"

#include <gtest/gtest.h>

namespace converge {
namespace {

using std::chrono::milliseconds;

TEST(HealthPollTest, WithoutAnEstimatePollsEveryInterval) {
  EXPECT_EQ(NextPollDelay(milliseconds(500), std::nullopt, milliseconds(0)), milliseconds(500));
  EXPECT_EQ(NextPollDelay(milliseconds(500), std::nullopt, milliseconds(4000)), milliseconds(500));
  // A zero estimate (the first poll was already healthy) says nothing about the next change.
  EXPECT_EQ(NextPollDelay(milliseconds(500), milliseconds(0), milliseconds(0)), milliseconds(500));
}

TEST(HealthPollTest, PollsWhenTheEstimateIsReachedThenFinely) {
  const milliseconds interval(500), estimate(1000);
  // Never later than the interval, and no poll after the estimate is reached is skipped.
  EXPECT_EQ(NextPollDelay(interval, estimate, milliseconds(0)), milliseconds(500));
  EXPECT_EQ(NextPollDelay(interval, estimate, milliseconds(700)), milliseconds(300));
  // Past it: interval / 5 until 1.5 × the estimate and at least two intervals past it (2 s here).
  EXPECT_EQ(NextPollDelay(interval, estimate, milliseconds(1000)), milliseconds(100));
  EXPECT_EQ(NextPollDelay(interval, estimate, milliseconds(1900)), milliseconds(100));
  EXPECT_EQ(NextPollDelay(interval, estimate, milliseconds(2000)), milliseconds(500));
  // A long estimate: the fine window is half of it.
  EXPECT_EQ(NextPollDelay(interval, milliseconds(60000), milliseconds(80000)), milliseconds(100));
  EXPECT_EQ(NextPollDelay(interval, milliseconds(60000), milliseconds(90000)), milliseconds(500));
  // A short interval keeps a fine interval of at least 20 ms.
  EXPECT_EQ(NextPollDelay(milliseconds(50), milliseconds(300), milliseconds(300)), milliseconds(20));
}

TEST(HealthPollTest, EstimateIsTheMedianOfTheLastSixteenPerGroup) {
  HealthDurations d;
  EXPECT_FALSE(d.Estimate("mp/App"));
  d.Record("mp/App", milliseconds(1000));
  d.Record("mp/App", milliseconds(900));
  d.Record("mp/App", milliseconds(30000));  // one slow change does not move the median far
  EXPECT_EQ(d.Estimate("mp/App"), milliseconds(1000));
  EXPECT_FALSE(d.Estimate("mp/Endpoint"));
  for (int i = 0; i < 16; ++i) d.Record("mp/App", milliseconds(200));
  EXPECT_EQ(d.Estimate("mp/App"), milliseconds(200));  // the old samples are gone
}

}  // namespace
}  // namespace converge
