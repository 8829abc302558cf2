// The heavy maintenance work (a compaction, an orphan-file removal) never runs inside converge:
// an Executor runs it as a job elsewhere, and the reconciler waits for it. What it promises:
//  * A job's name is its idempotency key: the same task on the same table state (the `main`
//    snapshot it starts from) gets the same name, so a start repeated after a crash or a lost
//    reply finds the job already there instead of starting a second one.
//  * `type: yarn` submits the job as a YarnApplication of another Backend, through that backend's
//    generic run interface (Reconciler::Desired + Runs()); no YARN code is linked here. The
//    Executor's `application` is a YarnApplication spec whose strings may hold the placeholders
//    below, substituted before submission.
//  * `type: command` runs the Executor's argv on converge's own host (reconcilers/common/
//    process.h): no shell, its own process group, the Executor's `env` plus CONVERGE_JOB=<job
//    name> on top of converge's environment, the last 64 KiB of stdout and stderr kept. Exit 0
//    is success; anything else fails the job with the exit code or signal and the tail of
//    stderr (every Executor env value of 4 characters or more replaced by ***). A job of a name
//    still running in this converge process is not started twice. A process is not a durable
//    job: after a crash or restart converge simply runs the command again (its table lock keeps
//    a second converge off the table until the lock's TTL), so the command must be idempotent;
//    CONVERGE_JOB and {job} tell it which job it is. On a timeout, a cancellation (converge
//    stopping) or a lost lock its whole process group is killed; a YARN application is killed
//    on a timeout or a lost lock, and left running when converge stops.
//  * A job name is also unique per attempt: a run after a recorded outcome (a failure, or a
//    success that left `main` where it was, as an orphan removal does) is a new job.
//  * Placeholders: {table} (dotted), {catalog} (the Spark catalog name), {sql} (the Iceberg
//    Spark procedure call, e.g. CALL lake.system.rewrite_data_files(table => 'db.events',
//    options => map('target-file-size-bytes', '536870912', 'min-input-files', '5'))),
//    {task} (compact | removeOrphanFiles), {job} (the job name).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "reconcilers/common/process.h"
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

// Why converge stops waiting for a job.
enum class StopReason { kTimeout, kLockLost, kCancelled };

class JobRunner {
 public:
  virtual ~JobRunner() = default;
  // Starts `job`; a job of that name already there is success.
  virtual Status Start(const Job& job) = 0;
  virtual Result<JobStatus> Poll(const Job& job) = 0;
  // converge stops waiting for `job`, for `why`: stop it where that is right. A command's
  // process group is always killed (it is converge's child). A YARN application is killed on a
  // timeout or a lost lock; when converge stops it is left to run, and the next converge finds
  // it again by its name. Returns what became of the job, for the error that ends the wait
  // ("the command was killed"). The default: nothing to stop.
  virtual Result<std::string> Stop(const Job& job, StopReason why) {
    return std::string("the job may still be running");
  }
};

// Replaces every {name} of `vars` in every string of `value` (keys untouched). Unknown
// placeholders are left as they are.
json Substitute(const json& value, const std::map<std::string, std::string>& vars);

// A job as a YarnApplication run of `yarn` (another Backend's reconciler): `application` is the
// YarnApplication spec template.
std::unique_ptr<JobRunner> NewYarnJobRunner(converge::Reconciler* yarn, json application);

// The command jobs running in this process, by job name (the idempotency key above), and the
// launcher that starts them. Thread-safe: policies are applied in parallel. Destroying it kills
// what still runs.
class CommandJobs {
 public:
  explicit CommandJobs(process::Launcher& launcher) : launcher_(launcher) {}
  // A JobRunner of `argv` (placeholders already filled) with `env` (the Executor's), through
  // Start / Poll / Stop below.
  std::unique_ptr<JobRunner> Runner(std::vector<std::string> argv,
                                    std::map<std::string, std::string> env);

  // Starts argv as job `name` unless a job of that name still runs.
  Status Start(const std::string& name, const std::vector<std::string>& argv,
               const std::map<std::string, std::string>& env);
  // Once a job has ended its status is reported once and the job forgotten.
  JobStatus Poll(const std::string& name);
  // Kills the job's process group and forgets it; a no-op for a job not running.
  void Stop(const std::string& name);
  size_t running() const;

 private:
  struct Running {
    std::unique_ptr<process::Process> process;
    std::string program;              // argv[0], for messages
    std::vector<std::string> redact;  // env values kept out of messages
  };
  process::Launcher& launcher_;
  mutable std::mutex mu_;
  std::map<std::string, Running> jobs_;
};

// The process-wide CommandJobs on real processes (process::SystemLauncher()).
std::shared_ptr<CommandJobs> SystemCommandJobs();

}  // namespace converge::iceberg
