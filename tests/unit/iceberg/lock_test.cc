// The table lock: acquire / release / renew / break as commit bodies, read back from metadata
// after applying them the way a catalog does (requirements first, then updates in order).
#include "reconcilers/iceberg/lock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/iceberg/table_builder.h"

namespace converge::iceberg {
namespace {

using test::kHour;
using test::TableBuilder;
using ::testing::HasSubstr;
using Kind = LockState::Kind;

constexpr int64_t kLockNow = 1000 * kHour;

// A tiny catalog: checks the requirements a lock commit uses and applies its updates to the
// metadata JSON. Returns false (a 409) when a requirement fails.
bool Apply(json& md, const json& commit) {
  for (const json& r : commit["requirements"]) {
    if (r["type"] == "assert-table-uuid" && r["uuid"] != md["table-uuid"]) return false;
    if (r["type"] == "assert-ref-snapshot-id") {
      std::string ref = r["ref"];
      bool exists = md["refs"].contains(ref);
      if (r["snapshot-id"].is_null()
              ? exists
              : !exists || md["refs"][ref]["snapshot-id"] != r["snapshot-id"])
        return false;
    }
  }
  for (const json& u : commit["updates"]) {
    if (u["action"] == "set-snapshot-ref") {
      md["refs"][u["ref-name"].get<std::string>()] = {{"type", u["type"]},
                                                      {"snapshot-id", u["snapshot-id"]}};
    } else if (u["action"] == "remove-snapshot-ref") {
      md["refs"].erase(u["ref-name"].get<std::string>());
    } else if (u["action"] == "set-properties") {
      for (const auto& [k, v] : u["updates"].items()) md["properties"][k] = v;
    } else if (u["action"] == "remove-properties") {
      for (const json& k : u["removals"]) md["properties"].erase(k.get<std::string>());
    } else {
      ADD_FAILURE() << "unexpected update " << u.dump();
    }
  }
  return true;
}

TableMetadata Parse(const json& j) {
  auto md = ParseMetadata(j);
  EXPECT_TRUE(md.ok()) << md.status().ToString();
  return *md;
}

struct LockWorld {
  json md;
  LockWorld() {
    TableBuilder b;
    b.Snap(1, 0, kLockNow - kHour).Snap(2, 1, kLockNow - 10).Branch("main", 2);
    md = b.raw();
  }
  TableMetadata T() const { return Parse(md); }
  LockRequest Req(const std::string& owner, const std::string& token, int64_t now = kLockNow) {
    return {owner, token, now, kHour};
  }
};

TEST(LockTest, AcquireReadRelease) {
  LockWorld w;
  EXPECT_EQ(ReadLock(w.T(), "", kLockNow).kind, Kind::kFree);
  auto c = AcquireCommit(w.T(), w.Req("converge@a", "a1"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(
      (*c)["requirements"][1],
      (json{{"type", "assert-ref-snapshot-id"}, {"ref", kLockTag}, {"snapshot-id", nullptr}}));
  EXPECT_EQ((*c)["updates"][0], (json{{"action", "set-snapshot-ref"},
                                      {"ref-name", kLockTag},
                                      {"type", "tag"},
                                      {"snapshot-id", 2}}));
  ASSERT_TRUE(Apply(w.md, *c));
  LockState mine = ReadLock(w.T(), "a1", kLockNow + 1);
  EXPECT_EQ(mine.kind, Kind::kHeldByUs);
  EXPECT_EQ(mine.expires_at_ms, kLockNow + kHour);
  LockState theirs = ReadLock(w.T(), "b1", kLockNow + 1);
  EXPECT_EQ(theirs.kind, Kind::kHeldByOther);
  EXPECT_THAT(theirs.Describe(), HasSubstr("held by converge@a until"));

  ASSERT_TRUE(Apply(w.md, ReleaseCommit(w.T(), mine)));
  EXPECT_EQ(ReadLock(w.T(), "a1", kLockNow + 2).kind, Kind::kFree);
  EXPECT_FALSE(w.md["properties"].contains(kLockOwnerProperty));
  EXPECT_EQ(w.md["refs"].size(), 1u);  // only main is left
}

TEST(LockTest, TwoAcquirersOneWins) {
  LockWorld w;
  TableMetadata seen = w.T();  // both loaded the same metadata
  auto a = AcquireCommit(seen, w.Req("converge@a", "a1"));
  auto b = AcquireCommit(seen, w.Req("converge@b", "b1"));
  EXPECT_TRUE(Apply(w.md, *a));
  EXPECT_FALSE(Apply(w.md, *b));
  EXPECT_EQ(ReadLock(w.T(), "b1", kLockNow).kind, Kind::kHeldByOther);
}

TEST(LockTest, ExpiredLockIsBrokenOnceAndTheOldHolderCannotReleaseTheNewLock) {
  LockWorld w;
  ASSERT_TRUE(Apply(w.md, *AcquireCommit(w.T(), w.Req("converge@a", "a1"))));
  LockState a_view = ReadLock(w.T(), "a1", kLockNow);
  int64_t later = kLockNow + 2 * kHour;
  LockState seen = ReadLock(w.T(), "b1", later);
  ASSERT_EQ(seen.kind, Kind::kExpired);
  EXPECT_THAT(seen.Describe(), HasSubstr("expired at"));
  // Within the grace period it is not broken.
  auto early =
      BreakAndAcquireCommit(w.T(), seen, w.Req("converge@b", "b1", kLockNow + kHour + 5), 60000);
  EXPECT_EQ(early.status().code(), Code::kConflict);
  TableMetadata t = w.T();
  auto b = BreakAndAcquireCommit(t, seen, w.Req("converge@b", "b1", later), 60000);
  auto c = BreakAndAcquireCommit(t, seen, w.Req("converge@c", "c1", later), 60000);
  ASSERT_TRUE(b.ok() && c.ok());
  EXPECT_TRUE(Apply(w.md, *b));
  EXPECT_FALSE(Apply(w.md, *c));  // the second breaker gets 409
  EXPECT_EQ(ReadLock(w.T(), "b1", later).kind, Kind::kHeldByUs);
  // b's tag is on the same snapshot as a's was: only the token tag tells them apart.
  EXPECT_FALSE(Apply(w.md, ReleaseCommit(w.T(), a_view)));
  EXPECT_EQ(ReadLock(w.T(), "b1", later).kind, Kind::kHeldByUs);
  EXPECT_FALSE(w.md["refs"].contains(std::string(kLockTag) + ".a1"));
}

TEST(LockTest, RenewRotatesTheTokenSoABreakerThatSawTheOldExpiryFails) {
  LockWorld w;
  ASSERT_TRUE(Apply(w.md, *AcquireCommit(w.T(), w.Req("converge@a", "a1"))));
  int64_t later = kLockNow + 2 * kHour;
  TableMetadata t = w.T();
  LockState seen = ReadLock(t, "b1", later);  // expired in b's eyes
  auto renew = RenewCommit(t, ReadLock(t, "a1", kLockNow), w.Req("converge@a", "a2", later));
  ASSERT_TRUE(renew.ok());
  ASSERT_TRUE(Apply(w.md, *renew));
  EXPECT_EQ(ReadLock(w.T(), "a2", later).kind, Kind::kHeldByUs);
  EXPECT_EQ(ReadLock(w.T(), "a2", later).expires_at_ms, later + kHour);
  auto b = BreakAndAcquireCommit(t, seen, w.Req("converge@b", "b1", later), 0);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(Apply(w.md, *b));
  EXPECT_FALSE(RenewCommit(t, ReadLock(t, "a1", kLockNow), w.Req("converge@a", "a1")).ok());
}

TEST(LockTest, OnlyAnExpiredLockCanBeBroken) {
  LockWorld w;
  ASSERT_TRUE(Apply(w.md, *AcquireCommit(w.T(), w.Req("converge@a", "a1"))));
  LockState held = ReadLock(w.T(), "b1", kLockNow);
  EXPECT_EQ(BreakAndAcquireCommit(w.T(), held, w.Req("converge@b", "b1"), 0).status().code(),
            Code::kConflict);
  // Our own lock past its expiry reads as expired too.
  EXPECT_EQ(ReadLock(w.T(), "a1", kLockNow + kHour).kind, Kind::kExpired);
}

TEST(LockTest, AHandMadeTagWithoutPropertiesIsStale) {
  LockWorld w;
  w.md["refs"][kLockTag] = {{"type", "tag"}, {"snapshot-id", 1}};
  LockState s = ReadLock(w.T(), "", kLockNow);
  EXPECT_EQ(s.kind, Kind::kExpired);
  EXPECT_THAT(s.Describe(), HasSubstr("without an expiry"));
  auto b = BreakAndAcquireCommit(w.T(), s, w.Req("converge@b", "b1"), 60000);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(Apply(w.md, *b));
  EXPECT_EQ(ReadLock(w.T(), "b1", kLockNow).kind, Kind::kHeldByUs);
  EXPECT_EQ(w.md["refs"][kLockTag]["snapshot-id"], 2);  // moved to the current snapshot
}

TEST(LockTest, PropertiesWithoutTheTagAreFree) {
  LockWorld w;
  w.md["properties"][kLockOwnerProperty] = "ghost";
  w.md["properties"][kLockExpiresProperty] = std::to_string(kLockNow + kHour);
  EXPECT_EQ(ReadLock(w.T(), "", kLockNow).kind, Kind::kFree);
}

TEST(LockTest, ATableWithoutSnapshotsCannotBeLocked) {
  TableBuilder b;
  auto c = AcquireCommit(Parse(b.raw()), {"converge@a", "a1", kLockNow, kHour});
  EXPECT_EQ(c.status().code(), Code::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("no snapshot"));
}

TEST(LockTest, BadRequestsAreRefused) {
  LockWorld w;
  EXPECT_EQ(AcquireCommit(w.T(), {"", "a1", kLockNow, kHour}).status().code(), Code::kInvalid);
  EXPECT_EQ(AcquireCommit(w.T(), {"o", "a/1", kLockNow, kHour}).status().code(), Code::kInvalid);
  EXPECT_EQ(AcquireCommit(w.T(), {"o", "a1", kLockNow, 0}).status().code(), Code::kInvalid);
}

}  // namespace
}  // namespace converge::iceberg
