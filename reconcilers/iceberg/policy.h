// The `TablePolicy` and `Executor` kinds: validation at JSON-pointer paths (the loader maps them
// to file:line:column) and the parsed structs the reconciler works from.
// What it promises (docs/backends/iceberg.md, "TablePolicy" and "Executor", is the reference):
//  * Every member is checked: types, int64 ranges, sizes and durations in the grammar of
//    reconcilers/iceberg/units.h; an unknown member is an error that lists the known ones.
//  * A policy names its table (`ns.table`, multi-level namespaces dotted), has at least one
//    trigger and at least one task; compaction and orphan removal name an executor.
//  * `removeOrphanFiles.olderThan` under 1 day is refused unless the document carries the
//    annotation `converge/allowShortOrphanAge: "true"` (a shorter age deletes files writers are
//    about to commit, apache/iceberg#4194).
//  * Executor command templates: argv lists whose `{placeholder}`s are all known (see
//    kPlaceholders); `{{` and `}}` are literal braces. ExpandCommand fills them.
//  * ParsePolicy / ParseExecutor run the same checks as the kinds and return the first error;
//    on a document the loader accepted they cannot fail.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/iceberg/client.h"
#include "reconcilers/iceberg/triggers.h"
#include "specs/loader.h"

namespace converge::iceberg {

inline constexpr char kAllowShortOrphanAge[] = "converge/allowShortOrphanAge";
inline constexpr char kTablePolicyKind[] = "TablePolicy";
inline constexpr char kExecutorKind[] = "Executor";

struct CompactionSpec {
  int64_t target_file_size_bytes = 512LL << 20;  // Iceberg's write.target-file-size-bytes default
  int64_t min_input_files = 5;
  std::string executor;
};

struct ExpireSpec {
  std::optional<int64_t> max_snapshot_age_ms;  // unset: the table's history.expire.* / 5d
  std::optional<int> retain_last;              // unset: the table's history.expire.* / 1
};

struct OrphanSpec {
  int64_t older_than_ms = 3LL * 24 * 3600 * 1000;  // Iceberg's and Glue's 3 days
  std::string executor;
};

struct TablePolicy {
  TableIdent table;
  Triggers triggers;
  std::optional<int64_t> min_interval_ms;
  std::optional<CompactionSpec> compaction;
  std::optional<ExpireSpec> expire_snapshots;
  std::optional<OrphanSpec> remove_orphan_files;
  bool lock = true;  // lock: table (default) | none
  // After this many consecutive failures of one task the task is suspended (AWS Glue's 4).
  int suspend_after_failures = 4;
  // The policy's revision (a hash of its spec): suspensions are for one revision. Set by
  // PolicyOf; "" when parsed without it.
  std::string revision;

  std::vector<Task> Tasks() const;  // the configured tasks, in declared order
};

struct ExecutorSpec {
  enum class Type { kYarn, kCommand };
  Type type = Type::kCommand;
  // type yarn
  std::string backend;                  // a Backend of type yarn
  std::string queue;                    // "" = the scheduler's default
  std::string catalog = "converge";     // the Spark catalog name in CALL <catalog>.system.*
  std::string spark_sql = "spark-sql";  // the launcher on the cluster
  std::map<std::string, std::string> spark_conf;  // --conf k=v, e.g. the catalog's settings
  int64_t memory_bytes = 2LL << 30;               // the application master container
  int64_t vcores = 1;
  // type command, or an override of the yarn launcher's argv
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  std::optional<int64_t> timeout_ms;  // unset: no limit beyond the controller's own
};

// The placeholders a command template may use:
//   {table} analytics.events   {namespace} analytics   {tableName} events
//   {task} compact | removeOrphanFiles   {catalog} the executor's catalog
//   {targetFileSizeBytes} {minInputFiles}   (compaction)
//   {olderThan} "2026-11-27 10:00:00.000" (UTC)   {olderThanMs} epoch ms   (orphan removal)
//   {snapshotId} main's snapshot when the run started   {sql} the CALL statement (SparkSql)
//   {job} the job's name, its idempotency key (jobs.h)
extern const std::vector<std::string> kPlaceholders;

// The JSON Schemas of the two specs (policy_schema.cc), for `converge schema`: the checks above
// written once more as a schema, in the keywords draft-04 and draft-07 share so that
// tests/unit/iceberg/policy_schema_test.cc can hold them to ValidatePolicy / ValidateExecutor.
json TablePolicySpecSchema();
json ExecutorSpecSchema();

KindInfo TablePolicyKind();
KindInfo ExecutorKind();

// `annotations` are the document's metadata.annotations (for converge/allowShortOrphanAge).
Result<TablePolicy> ParsePolicy(const json& spec,
                                const std::map<std::string, std::string>& annotations = {});
Result<ExecutorSpec> ParseExecutor(const json& spec);

// The checks behind the kinds, for reuse; `base` is the spec's pointer ("/spec").
void ValidatePolicy(const json& spec, const std::map<std::string, std::string>& annotations,
                    const std::string& base, std::vector<PathDiagnostic>& out,
                    TablePolicy* parsed = nullptr);
void ValidateExecutor(const json& spec, const std::string& base, std::vector<PathDiagnostic>& out,
                      ExecutorSpec* parsed = nullptr);

// Fills a template; an unknown placeholder or an unbalanced brace is kInvalid (the kinds refuse
// such templates, so this only fails on values that were never validated).
Result<std::vector<std::string>> ExpandCommand(const std::vector<std::string>& argv,
                                               const std::map<std::string, std::string>& values);
// The values of every placeholder for one run of `task` on `policy`'s table, as job `job`.
std::map<std::string, std::string> PlaceholderValues(const TablePolicy& policy,
                                                     const ExecutorSpec& executor, Task task,
                                                     int64_t now_ms, int64_t snapshot_id,
                                                     const std::string& job = "");
// The Iceberg Spark procedure call for a task:
//   CALL converge.system.rewrite_data_files(table => 'analytics.events', options =>
//     map('target-file-size-bytes', '536870912', 'min-input-files', '5'))
//   CALL converge.system.remove_orphan_files(table => 'analytics.events',
//     older_than => TIMESTAMP '2026-11-27 10:00:00.000')
std::string SparkSql(const TablePolicy& policy, const ExecutorSpec& executor, Task task,
                     int64_t now_ms);
// The argv a yarn executor runs when it gives no `command`:
//   {spark-sql} --master yarn [--queue Q] [--conf k=v]... -e {sql}
std::vector<std::string> YarnLaunchTemplate(const ExecutorSpec& executor);

}  // namespace converge::iceberg
