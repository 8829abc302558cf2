// ParseRetryAfter and UrlEncode.
#include <gtest/gtest.h>

#include "reconcilers/common/http.h"

namespace converge::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// 1994-11-06T08:49:00Z, the RFC's example date minus 37 seconds.
const std::chrono::system_clock::time_point kNow =
    std::chrono::sys_days{std::chrono::year{1994} / 11 / 6} + std::chrono::hours{8} +
    std::chrono::minutes{49};

TEST(ParseRetryAfterTest, DeltaSeconds) {
  EXPECT_EQ(ParseRetryAfter("120", kNow), seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 3 ", kNow), seconds(3));
  EXPECT_EQ(ParseRetryAfter("0", kNow), milliseconds(0));
  EXPECT_GE(ParseRetryAfter("99999999999999999999", kNow), std::chrono::hours(24));
}

TEST(ParseRetryAfterTest, HttpDate) {
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", kNow), seconds(37));
  EXPECT_EQ(ParseRetryAfter("Mon, 07 Nov 1994 08:49:00 GMT", kNow), std::chrono::hours(24));
  // Sub-second "now" rounds the wait up, never down.
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", kNow + milliseconds(400)),
            milliseconds(36600));
}

TEST(ParseRetryAfterTest, PastDateIsZero) {
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:48:00 GMT", kNow), milliseconds(0));
}

TEST(ParseRetryAfterTest, GarbageIsZero) {
  for (const char* v : {"", "   ", "soon", "-5", "1.5", "12abc", "Sun, 06 Nov 1994 08:49:37",
                        "Sun, 06 Nov 1994 08:49:37 PST", "Sun, 31 Feb 1994 08:49:37 GMT",
                        "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
                        "Sun, 06 Nov 1994 08:49:37 GMT trailing"}) {
    EXPECT_EQ(ParseRetryAfter(v, kNow), milliseconds(0)) << "'" << v << "'";
  }
}

TEST(UrlEncodeTest, KeepsUnreservedAndEscapesTheRest) {
  EXPECT_EQ(UrlEncode("abcXYZ019-_.~"), "abcXYZ019-_.~");
  EXPECT_EQ(UrlEncode("/payments/api"), "%2Fpayments%2Fapi");
  EXPECT_EQ(UrlEncode("a b&c=d?e#f+g%"), "a%20b%26c%3Dd%3Fe%23f%2Bg%25");
  EXPECT_EQ(UrlEncode("\xC3\xA9"), "%C3%A9");
  EXPECT_EQ(UrlEncode(""), "");
}

}  // namespace
}  // namespace converge::http
