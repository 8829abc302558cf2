// Connecting the backends (rate-limited, counted) and binding specs to their reconcilers.
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "controller/watch/counting_reconciler.h"
#include "controller/watch/loop.h"

namespace converge::watch {

std::shared_ptr<const LoadResult> Loop::BindForPlanning(
    const std::shared_ptr<BackendSet>& set, std::shared_lock<std::shared_mutex>& planning) {
  while (true) {
    {
      std::shared_lock<std::shared_mutex> shared(bind_rw_);
      auto latest = Specs();
      if (bound_set_ == set && bound_specs_ == latest) {
        planning = std::move(shared);
        return latest;
      }
    }
    // Rebinding waits for the batches planning against the old binding (observe + plan; not
    // their applies) and always binds the newest published specs.
    std::unique_lock<std::shared_mutex> exclusive(bind_rw_);
    auto latest = Specs();
    if (bound_set_ != set || bound_specs_ != latest) {
      BindSpecs(*set, *latest);
      bound_set_ = set;
      bound_specs_ = latest;
    }
  }
}

std::set<std::string> Loop::WithDependents(const std::set<std::string>& keys,
                                           const LoadResult& specs) {
  auto backends = Backends();
  if (!backends || keys.empty()) return keys;
  std::map<std::string, std::vector<std::string>> referenced_by;
  for (const Document& d : specs.documents) {
    auto rec = backends->reconcilers.find(d.backend);
    if (d.kind == "Backend" || rec == backends->reconcilers.end()) continue;
    for (const ResourceKey& r : rec->second->References(d))
      referenced_by[r.ToString()].push_back(d.Key());
  }
  std::set<std::string> out = keys;
  std::vector<std::string> todo(keys.begin(), keys.end());
  while (!todo.empty()) {
    std::string k = std::move(todo.back());
    todo.pop_back();
    auto it = referenced_by.find(k);
    if (it == referenced_by.end()) continue;
    for (const auto& dep : it->second)
      if (out.insert(dep).second) todo.push_back(dep);
  }
  return out;
}

void Loop::Connect() {
  auto specs = Specs();
  auto configs = BackendsOf(*specs);
  // Every HTTP attempt to a backend (retries included) takes a token from that backend's bucket
  // and is counted by status code.
  std::map<std::string, std::shared_ptr<TokenBucket>> buckets;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, _] : configs) {
      auto& bucket = buckets_[name];
      if (!bucket) bucket = std::make_shared<TokenBucket>(o_.backend_qps, o_.backend_burst);
      buckets[name] = bucket;
    }
  }
  ConnectOptions options;
  options.attempt_hooks = [this, &buckets](const std::string& backend) {
    http::AttemptHooks hooks;
    hooks.before = [bucket = buckets.at(backend)](const http::Request&) { bucket->Acquire(); };
    hooks.after = [this, backend](const http::Request&, int status) {
      metrics_.Inc("converge_backend_requests_total",
                   {{"backend", backend}, {"code", status ? std::to_string(status) : "error"}});
    };
    return hooks;
  };
  options.cache_dir = CacheDirOf(o_.state_dir);
  auto set = ConnectBackends(configs, o_.instance, SystemClock(), options);
  std::lock_guard<std::mutex> lock(mu_);
  if (!set.ok()) {
    connect_error_ = set.status().message();
    backends_ = nullptr;
    log_.Error("cannot connect the backends", {{"error", connect_error_}});
    return;
  }
  auto wrapped = std::make_shared<BackendSet>();
  // The reconcilers reach each other through `peers` (an Iceberg executor submits to a YARN
  // backend): the wrapped set keeps that map, pointing at the counting wrappers. A fresh map
  // here left every peer look-up empty once `set` was gone.
  wrapped->peers = set->peers;
  for (auto& [name, rec] : set->owned) {
    auto counted = std::make_unique<CountingReconciler>(std::move(rec), name, &metrics_);
    wrapped->reconcilers[name] = counted.get();
    (*wrapped->peers)[name] = counted.get();
    wrapped->owned[name] = std::move(counted);
  }
  wrapped->configs = set->configs;
  backends_ = wrapped;
  connect_error_.clear();
}

}  // namespace converge::watch
