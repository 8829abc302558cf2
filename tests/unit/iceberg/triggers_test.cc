// Triggers: TableChange from snapshot summaries since a task's last run, conditions firing at
// their thresholds and not before, minInterval, fair order, and the plan's reason strings.
#include "reconcilers/iceberg/triggers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "tests/unit/iceberg/table_builder.h"

namespace converge::iceberg {
namespace {

using test::kHour;
using test::TableBuilder;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kTriggersNow = 2000 * kHour;
using test::kMiB;
constexpr int64_t kNever = std::numeric_limits<int64_t>::min();

json Sum(int files, int64_t bytes, int pos = 0, int eq = 0) {
  json s = {{"added-data-files", std::to_string(files)},
            {"added-files-size", std::to_string(bytes)}};
  if (pos) {
    s["added-delete-files"] = std::to_string(pos);
    s["added-position-delete-files"] = std::to_string(pos);
    s["added-position-deletes"] = std::to_string(pos * 10);
  }
  if (eq) s["added-equality-deletes"] = std::to_string(eq);
  return s;
}

// 1..5 appends an hour apart, 6 a compaction (replace), 7 an append with deletes.
TableMetadata Table() {
  TableBuilder b;
  for (int i = 1; i <= 5; ++i) b.Snap(i, i - 1, i * kHour, "append", Sum(100, 100 * kMiB));
  b.Snap(6, 5, 6 * kHour, "replace", Sum(4, 500 * kMiB));
  b.Snap(7, 6, 7 * kHour, "overwrite", Sum(10, 10 * kMiB, 2, 5));
  b.Branch("main", 7);
  return b.Build();
}

TEST(TriggersTest, ChangeSinceASnapshotSkipsReplaces) {
  TableMetadata t = Table();
  TableChange c = ChangeSince(t, 3, 0);
  EXPECT_EQ(c.commits, 3);  // 4, 5, 7: the replace is not a change
  EXPECT_EQ(c.data_files, 210);
  EXPECT_EQ(c.data_bytes, 210 * kMiB);
  EXPECT_EQ(c.delete_files, 2);
  EXPECT_EQ(c.position_delete_files, 2);
  EXPECT_EQ(c.position_delete_records, 20);
  EXPECT_EQ(c.equality_delete_records, 5);
  EXPECT_TRUE(c.complete);
  EXPECT_EQ(ChangeSince(t, 7, 0).commits, 0);
}

TEST(TriggersTest, ChangeSinceFallsBackToTimeAndSaysWhenItIsALowerBound) {
  TableMetadata t = Table();
  // The last run's snapshot expired: by time (after 4h: 5 and 7).
  TableChange c = ChangeSince(t, 99, 4 * kHour);
  EXPECT_EQ(c.commits, 2);
  EXPECT_TRUE(c.complete);
  // Never run: everything, and the whole history was read.
  c = ChangeSince(t, std::nullopt, kNever);
  EXPECT_EQ(c.commits, 6);
  EXPECT_TRUE(c.complete);
  // A history cut by expiry: the counters are a lower bound.
  TableBuilder b;
  b.Snap(5, 4, 5 * kHour, "append", Sum(1, 1)).Branch("main", 5);
  c = ChangeSince(b.Build(), 2, 2 * kHour);
  EXPECT_EQ(c.commits, 1);
  EXPECT_FALSE(c.complete);
  // The read-back limit too.
  EXPECT_FALSE(ChangeSince(t, std::nullopt, kNever, "main", 3).complete);
  // No main: nothing.
  EXPECT_EQ(ChangeSince(TableBuilder().Build(), std::nullopt, kNever).commits, 0);
}

EvaluateInput Input() {
  EvaluateInput in;
  in.now_ms = kTriggersNow;
  in.triggers.commit_count = 10;
  in.triggers.data_file_count = 1000;
  in.triggers.data_file_size_bytes = 10LL << 30;
  in.triggers.small_file_count = 100;
  in.triggers.interval_ms = 24 * kHour;
  in.min_interval_ms = 10 * 60 * 1000;
  TaskInput compact{Task::kCompact, {}, kTriggersNow - kHour};
  in.tasks = {compact};
  in.small_files.threshold_bytes = 384 * kMiB;
  return in;
}

TEST(TriggersTest, EachConditionFiresAtItsThresholdAndNotBefore) {
  EvaluateInput in = Input();
  in.tasks[0].change.data_files = 999;
  Evaluation ev = Evaluate(in);
  EXPECT_TRUE(ev.fired.empty());
  ASSERT_EQ(ev.not_fired.size(), 1u);
  EXPECT_THAT(ev.not_fired[0].reasons[0], HasSubstr("compact: not due (0 commits of 10, 999 data "
                                                    "files of 1,000"));
  in.tasks[0].change.data_files = 1532;
  ev = Evaluate(in);
  ASSERT_EQ(ev.fired.size(), 1u);
  EXPECT_THAT(ev.fired[0].reasons,
              ElementsAre("compact: 1,532 data files added since the last run ≥ 1,000"));

  in = Input();
  in.tasks[0].change.commits = 10;
  EXPECT_THAT(Evaluate(in).fired[0].reasons,
              ElementsAre("compact: 10 commits since the last run ≥ 10"));
  in = Input();
  in.tasks[0].change.data_bytes = (10LL << 30) - 1;
  EXPECT_TRUE(Evaluate(in).fired.empty());
  in.tasks[0].change.data_bytes = 12LL << 30;
  EXPECT_THAT(Evaluate(in).fired[0].reasons,
              ElementsAre("compact: 12 GiB of data files added since the last run ≥ 10 GiB"));
  in = Input();
  in.tasks[0].last_run_ms = kTriggersNow - 24 * kHour;
  EXPECT_THAT(Evaluate(in).fired[0].reasons, ElementsAre("compact: 1d since the last run ≥ 1d"));
  in.tasks[0].last_run_ms = kTriggersNow - 24 * kHour + 1;
  EXPECT_TRUE(Evaluate(in).fired.empty());
  in.tasks[0].last_run_ms = std::nullopt;
  EXPECT_THAT(Evaluate(in).fired[0].reasons, ElementsAre("compact: never run (interval 1d)"));
}

TEST(TriggersTest, SmallFilesPerPartitionExactAndEstimated) {
  EvaluateInput in = Input();
  in.small_files.partitions = {{"day=2026-11-29", 99}, {"day=2026-11-30", 214}, {"day=x", 100}};
  Evaluation ev = Evaluate(in);
  ASSERT_EQ(ev.fired.size(), 1u);
  EXPECT_THAT(ev.fired[0].reasons,
              ElementsAre("compact: partition day=2026-11-30 has 214 files under 384 MiB (and 1 "
                          "more partition)"));
  in.small_files.partitions = {{"day=2026-11-29", 99}};
  EXPECT_TRUE(Evaluate(in).fired.empty());

  TableChange c;
  c.data_files = 214;
  c.data_bytes = 214 * kMiB;  // 1 MiB average
  in.small_files = EstimateSmallFiles(c, 512 * kMiB);
  EXPECT_THAT(Evaluate(in).fired[0].reasons,
              ElementsAre("compact: the table has about 214 files under 384 MiB (estimate)"));
  c.data_bytes = 214 * 400 * kMiB;  // large on average: not small
  EXPECT_TRUE(EstimateSmallFiles(c, 512 * kMiB).partitions.empty());
  // smallFileCount is compaction's only: expiry does not fire on it.
  in.small_files = EstimateSmallFiles(TableChange{0, 214, 214 * kMiB}, 512 * kMiB);
  in.tasks[0].task = Task::kExpireSnapshots;
  EXPECT_TRUE(Evaluate(in).fired.empty());
}

TEST(TriggersTest, MinIntervalHoldsEverythingAndSaysWhen) {
  EvaluateInput in = Input();
  in.tasks[0].change.commits = 50;
  in.table_last_run_ms = kTriggersNow - 5 * 60 * 1000;
  Evaluation ev = Evaluate(in);
  EXPECT_TRUE(ev.rate_limited);
  EXPECT_TRUE(ev.fired.empty());
  EXPECT_EQ(ev.next_check_ms, kTriggersNow + 5 * 60 * 1000);
  EXPECT_THAT(ev.not_fired[0].reasons[0],
              HasSubstr("compact: next check after minInterval 10m, at 1970-03-25T08:05:00Z "
                        "(due: 50 commits since the last run ≥ 10)"));
  in.table_last_run_ms = kTriggersNow - 10 * 60 * 1000;  // exactly minInterval ago: free to fire
  EXPECT_EQ(Evaluate(in).fired.size(), 1u);
}

TEST(TriggersTest, FairOrderStartsAfterTheTaskThatFiredLast) {
  EvaluateInput in = Input();
  in.triggers = {};
  in.triggers.commit_count = 1;
  TableChange one;
  one.commits = 1;
  in.tasks = {{Task::kRemoveOrphanFiles, one, kTriggersNow},
              {Task::kCompact, one, kTriggersNow},
              {Task::kExpireSnapshots, one, kTriggersNow}};
  auto order = [&] {
    std::vector<Task> out;
    for (const TaskVerdict& v : Evaluate(in).fired) out.push_back(v.task);
    return out;
  };
  EXPECT_THAT(order(),
              ElementsAre(Task::kCompact, Task::kExpireSnapshots, Task::kRemoveOrphanFiles));
  in.last_fired = Task::kCompact;
  EXPECT_THAT(order(),
              ElementsAre(Task::kExpireSnapshots, Task::kRemoveOrphanFiles, Task::kCompact));
  in.last_fired = Task::kRemoveOrphanFiles;
  EXPECT_THAT(order(),
              ElementsAre(Task::kCompact, Task::kExpireSnapshots, Task::kRemoveOrphanFiles));
  in.tasks[2].change.commits = 0;  // expire not due
  in.last_fired = Task::kCompact;
  EXPECT_THAT(order(), ElementsAre(Task::kRemoveOrphanFiles, Task::kCompact));
}

TEST(TriggersTest, ALowerBoundIsSaid) {
  EvaluateInput in = Input();
  in.tasks[0].change.commits = 12;
  in.tasks[0].change.complete = false;
  EXPECT_THAT(Evaluate(in).fired[0].reasons[0], HasSubstr("(at least: older snapshots expired)"));
}

}  // namespace
}  // namespace converge::iceberg
