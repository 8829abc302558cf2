// Sizes and durations as policies write them; counts, sizes and durations as plans show them.
#include "reconcilers/iceberg/units.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace converge::iceberg {
namespace {

using ::testing::HasSubstr;

TEST(UnitsTest, Sizes) {
  EXPECT_EQ(*ParseSize(json(1024)), 1024);
  EXPECT_EQ(*ParseSize(json("512MiB")), 512LL << 20);
  EXPECT_EQ(*ParseSize(json("10GiB")), 10LL << 30);
  EXPECT_EQ(*ParseSize(json("1.5TB")), 1500000000000LL);
  EXPECT_EQ(*ParseSize(json("1.5KiB")), 1536);
  EXPECT_EQ(*ParseSize(json("64 MB")), 64000000);
  EXPECT_EQ(*ParseSize(json("7B")), 7);
  for (const char* bad : {"", "MiB", "10", "10mib", "10 GiB ", "1.GiB", ".5GiB", "0.3B", "-1MiB",
                          "10XB", "9999999PiB"}) {
    auto r = ParseSize(json(bad));
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_FALSE(ParseSize(json(-1)).ok());
  EXPECT_FALSE(ParseSize(json(1.5)).ok());
  EXPECT_FALSE(ParseSize(json(true)).ok());
  EXPECT_THAT(ParseSize(json("10mib")).status().message(), HasSubstr("512MiB"));
}

TEST(UnitsTest, Durations) {
  EXPECT_EQ(*ParseDurationMs("10m"), 600000);
  EXPECT_EQ(*ParseDurationMs("24h"), 86400000);
  EXPECT_EQ(*ParseDurationMs("5d"), 5 * 86400000LL);
  EXPECT_EQ(*ParseDurationMs("1h30m"), 5400000);
  EXPECT_EQ(*ParseDurationMs("250ms"), 250);
  for (const char* bad : {"", "10", "m", "10x", "1.5h", "-1h", "10 m", "999999999999999d"})
    EXPECT_FALSE(ParseDurationMs(bad).ok()) << bad;
}

TEST(UnitsTest, Formatting) {
  EXPECT_EQ(FormatCount(1532), "1,532");
  EXPECT_EQ(FormatCount(1000), "1,000");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(FormatBytes(384LL << 20), "384 MiB");
  EXPECT_EQ(FormatBytes(3LL << 29), "1.5 GiB");
  EXPECT_EQ(FormatBytes(700), "700 B");
  EXPECT_EQ(FormatBytes(10LL << 30), "10 GiB");
  EXPECT_EQ(FormatDurationMs(5 * 86400000LL), "5d");
  EXPECT_EQ(FormatDurationMs(5400000), "1h30m");
  EXPECT_EQ(FormatDurationMs(250), "250ms");
  EXPECT_EQ(FormatDurationMs(0), "0s");
  EXPECT_EQ(FormatTimeMs(0), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace converge::iceberg
