// When a maintenance task is due, like Flink's TableMaintenance TriggerEvaluator, as a pure
// function of the table's snapshots, the policy's triggers, the tasks' last runs and now.
// What it promises:
//  * ChangeSince sums, over `main`'s ancestry newer than a task's last run, the counters of
//    Flink's TableChange from snapshot summaries (format/spec.md "Optional Snapshot Summary
//    Fields"): commits, `added-data-files`, `added-files-size`, `added-delete-files`,
//    `added-position-delete-files`, `added-equality-delete-files`, `added-position-deletes`,
//    `added-equality-deletes`. `replace` snapshots (compactions, ours included) are not changes:
//    counting a rewrite's output would make compaction trigger itself.
//  * Evaluate: a task fires when any of its conditions holds (commitCount, dataFileCount,
//    dataFileSizeBytes, interval for every task; smallFileCount for compact only — a partition
//    with at least that many files under 75 % of the target). minInterval rate-limits the table:
//    within it nothing fires and the reason says when the next check is. Fired tasks come in a
//    fair order: round-robin in the declared order (compact, expireSnapshots,
//    removeOrphanFiles) starting after the task that fired last.
//  * Reasons are the plan's words: `compact: 1,532 data files added since the last run ≥ 1,000`,
//    `compact: partition day=2026-11-30 has 214 files under 384 MiB`, `... (estimate)` when the
//    small files were estimated from summaries, `compact: next check after minInterval 10m, at
//    <time>`, and for a task not due what it is waiting for.
//  * An evaluation is not drift: a fired task is work the policy asks for, never a difference
//    between git and the table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/iceberg/manifests.h"
#include "reconcilers/iceberg/metadata.h"

namespace converge::iceberg {

enum class Task { kCompact, kExpireSnapshots, kRemoveOrphanFiles };
const char* TaskName(Task task);  // "compact", "expireSnapshots", "removeOrphanFiles"

struct TableChange {
  int64_t commits = 0;
  int64_t data_files = 0;
  int64_t data_bytes = 0;  // added-files-size
  int64_t delete_files = 0;
  int64_t position_delete_files = 0;
  int64_t equality_delete_files = 0;
  int64_t position_delete_records = 0;
  int64_t equality_delete_records = 0;
  // False when the walk met an expired snapshot (or the read-back limit) before reaching the
  // last run: the counters are then a lower bound.
  bool complete = true;

  void Merge(const TableChange& other);
  bool operator==(const TableChange&) const = default;
};

// Counters of `branch`'s snapshots after the last run: newer than `since_snapshot_id` when that
// snapshot is on the branch's ancestry, else those with timestamp-ms > `since_ms` (a task that
// never ran: pass nullopt and INT64_MIN). At most `max_read_back` snapshots are read.
TableChange ChangeSince(const TableMetadata& table, std::optional<int64_t> since_snapshot_id,
                        int64_t since_ms, const std::string& branch = "main",
                        size_t max_read_back = 10000);

struct Triggers {
  std::optional<int64_t> commit_count;
  std::optional<int64_t> data_file_count;
  std::optional<int64_t> data_file_size_bytes;
  std::optional<int64_t> small_file_count;
  std::optional<int64_t> interval_ms;
};

// Small files per partition, exact (from manifests) or estimated (from summaries).
struct SmallFileInfo {
  std::vector<PartitionSmallFiles> partitions;  // any order
  int64_t threshold_bytes = 0;                  // 75 % of the target
  bool estimate = false;
};

// The estimate without manifests: the data files added since the last compaction count as
// small when their average size is under the threshold. One "partition" named "".
SmallFileInfo EstimateSmallFiles(const TableChange& since_last_compaction,
                                 int64_t target_file_size_bytes);

struct TaskInput {
  Task task = Task::kCompact;
  TableChange change;                  // since this task's last run
  std::optional<int64_t> last_run_ms;  // nullopt: never ran
};

struct EvaluateInput {
  Triggers triggers;
  std::optional<int64_t> min_interval_ms;
  std::optional<int64_t> table_last_run_ms;  // the last run of any task on the table
  std::optional<Task> last_fired;            // for the fair order
  std::vector<TaskInput> tasks;              // the tasks the policy configures
  SmallFileInfo small_files;                 // for compact's smallFileCount
  int64_t now_ms = 0;
};

struct TaskVerdict {
  Task task = Task::kCompact;
  bool fires = false;
  std::vector<std::string> reasons;  // every condition that holds, or why not
};

struct Evaluation {
  std::vector<TaskVerdict> fired;      // in the fair order
  std::vector<TaskVerdict> not_fired;  // declared order
  bool rate_limited = false;
  int64_t next_check_ms = 0;  // when rate-limited: the end of minInterval
};

Evaluation Evaluate(const EvaluateInput& input);

}  // namespace converge::iceberg
