// The Marathon reconciler: kind App (the native Marathon app definition), observed with one
// GET /v2/apps, written with PUT (an upsert, so a repeated create after a crash is harmless),
// scaled with a PUT of only {"instances": N}, healthy when no deployment is running and
// tasksRunning (and tasksHealthy when health checks exist) equals instances.
#pragma once

#include <memory>

#include "reconcilers/marathon/client.h"
#include "reconcilers/reconciler.h"
#include "specs/loader.h"

namespace converge::marathon {

inline constexpr const char* kManagedByLabel = "converge.io/managed-by";

class Reconciler : public converge::Reconciler {
 public:
  Reconciler(std::unique_ptr<Client> client, std::string instance);

  Result<std::vector<LiveObject>> Observe() override;
  bool ObserveNeedsSpecs() const override { return false; }  // one list of every app
  Result<std::optional<LiveObject>> Get(const ResourceKey& key) override;
  json Desired(const Document& doc) const override;
  json Definition(const json& live) const override;
  DiffResult Diff(const json& desired, const json& live, const json& last_applied) const override;
  std::vector<ResourceKey> Dependencies(const json& doc) const override;
  Status Apply(const ChangeRequest& change) override;
  Result<Health> CheckHealth(const ResourceKey& key, const json& desired) override;
  Status Restore(const ResourceKey& key, const json& definition) override;
  long RequestCount() const override;
  long WriteCount() const override;

 private:
  std::unique_ptr<Client> client_;
  std::string instance_;
};

// Registers kind App with the loader (validation of the native definition and of the id).
void RegisterKinds(KindRegistry& registry);

}  // namespace converge::marathon
