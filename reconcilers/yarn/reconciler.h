// The YARN reconciler. Kind YarnService: the native Services API `Service` object.
//
//  observe  GET /app/v1/services/version once (a 503 there: the Services API is disabled), then
//           GET /ws/v1/cluster/apps?applicationTypes=yarn-service (there is no list call for
//           services; `{"apps": null}` when empty) and one GET /app/v1/services/<name> per
//           service found. Ownership is the property converge.io/managed-by = <instance> in the
//           service's configuration.properties (normalise.h), so it survives converge's state.
//  create   POST; a 500 "already taken" (a create repeated after a crash) is answered by a GET:
//           ours (our property) is adopted, never POSTed again; anyone else's is a conflict.
//  scale    PUT /components/<c> {"number_of_containers": N}, one per changed component.
//  update   a start / stop (PUT {"state": ...}), a lifetime PUT, or YARN's upgrade: PUT the full
//           spec with state UPGRADING, upgrade the instances that need it in batches of
//           converge/maxUnavailable (default 1) through PUT /component-instances, wait for each
//           batch to be READY, finalize (PUT {"state": "STARTED"}). A batch that fails or does
//           not become READY within the Backend's healthTimeout is cancelled (CANCEL_UPGRADING)
//           and the change's health check answers kFailed, so the executor rolls back and holds.
//           A 400 naming the upgrade ("Service upgrade is disabled.") is a terminal error that
//           tells to set `upgrade: disabled` on the Backend.
//  replace  DELETE (the server stops, then destroys), wait for the 404, POST.
//  delete   DELETE; an unknown service (400 "doesn't exist") is already gone.
//  health   service STABLE and, per component, READY containers == number_of_containers
//           ("component sleeper 2/3 ready"); FAILED → kFailed; a stopped spec: STOPPED.
//  restore  puts a snapshot back with the write its difference needs (delete when it did not
//           exist; cancels an upgrade still in progress first).
// Waits go through the Clock (SleepUnless with the cancellation).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "reconcilers/reconciler.h"
#include "reconcilers/yarn/applications.h"
#include "reconcilers/yarn/client.h"
#include "specs/backend.h"

namespace converge::yarn {

struct ReconcilerOptions {
  // The Backend's `upgrade` member: whether the RM allows service upgrades
  // (yarn.service.upgrade.enabled). A plan is offline and no read-only API tells, so the Backend
  // says it; docs/backends/yarn.md.
  bool upgrade_enabled = true;
  // How long one upgrade batch (and a replace's destroy) may take: the Backend's healthTimeout.
  std::chrono::milliseconds batch_timeout{std::chrono::minutes(10)};
  std::chrono::milliseconds poll_interval{std::chrono::seconds(2)};
  const Cancellation* cancel = nullptr;
};

// The options a Backend document gives: `upgrade`; healthTimeout bounds each upgrade batch (and
// a replace's destroy), pollInterval (when set) how often they are polled.
ReconcilerOptions OptionsFromBackend(const BackendConfig& cfg);

class Reconciler : public converge::Reconciler {
 public:
  Reconciler(std::unique_ptr<Client> client, std::string instance, ReconcilerOptions options,
             Clock& clock);

  // Remembers the bound YarnService names: a service created STOPPED is saved without an RM
  // application, so Observe looks those up by name when the apps list does not have them.
  void BindSpecs(const std::vector<const Document*>& docs) override;
  Result<std::vector<LiveObject>> Observe() override;
  Result<std::optional<LiveObject>> Get(const ResourceKey& key) override;
  json Desired(const Document& doc) const override;
  json Definition(const json& live) const override;
  DiffResult Diff(const json& desired, const json& live, const json& last_applied) const override;
  Status Apply(const ChangeRequest& change) override;
  Result<Health> CheckHealth(const ResourceKey& key, const json& desired) override;
  Status Restore(const ResourceKey& key, const json& definition) override;
  long RequestCount() const override { return client_->RequestCount(); }
  long WriteCount() const override { return client_->WriteCount(); }

  Client& client() { return *client_; }
  // YarnApplication runs (applications.h).
  RunDriver* Runs() override { return &runs_; }

 private:
  using Millis = std::chrono::milliseconds;
  // A change's own timeout (ChangeRequest::timeout) when it has one, else batch_timeout.
  Millis TimeoutOf(const ChangeRequest& change) const;
  // GET /app/v1/services/<name>: nullopt on 404.
  Result<std::optional<json>> GetService(const std::string& name);
  Status PutService(const std::string& name, const json& body, const char* what);
  Status Create(const std::string& name, const json& desired);
  Status Scale(const std::string& name, const json& desired, const json& live);
  Status Destroy(const std::string& name);
  Status Replace(const std::string& name, const json& desired, Millis timeout);
  // Brings `live` to `desired` with the write their difference needs (update, restore).
  Status Converge(const std::string& name, const json& desired, const json& live, Millis timeout);
  // upgrade.cc
  Status Upgrade(const std::string& name, const json& desired, Millis timeout);
  Status UpgradeBatch(const std::string& name, const std::vector<std::string>& instances,
                      Millis timeout);
  // Polls the service until `done` holds (a 404 counts as null), up to `timeout`.
  Status WaitFor(const std::string& name, const std::string& what, Millis timeout,
                 const std::function<bool(const json& service)>& done);

  void MarkFailed(const std::string& name, const std::string& why);
  std::string FailedUpgrade(const std::string& name) const;

  std::unique_ptr<Client> client_;
  std::string instance_;
  ReconcilerOptions options_;
  Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> failed_upgrades_;  // service -> why (cleared by a write)
  std::vector<std::string> bound_services_;  // guarded by mu_ (BindSpecs may run while planning)
  ApplicationRuns runs_{*client_, instance_};
};

// Whether an error answer is YARN refusing upgrades (yarn.service.upgrade.enabled=false).
bool IsUpgradeDisabled(const RmResponse& r);

// The Services API path of one service (Swagger: /app/v1/services/{service_name}).
std::string ServicePath(const std::string& name);

}  // namespace converge::yarn
