#include <set>

#include "reconcilers/sagemaker/reconciler.h"
#include "reconcilers/sagemaker/reconciler_internal.h"

namespace converge::sagemaker {
namespace internal {

json SyncedTags(const std::map<std::string, std::string>& tags) {
  json out = json::array();
  for (const auto& [k, v] : tags) {
    // converge's own (but the prune protection, which the spec decides), and AWS's own.
    bool synced = k == kPruneTag || (k.rfind("converge.io/", 0) != 0 && k.rfind("aws:", 0) != 0);
    if (synced) out.push_back({{"Key", k}, {"Value", v}});
  }
  return out;
}

json SyncedTags(const json& tags) {
  std::map<std::string, std::string> m;
  if (tags.is_array())
    for (const auto& t : tags)
      if (t.is_object() && t.contains("Key") && t["Key"].is_string())
        m[t["Key"].get<std::string>()] = t.value("Value", "");
  return SyncedTags(m);
}

json PruneTagValue(const json& tags) {
  if (tags.is_array())
    for (const auto& t : tags)
      if (t.is_object() && t.value("Key", json()) == kPruneTag) return t.value("Value", json(""));
  return json();
}

json WithPruneTag(const json& tags, const json& value) {
  json out = json::array();
  if (tags.is_array())
    for (const auto& t : tags)
      if (!t.is_object() || t.value("Key", json()) != kPruneTag) out.push_back(t);
  if (!value.is_null()) out.push_back({{"Key", kPruneTag}, {"Value", value}});
  return out;
}

bool PruneProtectedTags(const json& tags) {
  return PruneTagValue(tags) == "false";
}

}  // namespace internal

// ----- tags ---------------------------------------------------------------------------------

Status Reconciler::SyncTags(const std::string& arn, const json& live_tags, const json& want_tags) {
  std::map<std::string, std::string> have, want;
  for (const auto& t : internal::SyncedTags(live_tags)) have[t["Key"]] = t["Value"];
  for (const auto& t : internal::SyncedTags(want_tags)) want[t["Key"]] = t["Value"];
  json removed = json::array(), added = json::array();
  for (const auto& [k, v] : have)
    if (!want.count(k)) removed.push_back(k);
  for (const auto& [k, v] : want)
    if (!have.count(k) || have[k] != v) added.push_back({{"Key", k}, {"Value", v}});
  if (removed.empty() && added.empty()) return Status::Ok();
  {
    std::lock_guard<std::mutex> lock(tag_mu_);
    tag_cache_.erase(arn);
  }
  Status s = Status::Ok();
  if (!removed.empty()) {
    auto r = api_->Call("DeleteTags", {{"ResourceArn", arn}, {"TagKeys", removed}});
    if (!r.ok()) s = r.status();
  }
  if (s.ok() && !added.empty()) {
    auto r = api_->Call("AddTags", {{"ResourceArn", arn}, {"Tags", added}});
    if (!r.ok()) s = r.status();
  }
  {
    // Again after the writes: an observe in between may have cached the old tags.
    std::lock_guard<std::mutex> lock(tag_mu_);
    tag_cache_.erase(arn);
  }
  return s;
}

Status Reconciler::SyncPruneTags(const json& versions, const std::string& except,
                                 const json& desired_tags) {
  const json want = internal::PruneTagValue(desired_tags);
  for (const auto& v : versions) {
    if (v.value("Name", "") == except || internal::PruneTagValue(v.value("Tags", json())) == want)
      continue;
    const json live_tags = v.value("Tags", json::array());
    CONVERGE_RETURN_IF_ERROR(
        SyncTags(v.value("Arn", ""), live_tags, internal::WithPruneTag(live_tags, want)));
  }
  return Status::Ok();
}

// ----- garbage collection -------------------------------------------------------------------

Status Reconciler::DeleteVersions(const KindSpec& k, const json& versions) {
  for (const auto& v : versions) {
    auto r = api_->Call(k.delete_op, {{k.name_member, v.value("Name", "")}});
    if (!r.ok() && r.status().code() != Code::kNotFound) return r.status();
  }
  return Status::Ok();
}

// Deletes versions of `spec_name` beyond the retention that nothing uses: configs no endpoint
// runs, models no retained config of ours references. Best effort, after the new version exists.
Status Reconciler::GarbageCollect(const KindSpec& k, const std::string& spec_name,
                                  const json& keep_name) {
  std::map<std::string, json> versions;
  CONVERGE_RETURN_IF_ERROR(ObserveVersions(k, spec_name, versions));
  auto it = versions.find(spec_name);
  if (it == versions.end()) return Status::Ok();
  json candidates = json::array();
  int kept = 0;
  for (const auto& v : it->second["Versions"]) {
    if (v["Name"] == keep_name || kept < options_.retain_versions - 1) {
      if (v["Name"] != keep_name) ++kept;
      continue;
    }
    candidates.push_back(v);
  }
  if (candidates.empty()) return Status::Ok();
  std::set<std::string> in_use;
  if (k.kind == "EndpointConfig") {
    std::vector<std::string> endpoints;
    CONVERGE_RETURN_IF_ERROR(
        api_->ListAll("ListEndpoints", json::object(), "Endpoints", [&](json& e) {
          endpoints.push_back(e.value("EndpointName", ""));
          return Status::Ok();
        }));
    for (const auto& e : endpoints) {
      auto d = DescribeEndpoint(e);
      if (!d.ok()) return d.status();
      if (!d->has_value()) continue;
      in_use.insert((**d).value("EndpointConfigName", ""));
      // An update in progress deploys the pending config: it is in use too.
      const json& pending = (**d).value("PendingDeploymentSummary", json::object());
      if (pending.is_object() && pending.contains("EndpointConfigName"))
        in_use.insert(pending.value("EndpointConfigName", ""));
    }
  } else {  // Model: referenced by any remaining config version of ours
    std::map<std::string, json> configs;
    CONVERGE_RETURN_IF_ERROR(ObserveVersions(*FindKind("EndpointConfig"), "", configs));
    for (const auto& [_, doc] : configs)
      for (const auto& v : doc["Versions"]) {
        // Any failure other than "gone" stops the collection: a config whose models are not
        // known would otherwise lose them (rollback targets, or what an endpoint runs).
        auto models = ModelsOfConfig(v.value("Name", ""), internal::CreationTime(v));
        if (!models.ok()) {
          if (models.status().code() == Code::kNotFound) continue;
          return models.status();
        }
        for (const auto& m : *models) in_use.insert(m);
      }
  }
  json doomed = json::array();
  for (const auto& c : candidates)
    if (!in_use.count(c.value("Name", ""))) doomed.push_back(c);
  return DeleteVersions(k, doomed);
}

}  // namespace converge::sagemaker
