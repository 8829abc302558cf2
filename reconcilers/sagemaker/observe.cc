#include <set>

#include "reconcilers/sagemaker/reconciler.h"
#include "reconcilers/sagemaker/reconciler_internal.h"

namespace converge::sagemaker {
namespace internal {

double CreationTime(const json& o) {
  auto it = o.find("CreationTime");
  return it != o.end() && it->is_number() ? it->get<double>() : 0;
}

}  // namespace internal

namespace {

using internal::CreationTime;

// A prune deletes every retained version, so one version that says "never prune" protects all.
bool AnyVersionProtected(const json& versions_doc) {
  for (const json& v : versions_doc.value("Versions", json::array()))
    if (internal::PruneProtectedTags(v.value("Tags", json()))) return true;
  return false;
}

}  // namespace

Result<std::map<std::string, std::string>> Reconciler::TagsOf(const std::string& arn,
                                                              double created) {
  const bool cacheable = created >= 0;
  if (cacheable) {
    LoadCache();
    std::lock_guard<std::mutex> lock(tag_mu_);
    if (auto it = tag_cache_.find(arn); it != tag_cache_.end() &&
                                        it->second.created == created &&
                                        WallSeconds() - it->second.at < kTagCacheTtl)
      return it->second.tags;
  }
  std::map<std::string, std::string> tags;
  Status s = api_->ListAll("ListTags", {{"ResourceArn", arn}}, "Tags", [&](json& t) {
    tags[t.value("Key", "")] = t.value("Value", "");
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(tag_mu_);
    tag_cache_[arn] = CachedTags{tags, created, WallSeconds()};
    cache_dirty_ = true;
  }
  return tags;
}

Result<std::vector<std::string>> Reconciler::ModelsOfConfig(const std::string& name,
                                                            double created) {
  LoadCache();
  {
    std::lock_guard<std::mutex> lock(tag_mu_);
    if (auto it = config_models_cache_.find(name);
        it != config_models_cache_.end() && (created < 0 || it->second.created == created))
      return it->second.models;
  }
  auto d = api_->Call("DescribeEndpointConfig", {{"EndpointConfigName", name}});
  if (!d.ok()) return d.status();
  std::vector<std::string> models;
  for (const json& v : d->value("ProductionVariants", json::array()))
    if (v.contains("ModelName") && v["ModelName"].is_string())
      models.push_back(v["ModelName"].get<std::string>());
  std::lock_guard<std::mutex> lock(tag_mu_);
  // Keyed by the time the listing showed (the same member the next lookup passes).
  config_models_cache_[name] = CachedModels{models, created >= 0 ? created : CreationTime(*d)};
  cache_dirty_ = true;
  return models;
}

// Lists the owned versions of an immutable kind, grouped by spec name, newest first:
// out[spec] = {"Versions": [{"Name", "Arn", "CreationTime", "Tags"[, "Models"]}, ...]}.
Status Reconciler::ObserveVersions(const KindSpec& k, const std::string& only_name,
                                   std::map<std::string, json>& out) {
  json input = json::object();
  if (!only_name.empty()) input["NameContains"] = only_name + "-";
  std::vector<Listed> candidates;
  std::set<std::string> existing;  // every name listed, whoever owns it (references)
  Status s = api_->ListAll(k.list_op, input, k.list_member, [&](json& o) {
    std::string name = o.value(k.name_member, "");
    existing.insert(name);
    std::string spec = SpecNameOfLive(name);
    // Only names of converge's shape can be converge's: skip the tag lookup for the rest.
    if (!spec.empty() && (only_name.empty() || spec == only_name)) candidates.push_back({o, {}});
    return Status::Ok();
  });
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(known_mu_);
    if (only_name.empty())
      known_[k.kind] = std::move(existing);
    else
      known_[k.kind].insert(existing.begin(), existing.end());
  }
  return CollectVersions(k, only_name, candidates, out);
}

Status Reconciler::CollectVersions(const KindSpec& k, const std::string& only_name,
                                   const std::vector<Listed>& candidates,
                                   std::map<std::string, json>& out) {
  for (const Listed& l : candidates) {
    const json& o = l.o;
    Result<std::map<std::string, std::string>> tags =
        l.tags ? Result<std::map<std::string, std::string>>(*l.tags)
               : TagsOf(o.value(k.arn_member, ""), CreationTime(o));
    if (!tags.ok()) {
      if (tags.status().code() == Code::kNotFound) continue;  // deleted meanwhile
      return tags.status();
    }
    auto n = tags->find(kNameTag);
    if (!Mine(*tags) || n == tags->end()) continue;
    json version = {{"Name", o.value(k.name_member, "")},
                    {"Arn", o.value(k.arn_member, "")},
                    {"CreationTime", o.value("CreationTime", json(0))},
                    {"Tags", internal::SyncedTags(*tags)}};
    if (k.kind == "EndpointConfig") {
      auto models = ModelsOfConfig(version["Name"].get<std::string>(), CreationTime(o));
      if (!models.ok()) {
        if (models.status().code() == Code::kNotFound) continue;  // deleted meanwhile
        return models.status();
      }
      version["Models"] = *models;
    }
    json& doc = out[n->second];
    if (doc.is_null()) doc = {{"Versions", json::array()}};
    doc["Versions"].push_back(std::move(version));
  }
  for (auto& [_, doc] : out) {
    auto& v = doc["Versions"];
    std::sort(v.begin(), v.end(), [](const json& a, const json& b) {
      if (CreationTime(a) != CreationTime(b)) return CreationTime(a) > CreationTime(b);
      return a["Name"].get<std::string>() > b["Name"].get<std::string>();
    });
  }
  return Status::Ok();
}

Result<std::optional<json>> Reconciler::DescribeEndpoint(const std::string& name) {
  auto d = api_->Call("DescribeEndpoint", {{"EndpointName", name}});
  if (!d.ok()) {
    if (d.status().code() == Code::kNotFound) return std::optional<json>();
    return d.status();
  }
  return std::optional<json>(std::move(*d));
}

Result<std::vector<LiveObject>> Reconciler::Observe() {
  LoadCache();
  std::vector<LiveObject> out;
  for (const KindSpec& k : sagemaker::Kinds()) {
    if (k.job) {
      continue;  // runs: observed by the run lifecycle through ListRuns
    } else if (k.hashed_name) {
      std::map<std::string, json> versions;
      Status s = InvalidError("");
      // EndpointConfig is no Search resource: listed, its tags and models cached (immutable).
      if (k.kind == "Model" && options_.search && !search_off_) {
        s = SearchVersions(k, versions);
        if (!s.ok() && SearchUnavailable(s)) versions.clear();
        else CONVERGE_RETURN_IF_ERROR(s);
      }
      if (!s.ok()) CONVERGE_RETURN_IF_ERROR(ObserveVersions(k, "", versions));
      for (auto& [name, doc] : versions) {
        LiveObject o;
        o.key = {k.kind, name};
        o.doc = std::move(doc);
        o.owned = true;
        o.prune_protected = AnyVersionProtected(o.doc);
        out.push_back(std::move(o));
      }
    } else {  // Endpoint: the name is the spec name; foreign endpoints of that name conflict.
      std::vector<LiveObject> endpoints;
      Status s = InvalidError("");
      if (options_.search && !search_off_) {
        s = SearchEndpoints(endpoints);
        if (!s.ok() && SearchUnavailable(s)) endpoints.clear();
        else CONVERGE_RETURN_IF_ERROR(s);
      }
      if (!s.ok()) CONVERGE_RETURN_IF_ERROR(ListEndpoints(endpoints));
      for (auto& e : endpoints) out.push_back(std::move(e));
    }
  }
  SaveCache();
  return out;
}

Result<std::optional<LiveObject>> Reconciler::Get(const ResourceKey& key) {
  const KindSpec* k = FindKind(key.kind);
  if (!k) return InvalidError("SageMaker has no kind " + key.kind);
  // What the spec references outside converge must exist (checked by Diff): look it up.
  for (const ResourceKey& r : ExternalRefs(key.kind, key.name)) {
    const KindSpec* rk = FindKind(r.kind);
    auto d = api_->Call(rk->describe_op, {{rk->name_member, r.name}});
    if (!d.ok() && d.status().code() != Code::kNotFound) return d.status();
    NoteExisting(r.kind, r.name, d.ok());
  }
  LiveObject o;
  o.key = key;
  if (k->job) return InvalidError(key.kind + " is a job: its runs are read with ListRuns");
  if (k->hashed_name) {
    std::map<std::string, json> versions;
    CONVERGE_RETURN_IF_ERROR(ObserveVersions(*k, key.name, versions));
    auto it = versions.find(key.name);
    if (it == versions.end()) return std::optional<LiveObject>();
    o.doc = std::move(it->second);
    o.owned = true;
    o.prune_protected = AnyVersionProtected(o.doc);
  } else {
    auto d = DescribeEndpoint(key.name);
    if (!d.ok()) return d.status();
    if (!d->has_value()) return std::optional<LiveObject>();
    o.doc = std::move(**d);
    auto tags = TagsOf(o.doc.value("EndpointArn", ""), -1);
    if (!tags.ok()) return tags.status();
    o.owned = Mine(*tags);
    o.doc["Tags"] = internal::SyncedTags(*tags);
    o.prune_protected = internal::PruneProtectedTags(o.doc["Tags"]);
  }
  return std::optional<LiveObject>(std::move(o));
}

}  // namespace converge::sagemaker
