// Apply: one backend write per change, and the dispatch of health checks and restores by kind.
#include "reconcilers/sagemaker/reconciler.h"
#include "reconcilers/sagemaker/reconciler_internal.h"

namespace converge::sagemaker {

using internal::VariantUpdates;

Status Reconciler::Apply(const ChangeRequest& change) {
  const KindSpec* k = FindKind(change.key.kind);
  if (!k) return InvalidError("SageMaker has no kind " + change.key.kind);
  switch (change.action) {
    case Action::kDelete:
      if (k->hashed_name && !k->job)
        return DeleteVersions(*k, change.live.value("Versions", json::array()));
      if (k->kind == "Endpoint") {
        auto r = api_->Call("DeleteEndpoint", {{"EndpointName", change.key.name}});
        return r.ok() || r.status().code() == Code::kNotFound ? Status::Ok() : r.status();
      }
      return InvalidError("jobs are never deleted");
    case Action::kCreate:
      [[fallthrough]];
    case Action::kReplace:
      if (change.action == Action::kReplace && k->kind == "Endpoint")
        return RecreateEndpoint(change.key.name, WireRequest(change.desired));
      [[fallthrough]];
    case Action::kRun: {
      if (k->job) return StartRun(k->kind, change.desired);
      auto r = api_->Call(k->create_op, WireRequest(change.desired));
      // A content-addressed name: "already exists" means an earlier attempt (whose answer was
      // lost) created exactly this. An endpoint's name is the spec name: it is ours only if it
      // carries our tag, else someone else created it meanwhile and it is left alone.
      if (!r.ok() && r.status().code() == Code::kConflict && !k->hashed_name) {
        auto d = DescribeEndpoint(change.key.name);
        if (!d.ok()) return d.status();
        if (!d->has_value()) return r.status();
        auto tags = TagsOf((**d).value("EndpointArn", ""), -1);
        if (!tags.ok()) return tags.status();
        if (!Mine(*tags))
          return Status(Code::kInvalid, "endpoint " + change.key.name +
                                            " was created meanwhile by someone else (no " +
                                            kManagedByTag + " tag of this converge): left alone");
        // Ours: an earlier attempt whose answer was lost — if it is the same endpoint. Anything
        // else (another config, being deleted) is for a fresh plan, never for a rollback that
        // would delete it.
        const std::string status = (**d).value("EndpointStatus", "");
        if ((**d).value("EndpointConfigName", "") !=
                change.desired.value("EndpointConfigName", "") ||
            status == "Deleting" || status == "Failed")
          return Status(Code::kConflict,
                        "endpoint " + change.key.name + " already exists (" + status + " on " +
                            (**d).value("EndpointConfigName", "") + "): plan again");
        return Status::Ok();
      }
      if (!r.ok() && r.status().code() != Code::kConflict) return r.status();
      if (change.action == Action::kReplace) {
        // The retained versions follow the annotation too. Best effort: a version left with
        // converge.io/prune=false only protects more, and the next plan shows the rest.
        (void)SyncPruneTags(
            change.live.is_object() ? change.live.value("Versions", json::array()) : json::array(),
            change.desired.value(k->name_member, ""), change.desired.value("Tags", json::array()));
        (void)GarbageCollect(*k, change.key.name, change.desired[k->name_member]);
      }
      return Status::Ok();
    }
    case Action::kUpdate: {
      if (k->hashed_name) {  // the same content: only its tags change
        const std::string want = change.desired.value(k->name_member, "");
        const json versions = change.live.value("Versions", json::array());
        for (const auto& v : versions)
          if (v.value("Name", "") == want) {
            CONVERGE_RETURN_IF_ERROR(SyncTags(v.value("Arn", ""), v.value("Tags", json::array()),
                                              change.desired.value("Tags", json::array())));
            // Prune protection is the spec's, not one version's: every retained one carries it.
            return SyncPruneTags(versions, want, change.desired.value("Tags", json::array()));
          }
        return Status(Code::kConflict, want + " is gone; plan again");
      }
      CONVERGE_RETURN_IF_ERROR(SyncTags(change.live.value("EndpointArn", ""),
                                        change.live.value("Tags", json::array()),
                                        change.desired.value("Tags", json::array())));
      if (change.live.value("EndpointConfigName", "") ==
          change.desired.value("EndpointConfigName", ""))
        return Status::Ok();  // tags only
      json in = {{"EndpointName", change.key.name},
                 {"EndpointConfigName", change.desired["EndpointConfigName"]}};
      if (change.desired.contains("DeploymentConfig"))
        in["DeploymentConfig"] = change.desired["DeploymentConfig"];
      auto r = api_->Call("UpdateEndpoint", in);
      return r.ok() ? Status::Ok() : r.status();
    }
    case Action::kScale: {
      CONVERGE_RETURN_IF_ERROR(SyncTags(change.live.value("EndpointArn", ""),
                                        change.live.value("Tags", json::array()),
                                        change.desired.value("Tags", json::array())));
      json updates =
          VariantUpdates(change.desired, change.live, "DesiredInstanceCount", "DesiredWeight");
      if (updates.empty()) return Status::Ok();
      auto r =
          api_->Call("UpdateEndpointWeightsAndCapacities",
                     {{"EndpointName", change.key.name}, {"DesiredWeightsAndCapacities", updates}});
      return r.ok() ? Status::Ok() : r.status();
    }
    default:
      return Status::Ok();
  }
}
Result<Health> Reconciler::CheckHealth(const ResourceKey& key, const json& desired) {
  const KindSpec* k = FindKind(key.kind);
  if (!k) return InvalidError("SageMaker has no kind " + key.kind);
  if (desired.is_null()) {  // after a delete: gone?
    auto o = Get(key);
    if (!o.ok()) return o.status();
    if (!o->has_value()) return Health{HealthState::kHealthy, "deleted"};
    return Health{HealthState::kProgressing, "still deleting"};
  }
  if (k->job) return InvalidError(key.kind + " is a job: its runs are followed by the run lifecycle");
  if (k->hashed_name) {
    const std::string want =
        desired.contains(k->name_member) ? desired.value(k->name_member, "") : "";
    if (want.empty()) return Health{HealthState::kHealthy, "immutable versions retained"};
    auto d = api_->Call(k->describe_op, {{k->name_member, want}});
    if (!d.ok())
      return d.status().code() == Code::kNotFound
                 ? Result<Health>(Health{HealthState::kMissing, want + " not found"})
                 : Result<Health>(d.status());
    return Health{HealthState::kHealthy, want + " exists"};
  }
  return EndpointHealth(key, desired);
}

Status Reconciler::Restore(const ResourceKey& key, const json& definition) {
  const KindSpec* k = FindKind(key.kind);
  if (!k) return InvalidError("SageMaker has no kind " + key.kind);
  if (k->job) return Status::Ok();  // a run cannot be undone; nothing to put back
  if (k->hashed_name) {
    if (!definition.is_null()) return Status::Ok();  // old versions are retained, never changed
    auto o = Get(key);  // it did not exist before: remove what the failed change created
    if (!o.ok()) return o.status();
    if (!o->has_value()) return Status::Ok();
    return DeleteVersions(*k, (**o).doc.value("Versions", json::array()));
  }
  return RestoreEndpoint(key, definition);
}

}  // namespace converge::sagemaker
