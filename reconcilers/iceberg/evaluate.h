// A TablePolicy evaluated on a table: the facts read from the table (its snapshots, the tasks'
// last runs kept in its properties, the small files) and the policy's triggers (triggers.h).
// Pure: the table and the time in, the verdict out. The table properties it reads and the
// reconciler writes after each task:
//   converge.maintenance.<task>.last-run-ms       when the task last ran (epoch ms)
//   converge.maintenance.<task>.last-snapshot-id  `main` when it last ran (changes count after)
//   converge.maintenance.last-task                the task that ran last (the fair order)
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

// Evaluate() with the inputs read from the table.
Evaluation EvaluateFacts(const FactsInput& in);
// The same as JSON for the live document: {"fired": [{"task", "reasons"}], "not_fired": [...],
// "rate_limited", "next_check_ms"}.
json EvaluatePolicy(const FactsInput& in);

// The property names above.
std::string LastRunProperty(Task task);
std::string LastSnapshotProperty(Task task);
inline constexpr char kLastTaskProperty[] = "converge.maintenance.last-task";
// The set-properties update recording that `task` ran at `now_ms` from snapshot `main`.
json RecordRunUpdate(Task task, int64_t now_ms, std::optional<int64_t> main);

}  // namespace converge::iceberg
