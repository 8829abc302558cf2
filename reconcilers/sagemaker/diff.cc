// The SageMaker diff: the normalisers that shape desired and observed documents for the shared
// engine (reconcilers/common/json_diff.h), and the decisions only SageMaker has (a changed
// immutable object is a new version, a Failed endpoint can only be recreated, a count-only change
// is a scale).
#include "reconcilers/common/json_diff.h"
#include "reconcilers/sagemaker/reconciler.h"
#include "reconcilers/sagemaker/reconciler_internal.h"

namespace converge::sagemaker {
namespace {

using internal::kPrivate;
using internal::SyncedTags;

// Arrays of objects SageMaker names by a member: matched by it, so a reordering is no change
// and a change shows as ProductionVariants[blue].ModelName. Others match by index (or by a
// Name member when every element has one).
std::string ArrayKey(const std::string& member) {
  if (member == "ProductionVariants" || member == "ShadowProductionVariants") return "VariantName";
  if (member == "InputDataConfig") return "ChannelName";
  if (member == "Tags") return "Key";
  return "Name";
}

// What changed between two requests of an immutable kind (what converge applied last time and
// what it would create now): a full comparison, converge's bookkeeping left out.
std::vector<FieldChange> RequestChanges(const json& before, const json& after,
                                        const std::string& name_member) {
  json_diff::Options o;
  o.subset = false;
  o.array_key = ArrayKey;
  o.ignored = {name_member, "Tags", kPrivate};
  return json_diff::Diff(after, before, json(), o);
}

}  // namespace

DiffResult Reconciler::Diff(const json& desired, const json& live, const json& last_applied) const {
  DiffResult d = DiffObject(desired, live, last_applied);
  // A change that would send a reference to nothing (a typo, a model deleted meanwhile) is a
  // plan error at the spec: nothing is applied, instead of a failure halfway through.
  const bool writes = d.action == Action::kCreate || d.action == Action::kReplace ||
                      d.action == Action::kRun || d.action == Action::kUpdate;
  if (writes && desired.is_object() && desired.contains(kPrivate)) {
    std::string dangling =
        DanglingReference(desired[kPrivate].value("Kind", ""), desired[kPrivate].value("Name", ""));
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
  const KindSpec* k = FindKind(desired[kPrivate].value("Kind", ""));
  if (!k) return d;
  if (k->job) return d;  // runs: diffed by the run lifecycle
  if (k->hashed_name) return DiffVersions(*k, desired, live, last_applied);
  return DiffEndpoint(desired, live);
}

DiffResult Reconciler::DiffVersions(const KindSpec& k, const json& desired, const json& live,
                                    const json& last_applied) const {
  DiffResult d;
  const std::string want = desired.value(k.name_member, "");
  const json versions = live.is_null() ? json::array() : live.value("Versions", json::array());
  const json want_tags = SyncedTags(desired.value("Tags", json::array()));
  for (const auto& v : versions) {
    if (v.value("Name", "") != want) continue;           // this content already exists:
    if (v.contains("Tags") && v["Tags"] != want_tags) {  // only its tags may differ
      d.action = Action::kUpdate;
      d.fields.push_back({"Tags", v["Tags"], want_tags});
      d.reason = "tags are changed in place on " + want + " (AddTags / DeleteTags)";
    }
    // ...and the prune protection of the versions retained for rollback: it is the spec's.
    const json want_prune = internal::PruneTagValue(want_tags);
    for (const auto& other : versions) {
      const json have_prune = internal::PruneTagValue(other.value("Tags", json()));
      if (other.value("Name", "") == want || have_prune == want_prune) continue;
      d.fields.push_back({"Versions[" + other.value("Name", "") + "].Tags[\"" + kPruneTag + "\"]",
                          have_prune, want_prune});
      if (d.action == Action::kNoop) {
        d.action = Action::kUpdate;
        d.reason = std::string(kPruneTag) + " is changed in place on the retained versions " +
                   "(AddTags / DeleteTags)";
      }
    }
    return d;
  }
  if (versions.empty()) {
    d.action = Action::kCreate;
    return d;
  }
  d.action = Action::kReplace;
  d.fields.push_back({k.name_member, versions[0]["Name"], want});
  if (last_applied.is_object()) {
    for (auto& f : RequestChanges(last_applied, desired, k.name_member))
      d.fields.push_back(std::move(f));
  }
  d.reason = std::string(k.kind == "Model" ? "models" : "endpoint configs") +
             " are immutable: creates " + want + ", keeps " +
             versions[0]["Name"].get<std::string>() + " for rollback";
  if (static_cast<int>(versions.size()) + 1 > options_.retain_versions)
    d.reason += "; versions beyond the newest " + std::to_string(options_.retain_versions) +
                " are deleted when unused";
  return d;
}

DiffResult Reconciler::DiffEndpoint(const json& desired, const json& live) const {
  DiffResult d;
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
  // The members converge manages, shaped alike on both sides: the config; when it stays, the
  // variants' counts and weights (DescribeEndpoint's names; only where both sides say and they
  // differ beyond rounding); the synced tags when live reports them.
  json want = {{"EndpointConfigName", desired.value("EndpointConfigName", json())}};
  json have = {{"EndpointConfigName", live.value("EndpointConfigName", json())}};
  if (want["EndpointConfigName"] == have["EndpointConfigName"]) {
    auto wanted = internal::ExpectedVariants(desired);
    json wv = json::array(), hv = json::array();
    for (const auto& v : live.value("ProductionVariants", json::array())) {
      auto it = wanted.find(v.value("VariantName", ""));
      if (it == wanted.end()) continue;
      json w = {{"VariantName", it->first}}, h = w;
      for (const auto& [member, expected] :
           {std::pair<const char*, json>{"DesiredInstanceCount", it->second.first},
            {"DesiredWeight", it->second.second}}) {
        const json actual = v.value(member, json());
        if (internal::SameNumber(actual, expected)) continue;
        w[member] = expected;
        h[member] = actual;
      }
      wv.push_back(std::move(w));
      hv.push_back(std::move(h));
    }
    want["ProductionVariants"] = std::move(wv);
    have["ProductionVariants"] = std::move(hv);
  }
  if (live.contains("Tags")) {
    want["Tags"] = SyncedTags(desired.value("Tags", json::array()));
    have["Tags"] = live["Tags"];
  }
  json_diff::Options o;
  o.array_key = ArrayKey;
  o.whole = {"Tags"};  // a set AddTags / DeleteTags bring in line, shown as one value
  d.fields = json_diff::Diff(want, have, json(), o);
  auto changed = [&](const std::string& prefix) {
    for (const auto& f : d.fields)
      if (f.path.rfind(prefix, 0) == 0) return true;
    return false;
  };
  const bool tags = changed("Tags");
  if (changed("EndpointConfigName")) {
    d.action = Action::kUpdate;
    d.reason = "UpdateEndpoint: SageMaker deploys the new config, then shifts traffic";
  } else if (changed("ProductionVariants")) {
    d.action = Action::kScale;
    d.reason = "UpdateEndpointWeightsAndCapacities (same config)";
    if (tags) d.reason += "; tags changed in place";
  } else if (tags) {
    d.action = Action::kUpdate;
    d.reason = "tags are changed in place (AddTags / DeleteTags)";
  }
  return d;
}

}  // namespace converge::sagemaker
