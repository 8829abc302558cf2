// Endpoints: rollout health (the config deployed, the variants' counts and weights), the way out
// of Failed (delete, then create again), and putting a snapshot back after a failed change.
#include <algorithm>
#include <cmath>
#include "specs/base/clock.h"

#include "reconcilers/sagemaker/reconciler.h"
#include "reconcilers/sagemaker/reconciler_internal.h"

namespace converge::sagemaker {
namespace internal {

bool InProgress(const std::string& status) {
  return status == "Creating" || status == "Updating" || status == "SystemUpdating" ||
         status == "RollingBack" || status == "Deleting";
}

// Endpoint variants as {name: {count, weight}} from a desired document (private member) or from
// a DescribeEndpoint answer (a snapshot).
std::map<std::string, std::pair<json, json>> ExpectedVariants(const json& doc) {
  std::map<std::string, std::pair<json, json>> out;
  if (!doc.is_object()) return out;
  if (doc.contains(kPrivate) && doc[kPrivate].contains("Variants")) {
    for (const auto& v : doc[kPrivate]["Variants"])
      out[v.value("VariantName", "")] = {v.value("InitialInstanceCount", json()),
                                         v.value("InitialVariantWeight", json())};
  } else if (doc.contains("ProductionVariants") && doc["ProductionVariants"].is_array()) {
    for (const auto& v : doc["ProductionVariants"])
      out[v.value("VariantName", "")] = {v.value("DesiredInstanceCount", json()),
                                         v.value("DesiredWeight", json())};
  }
  return out;
}

bool SameNumber(const json& a, const json& b) {
  if (a.is_null() || b.is_null()) return true;  // unspecified: not compared
  if (!a.is_number() || !b.is_number()) return a == b;
  return std::abs(a.get<double>() - b.get<double>()) < 1e-9;
}

json VariantUpdates(const json& wanted, const json& described, const char* count_member,
                    const char* weight_member, std::string* first_lagging) {
  auto want = ExpectedVariants(wanted);
  json updates = json::array();
  for (const auto& v : described.value("ProductionVariants", json::array())) {
    auto it = want.find(v.value("VariantName", ""));
    if (it == want.end()) continue;
    if (SameNumber(v.value(count_member, json()), it->second.first) &&
        SameNumber(v.value(weight_member, json()), it->second.second))
      continue;
    if (first_lagging && first_lagging->empty())
      *first_lagging = "variant " + it->first + " at " + v.value(count_member, json()).dump() +
                       " instances, weight " + v.value(weight_member, json()).dump();
    json u = {{"VariantName", it->first}};
    if (!it->second.first.is_null()) u["DesiredInstanceCount"] = it->second.first;
    if (!it->second.second.is_null()) u["DesiredWeight"] = it->second.second;
    updates.push_back(std::move(u));
  }
  return updates;
}

}  // namespace internal

using internal::InProgress;
using internal::VariantUpdates;

Status Reconciler::RecreateEndpoint(const std::string& name, const json& create_input) {
  auto del = api_->Call("DeleteEndpoint", {{"EndpointName", name}});
  if (!del.ok() && del.status().code() != Code::kNotFound) return del.status();
  // Deleting takes a while; the name is free once DescribeEndpoint no longer finds it.
  // The wait goes through the Clock and ends at once when converge must stop (the endpoint is
  // then deleted and not yet re-created: the next plan sees it missing and creates it).
  Clock& clock = options_.clock != nullptr ? *options_.clock : SystemClock();
  const auto deadline = clock.Now() + std::chrono::minutes(30);
  while (true) {
    auto d = DescribeEndpoint(name);
    if (!d.ok()) return d.status();
    if (!d->has_value()) break;
    if (clock.Now() > deadline)
      return TimeoutError("endpoint " + name + " still " + (**d).value("EndpointStatus", "") +
                          " 30 minutes after DeleteEndpoint");
    if (!clock.SleepUnless(std::min(options_.poll_interval, std::chrono::milliseconds(5000)),
                           options_.cancel))
      return CancelledError("endpoint " + name +
                            " deleted; its re-creation was cut short: converge is stopping");
  }
  auto r = api_->Call("CreateEndpoint", create_input);
  return r.ok() ? Status::Ok() : r.status();
}
Result<Health> Reconciler::EndpointHealth(const ResourceKey& key, const json& desired) {
  auto d = DescribeEndpoint(key.name);
  if (!d.ok()) return d.status();
  if (!d->has_value()) return Health{HealthState::kMissing, "endpoint not found"};
  const json& e = **d;
  const std::string status = e.value("EndpointStatus", "");
  const std::string want_cfg = desired.value("EndpointConfigName", "");
  const std::string reason = e.value("FailureReason", "");
  if (status == "Failed")
    return Health{HealthState::kFailed, "Failed: " + (reason.empty() ? "no reason given" : reason)};
  if (InProgress(status)) return Health{HealthState::kProgressing, status};
  if (status != "InService") return Health{HealthState::kDegraded, status};
  if (e.value("EndpointConfigName", "") != want_cfg) {
    // InService on another config after an update: SageMaker rolled the update back.
    return Health{HealthState::kFailed,
                  "InService on " + e.value("EndpointConfigName", "") + ", not " + want_cfg +
                      (reason.empty() ? "" : " (SageMaker rolled back: " + reason + ")")};
  }
  std::string lagging;
  json updates = VariantUpdates(desired, e, "CurrentInstanceCount", "CurrentWeight", &lagging);
  if (updates.empty()) return Health{HealthState::kHealthy, "InService on " + want_cfg};
  // InService on the right config with other counts or weights: the config carries the counts
  // it was created with (a count-only change scales the endpoint, it does not make a new
  // config), so an UpdateEndpoint back to it, or a new endpoint on it, deploys those. The
  // executor sets the wanted ones with a scale (Apply); this check only reads.
  return Health{HealthState::kDiverged, "InService, " + lagging, Action::kScale};
}

// ----- restore ------------------------------------------------------------------------------

Status Reconciler::RestoreEndpoint(const ResourceKey& key, const json& definition) {
  if (definition.is_null()) {
    auto r = api_->Call("DeleteEndpoint", {{"EndpointName", key.name}});
    return r.ok() || r.status().code() == Code::kNotFound ? Status::Ok() : r.status();
  }
  const std::string cfg = definition.value("EndpointConfigName", "");
  auto d = DescribeEndpoint(key.name);
  if (!d.ok()) return d.status();
  if (!d->has_value()) {
    const json tags =
        CreateTags(internal::SyncedTags(definition.value("Tags", json::array())), key.name);
    json in = {{"EndpointName", key.name}, {"EndpointConfigName", cfg}, {"Tags", tags}};
    auto r = api_->Call("CreateEndpoint", in);
    return r.ok() ? Status::Ok() : r.status();
  }
  const json& e = **d;
  if (e.value("EndpointStatus", "") == "Failed") {
    const json tags =
        CreateTags(internal::SyncedTags(definition.value("Tags", json::array())), key.name);
    return RecreateEndpoint(
        key.name, {{"EndpointName", key.name}, {"EndpointConfigName", cfg}, {"Tags", tags}});
  }
  if (InProgress(e.value("EndpointStatus", "")))
    return UnavailableError("endpoint is " + e.value("EndpointStatus", "") +
                            "; roll back once it is InService or Failed");
  if (e.value("EndpointConfigName", "") != cfg) {
    auto r =
        api_->Call("UpdateEndpoint", {{"EndpointName", key.name}, {"EndpointConfigName", cfg}});
    return r.ok() ? Status::Ok() : r.status();
  }
  // Same config: put the variants' counts and weights back.
  json updates = VariantUpdates(definition, e, "DesiredInstanceCount", "DesiredWeight");
  if (updates.empty()) return Status::Ok();
  auto r = api_->Call("UpdateEndpointWeightsAndCapacities",
                      {{"EndpointName", key.name}, {"DesiredWeightsAndCapacities", updates}});
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace converge::sagemaker
