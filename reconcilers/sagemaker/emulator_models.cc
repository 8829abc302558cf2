// SageMaker emulator: models and endpoint configs (immutable resources).
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

std::vector<std::string> Emulator::Impl::ModelImages(const json& model) {
  std::vector<std::string> images;
  auto add = [&](const json& container) {
    if (container.is_object() && container.contains("Image") && container["Image"].is_string()) {
      images.push_back(container["Image"]);
    }
  };
  if (model.contains("PrimaryContainer")) add(model["PrimaryContainer"]);
  for (const json& c : model.value("Containers", json::array())) add(c);
  return images;
}

Reply Emulator::Impl::CreateModel(const json& in, Ctx& c) {
  const std::string name = in["ModelName"];
  const std::string arn = Arn(c, "model", name);
  if (models.count(name))
    return Validation("Cannot create already existing model " + Quoted(arn) + ".");
  if (!in.contains("PrimaryContainer") && !in.contains("Containers")) {
    return Validation("Either PrimaryContainer or Containers must be specified.");
  }
  Static m{name, arn, in, c.wall, json::array()};
  m.body.erase("Tags");
  MergeTags(m.tags, in.value("Tags", json::array()));
  models.emplace(name, std::move(m));
  c.mutated = true;
  return Ok({{"ModelArn", arn}});
}

Reply Emulator::Impl::DescribeModel(const json& in, Ctx& c) {
  const std::string name = in["ModelName"];
  auto it = models.find(name);
  if (it == models.end()) {
    return Validation("Could not find model " + Quoted(Arn(c, "model", name)) + ".");
  }
  const Static& m = it->second;
  json out = FilterToShape(m.body, "DescribeModelOutput");
  // Defaults the service fills in.
  auto container_defaults = [](json& container) {
    if (!container.is_object() || !container.contains("Image")) return;
    if (!container.contains("Mode")) container["Mode"] = "SingleModel";
    if (!container.contains("Environment")) container["Environment"] = json::object();
  };
  if (out.contains("PrimaryContainer")) container_defaults(out["PrimaryContainer"]);
  if (out.contains("Containers")) {
    for (json& container : out["Containers"]) container_defaults(container);
  }
  if (!out.contains("EnableNetworkIsolation")) out["EnableNetworkIsolation"] = false;
  out["ModelArn"] = m.arn;
  out["CreationTime"] = m.created;
  return Ok(out);
}

Reply Emulator::Impl::DeleteModel(const json& in, Ctx& c) {
  const std::string name = in["ModelName"];
  if (models.erase(name) == 0) {
    return Validation("Could not find model " + Quoted(Arn(c, "model", name)) + ".");
  }
  c.mutated = true;
  return Ok();
}

Reply Emulator::Impl::ListModels(const json& in, Ctx&) {
  std::vector<ListItem> items;
  for (const auto& [name, m] : models) {
    items.push_back({name,
                     m.created,
                     m.created,
                     "",
                     {{"ModelName", name}, {"ModelArn", m.arn}, {"CreationTime", m.created}}});
  }
  return ListPage(in, std::move(items), "Models");
}

Reply Emulator::Impl::CreateEndpointConfig(const json& in, Ctx& c) {
  const std::string name = in["EndpointConfigName"];
  const std::string arn = Arn(c, "endpoint-config", name);
  if (configs.count(name)) {
    return Validation("Cannot create already existing endpoint configuration " + Quoted(arn) + ".");
  }
  std::set<std::string> variant_names;
  for (const json& pv : in["ProductionVariants"]) {
    const std::string variant = pv["VariantName"];
    if (!variant_names.insert(variant).second) {
      return Validation("Variant names must be unique within an endpoint configuration; " +
                        Quoted(variant) + " appears more than once.");
    }
    const std::string model = pv["ModelName"];
    if (!models.count(model)) {
      return Validation("Could not find model " + Quoted(Arn(c, "model", model)) + ".");
    }
  }
  Static cfg{name, arn, in, c.wall, json::array()};
  cfg.body.erase("Tags");
  MergeTags(cfg.tags, in.value("Tags", json::array()));
  configs.emplace(name, std::move(cfg));
  c.mutated = true;
  return Ok({{"EndpointConfigArn", arn}});
}

Reply Emulator::Impl::DescribeEndpointConfig(const json& in, Ctx& c) {
  const std::string name = in["EndpointConfigName"];
  auto it = configs.find(name);
  if (it == configs.end()) {
    return Validation("Could not find endpoint configuration " +
                      Quoted(Arn(c, "endpoint-config", name)) + ".");
  }
  json out = FilterToShape(it->second.body, "DescribeEndpointConfigOutput");
  out["EndpointConfigArn"] = it->second.arn;
  out["CreationTime"] = it->second.created;
  return Ok(out);
}

Reply Emulator::Impl::DeleteEndpointConfig(const json& in, Ctx& c) {
  const std::string name = in["EndpointConfigName"];
  // Allowed while an endpoint uses it, as in SageMaker: the endpoint keeps what it deployed.
  if (configs.erase(name) == 0) {
    return Validation("Could not find endpoint configuration " +
                      Quoted(Arn(c, "endpoint-config", name)) + ".");
  }
  c.mutated = true;
  return Ok();
}

Reply Emulator::Impl::ListEndpointConfigs(const json& in, Ctx&) {
  std::vector<ListItem> items;
  for (const auto& [name, cfg] : configs) {
    items.push_back({name,
                     cfg.created,
                     cfg.created,
                     "",
                     {{"EndpointConfigName", name},
                      {"EndpointConfigArn", cfg.arn},
                      {"CreationTime", cfg.created}}});
  }
  return ListPage(in, std::move(items), "EndpointConfigs");
}

}  // namespace converge::sagemaker
