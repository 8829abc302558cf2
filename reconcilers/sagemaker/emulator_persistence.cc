// SageMaker emulator: state export and import (the sandbox's state file).
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

long long Emulator::Impl::Remaining(SteadyTime due, SteadyTime now) {
  return std::max<long long>(0, std::chrono::duration_cast<milliseconds>(due - now).count());
}

json Emulator::Impl::Export(SteadyTime now) const {
  json out = {{"format", "converge-sagemaker-emulator/1"}};
  json m = json::array();
  for (const auto& [name, s] : models) m.push_back(s);
  out["models"] = m;
  json cfgs = json::array();
  for (const auto& [name, s] : configs) cfgs.push_back(s);
  out["endpointConfigs"] = cfgs;
  json eps = json::array();
  for (const auto& [key, ep] : endpoints) {
    json e = {{"name", ep.name},
              {"arn", ep.arn},
              {"configName", ep.config_name},
              {"status", ep.status},
              {"created", ep.created},
              {"modified", ep.modified},
              {"variants", ep.variants},
              {"failureReason", ep.failure_reason},
              {"lastDeploymentConfig", ep.last_deployment_config},
              {"tags", ep.tags},
              {"phase", int(ep.phase)}};
    if (ep.phase != Phase::kNone) {
      e["remainingMs"] = Remaining(ep.due, now);
      e["dueWall"] = ep.due_wall;
      e["pendingConfig"] = ep.pending_config;
      e["pending"] = ep.pending;
      e["pendingFailure"] = ep.pending_failure;
      e["pendingStart"] = ep.pending_start;
    }
    eps.push_back(e);
  }
  out["endpoints"] = eps;
  json js = json::array();
  for (const auto& by_name : jobs) {
    for (const auto& [name, j] : by_name) {
      json e = {{"kind", kJobInfo[j.kind].noun},
                {"name", j.name},
                {"arn", j.arn},
                {"body", j.body},
                {"tags", j.tags},
                {"status", j.status},
                {"secondary", j.secondary},
                {"transitions", j.transitions},
                {"created", j.created},
                {"modified", j.modified},
                {"start", j.start},
                {"end", j.end},
                {"plannedFailure", j.planned_failure},
                {"failureReason", j.failure_reason},
                {"totalJobs", j.total_jobs}};
      if (j.active) {
        e["remainingMs"] = Remaining(j.due, now);
        e["dueWall"] = j.due_wall;
      }
      js.push_back(e);
    }
  }
  out["jobs"] = js;
  return out;
}

void Emulator::Impl::Import(const json& state, SteadyTime now) {
  if (!state.is_object()) throw std::runtime_error("SageMaker state must be an object");
  std::map<std::string, Static> new_models, new_configs;
  for (const json& s : state.value("models", json::array())) {
    Static m = s.get<Static>();
    new_models[m.name] = m;
  }
  for (const json& s : state.value("endpointConfigs", json::array())) {
    Static m = s.get<Static>();
    new_configs[m.name] = m;
  }
  std::map<std::string, Endpoint> new_endpoints;
  for (const json& e : state.value("endpoints", json::array())) {
    Endpoint ep;
    ep.name = e.at("name");
    ep.arn = e.at("arn");
    ep.config_name = e.at("configName");
    ep.status = e.at("status");
    ep.created = e.at("created");
    ep.modified = e.at("modified");
    ep.variants = e.at("variants").get<std::vector<Variant>>();
    ep.failure_reason = e.value("failureReason", "");
    ep.last_deployment_config = e.value("lastDeploymentConfig", json());
    ep.tags = e.value("tags", json::array());
    int phase = e.value("phase", 0);
    if (phase < 0 || phase > int(Phase::kDeleting)) throw std::runtime_error("bad phase");
    ep.phase = Phase(phase);
    if (ep.phase != Phase::kNone) {
      ep.due = now + milliseconds(e.value("remainingMs", 0LL));
      ep.due_wall = e.value("dueWall", 0.0);
      ep.pending_config = e.value("pendingConfig", "");
      ep.pending = e.value("pending", json::array()).get<std::vector<Variant>>();
      ep.pending_failure = e.value("pendingFailure", "");
      ep.pending_start = e.value("pendingStart", 0.0);
    }
    new_endpoints[AsciiLower(ep.name)] = std::move(ep);
  }
  std::array<std::map<std::string, Job>, kJobKinds> new_jobs;
  for (const json& e : state.value("jobs", json::array())) {
    Job j;
    const std::string kind = e.at("kind");
    j.kind = -1;
    for (int k = 0; k < kJobKinds; ++k) {
      if (kind == kJobInfo[k].noun) j.kind = k;
    }
    if (j.kind < 0) throw std::runtime_error("unknown job kind " + kind);
    j.name = e.at("name");
    j.arn = e.at("arn");
    j.body = e.at("body");
    j.tags = e.value("tags", json::array());
    j.status = e.at("status");
    j.secondary = e.value("secondary", "");
    j.transitions = e.value("transitions", json::array());
    j.created = e.at("created");
    j.modified = e.at("modified");
    j.start = e.value("start", 0.0);
    j.end = e.value("end", 0.0);
    j.planned_failure = e.value("plannedFailure", "");
    j.failure_reason = e.value("failureReason", "");
    j.total_jobs = e.value("totalJobs", 1);
    if (e.contains("remainingMs")) {
      j.active = true;
      j.due = now + milliseconds(e["remainingMs"].get<long long>());
      j.due_wall = e.value("dueWall", 0.0);
    }
    new_jobs[j.kind][j.name] = std::move(j);
  }
  models = std::move(new_models);
  configs = std::move(new_configs);
  endpoints = std::move(new_endpoints);
  jobs = std::move(new_jobs);
}

}  // namespace converge::sagemaker
