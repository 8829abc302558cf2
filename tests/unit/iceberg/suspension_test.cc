// Suspension of a maintenance task after repeated failures: the counts kept in the table's
// properties, what the evaluation (and so the plan) says, and what resumes a task.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reconcilers/iceberg/evaluate.h"
#include "tests/unit/iceberg/table_builder.h"

namespace converge::iceberg {
namespace {

using test::kHour;
using test::TableBuilder;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kSuspensionNow = 2000 * kHour;

TablePolicy Policy(int suspend_after = 4) {
  auto p = ParsePolicy({{"table", "analytics.events"},
                        {"triggers", {{"commitCount", 1}}},
                        {"suspendAfterFailures", suspend_after},
                        {"compaction", {{"executor", "spark"}}},
                        {"expireSnapshots", json::object()}});
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  p->revision = "rev1";
  return *p;
}

// Three appends; the properties given.
TableMetadata Table(const std::map<std::string, std::string>& props) {
  TableBuilder b;
  for (int i = 1; i <= 3; ++i) b.Snap(i, i - 1, i * kHour);
  b.Branch("main", 3);
  for (const auto& [k, v] : props) b.Prop(k, v);
  return b.Build();
}

// Applies a set-properties update to `t` (what the catalog does with it).
TableMetadata With(const TableMetadata& t, const json& update) {
  std::map<std::string, std::string> props = t.properties;
  for (const auto& [k, v] : update["updates"].items()) props[k] = v.get<std::string>();
  return Table(props);
}

FactsEvaluation Eval(const TableMetadata& t, const TablePolicy& p) {
  return EvaluateFacts(FactsInput{&t, &p, std::chrono::system_clock::time_point(
                                               std::chrono::milliseconds(kSuspensionNow)),
                                  nullptr});
}

std::vector<std::string> Fired(const FactsEvaluation& e) {
  std::vector<std::string> out;
  for (const auto& v : e.fired) out.push_back(TaskName(v.task));
  return out;
}

TEST(SuspensionTest, TheDefaultIsFourAndTheMemberIsValidated) {
  auto p = ParsePolicy({{"table", "a.b"},
                        {"triggers", {{"interval", "1h"}}},
                        {"expireSnapshots", json::object()}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->suspend_after_failures, 4);
  auto bad = ParsePolicy({{"table", "a.b"},
                          {"triggers", {{"interval", "1h"}}},
                          {"suspendAfterFailures", 0},
                          {"expireSnapshots", json::object()}});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("suspendAfterFailures"));
  EXPECT_THAT(bad.status().message(), HasSubstr("must be an integer from 1 to 1,000"));
}

TEST(SuspensionTest, TheNthConsecutiveFailureSuspendsNotOneBefore) {
  TablePolicy p = Policy(3);
  TableMetadata t = Table({});
  for (int failures = 1; failures <= 3; ++failures) {
    t = With(t, RecordFailureUpdate(t, Task::kCompact, p.revision, "compact failed: exit 1"));
    EXPECT_EQ(FailureCount(t, Task::kCompact, p.revision), failures);
    FactsEvaluation e = Eval(t, p);
    if (failures < 3) {
      EXPECT_EQ(Fired(e), (std::vector<std::string>{"compact", "expireSnapshots"}))
          << failures;
      EXPECT_THAT(e.suspended, IsEmpty()) << failures;
    } else {
      // Suspended: not fired, not waiting, listed with the count and the last error; the other
      // task still runs.
      EXPECT_EQ(Fired(e), (std::vector<std::string>{"expireSnapshots"}));
      ASSERT_EQ(e.suspended.size(), 1u);
      EXPECT_EQ(e.suspended[0].task, Task::kCompact);
      EXPECT_THAT(e.suspended[0].reasons[0],
                  HasSubstr("compact is suspended after 3 consecutive failures "
                            "(last: compact failed: exit 1)"));
      json j = EvaluatePolicy(FactsInput{&t, &p,
                                         std::chrono::system_clock::time_point(
                                             std::chrono::milliseconds(kSuspensionNow)),
                                         nullptr});
      EXPECT_EQ(j["suspended"][0]["task"], "compact");
    }
  }
}

TEST(SuspensionTest, ASuccessResetsTheCount) {
  TablePolicy p = Policy();
  TableMetadata t = Table({});
  for (int i = 0; i < 3; ++i)
    t = With(t, RecordFailureUpdate(t, Task::kCompact, p.revision, "boom"));
  t = With(t, RecordRunUpdate(t, Task::kCompact, kSuspensionNow, 3));
  EXPECT_EQ(FailureCount(t, Task::kCompact, p.revision), 0);
  t = With(t, RecordFailureUpdate(t, Task::kCompact, p.revision, "boom"));
  EXPECT_EQ(FailureCount(t, Task::kCompact, p.revision), 1);  // counts from zero again
}

TEST(SuspensionTest, ANewPolicyRevisionResumes) {
  TablePolicy p = Policy(1);
  TableMetadata t = With(Table({}), RecordFailureUpdate(Table({}), Task::kCompact, p.revision, "x"));
  ASSERT_EQ(Eval(t, p).suspended.size(), 1u);
  p.revision = "rev2";  // the spec changed
  EXPECT_THAT(Eval(t, p).suspended, IsEmpty());
  EXPECT_EQ(Fired(Eval(t, p)), (std::vector<std::string>{"compact", "expireSnapshots"}));
  // A failure under the new revision starts at 1, not at the old count + 1.
  json u = RecordFailureUpdate(t, Task::kCompact, p.revision, "y");
  EXPECT_EQ(u["updates"][FailuresProperty(Task::kCompact)], "1");
  EXPECT_EQ(u["updates"][FailuresRevisionProperty(Task::kCompact)], "rev2");
}

TEST(SuspensionTest, ResumeClearsEveryCountAndIsNullWhenThereIsNone) {
  TablePolicy p = Policy(1);
  TableMetadata t = Table({});
  EXPECT_TRUE(ResumeUpdate(t).is_null());
  t = With(t, RecordFailureUpdate(t, Task::kCompact, p.revision, "x"));
  t = With(t, RecordFailureUpdate(t, Task::kExpireSnapshots, p.revision, "y"));
  EXPECT_THAT(Fired(Eval(t, p)), IsEmpty());
  json r = ResumeUpdate(t);
  ASSERT_FALSE(r.is_null());
  t = With(t, r);
  EXPECT_THAT(Eval(t, p).suspended, IsEmpty());
  EXPECT_EQ(Fired(Eval(t, p)), (std::vector<std::string>{"compact", "expireSnapshots"}));
  EXPECT_TRUE(ResumeUpdate(t).is_null());
}

TEST(SuspensionTest, EveryRecordedOutcomeIsOneMoreAttemptAndNothingResetsIt) {
  // The attempt is in the job's name: a retry must never find the failed job again.
  TablePolicy p = Policy(1);
  TableMetadata t = Table({});
  EXPECT_EQ(AttemptCount(t, Task::kCompact), 0);
  t = With(t, RecordFailureUpdate(t, Task::kCompact, p.revision, "x"));
  EXPECT_EQ(AttemptCount(t, Task::kCompact), 1);
  t = With(t, ResumeUpdate(t));  // converge release: the failures go, the attempts stay
  EXPECT_EQ(AttemptCount(t, Task::kCompact), 1);
  t = With(t, RecordFailureUpdate(t, Task::kCompact, "rev2", "y"));  // a new revision too
  EXPECT_EQ(AttemptCount(t, Task::kCompact), 2);
  t = With(t, RecordRunUpdate(t, Task::kCompact, kSuspensionNow, 3));  // and a success
  EXPECT_EQ(AttemptCount(t, Task::kCompact), 3);
  EXPECT_EQ(AttemptCount(t, Task::kRemoveOrphanFiles), 0);  // per task
}

TEST(SuspensionTest, TheLastErrorIsBounded) {
  TableMetadata t = Table({});
  json u = RecordFailureUpdate(t, Task::kCompact, "r", std::string(100000, 'e'));
  EXPECT_LE(u["updates"][LastErrorProperty(Task::kCompact)].get<std::string>().size(), 512u);
}

}  // namespace
}  // namespace converge::iceberg
