// Observe's reads of models and endpoints: one paged Search per kind (each record carries the
// object and its tags), or — when Search is off or unavailable — the List calls plus ListTags and
// DescribeEndpoint per object. Objects converge wrote in the last kSearchLag seconds are read
// directly either way: the Search index is updated asynchronously and may not show them yet.
#include <cctype>

#include "reconcilers/sagemaker/reconciler.h"
#include "reconcilers/sagemaker/reconciler_internal.h"

namespace converge::sagemaker {
namespace {

std::map<std::string, std::string> TagMap(const json& tags) {
  std::map<std::string, std::string> out;
  if (!tags.is_array()) return out;
  for (const json& t : tags)
    if (t.is_object()) out[t.value("Key", "")] = t.value("Value", "");
  return out;
}

// A Search over all objects of `resource`, oldest first: new objects created while paging land
// on later pages instead of shifting the ones not read yet.
json SearchInput(const std::string& resource) {
  return {{"Resource", resource},
          {"SortBy", "CreationTime"},
          {"SortOrder", "Ascending"},
          {"MaxResults", 100}};
}

}  // namespace

bool Reconciler::SearchUnavailable(const Status& s) {
  // UnknownOperationException (an endpoint that is not SageMaker's, an old emulator), a role
  // without sagemaker:Search: the List calls still work.
  if (s.code() != Code::kInvalid && s.code() != Code::kPermission) return false;
  search_off_ = true;
  return true;
}

Status Reconciler::SearchVersions(const KindSpec& k, std::map<std::string, json>& out) {
  std::vector<Listed> candidates;
  std::set<std::string> existing;
  CONVERGE_RETURN_IF_ERROR(api_->ListAll("Search", SearchInput(k.kind), "Results", [&](json& r) {
    // Model records are ModelDashboardModel: {"Model": {...the model, Tags}, "Endpoints": ...}.
    const json o = k.kind == "Model" ? r.value("Model", json::object()).value("Model", json())
                                     : r.value(k.kind, json());
    if (!o.is_object()) return Status::Ok();
    std::string name = o.value(k.name_member, "");
    if (WrittenLately(k.kind, name)) return Status::Ok();  // read directly below
    existing.insert(name);
    if (SpecNameOfLive(name).empty()) return Status::Ok();
    candidates.push_back({{{k.name_member, name},
                           {k.arn_member, o.value(k.arn_member, "")},
                           {"CreationTime", o.value("CreationTime", json(0))}},
                          TagMap(o.value("Tags", json()))});
    return Status::Ok();
  }));
  // What converge created or deleted lately may not be in the index yet, or still be there.
  std::vector<std::string> direct;
  {
    std::lock_guard<std::mutex> lock(tag_mu_);
    for (const auto& [key, at] : written_)
      if (key.rfind(k.kind + "/", 0) == 0 && WallSeconds() - at < kSearchLag)
        direct.push_back(key.substr(k.kind.size() + 1));
  }
  for (const std::string& name : direct) {
    auto d = api_->Call(k.describe_op, {{k.name_member, name}});
    if (!d.ok()) {
      if (d.status().code() == Code::kNotFound) continue;
      return d.status();
    }
    existing.insert(name);
    if (!SpecNameOfLive(name).empty())
      candidates.push_back({{{k.name_member, name},
                             {k.arn_member, d->value(k.arn_member, "")},
                             {"CreationTime", d->value("CreationTime", json(0))}},
                            {}});  // tags: ListTags
  }
  {
    std::lock_guard<std::mutex> lock(known_mu_);
    known_[k.kind] = std::move(existing);
  }
  return CollectVersions(k, "", candidates, out);
}

Status Reconciler::SearchEndpoints(std::vector<LiveObject>& out) {
  const auto bound = Specs();
  auto eps = bound->find("Endpoint");
  auto wanted = [&](const std::string& name) {
    return eps != bound->end() && eps->second.count(name) > 0;
  };
  std::set<std::string> seen;
  CONVERGE_RETURN_IF_ERROR(
      api_->ListAll("Search", SearchInput("Endpoint"), "Results", [&](json& r) {
        json e = r.value("Endpoint", json());
        if (!e.is_object()) return Status::Ok();
        const std::string name = e.value("EndpointName", "");
        seen.insert(name);
        if (WrittenLately("Endpoint", name)) return Status::Ok();  // read directly below
        auto tags = TagMap(e.value("Tags", json()));
        bool owned = Mine(tags);
        if (!owned && !wanted(name)) return Status::Ok();  // not ours and not wanted
        LiveObject o;
        o.key = {"Endpoint", name};
        o.owned = owned;
        e.erase("Tags");
        o.doc = std::move(e);
        o.doc["Tags"] = internal::SyncedTags(tags);
        o.prune_protected = internal::PruneProtectedTags(o.doc["Tags"]);
        out.push_back(std::move(o));
        return Status::Ok();
      }));
  // Endpoint names are case-insensitive (tag writes name them by their lower-case ARN).
  std::map<std::string, std::string> direct;  // lower-case -> as written
  {
    std::lock_guard<std::mutex> lock(tag_mu_);
    for (const auto& [key, at] : written_)
      if (key.rfind("Endpoint/", 0) == 0 && WallSeconds() - at < kSearchLag) {
        std::string lower = key.substr(9);
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        direct.emplace(lower, key.substr(9));
      }
  }
  for (const auto& [_, name] : direct) {
    auto got = Get({"Endpoint", name});
    if (!got.ok()) return got.status();
    if (!got->has_value()) continue;  // deleted, whatever the index still says
    LiveObject& o = **got;
    o.key.name = o.doc.value("EndpointName", name);
    if (!o.owned && !wanted(o.key.name)) continue;
    out.push_back(std::move(o));
  }
  return Status::Ok();
}

Status Reconciler::ListEndpoints(std::vector<LiveObject>& out) {
  const auto bound = Specs();
  auto eps = bound->find("Endpoint");
  auto wanted = [&](const std::string& name) {
    return eps != bound->end() && eps->second.count(name) > 0;
  };
  std::vector<json> listed;
  CONVERGE_RETURN_IF_ERROR(
      api_->ListAll("ListEndpoints", json::object(), "Endpoints", [&](json& o) {
        listed.push_back(std::move(o));
        return Status::Ok();
      }));
  for (const json& e : listed) {
    const std::string name = e.value("EndpointName", "");
    auto tags = TagsOf(e.value("EndpointArn", ""), -1);
    if (!tags.ok()) {
      if (tags.status().code() == Code::kNotFound) continue;
      // Least-privilege roles may not read the tags of other teams' endpoints: those are
      // not converge's business unless a spec names them.
      if (tags.status().code() == Code::kPermission && !wanted(name)) continue;
      return tags.status();
    }
    bool owned = Mine(*tags);
    if (!owned && !wanted(name)) continue;  // not ours and not wanted: not our business
    LiveObject o;
    o.key = {"Endpoint", name};
    o.owned = owned;
    auto d = DescribeEndpoint(name);
    if (!d.ok()) return d.status();
    if (!d->has_value()) continue;  // deleted between list and describe
    o.doc = std::move(**d);
    o.doc["Tags"] = internal::SyncedTags(*tags);
    o.prune_protected = internal::PruneProtectedTags(o.doc["Tags"]);
    out.push_back(std::move(o));
  }
  return Status::Ok();
}

}  // namespace converge::sagemaker
