// SageMaker emulator: endpoints.
#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string_view>
#include <utility>

#include "reconcilers/common/aws_sigv4.h"
#include "reconcilers/common/base64.h"
#include "reconcilers/common/emulator/mount.h"
#include "reconcilers/sagemaker/emulator_internal.h"
#include "reconcilers/sagemaker/model.h"

namespace converge::sagemaker {

std::string Emulator::Impl::EndpointArn(const Ctx& c, const std::string& name) const {
  return Arn(c, "endpoint", AsciiLower(name));
}

std::optional<Reply> Emulator::Impl::VariantsOf(const std::string& config_name, Ctx& c,
                                                std::vector<Variant>* out, std::string* failure) {
  auto it = configs.find(config_name);
  if (it == configs.end()) {
    return Validation("Could not find endpoint configuration " +
                      Quoted(Arn(c, "endpoint-config", config_name)) + ".");
  }
  for (const json& pv : it->second.body["ProductionVariants"]) {
    Variant v;
    v.name = pv["VariantName"];
    if (pv.contains("InitialVariantWeight")) v.desired_weight = pv["InitialVariantWeight"];
    if (pv.contains("ServerlessConfig")) {
      v.serverless = pv["ServerlessConfig"];
      v.desired_count = 0;
    } else if (pv.contains("InitialInstanceCount")) {
      v.desired_count = pv["InitialInstanceCount"];
    }
    v.instance_type = pv.value("InstanceType", "");
    const std::string model = pv["ModelName"];
    auto m = models.find(model);
    if (m == models.end()) {
      return Validation("Could not find model " + Quoted(Arn(c, "model", model)) + ".");
    }
    v.images = ModelImages(m->second.body);
    for (const std::string& image : v.images) {
      if (failure->empty() && failing_images.count(image)) {
        *failure = "The primary container for production variant " + v.name +
                   " did not pass the ping health check. Please check CloudWatch logs for "
                   "this endpoint.";
      }
    }
    out->push_back(std::move(v));
  }
  return std::nullopt;
}

Reply Emulator::Impl::CreateEndpoint(const json& in, Ctx& c) {
  const std::string name = in["EndpointName"];
  const std::string arn = EndpointArn(c, name);
  if (endpoints.count(AsciiLower(name))) {
    return Validation("Cannot create already existing endpoint " + Quoted(arn) + ".");
  }
  Endpoint ep;
  std::string failure;
  if (auto err = VariantsOf(in["EndpointConfigName"], c, &ep.variants, &failure)) return *err;
  ep.name = name;
  ep.arn = arn;
  ep.config_name = in["EndpointConfigName"];
  ep.status = "Creating";
  ep.created = ep.modified = c.wall;
  for (Variant& v : ep.variants) {
    v.status = "Creating";
    v.status_since = c.wall;
  }
  if (in.contains("DeploymentConfig")) ep.last_deployment_config = in["DeploymentConfig"];
  MergeTags(ep.tags, in.value("Tags", json::array()));
  ep.phase = Phase::kCreating;
  ep.due = Due(c);
  ep.due_wall = DueWall(c);
  ep.pending_failure = failure;
  endpoints.emplace(AsciiLower(name), std::move(ep));
  c.mutated = true;
  return Ok({{"EndpointArn", arn}});
}

json Emulator::Impl::VariantStatus(const Variant& v) {
  if (v.status.empty()) return nullptr;
  return json::array({{{"Status", v.status}, {"StartTime", v.status_since}}});
}

json Emulator::Impl::VariantSummary(const Variant& v, bool pending_summary) {
  json s = {{"VariantName", v.name}};
  if (v.deployed) {
    json images = json::array();
    for (const std::string& image : v.images) {
      images.push_back({{"SpecifiedImage", image},
                        {"ResolvedImage", ResolvedImage(image)},
                        {"ResolutionTime", v.resolved_at}});
    }
    s["DeployedImages"] = images;
    s["CurrentWeight"] = v.current_weight;
    if (v.current_serverless.is_null()) {
      s["CurrentInstanceCount"] = v.current_count;
    } else {
      s["CurrentServerlessConfig"] = v.current_serverless;
    }
  }
  s["DesiredWeight"] = v.desired_weight;
  if (v.serverless.is_null()) {
    s["DesiredInstanceCount"] = v.desired_count;
  } else {
    s["DesiredServerlessConfig"] = v.serverless;
  }
  if (pending_summary && !v.instance_type.empty()) s["InstanceType"] = v.instance_type;
  if (json status = VariantStatus(v); !status.is_null()) s["VariantStatus"] = status;
  return s;
}

Endpoint* Emulator::Impl::FindEndpoint(const std::string& name) {
  auto it = endpoints.find(AsciiLower(name));
  return it == endpoints.end() ? nullptr : &it->second;
}

Reply Emulator::Impl::NoEndpoint(const Ctx& c, const std::string& name) const {
  return Validation("Could not find endpoint " + Quoted(EndpointArn(c, name)) + ".");
}

Reply Emulator::Impl::DescribeEndpoint(const json& in, Ctx& c) {
  Endpoint* ep = FindEndpoint(in["EndpointName"]);
  if (ep == nullptr) return NoEndpoint(c, in["EndpointName"]);
  json out = {{"EndpointName", ep->name},
              {"EndpointArn", ep->arn},
              {"EndpointConfigName", ep->config_name},
              {"EndpointStatus", ep->status},
              {"CreationTime", ep->created},
              {"LastModifiedTime", ep->modified}};
  json variants = json::array();
  for (const Variant& v : ep->variants) variants.push_back(VariantSummary(v, false));
  if (!variants.empty()) out["ProductionVariants"] = variants;
  if (!ep->failure_reason.empty()) out["FailureReason"] = ep->failure_reason;
  if (!ep->last_deployment_config.is_null()) {
    out["LastDeploymentConfig"] = ep->last_deployment_config;
  }
  if (ep->phase == Phase::kUpdating || ep->phase == Phase::kRollingBack) {
    json pending = json::array();
    for (const Variant& v : ep->pending) pending.push_back(VariantSummary(v, true));
    out["PendingDeploymentSummary"] = {{"EndpointConfigName", ep->pending_config},
                                       {"ProductionVariants", pending},
                                       {"StartTime", ep->pending_start}};
  }
  return Ok(out);
}

std::optional<Reply> Emulator::Impl::CheckSettled(const Endpoint& ep, const char* verb,
                                                  bool allow_failed) {
  if (ep.phase != Phase::kNone) {
    return Validation(std::string("Cannot ") + verb + " in-progress endpoint " + Quoted(ep.arn) +
                      ".");
  }
  if (!allow_failed && ep.status == "Failed") {
    return Validation(std::string("Cannot ") + verb + " failed endpoint " + Quoted(ep.arn) +
                      ". DeleteEndpoint is the only operation a failed endpoint allows.");
  }
  return std::nullopt;
}

Reply Emulator::Impl::UpdateEndpoint(const json& in, Ctx& c) {
  Endpoint* ep = FindEndpoint(in["EndpointName"]);
  if (ep == nullptr) return NoEndpoint(c, in["EndpointName"]);
  if (auto err = CheckSettled(*ep, "update", false)) return *err;
  std::vector<Variant> variants;
  std::string failure;
  if (auto err = VariantsOf(in["EndpointConfigName"], c, &variants, &failure)) return *err;
  if (in.value("RetainAllVariantProperties", false)) {
    for (Variant& v : variants) {
      for (const Variant& old : ep->variants) {
        if (old.name != v.name) continue;
        v.desired_weight = old.desired_weight;
        v.desired_count = old.desired_count;
      }
    }
  }
  for (Variant& v : variants) {
    v.status = "Creating";
    v.status_since = c.wall;
  }
  ep->pending = std::move(variants);
  ep->pending_config = in["EndpointConfigName"];
  ep->pending_failure = failure;
  ep->pending_start = c.wall;
  ep->status = "Updating";
  ep->modified = c.wall;
  if (in.contains("DeploymentConfig")) {
    ep->last_deployment_config = in["DeploymentConfig"];
  } else if (!in.value("RetainDeploymentConfig", false)) {
    ep->last_deployment_config = nullptr;
  }
  ep->phase = Phase::kUpdating;
  ep->due = Due(c);
  ep->due_wall = DueWall(c);
  c.mutated = true;
  return Ok({{"EndpointArn", ep->arn}});
}

Reply Emulator::Impl::UpdateWeights(const json& in, Ctx& c) {
  Endpoint* ep = FindEndpoint(in["EndpointName"]);
  if (ep == nullptr) return NoEndpoint(c, in["EndpointName"]);
  if (auto err = CheckSettled(*ep, "update", false)) return *err;
  std::string missing;
  for (const json& d : in["DesiredWeightsAndCapacities"]) {
    const std::string name = d["VariantName"];
    bool found = std::any_of(ep->variants.begin(), ep->variants.end(),
                             [&](const Variant& v) { return v.name == name; });
    if (!found) missing += (missing.empty() ? "" : ", ") + name;
    if (!d.contains("DesiredWeight") && !d.contains("DesiredInstanceCount")) {
      return Validation(
          "Either DesiredWeight or DesiredInstanceCount must be specified for "
          "variant " +
          Quoted(name) + ".");
    }
  }
  if (!missing.empty()) {
    return Validation("The variant(s) \"[" + missing + "]\" is/are not present in endpoint " +
                      Quoted(ep->arn) + ".");
  }
  for (const json& d : in["DesiredWeightsAndCapacities"]) {
    for (Variant& v : ep->variants) {
      if (v.name != d["VariantName"]) continue;
      if (d.contains("DesiredWeight")) v.desired_weight = d["DesiredWeight"];
      if (d.contains("DesiredInstanceCount")) v.desired_count = d["DesiredInstanceCount"];
      v.status = "Updating";
      v.status_since = c.wall;
    }
  }
  ep->status = "Updating";
  ep->modified = c.wall;
  ep->phase = Phase::kScaling;
  ep->due = Due(c);
  ep->due_wall = DueWall(c);
  c.mutated = true;
  return Ok({{"EndpointArn", ep->arn}});
}

Reply Emulator::Impl::DeleteEndpoint(const json& in, Ctx& c) {
  Endpoint* ep = FindEndpoint(in["EndpointName"]);
  if (ep == nullptr) return NoEndpoint(c, in["EndpointName"]);
  if (ep->phase == Phase::kDeleting) return Ok();  // already going
  if (auto err = CheckSettled(*ep, "delete", true)) return *err;
  ep->status = "Deleting";
  ep->modified = c.wall;
  for (Variant& v : ep->variants) {
    v.status = "Deleting";
    v.status_since = c.wall;
  }
  ep->phase = Phase::kDeleting;
  ep->due = Due(c);
  ep->due_wall = DueWall(c);
  c.mutated = true;
  return Ok();
}

Reply Emulator::Impl::ListEndpoints(const json& in, Ctx&) {
  std::vector<ListItem> items;
  for (const auto& [key, ep] : endpoints) {
    items.push_back({ep.name,
                     ep.created,
                     ep.modified,
                     ep.status,
                     {{"EndpointName", ep.name},
                      {"EndpointArn", ep.arn},
                      {"CreationTime", ep.created},
                      {"LastModifiedTime", ep.modified},
                      {"EndpointStatus", ep.status}}});
  }
  return ListPage(in, std::move(items), "Endpoints");
}

}  // namespace converge::sagemaker
