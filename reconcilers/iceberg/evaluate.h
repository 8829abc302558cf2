// A TablePolicy evaluated on a table: the facts read from the table (its snapshots, the tasks'
// last runs kept in its properties, the small files) and the policy's triggers (triggers.h).
// Pure: the table and the time in, the verdict out. The table properties it reads and the
// reconciler writes after each task:
//   converge.maintenance.<task>.last-run-ms       when the task last ran (epoch ms)
//   converge.maintenance.<task>.last-snapshot-id  `main` when it last ran (changes count after)
//   converge.maintenance.last-task                the task that ran last (the fair order)
//   converge.maintenance.<task>.failures          consecutive failures (a success resets it)
//   converge.maintenance.<task>.failures-revision the policy revision they were counted under
//   converge.maintenance.<task>.last-error        the last failure's message (bounded)
//   converge.maintenance.<task>.attempts          runs whose outcome was recorded, success or
//                                                 failure (never reset): the job name's attempt
// Suspension: a task with `suspendAfterFailures` consecutive failures under the policy's current
// revision is suspended: never fired, listed with why. A new policy revision (any spec change)
// counts from zero again; `converge release` clears the count (ResumeUpdate).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/iceberg/metadata.h"
#include "reconcilers/iceberg/policy.h"
#include "reconcilers/iceberg/triggers.h"

namespace converge::iceberg {

struct FactsInput {
  const TableMetadata* table = nullptr;
  const TablePolicy* policy = nullptr;
  std::chrono::system_clock::time_point now;
  // Exact small-file counts from the manifests; nullptr = estimate from snapshot summaries.
  const SmallFileInfo* small_files = nullptr;
};

struct FactsEvaluation : Evaluation {
  std::vector<TaskVerdict> suspended;  // declared order; reasons say why and how to resume
};

// Evaluate() with the inputs read from the table, suspended tasks left out.
FactsEvaluation EvaluateFacts(const FactsInput& in);
// The same as JSON for the live document: {"fired": [{"task", "reasons"}], "not_fired": [...],
// "suspended": [{"task", "reasons"}], "rate_limited", "next_check_ms"}.
json EvaluatePolicy(const FactsInput& in);

// The property names above.
std::string LastRunProperty(Task task);
std::string LastSnapshotProperty(Task task);
inline constexpr char kLastTaskProperty[] = "converge.maintenance.last-task";
// The set-properties update recording that `task` ran at `now_ms` from snapshot `main` of `t`.
// A success: it also resets the task's failure count.
json RecordRunUpdate(const TableMetadata& t, Task task, int64_t now_ms,
                     std::optional<int64_t> main);
std::string FailuresProperty(Task task);
std::string FailuresRevisionProperty(Task task);
std::string LastErrorProperty(Task task);
std::string AttemptsProperty(Task task);
// Runs of `task` whose outcome is recorded in `t` (both updates here count one more). A job's
// name carries it, so a run after a recorded failure or success is a new job, never the old one
// found again (a YARN application of that name that already failed or succeeded).
int64_t AttemptCount(const TableMetadata& t, Task task);
// Consecutive failures of `task` under policy revision `revision` (0 when counted under another).
int64_t FailureCount(const TableMetadata& t, Task task, const std::string& revision);
// The set-properties update recording one more failure of `task` (message cut to 512 bytes).
json RecordFailureUpdate(const TableMetadata& t, Task task, const std::string& revision,
                         const std::string& message);
// The update clearing every task's failure count (converge release), or null when none is set.
json ResumeUpdate(const TableMetadata& t);

}  // namespace converge::iceberg
