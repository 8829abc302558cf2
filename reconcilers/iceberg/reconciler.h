// The Iceberg reconciler: TablePolicy documents on the `maintenance` lifecycle.
//
//   Observe    one load per bound policy's table, with If-None-Match (a 304 reuses the metadata
//              loaded before, at no cost). The live document carries the facts the evaluation
//              needs: the metadata, the time observed, the tasks' last runs (table properties
//              converge.maintenance.<task>.last-run-ms / .last-snapshot-id, so that they survive
//              converge's state being lost and are shared by every controller).
//   Diff       pure: the policy's triggers evaluated on those facts (triggers.h). Tasks that fire
//              make a `run` with the reasons; otherwise a notice says why not (rate limit, what
//              each task waits for). Never drift.
//   Apply      reloads the table, takes the table lock (lock.h) unless `lock: none`, runs what
//              fires in the fair order — expireSnapshots natively (one guarded commit,
//              expire.h); compact and removeOrphanFiles as jobs on their Executor (jobs.h),
//              waited for; a compaction must leave a `replace` snapshot — records each task's
//              run in the table properties, and releases the lock. A 409 reloads and re-plans
//              once; a commit whose outcome is unknown is checked by reloading before anything
//              else.
//   Definition the snapshot kept before every change: the table, its uuid, metadata location and
//              `main` snapshot id. Restore (converge rollback) points `main` back at that
//              snapshot when it still exists, and says so when it has expired.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/iceberg/client.h"
#include "reconcilers/iceberg/jobs.h"
#include "reconcilers/iceberg/policy.h"
#include "reconcilers/reconciler.h"
#include "specs/base/clock.h"

namespace converge::iceberg {

struct ReconcilerOptions {
  std::chrono::milliseconds poll_interval{std::chrono::seconds(2)};  // job polls
  std::chrono::milliseconds job_timeout{std::chrono::hours(2)};      // unless the change says
  int64_t lock_ttl_ms = 2 * 3600 * 1000;
  std::string owner;  // shown in the lock ("converge@host")
  const Cancellation* cancel = nullptr;
  // Exact small-file counts from the manifests (the Backend's `storage`); null = estimate.
  std::shared_ptr<class SmallFileCounter> small_files;
  // Where `type: command` Executors run (jobs.h); null: SystemCommandJobs(), real processes.
  std::shared_ptr<CommandJobs> command_jobs;
};

// The policy of a desired document (spec and annotations, as Desired makes it).
Result<TablePolicy> PolicyOf(const json& desired);

class Reconciler : public converge::Reconciler {
 public:
  Reconciler(std::unique_ptr<Client> client, std::string instance, ReconcilerOptions options,
             Clock& clock, std::function<converge::Reconciler*(const std::string&)> peer);

  void BindSpecs(const std::vector<const Document*>& docs) override;
  Result<std::vector<LiveObject>> Observe() override;
  Result<std::optional<LiveObject>> Get(const ResourceKey& key) override;
  json Desired(const Document& doc) const override;
  json Definition(const json& live) const override;
  DiffResult Diff(const json& desired, const json& live, const json& last_applied) const override;
  Status Apply(const ChangeRequest& change) override;
  Result<Health> CheckHealth(const ResourceKey& key, const json& desired) override;
  Status Restore(const ResourceKey& key, const json& definition) override;
  Status Resume(const ResourceKey& key) override;
  long RequestCount() const override { return client_->RequestCount(); }
  long WriteCount() const override { return client_->WriteCount(); }

 private:
  struct Bound {
    std::map<std::string, json> policies;   // name -> desired document
    std::map<std::string, json> executors;  // name -> Executor spec
  };
  std::shared_ptr<const Bound> Specs() const;
  // Loads `table`, reusing the cached metadata on a 304.
  Result<LoadedTable> Load(const TableIdent& table, bool fresh);
  LiveObject MakeLive(const std::string& policy, const TableIdent& table,
                      const LoadedTable& loaded) const;
  // The tasks of one apply, with the lock held.
  Status RunTasks(const std::string& policy, const json& desired, const TableIdent& table,
                  std::chrono::milliseconds timeout, std::vector<std::string>* done);
  // `keep_lock` is called at every poll: it renews the table lock when due, and an error from
  // it (the lock was lost) stops the wait.
  Status RunJob(const std::string& policy, const TablePolicy& p, Task task,
                const LoadedTable& before, std::chrono::milliseconds timeout,
                const std::function<Status()>& keep_lock);
  // Renews our lock (token and expiry updated in place) once half its TTL has passed; kConflict
  // ("lost") when it is no longer ours.
  Status KeepLock(const TableIdent& table, std::string* token, int64_t* expires_at_ms);
  // One commit with the unknown-outcome check: on kUnknownOutcome the table is reloaded and
  // `landed` decides whether the commit happened.
  Result<LoadedTable> CommitChecked(const TableIdent& table, const json& request,
                                    const std::function<bool(const TableMetadata&)>& landed);

  std::unique_ptr<Client> client_;
  std::string instance_;
  ReconcilerOptions options_;
  Clock& clock_;
  std::function<converge::Reconciler*(const std::string&)> peer_;
  mutable std::mutex mu_;
  std::shared_ptr<const Bound> specs_ = std::make_shared<Bound>();
  std::map<std::string, LoadedTable> cache_;  // dotted table -> last load (for If-None-Match)
  std::map<std::string, std::string> last_result_;  // policy -> what its last apply did
};

}  // namespace converge::iceberg
