#include "reconcilers/sagemaker/reconciler.h"

#include <algorithm>

#include "reconcilers/common/json_schema.h"
#include "reconcilers/sagemaker/reconciler_internal.h"

namespace converge::sagemaker {
namespace {

using internal::kPrivate;

bool IsHex8(const std::string& s) {
  if (s.size() != 8) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

std::string Hash8(const json& request) {
  return ContentHash(request.dump()).substr(0, 8);
}

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

// cache.cc: `api` reporting the object every write names ("Kind/name").
std::unique_ptr<Api> NotingWrites(std::unique_ptr<Api> api,
                                  std::function<void(const std::string&)> on_write);

Reconciler::Reconciler(std::unique_ptr<Api> api, std::string instance, Options options)
    : api_(NotingWrites(std::move(api), [this](const std::string& key) { NoteWrite(key); })),
      instance_(std::move(instance)),
      options_(options) {}

Reconciler::~Reconciler() { SaveCache(); }

void Reconciler::BindSpecs(const std::vector<const Document*>& docs) {
  auto specs = std::make_shared<SpecMap>();
  for (const Document* d : docs) (*specs)[d->kind][d->name] = d->spec.Get();
  std::lock_guard<std::mutex> lock(specs_mu_);
  specs_ = std::move(specs);
}

std::shared_ptr<const Reconciler::SpecMap> Reconciler::Specs() const {
  std::lock_guard<std::mutex> lock(specs_mu_);
  return specs_;
}

std::vector<ResourceKey> Reconciler::References(const Document& doc) const {
  return doc.spec.Read([&](const json& spec) { return RefsOf(doc.kind, spec); });
}

std::vector<ResourceKey> Reconciler::RefsOf(const std::string& kind, const json& spec) {
  std::vector<ResourceKey> out;
  for (SpecReference& r : SpecReferencesOf(kind, spec))
    out.push_back({std::move(r.kind), std::move(r.name)});
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

json Reconciler::CreateTags(json tags, const std::string& name) const {
  if (!tags.is_array()) tags = json::array();
  tags.push_back({{"Key", kManagedByTag}, {"Value", instance_}});
  tags.push_back({{"Key", kNameTag}, {"Value", name}});
  return tags;
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
  const json spec = doc.spec.Get();
  json tags = spec.value("Tags", json::array());
  // Prune protection must survive the spec's deletion, so it travels on the live object.
  if (auto p = doc.annotations.find("converge/prune"); p != doc.annotations.end())
    tags = internal::WithPruneTag(tags, p->second);
  r["Tags"] = CreateTags(std::move(tags), doc.name);
  json priv = {{"Kind", doc.kind}, {"Name", doc.name}};
  if (doc.kind == "Endpoint" && r["EndpointConfigName"].is_string()) {
    // The variants' counts and weights the endpoint should run with, from the config spec.
    auto cs = bound->find("EndpointConfig");
    std::string cfg = spec.value("EndpointConfigName", "");
    if (cs != bound->end() && cs->second.count(cfg)) {
      json variants = json::array();
      for (const auto& v : cs->second.at(cfg).value("ProductionVariants", json::array())) {
        json e = {{"VariantName", v.value("VariantName", "")}};
        if (v.contains("InitialInstanceCount"))
          e["InitialInstanceCount"] = v["InitialInstanceCount"];
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

}  // namespace converge::sagemaker
