// The heavy maintenance work (a compaction, an orphan-file removal) never runs inside converge:
// an Executor runs it as a job elsewhere, and the reconciler waits for it. What it promises:
//  * A job's name is its idempotency key: the same task on the same table state (the `main`
//    snapshot it starts from) gets the same name, so a start repeated after a crash or a lost
//    reply finds the job already there instead of starting a second one.
//  * `type: yarn` submits the job as a YarnApplication of another Backend, through that backend's
//    generic run interface (Reconciler::Desired + Runs()); no YARN code is linked here. The
//    Executor's `application` is a YarnApplication spec whose strings may hold the placeholders
//    below, substituted before submission.
//  * Placeholders: {table} (dotted), {catalog} (the Spark catalog name), {sql} (the Iceberg
//    Spark procedure call, e.g. CALL lake.system.rewrite_data_files(table => 'db.events',
//    options => map('target-file-size-bytes', '536870912', 'min-input-files', '5'))),
//    {task} (compact | removeOrphanFiles), {job} (the job name).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "reconcilers/reconciler.h"
#include "specs/base/status.h"

namespace converge::iceberg {

struct Job {
  std::string name;  // the idempotency key (see above)
  std::map<std::string, std::string> vars;  // placeholder -> value ("table" -> "db.events")
};

enum class JobPhase { kRunning, kSucceeded, kFailed };

struct JobStatus {
  JobPhase phase = JobPhase::kRunning;
  std::string message;  // the executor's own words: state, diagnostics
};

class JobRunner {
 public:
  virtual ~JobRunner() = default;
  // Starts `job`; a job of that name already there is success.
  virtual Status Start(const Job& job) = 0;
  virtual Result<JobStatus> Poll(const Job& job) = 0;
};

// Replaces every {name} of `vars` in every string of `value` (keys untouched). Unknown
// placeholders are left as they are.
json Substitute(const json& value, const std::map<std::string, std::string>& vars);

// A job as a YarnApplication run of `yarn` (another Backend's reconciler): `application` is the
// YarnApplication spec template.
std::unique_ptr<JobRunner> NewYarnJobRunner(converge::Reconciler* yarn, json application);

}  // namespace converge::iceberg
