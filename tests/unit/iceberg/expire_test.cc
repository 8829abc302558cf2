// expireSnapshots as data: ref heads and what each branch's retention protects are never
// removed, tags protect only their snapshot, expired refs are removed and protect nothing, and
// the commit asserts what the plan relied on.
#include "reconcilers/iceberg/expire.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reconcilers/iceberg/lock.h"
#include "tests/unit/iceberg/table_builder.h"

namespace converge::iceberg {
namespace {

using test::kDay;
using test::TableBuilder;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kExpireNow = 100 * kDay;

// A straight line of `n` snapshots on main, one a day, the newest one day old: ids 1..n.
TableBuilder Line(int n) {
  TableBuilder b;
  for (int i = 1; i <= n; ++i) b.Snap(i, i - 1, kExpireNow - (n - i + 1) * kDay);
  b.Branch("main", n);
  return b;
}

std::vector<std::string> KeptReasons(const ExpirePlan& p, int64_t id) {
  for (const auto& d : p.keep)
    if (d.snapshot_id == id) return d.reasons;
  return {};
}

TEST(ExpireTest, MaxAgeAndRetainLastOnMain) {
  TableMetadata t = Line(10).Build();
  // Younger than 5d: ids 6..10 (1..5 days old, and exactly 5d old counts as young).
  ExpirePlan p = PlanExpiry(t, {5 * kDay, 3}, kExpireNow);
  EXPECT_THAT(p.RemoveIds(), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(p.remove[0].reasons[0],
              HasSubstr("older than 5d and beyond the last 3 of branch main"));
  EXPECT_THAT(KeptReasons(p, 10), ElementsAre("head of branch main"));
  EXPECT_THAT(KeptReasons(p, 6), ElementsAre("branch main: younger than 5d"));
  // retainLast beyond the age: the last 8 stay although 7 and 8 days old.
  p = PlanExpiry(t, {5 * kDay, 8}, kExpireNow);
  EXPECT_THAT(p.RemoveIds(), ElementsAre(1, 2));
  EXPECT_THAT(KeptReasons(p, 3), ElementsAre("branch main: one of the last 8"));
}

TEST(ExpireTest, TableDefaultsApplyWhenThePolicySaysNothing) {
  TableMetadata t = Line(10).Build();
  ExpirePlan p = PlanExpiry(t, {}, kExpireNow);  // Iceberg's defaults: 5 days, keep 1
  EXPECT_THAT(p.RemoveIds(), ElementsAre(1, 2, 3, 4, 5));
  t = Line(10)
          .Prop("history.expire.max-snapshot-age-ms", std::to_string(2 * kDay))
          .Prop("history.expire.min-snapshots-to-keep", "4")
          .Build();
  p = PlanExpiry(t, {}, kExpireNow);
  EXPECT_THAT(p.RemoveIds(), ElementsAre(1, 2, 3, 4, 5, 6));
  // The policy overrides the properties.
  p = PlanExpiry(t, {9 * kDay, {}}, kExpireNow);
  EXPECT_THAT(p.RemoveIds(), ElementsAre(1));
}

TEST(ExpireTest, EverythingYoungIsKeptAndNothingIsSent) {
  TableMetadata t = Line(3).Build();
  ExpirePlan p = PlanExpiry(t, {30 * kDay, 1}, kExpireNow);
  EXPECT_TRUE(p.empty());
  EXPECT_THAT(ExpireCommit(t, p)["updates"], IsEmpty());
}

TEST(ExpireTest, ABranchHeadAndItsOwnRetentionAreKept) {
  // main: 1-2-3-4-5-6 ; branch dev forks at 2: 2-7-8 (old), keeps its last 2 by its own rule.
  TableBuilder b = Line(6);
  b.Snap(7, 2, kExpireNow - 50 * kDay).Snap(8, 7, kExpireNow - 40 * kDay);
  b.Branch("dev", 8, /*min_keep=*/2);
  ExpirePlan p = PlanExpiry(b.Build(), {kDay, 1}, kExpireNow);
  // main keeps 6 (head, 1 day old counts as young); dev keeps 8 (head) and 7 (its last 2).
  EXPECT_THAT(p.RemoveIds(), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(KeptReasons(p, 8), ElementsAre("head of branch dev"));
  EXPECT_THAT(KeptReasons(p, 7), ElementsAre("branch dev: one of the last 2"));
  // With min-snapshots-to-keep 3 the fork point 2 is kept by dev although main lets it go.
  b.Branch("dev", 8, 3);
  p = PlanExpiry(b.Build(), {kDay, 1}, kExpireNow);
  EXPECT_THAT(p.RemoveIds(), ElementsAre(1, 3, 4, 5));
  EXPECT_THAT(KeptReasons(p, 2), ElementsAre("branch dev: one of the last 3"));
}

TEST(ExpireTest, BranchMaxSnapshotAgeOverridesTheDefault) {
  TableBuilder b = Line(10);
  b.Branch("main", 10, {}, /*max_age=*/8 * kDay);
  ExpirePlan p = PlanExpiry(b.Build(), {2 * kDay, 1}, kExpireNow);
  EXPECT_THAT(p.RemoveIds(), ElementsAre(1, 2));
}

TEST(ExpireTest, TagsProtectOnlyTheirSnapshot) {
  TableBuilder b = Line(10);
  b.Tag("release-1", 3);
  ExpirePlan p = PlanExpiry(b.Build(), {5 * kDay, 1}, kExpireNow);
  EXPECT_THAT(p.RemoveIds(), ElementsAre(1, 2, 4, 5));
  EXPECT_THAT(KeptReasons(p, 3), ElementsAre("head of tag release-1"));
}

TEST(ExpireTest, ExpiredRefsAreRemovedAndProtectNothingButMainNeverExpires) {
  TableBuilder b = Line(10);
  b.Tag("old", 2, /*ref_age=*/30 * kDay);   // 9 days old head: not expired
  b.Tag("stale", 3, /*ref_age=*/7 * kDay);  // 8 days old head: expired
  b.Snap(11, 1, kExpireNow - 95 * kDay).Branch("gone", 11, {}, {}, 10 * kDay);
  b.Branch("main", 10, {}, {}, /*ref_age=*/1);  // ignored on main
  ExpirePlan p = PlanExpiry(b.Build(), {5 * kDay, 1}, kExpireNow);
  ASSERT_EQ(p.expired_refs.size(), 2u);
  EXPECT_EQ(p.expired_refs[0].name, "gone");
  EXPECT_THAT(p.expired_refs[0].reason, HasSubstr("branch gone: head is 95d old"));
  EXPECT_EQ(p.expired_refs[1].name, "stale");
  EXPECT_THAT(p.RemoveIds(), ElementsAre(11, 1, 3, 4, 5));
  EXPECT_THAT(p.remove[0].reasons[0], HasSubstr("only on expired branch gone"));
  json c = ExpireCommit(b.Build(), p);
  EXPECT_EQ(c["updates"][0], (json{{"action", "remove-snapshot-ref"}, {"ref-name", "gone"}}));
  EXPECT_EQ(c["updates"][1]["ref-name"], "stale");
  EXPECT_EQ(c["updates"][2]["snapshot-ids"], json::array({11, 1, 3, 4, 5}));
}

TEST(ExpireTest, TheTableRefAgePropertyAppliesToRefsWithout) {
  TableBuilder b = Line(10);
  b.Tag("t", 2).Prop("history.expire.max-ref-age-ms", std::to_string(3 * kDay));
  ExpirePlan p = PlanExpiry(b.Build(), {5 * kDay, 1}, kExpireNow);
  ASSERT_EQ(p.expired_refs.size(), 1u);
  EXPECT_EQ(p.expired_refs[0].name, "t");
}

TEST(ExpireTest, LockTagsAreNeverExpiredAndKeepTheirSnapshot) {
  TableBuilder b = Line(10);
  b.Tag(kLockTag, 4).Tag(std::string(kLockTag) + ".tok1", 4);
  b.Prop("history.expire.max-ref-age-ms", "1");
  ExpirePlan p = PlanExpiry(b.Build(), {5 * kDay, 1}, kExpireNow);
  EXPECT_THAT(p.expired_refs, IsEmpty());
  EXPECT_THAT(p.RemoveIds(), ElementsAre(1, 2, 3, 5));
}

TEST(ExpireTest, UnreferencedSnapshotsAreKeptWhileYoung) {
  TableBuilder b = Line(10);
  b.Snap(20, 9, kExpireNow - 2 * kDay, "append", {{"wap.id", "x"}});  // staged, on no ref
  b.Snap(21, 0, kExpireNow - 20 * kDay);                              // staged long ago
  ExpirePlan p = PlanExpiry(b.Build(), {5 * kDay, 1}, kExpireNow);
  EXPECT_THAT(KeptReasons(p, 20), ElementsAre("on no ref, younger than 5d"));
  EXPECT_THAT(p.RemoveIds(), ElementsAre(21, 1, 2, 3, 4, 5));
  EXPECT_EQ(p.remove[0].reasons[0], "on no ref and older than 5d");
}

TEST(ExpireTest, AncestryCutByEarlierExpiryEndsTheWalk) {
  TableBuilder b;
  b.Snap(5, 4, kExpireNow - 9 * kDay).Snap(6, 5, kExpireNow - 8 * kDay).Branch("main", 6);  // 4 is gone
  ExpirePlan p = PlanExpiry(b.Build(), {kDay, 1}, kExpireNow);
  EXPECT_THAT(p.RemoveIds(), ElementsAre(5));
}

TEST(ExpireTest, AnEmptyTableHasNothingToExpire) {
  TableBuilder b;
  TableMetadata t = b.Build();
  ExpirePlan p = PlanExpiry(t, {kDay, 1}, kExpireNow);
  EXPECT_TRUE(p.empty());
  json c = ExpireCommit(t, p);
  EXPECT_EQ(c["requirements"][1]["snapshot-id"], nullptr);
}

TEST(ExpireTest, TheCommitAssertsUuidMainAndEveryRetainedRef) {
  TableBuilder b = Line(10);
  b.Tag("audit", 8).Branch("dev", 9);
  TableMetadata t = b.Build();
  json c = ExpireCommit(t, PlanExpiry(t, {5 * kDay, 1}, kExpireNow));
  json want =
      json::array({{{"type", "assert-table-uuid"}, {"uuid", test::kUuid}},
                   {{"type", "assert-ref-snapshot-id"}, {"ref", "main"}, {"snapshot-id", 10}},
                   {{"type", "assert-ref-snapshot-id"}, {"ref", "audit"}, {"snapshot-id", 8}},
                   {{"type", "assert-ref-snapshot-id"}, {"ref", "dev"}, {"snapshot-id", 9}}});
  EXPECT_EQ(c["requirements"], want);
  EXPECT_EQ(c["updates"],
            json::array({{{"action", "remove-snapshots"}, {"snapshot-ids", {1, 2, 3, 4, 5}}}}));
}

}  // namespace
}  // namespace converge::iceberg
