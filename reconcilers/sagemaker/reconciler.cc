#include "reconcilers/sagemaker/reconciler.h"

#include <algorithm>
#include <set>
#include <thread>

#include "reconcilers/common/json_schema.h"

namespace converge::sagemaker {
namespace {

// Converge's private members of a desired document (never sent): the variants' expected counts
// and weights of an endpoint, and the spec name.
constexpr char kPrivate[] = "converge";

bool IsHex8(const std::string& s) {
  if (s.size() != 8) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

double CreationTime(const json& o) {
  auto it = o.find("CreationTime");
  return it != o.end() && it->is_number() ? it->get<double>() : 0;
}

bool InProgress(const std::string& status) {
  return status == "Creating" || status == "Updating" || status == "SystemUpdating" ||
         status == "RollingBack" || status == "Deleting";
}

// The user's tags (not converge.io/…), as a sorted [{Key, Value}] array, from a tag map or a
// Tags array (a spec's, or a live object's).
json UserTags(const std::map<std::string, std::string>& tags) {
  json out = json::array();
  for (const auto& [k, v] : tags)
    if (k.rfind("converge.io/", 0) != 0 && k.rfind("aws:", 0) != 0)  // converge's; AWS's own
      out.push_back({{"Key", k}, {"Value", v}});
  return out;
}
json UserTags(const json& tags) {
  std::map<std::string, std::string> m;
  if (tags.is_array())
    for (const auto& t : tags)
      if (t.is_object() && t.contains("Key") && t["Key"].is_string())
        m[t["Key"].get<std::string>()] = t.value("Value", "");
  return UserTags(m);
}

// Dotted-path differences between two JSON values (objects recurse; arrays of objects with a
// VariantName / ChannelName / Key are matched by that name, other arrays compare whole).
void DiffJson(const json& a, const json& b, const std::string& path,
              std::vector<FieldChange>& out) {
  if (a == b) return;
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (auto& [k, _] : a.items()) keys.insert(k);
    for (auto& [k, _] : b.items()) keys.insert(k);
    for (const auto& k : keys) {
      json av = a.contains(k) ? a[k] : json(), bv = b.contains(k) ? b[k] : json();
      DiffJson(av, bv, path.empty() ? k : path + "." + k, out);
    }
    return;
  }
  if (a.is_array() && b.is_array()) {
    // Elements named by an identity member are matched by it (ProductionVariants[blue]);
    // otherwise arrays of equal length are compared element by element ([0], [1], ...).
    auto named_by = [](const json& arr, const char* id) {
      for (const auto& e : arr)
        if (!e.is_object() || !e.contains(id) || !e[id].is_string()) return false;
      return true;
    };
    for (const char* id : {"VariantName", "ChannelName", "Key", "Name"}) {
      if (a.empty() || b.empty() || !named_by(a, id) || !named_by(b, id)) continue;
      std::map<std::string, json> am, bm;
      for (const auto& e : a) am[e[id].get<std::string>()] = e;
      for (const auto& e : b) bm[e[id].get<std::string>()] = e;
      if (am.size() != a.size() || bm.size() != b.size()) break;  // duplicate names
      std::set<std::string> names;
      for (const auto& [n, _] : am) names.insert(n);
      for (const auto& [n, _] : bm) names.insert(n);
      for (const auto& n : names)
        DiffJson(am.count(n) ? am[n] : json(), bm.count(n) ? bm[n] : json(),
                 path + "[" + n + "]", out);
      return;
    }
    if (a.size() == b.size()) {
      for (size_t i = 0; i < a.size(); ++i)
        DiffJson(a[i], b[i], path + "[" + std::to_string(i) + "]", out);
      return;
    }
  }
  out.push_back({path, a, b});
}

json StripForCompare(json request, const std::string& name_member) {
  if (!request.is_object()) return request;
  request.erase(name_member);
  request.erase("Tags");
  request.erase(kPrivate);
  return request;
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


// The DesiredWeightsAndCapacities that bring the variants of a DescribeEndpoint answer to the
// counts and weights `wanted` expects (a desired document or a snapshot): only the variants
// whose `count_member` / `weight_member` differ. `first_lagging`, when not null, describes the
// first of them for a progress line.
json VariantUpdates(const json& wanted, const json& described, const char* count_member,
                    const char* weight_member, std::string* first_lagging = nullptr) {
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

}  // namespace

std::string Hash8(const json& request) { return ContentHash(request.dump()).substr(0, 8); }

std::string SpecNameOfLive(const std::string& live_name) {
  std::string n = live_name;
  // Strip a rerun suffix "-r<digits>" first.
  if (auto r = n.rfind("-r"); r != std::string::npos && r + 2 < n.size() &&
                              std::all_of(n.begin() + r + 2, n.end(), ::isdigit))
    n = n.substr(0, r);
  auto dash = n.rfind('-');
  if (dash == std::string::npos || dash == 0 || !IsHex8(n.substr(dash + 1))) return "";
  return n.substr(0, dash);
}

json WireRequest(const json& desired) {
  json out = desired;
  if (out.is_object()) out.erase(kPrivate);
  return out;
}

Reconciler::Reconciler(std::unique_ptr<Api> api, std::string instance, Options options)
    : api_(std::move(api)), instance_(std::move(instance)), options_(options) {}

std::vector<std::string> Reconciler::Kinds() const {
  std::vector<std::string> out;
  for (const auto& k : sagemaker::Kinds()) out.push_back(k.kind);
  return out;
}

bool Reconciler::CanRollback(const ResourceKey& key) const {
  const KindSpec* k = FindKind(key.kind);
  return k && !k->job;
}

std::chrono::seconds Reconciler::HealthTimeout(const json& desired,
                                               std::chrono::seconds backend_default) const {
  if (!desired.is_object() || !desired.contains("StoppingCondition")) return backend_default;
  const json& sc = desired["StoppingCondition"];
  long long total = 0;
  for (const char* m : {"MaxRuntimeInSeconds", "MaxWaitTimeInSeconds"})
    if (sc.is_object() && sc.contains(m) && sc[m].is_number_integer())
      total = std::max<long long>(total, sc[m].get<long long>());  // wait time includes runtime
  if (total == 0) return backend_default;
  return std::max(backend_default, std::chrono::seconds(total + 15 * 60));
}

void Reconciler::BindSpecs(const std::vector<const Document*>& docs) {
  auto specs = std::make_shared<SpecMap>();
  for (const Document* d : docs) (*specs)[d->kind][d->name] = d->spec;
  std::lock_guard<std::mutex> lock(specs_mu_);
  specs_ = std::move(specs);
}

std::shared_ptr<const Reconciler::SpecMap> Reconciler::Specs() const {
  std::lock_guard<std::mutex> lock(specs_mu_);
  return specs_;
}

std::vector<ResourceKey> Reconciler::References(const Document& doc) const {
  return RefsOf(doc.kind, doc.spec);
}

std::vector<ResourceKey> Reconciler::RefsOf(const std::string& kind, const json& spec) {
  std::vector<ResourceKey> out;
  if (!spec.is_object()) return out;
  auto ref = [&](const std::string& ref_kind, const json& v) {
    if (v.is_string()) out.push_back({ref_kind, v.get<std::string>()});
  };
  if (kind == "EndpointConfig") {
    for (const json& v : spec.value("ProductionVariants", json::array()))
      if (v.is_object()) ref("Model", v.value("ModelName", json()));
  } else if (kind == "Endpoint") {
    ref("EndpointConfig", spec.value("EndpointConfigName", json()));
  } else if (kind == "TransformJob") {
    ref("Model", spec.value("ModelName", json()));
  }
  return out;
}

std::vector<ResourceKey> Reconciler::ExternalRefs(const std::string& kind,
                                                  const std::string& name) const {
  const auto specs = Specs();
  std::vector<ResourceKey> out;
  auto ks = specs->find(kind);
  if (ks == specs->end() || !ks->second.count(name)) return out;
  for (const ResourceKey& r : RefsOf(kind, ks->second.at(name))) {
    auto rk = specs->find(r.kind);
    if (rk == specs->end() || !rk->second.count(r.name)) out.push_back(r);
  }
  return out;
}

void Reconciler::NoteExisting(const std::string& kind, const std::string& name, bool exists) {
  std::lock_guard<std::mutex> lock(known_mu_);
  if (exists)
    known_[kind].insert(name);
  else
    known_[kind].erase(name);
}

std::string Reconciler::DanglingReference(const std::string& kind, const std::string& name) const {
  for (const ResourceKey& r : ExternalRefs(kind, name)) {
    std::vector<std::string> candidates;
    {
      std::lock_guard<std::mutex> lock(known_mu_);
      auto k = known_.find(r.kind);
      if (k != known_.end() && k->second.count(r.name)) continue;
    }
    const auto specs = Specs();
    if (auto ks = specs->find(r.kind); ks != specs->end())
      for (const auto& [spec_name, _] : ks->second) candidates.push_back(spec_name);
    std::string msg = r.kind + " " + r.name + " is neither a " + r.kind +
                      " spec in this directory nor an existing SageMaker " +
                      (r.kind == "Model" ? "model" : "endpoint configuration");
    if (std::string best = ClosestName(r.name, candidates); !best.empty())
      msg += "; did you mean the " + r.kind + " spec \"" + best + "\"?";
    return msg;
  }
  return "";
}

// The request for a spec with references to other specs resolved to their live names, without
// the name member and tags. A reference to a name that is not a spec passes through unchanged
// (an object converge does not manage).
json Reconciler::Request(const SpecMap& specs, const std::string& kind,
                         const std::string& name) const {
  auto ks = specs.find(kind);
  if (ks == specs.end()) return json::object();
  auto it = ks->second.find(name);
  if (it == ks->second.end()) return json::object();
  json r = it->second;
  r.erase("Tags");
  auto resolve = [&](json& ref, const std::string& ref_kind) {
    if (!ref.is_string()) return;
    auto rk = specs.find(ref_kind);
    if (rk != specs.end() && rk->second.count(ref.get<std::string>()))
      ref = LiveName(specs, ref_kind, ref.get<std::string>());
  };
  if (kind == "EndpointConfig" && r.contains("ProductionVariants")) {
    for (auto& v : r["ProductionVariants"])
      if (v.contains("ModelName")) resolve(v["ModelName"], "Model");
  } else if (kind == "Endpoint" && r.contains("EndpointConfigName")) {
    resolve(r["EndpointConfigName"], "EndpointConfig");
  } else if (kind == "TransformJob" && r.contains("ModelName")) {
    resolve(r["ModelName"], "Model");
  }
  return r;
}

std::string Reconciler::LiveName(const std::string& kind, const std::string& name) const {
  return LiveName(*Specs(), kind, name);
}

std::string Reconciler::LiveName(const SpecMap& specs, const std::string& kind,
                                 const std::string& name) const {
  const KindSpec* k = FindKind(kind);
  if (!k || !k->hashed_name) return name;
  json r = Request(specs, kind, name);
  if (kind == "EndpointConfig" && r.contains("ProductionVariants")) {
    // Counts and weights are not part of a config's identity: changing them scales the endpoint.
    for (auto& v : r["ProductionVariants"]) {
      v.erase("InitialInstanceCount");
      v.erase("InitialVariantWeight");
    }
  }
  return name + "-" + Hash8(r);
}

json Reconciler::CreateTags(json user_tags, const std::string& name) const {
  if (!user_tags.is_array()) user_tags = json::array();
  user_tags.push_back({{"Key", kManagedByTag}, {"Value", instance_}});
  user_tags.push_back({{"Key", kNameTag}, {"Value", name}});
  return user_tags;
}

bool Reconciler::Mine(const std::map<std::string, std::string>& tags) const {
  auto m = tags.find(kManagedByTag);
  return m != tags.end() && m->second == instance_;
}

json Reconciler::Desired(const Document& doc) const {
  const KindSpec* k = FindKind(doc.kind);
  if (!k) return json();
  const auto bound = Specs();  // one snapshot for the body, the hash and the variants
  json r = Request(*bound, doc.kind, doc.name);
  r[k->name_member] = LiveName(*bound, doc.kind, doc.name);
  r["Tags"] = CreateTags(doc.spec.value("Tags", json::array()), doc.name);
  json priv = {{"Kind", doc.kind}, {"Name", doc.name}};
  if (doc.kind == "Endpoint" && r["EndpointConfigName"].is_string()) {
    // The variants' counts and weights the endpoint should run with, from the config spec.
    auto cs = bound->find("EndpointConfig");
    std::string cfg = doc.spec.value("EndpointConfigName", "");
    if (cs != bound->end() && cs->second.count(cfg)) {
      json variants = json::array();
      for (const auto& v : cs->second.at(cfg).value("ProductionVariants", json::array())) {
        json e = {{"VariantName", v.value("VariantName", "")}};
        if (v.contains("InitialInstanceCount")) e["InitialInstanceCount"] = v["InitialInstanceCount"];
        e["InitialVariantWeight"] = v.value("InitialVariantWeight", json(1.0));
        variants.push_back(std::move(e));
      }
      priv["Variants"] = std::move(variants);
    }
  }
  r[kPrivate] = std::move(priv);
  return r;
}

std::vector<ResourceKey> Reconciler::Dependencies(const json& doc) const {
  std::vector<ResourceKey> out;
  if (!doc.is_object()) return out;
  auto add = [&](const std::string& kind, const json& live_name) {
    if (!live_name.is_string()) return;
    std::string spec = SpecNameOfLive(live_name.get<std::string>());
    if (!spec.empty()) out.push_back({kind, spec});
  };
  if (doc.contains("ProductionVariants") && doc.contains("EndpointConfigName") &&
      !doc.contains("EndpointName")) {
    for (const auto& v : doc["ProductionVariants"]) add("Model", v.value("ModelName", json()));
  }
  if (doc.contains("EndpointName")) add("EndpointConfig", doc.value("EndpointConfigName", json()));
  if (doc.contains("TransformJobName")) add("Model", doc.value("ModelName", json()));
  // An observed config (a versions document) depends on the models of every retained version,
  // so that a prune deletes it before them.
  if (doc.contains("Versions") && doc["Versions"].is_array()) {
    for (const json& v : doc["Versions"])
      for (const json& m : v.value("Models", json::array())) add("Model", m);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  return out;
}

// ----- observe ------------------------------------------------------------------------------

Result<std::map<std::string, std::string>> Reconciler::TagsOf(const std::string& arn,
                                                              bool cacheable) {
  if (cacheable) {
    std::lock_guard<std::mutex> lock(tag_mu_);
    if (auto it = tag_cache_.find(arn);
        it != tag_cache_.end() && std::chrono::steady_clock::now() - it->second.at < kTagCacheTtl)
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
    tag_cache_[arn] = CachedTags{tags, std::chrono::steady_clock::now()};
  }
  return tags;
}

Result<std::vector<std::string>> Reconciler::ModelsOfConfig(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(tag_mu_);
    if (auto it = config_models_cache_.find(name); it != config_models_cache_.end())
      return it->second;
  }
  auto d = api_->Call("DescribeEndpointConfig", {{"EndpointConfigName", name}});
  if (!d.ok()) return d.status();
  std::vector<std::string> models;
  for (const json& v : d->value("ProductionVariants", json::array()))
    if (v.contains("ModelName") && v["ModelName"].is_string())
      models.push_back(v["ModelName"].get<std::string>());
  std::lock_guard<std::mutex> lock(tag_mu_);
  config_models_cache_[name] = models;
  return models;
}

// Lists the owned versions of an immutable kind, grouped by spec name, newest first:
// out[spec] = {"Versions": [{"Name", "Arn", "CreationTime"}, ...]}.
Status Reconciler::ObserveVersions(const KindSpec& k, const std::string& only_name,
                                   std::map<std::string, json>& out) {
  json input = json::object();
  if (!only_name.empty()) input["NameContains"] = only_name + "-";
  std::vector<json> candidates;
  std::set<std::string> existing;  // every name listed, whoever owns it (references)
  Status s = api_->ListAll(k.list_op, input, k.list_member, [&](json& o) {
    std::string name = o.value(k.name_member, "");
    existing.insert(name);
    std::string spec = SpecNameOfLive(name);
    // Only names of converge's shape can be converge's: skip the tag lookup for the rest.
    if (!spec.empty() && (only_name.empty() || spec == only_name)) candidates.push_back(o);
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
  for (const json& o : candidates) {
    auto tags = TagsOf(o.value(k.arn_member, ""), /*cacheable=*/true);
    if (!tags.ok()) {
      if (tags.status().code() == Code::kNotFound) continue;  // deleted meanwhile
      return tags.status();
    }
    auto n = tags->find(kNameTag);
    if (!Mine(*tags) || n == tags->end()) continue;
    json version = {{"Name", o.value(k.name_member, "")},
                    {"Arn", o.value(k.arn_member, "")},
                    {"CreationTime", o.value("CreationTime", json(0))},
                    {"Tags", UserTags(*tags)}};
    if (k.kind == "EndpointConfig") {
      auto models = ModelsOfConfig(version["Name"].get<std::string>());
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

// Runs of a job spec: jobs named <live name> or <live name>-r<N>, newest first, with the
// failure reason of the newest when it failed.
Status Reconciler::ObserveRuns(const KindSpec& k, const std::string& name, json& runs) {
  const std::string base = LiveName(k.kind, name);
  runs = json::array();
  const std::string name_member = k.name_member;
  Status s = api_->ListAll(k.list_op, {{"NameContains", base}}, k.list_member, [&](json& o) {
    std::string n = o.value(name_member, "");
    bool mine = n == base || (n.rfind(base + "-r", 0) == 0 &&
                              std::all_of(n.begin() + base.size() + 2, n.end(), ::isdigit) &&
                              n.size() > base.size() + 2);
    if (mine)
      runs.push_back({{"Name", n},
                      {"Arn", o.value(k.arn_member, "")},
                      {"Status", o.value(k.status_member, "")},
                      {"CreationTime", o.value("CreationTime", json(0))}});
    return Status::Ok();
  });
  if (!s.ok()) return s;
  std::sort(runs.begin(), runs.end(),
            [](const json& a, const json& b) { return CreationTime(a) > CreationTime(b); });
  if (!runs.empty() && (runs[0]["Status"] == "Failed" || runs[0]["Status"] == "Stopped")) {
    auto d = api_->Call(k.describe_op, {{k.name_member, runs[0]["Name"]}});
    if (d.ok()) runs[0]["FailureReason"] = d->value("FailureReason", "");
  }
  return Status::Ok();
}

Result<std::vector<LiveObject>> Reconciler::Observe() {
  std::vector<LiveObject> out;
  const auto bound = Specs();
  static const std::map<std::string, json> kNone;
  for (const KindSpec& k : sagemaker::Kinds()) {
    if (k.job) {
      // Jobs are looked up by the names their specs give; runs of removed specs are history,
      // never pruned.
      auto it = bound->find(k.kind);
      if (it == bound->end()) continue;
      for (const auto& [name, _] : it->second) {
        json runs;
        CONVERGE_RETURN_IF_ERROR(ObserveRuns(k, name, runs));
        if (runs.empty()) continue;
        LiveObject o;
        o.key = {k.kind, name};
        o.doc = {{"Runs", std::move(runs)}};
        o.owned = true;
        out.push_back(std::move(o));
      }
    } else if (k.hashed_name) {
      std::map<std::string, json> versions;
      CONVERGE_RETURN_IF_ERROR(ObserveVersions(k, "", versions));
      for (auto& [name, doc] : versions) {
        LiveObject o;
        o.key = {k.kind, name};
        o.doc = std::move(doc);
        o.owned = true;
        out.push_back(std::move(o));
      }
    } else {  // Endpoint: the name is the spec name; foreign endpoints of that name conflict.
      std::vector<json> listed;
      CONVERGE_RETURN_IF_ERROR(api_->ListAll(k.list_op, json::object(), k.list_member, [&](json& o) {
        listed.push_back(std::move(o));
        return Status::Ok();
      }));
      auto eps = bound->find("Endpoint");
      const auto& specs = eps == bound->end() ? kNone : eps->second;
      for (const json& e : listed) {
        const std::string name = e.value("EndpointName", "");
        auto tags = TagsOf(e.value("EndpointArn", ""), false);
        if (!tags.ok()) {
          if (tags.status().code() == Code::kNotFound) continue;
          // Least-privilege roles may not read the tags of other teams' endpoints: those are
          // not converge's business unless a spec names them.
          if (tags.status().code() == Code::kPermission && !specs.count(name)) continue;
          return tags.status();
        }
        bool owned = Mine(*tags);
        if (!owned && !specs.count(name)) continue;  // not ours and not wanted: not our business
        LiveObject o;
        o.key = {"Endpoint", name};
        o.owned = owned;
        auto d = DescribeEndpoint(name);
        if (!d.ok()) return d.status();
        if (!d->has_value()) continue;  // deleted between list and describe
        o.doc = std::move(**d);
        o.doc["Tags"] = UserTags(*tags);
        out.push_back(std::move(o));
      }
    }
  }
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
  if (k->job) {
    json runs;
    CONVERGE_RETURN_IF_ERROR(ObserveRuns(*k, key.name, runs));
    if (runs.empty()) return std::optional<LiveObject>();
    o.doc = {{"Runs", std::move(runs)}};
    o.owned = true;
  } else if (k->hashed_name) {
    std::map<std::string, json> versions;
    CONVERGE_RETURN_IF_ERROR(ObserveVersions(*k, key.name, versions));
    auto it = versions.find(key.name);
    if (it == versions.end()) return std::optional<LiveObject>();
    o.doc = std::move(it->second);
    o.owned = true;
  } else {
    auto d = DescribeEndpoint(key.name);
    if (!d.ok()) return d.status();
    if (!d->has_value()) return std::optional<LiveObject>();
    o.doc = std::move(**d);
    auto tags = TagsOf(o.doc.value("EndpointArn", ""), false);
    if (!tags.ok()) return tags.status();
    o.owned = Mine(*tags);
    o.doc["Tags"] = UserTags(*tags);
  }
  return std::optional<LiveObject>(std::move(o));
}

// ----- diff ---------------------------------------------------------------------------------

DiffResult Reconciler::Diff(const json& desired, const json& live,
                            const json& last_applied) const {
  DiffResult d = DiffObject(desired, live, last_applied);
  // A change that would send a reference to nothing (a typo, a model deleted meanwhile) is a
  // plan error at the spec: nothing is applied, instead of a failure halfway through.
  const bool writes = d.action == Action::kCreate || d.action == Action::kReplace ||
                      d.action == Action::kRun || d.action == Action::kUpdate;
  if (writes && desired.is_object() && desired.contains(kPrivate)) {
    std::string dangling = DanglingReference(desired[kPrivate].value("Kind", ""),
                                             desired[kPrivate].value("Name", ""));
    if (!dangling.empty()) return DiffResult{Action::kNoop, {}, "", "", dangling};
  }
  return d;
}

DiffResult Reconciler::DiffObject(const json& desired, const json& live,
                                  const json& last_applied) const {
  DiffResult d;
  if (desired.is_null()) {
    if (!live.is_null()) {
      d.action = Action::kDelete;
      if (live.contains("Versions"))
        d.reason = "deletes all " + std::to_string(live["Versions"].size()) + " version(s)";
    }
    return d;
  }
  const std::string kind = desired[kPrivate].value("Kind", "");
  const KindSpec* k = FindKind(kind);
  if (!k) return d;
  const std::string want = desired.value(k->name_member, "");

  if (k->job) {
    if (live.is_null() || live.value("Runs", json::array()).empty()) {
      d.action = Action::kRun;
      d.reason = "no run for this spec revision yet: starts " + want;
      return d;
    }
    const json& last = live["Runs"][0];
    const std::string status = last.value("Status", "");
    if (status == "Failed" || status == "Stopped")
      d.notice = "run " + last.value("Name", "") + " " + status +
                 (last.value("FailureReason", "").empty() ? ""
                                                            : ": " + last.value("FailureReason", "")) +
                 "; not restarted until the spec changes or `converge rerun " + kind + "/" +
                 desired[kPrivate].value("Name", "") + "`";
    return d;
  }

  if (k->hashed_name) {
    const json versions = live.is_null() ? json::array() : live.value("Versions", json::array());
    for (const auto& v : versions) {
      if (v.value("Name", "") != want) continue;  // this content already exists:
      json want_tags = UserTags(desired.value("Tags", json::array()));
      if (v.contains("Tags") && v["Tags"] != want_tags) {  // only its tags may differ
        d.action = Action::kUpdate;
        d.fields.push_back({"Tags", v["Tags"], want_tags});
        d.reason = "tags are changed in place on " + want + " (AddTags / DeleteTags)";
      }
      return d;
    }
    if (versions.empty()) {
      d.action = Action::kCreate;
      return d;
    }
    d.action = Action::kReplace;
    d.fields.push_back({k->name_member, versions[0]["Name"], want});
    if (last_applied.is_object())
      DiffJson(StripForCompare(last_applied, k->name_member),
               StripForCompare(desired, k->name_member), "", d.fields);
    d.reason = std::string(kind == "Model" ? "models" : "endpoint configs") +
               " are immutable: creates " + want + ", keeps " +
               versions[0]["Name"].get<std::string>() + " for rollback";
    if (static_cast<int>(versions.size()) + 1 > options_.retain_versions)
      d.reason += "; versions beyond the newest " + std::to_string(options_.retain_versions) +
                  " are deleted when unused";
    return d;
  }

  // Endpoint.
  if (live.is_null()) {
    d.action = Action::kCreate;
    return d;
  }
  if (live.value("EndpointStatus", "") == "Failed") {
    // SageMaker accepts nothing but DeleteEndpoint on a Failed endpoint.
    d.action = Action::kReplace;
    d.fields.push_back({"EndpointStatus", "Failed", "InService"});
    if (live.value("EndpointConfigName", "") != desired.value("EndpointConfigName", ""))
      d.fields.push_back({"EndpointConfigName", live.value("EndpointConfigName", json()),
                          desired["EndpointConfigName"]});
    std::string why = live.value("FailureReason", "");
    d.reason = "the endpoint is Failed" + (why.empty() ? std::string() : " (" + why + ")") +
               " and SageMaker only allows deleting it: deleted, then created again";
    return d;
  }
  if (live.value("EndpointConfigName", "") != desired.value("EndpointConfigName", "")) {
    d.action = Action::kUpdate;
    d.fields.push_back(
        {"EndpointConfigName", live.value("EndpointConfigName", json()), desired["EndpointConfigName"]});
    d.reason = "UpdateEndpoint: SageMaker deploys the new config, then shifts traffic";
    json want_tags = UserTags(desired.value("Tags", json::array()));
    if (live.contains("Tags") && live["Tags"] != want_tags)
      d.fields.push_back({"Tags", live["Tags"], want_tags});
    return d;
  }
  auto want_variants = ExpectedVariants(desired);
  for (const auto& v : live.value("ProductionVariants", json::array())) {
    auto it = want_variants.find(v.value("VariantName", ""));
    if (it == want_variants.end()) continue;
    const std::string p = "ProductionVariants." + it->first + ".";
    if (!SameNumber(v.value("DesiredInstanceCount", json()), it->second.first))
      d.fields.push_back({p + "DesiredInstanceCount", v.value("DesiredInstanceCount", json()),
                          it->second.first});
    if (!SameNumber(v.value("DesiredWeight", json()), it->second.second))
      d.fields.push_back({p + "DesiredWeight", v.value("DesiredWeight", json()), it->second.second});
  }
  if (!d.fields.empty()) {
    d.action = Action::kScale;
    d.reason = "UpdateEndpointWeightsAndCapacities (same config)";
  }
  json want_tags = UserTags(desired.value("Tags", json::array()));
  if (live.contains("Tags") && live["Tags"] != want_tags) {
    d.fields.push_back({"Tags", live["Tags"], want_tags});
    if (d.action == Action::kNoop) {
      d.action = Action::kUpdate;
      d.reason = "tags are changed in place (AddTags / DeleteTags)";
    } else {
      d.reason += "; tags changed in place";
    }
  }
  return d;
}

// ----- apply --------------------------------------------------------------------------------

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
    CONVERGE_RETURN_IF_ERROR(api_->ListAll("ListEndpoints", json::object(), "Endpoints", [&](json& e) {
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
        auto models = ModelsOfConfig(v.value("Name", ""));
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

Status Reconciler::RecreateEndpoint(const std::string& name, const json& create_input) {
  auto del = api_->Call("DeleteEndpoint", {{"EndpointName", name}});
  if (!del.ok() && del.status().code() != Code::kNotFound) return del.status();
  // Deleting takes a while; the name is free once DescribeEndpoint no longer finds it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(30);
  while (true) {
    auto d = DescribeEndpoint(name);
    if (!d.ok()) return d.status();
    if (!d->has_value()) break;
    if (std::chrono::steady_clock::now() > deadline)
      return TimeoutError("endpoint " + name + " still " + (**d).value("EndpointStatus", "") +
                          " 30 minutes after DeleteEndpoint");
    std::this_thread::sleep_for(std::min(options_.poll_interval, std::chrono::milliseconds(5000)));
  }
  auto r = api_->Call("CreateEndpoint", create_input);
  return r.ok() ? Status::Ok() : r.status();
}

Status Reconciler::SyncTags(const std::string& arn, const json& live_tags, const json& want_tags) {
  std::map<std::string, std::string> have, want;
  for (const auto& t : UserTags(live_tags)) have[t["Key"]] = t["Value"];
  for (const auto& t : UserTags(want_tags)) want[t["Key"]] = t["Value"];
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

Status Reconciler::Apply(const ChangeRequest& change) {
  const KindSpec* k = FindKind(change.key.kind);
  if (!k) return InvalidError("SageMaker has no kind " + change.key.kind);
  switch (change.action) {
    case Action::kDelete:
      if (k->hashed_name && !k->job) return DeleteVersions(*k, change.live.value("Versions", json::array()));
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
      auto r = api_->Call(k->create_op, WireRequest(change.desired));
      // A content-addressed name: "already exists" means an earlier attempt (whose answer was
      // lost) created exactly this. An endpoint's name is the spec name: it is ours only if it
      // carries our tag, else someone else created it meanwhile and it is left alone.
      if (!r.ok() && r.status().code() == Code::kConflict && !k->hashed_name) {
        auto d = DescribeEndpoint(change.key.name);
        if (!d.ok()) return d.status();
        if (!d->has_value()) return r.status();
        auto tags = TagsOf((**d).value("EndpointArn", ""), false);
        if (!tags.ok()) return tags.status();
        if (!Mine(*tags))
          return Status(Code::kInvalid, "endpoint " + change.key.name +
                                            " was created meanwhile by someone else (no " +
                                            kManagedByTag + " tag of this converge): left alone");
        // Ours: an earlier attempt whose answer was lost — if it is the same endpoint. Anything
        // else (another config, being deleted) is for a fresh plan, never for a rollback that
        // would delete it.
        const std::string status = (**d).value("EndpointStatus", "");
        if ((**d).value("EndpointConfigName", "") != change.desired.value("EndpointConfigName", "") ||
            status == "Deleting" || status == "Failed")
          return Status(Code::kConflict, "endpoint " + change.key.name + " already exists (" +
                                             status + " on " +
                                             (**d).value("EndpointConfigName", "") +
                                             "): plan again");
        return Status::Ok();
      }
      if (!r.ok() && r.status().code() != Code::kConflict) return r.status();
      if (change.action == Action::kReplace)
        (void)GarbageCollect(*k, change.key.name, change.desired[k->name_member]);
      return Status::Ok();
    }
    case Action::kUpdate: {
      if (k->hashed_name) {  // the same content: only its tags change
        const std::string want = change.desired.value(k->name_member, "");
        for (const auto& v : change.live.value("Versions", json::array()))
          if (v.value("Name", "") == want)
            return SyncTags(v.value("Arn", ""), v.value("Tags", json::array()),
                            change.desired.value("Tags", json::array()));
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
      json updates = VariantUpdates(change.desired, change.live, "DesiredInstanceCount",
                                    "DesiredWeight");
      if (updates.empty()) return Status::Ok();
      auto r = api_->Call("UpdateEndpointWeightsAndCapacities",
                          {{"EndpointName", change.key.name}, {"DesiredWeightsAndCapacities", updates}});
      return r.ok() ? Status::Ok() : r.status();
    }
    default:
      return Status::Ok();
  }
}

Result<json> Reconciler::DesiredForRerun(const Document& doc) {
  const KindSpec* k = FindKind(doc.kind);
  if (!k || !k->job) return InvalidError(doc.kind + " is not a job kind; only jobs can be rerun");
  json runs;
  CONVERGE_RETURN_IF_ERROR(ObserveRuns(*k, doc.name, runs));
  const std::string base = LiveName(doc.kind, doc.name);
  int next = 1;
  for (const auto& r : runs) {
    const std::string n = r.value("Name", "");
    if (n.size() > base.size() + 2) next = std::max(next, std::stoi(n.substr(base.size() + 2)) + 1);
  }
  if (runs.empty()) next = 0;
  json desired = Desired(doc);
  if (next > 0) desired[k->name_member] = base + "-r" + std::to_string(next);
  return desired;
}

// ----- health -------------------------------------------------------------------------------

Result<Health> Reconciler::CheckHealth(const ResourceKey& key, const json& desired) {
  const KindSpec* k = FindKind(key.kind);
  if (!k) return InvalidError("SageMaker has no kind " + key.kind);
  if (desired.is_null()) {  // after a delete: gone?
    auto o = Get(key);
    if (!o.ok()) return o.status();
    if (!o->has_value()) return Health{HealthState::kHealthy, "deleted"};
    return Health{HealthState::kProgressing, "still deleting"};
  }
  if (k->job) {
    auto d = api_->Call(k->describe_op, {{k->name_member, desired.value(k->name_member, "")}});
    if (!d.ok()) return d.status().code() == Code::kNotFound
                            ? Result<Health>(Health{HealthState::kMissing, "not found"})
                            : Result<Health>(d.status());
    const std::string status = d->value(k->status_member, "");
    std::string msg = status;
    if (d->contains("SecondaryStatus")) msg += "/" + (*d)["SecondaryStatus"].get<std::string>();
    if (status == "Completed") return Health{HealthState::kHealthy, msg};
    if (status == "Failed" || status == "Stopped")
      return Health{HealthState::kFailed, msg + ": " + d->value("FailureReason", "no reason given")};
    return Health{HealthState::kProgressing, msg};
  }
  if (k->hashed_name) {
    const std::string want = desired.contains(k->name_member)
                                 ? desired.value(k->name_member, "")
                                 : "";
    if (want.empty()) return Health{HealthState::kHealthy, "immutable versions retained"};
    auto d = api_->Call(k->describe_op, {{k->name_member, want}});
    if (!d.ok()) return d.status().code() == Code::kNotFound
                            ? Result<Health>(Health{HealthState::kMissing, want + " not found"})
                            : Result<Health>(d.status());
    return Health{HealthState::kHealthy, want + " exists"};
  }
  // Endpoint.
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
  // config), so an UpdateEndpoint back to it, or a new endpoint on it, deploys those. Set the
  // wanted ones; the endpoint goes Updating and comes back InService with them.
  auto r = api_->Call("UpdateEndpointWeightsAndCapacities",
                      {{"EndpointName", key.name}, {"DesiredWeightsAndCapacities", updates}});
  if (!r.ok() && r.status().code() != Code::kConflict) {
    if (!r.status().terminal()) return r.status();  // throttled, 5xx: polled again
    return Health{HealthState::kFailed, "InService, " + lagging + "; setting the wanted counts "
                                        "failed: " + r.status().message()};
  }
  return Health{HealthState::kProgressing, "InService, " + lagging + ": scaling"};
}

// ----- restore ------------------------------------------------------------------------------

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
  if (definition.is_null()) {
    auto r = api_->Call("DeleteEndpoint", {{"EndpointName", key.name}});
    return r.ok() || r.status().code() == Code::kNotFound ? Status::Ok() : r.status();
  }
  const std::string cfg = definition.value("EndpointConfigName", "");
  auto d = DescribeEndpoint(key.name);
  if (!d.ok()) return d.status();
  if (!d->has_value()) {
    const json tags = CreateTags(UserTags(definition.value("Tags", json::array())), key.name);
    json in = {{"EndpointName", key.name}, {"EndpointConfigName", cfg}, {"Tags", tags}};
    auto r = api_->Call("CreateEndpoint", in);
    return r.ok() ? Status::Ok() : r.status();
  }
  const json& e = **d;
  if (e.value("EndpointStatus", "") == "Failed") {
    const json tags = CreateTags(UserTags(definition.value("Tags", json::array())), key.name);
    return RecreateEndpoint(key.name,
                            {{"EndpointName", key.name}, {"EndpointConfigName", cfg}, {"Tags", tags}});
  }
  if (InProgress(e.value("EndpointStatus", "")))
    return UnavailableError("endpoint is " + e.value("EndpointStatus", "") +
                            "; roll back once it is InService or Failed");
  if (e.value("EndpointConfigName", "") != cfg) {
    auto r = api_->Call("UpdateEndpoint", {{"EndpointName", key.name}, {"EndpointConfigName", cfg}});
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
