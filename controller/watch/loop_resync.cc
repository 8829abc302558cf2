// The periodic full pass: observe everything, plan, queue what is not synced.
#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "controller/watch/loop.h"
#include "specs/base/memory.h"

namespace converge::watch {

using std::chrono::steady_clock;

// A full pass over everything: observe, plan, decide per resource. Work goes through the queue
// so a resource is never handled by two threads at once.
bool Loop::Resync(const char* why) {
  if (!Backends()) Connect();
  auto backends = Backends();
  if (!backends) return false;
  std::shared_lock<std::shared_mutex> planning;
  auto specs = BindForPlanning(backends, planning);
  auto live = ObserveAll(*backends);
  {
    std::lock_guard<std::mutex> lock(mu_);
    observe_ok_ = live.ok();
  }
  if (!live.ok()) {
    log_.Error("resync: cannot observe the backends", {{"error", live.status().message()}});
    return false;
  }
  PlanInputs in;
  if (Status read = ReadPlanState(*store_, in); !read.ok()) {
    log_.Error("resync: cannot read the state", {{"error", read.message()}});
    return false;
  }
  in.specs = specs.get();
  in.backends = backends->configs;
  in.reconcilers = backends->reconcilers;
  in.live = std::move(*live);
  PlanOptions po;
  po.prune = o_.prune;
  po.max_deletes = std::numeric_limits<int>::max();  // the batch's own plan enforces it
  Plan plan = ComputePlan(in, po);
  planning = {};

  std::set<std::string> queued, seen;
  std::map<std::string, const Document*> docs;
  for (const Document& d : specs->documents) docs[d.Key()] = &d;
  for (const auto& c : plan.changes) {
    const std::string k = c.key.ToString();
    seen.insert(k);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto t = terminal_.find(k);
      if (t != terminal_.end() && t->second == c.revision) continue;  // not retried
    }
    // Drift is queued too: the batch re-checks it against fresh live state and heals or
    // reports it (selfHeal).
    queued.insert(k);
  }
  for (const auto& s : plan.settle) queued.insert(s.key.ToString());
  // Plan errors (an unmanaged object in the way of a spec): the batch reports them per resource;
  // never shown as synced.
  for (const auto& e : plan.errors) {
    log_.Error("resync: plan error: " + e.Text());
    if (!e.key.empty()) queued.insert(e.key);
  }
  for (const auto& s : plan.skipped) queued.insert(s.key.ToString());  // shown as held etc.
  // Resources that already match: synced.
  for (const Document& d : specs->documents) {
    if (d.kind == "Backend" || queued.count(d.Key())) continue;
    bool was_drifted = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = board_.find(d.Key());
      was_drifted = it != board_.end() && it->second.state == "drifted";
      if (terminal_.count(d.Key())) continue;
    }
    if (was_drifted) log_.Info("drift resolved", {{"key", d.Key()}});
    SetState(d.Key(), "synced", "", &d);
    NoteSuspended(d.Key(), {});
  }
  // Forget resources that neither have a spec nor exist any more.
  {
    std::set<std::string> live_keys;
    for (const auto& [_, objects] : in.live)
      for (const auto& obj : objects) live_keys.insert(obj.key.ToString());
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = board_.begin(); it != board_.end();) {
      if (!docs.count(it->first) && !live_keys.count(it->first) && !queued.count(it->first))
        it = board_.erase(it);
      else
        ++it;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!first_resync_ok_) initial_pending_ = queued;
    first_resync_ok_ = true;
  }
  queue_.AddAll(std::vector<std::string>(queued.begin(), queued.end()));
  if (queued.empty()) {
    metrics_.Set("converge_last_successful_sync_timestamp_seconds", UnixNow());
    std::lock_guard<std::mutex> lock(mu_);
    last_success_ = Now();
  }
  log_.Info("resync", {{"trigger", why},
                       {"resources", std::to_string(plan.resources)},
                       {"queued", std::to_string(queued.size())}});
  return true;
}

void Loop::ResyncThread() {
  auto next = steady_clock::now();
  bool first = true;
  while (true) {
    const char* why = "periodic";
    {
      std::unique_lock<std::mutex> lock(resync_mu_);
      while (!stopping_ && !resync_requested_ && steady_clock::now() < next)
        resync_cv_.wait_until(lock, next);
      if (stopping_) break;
      if (resync_requested_) why = first ? "start" : "requested";
      resync_requested_ = false;
    }
    first = false;
    bool ok = Resync(why);
    ReturnFreedMemory();  // the pass's observed objects, plan and state rows are freed now
    {
      std::lock_guard<std::mutex> lock(mu_);
      first_resync_done_ = true;
    }
    // A failed resync (backends down) is retried soon; a good one after --resync (0: only when
    // asked for, e.g. by SIGHUP or a Backend change).
    steady_clock::duration interval = o_.resync.count() > 0
                                          ? steady_clock::duration(o_.resync)
                                          : steady_clock::duration(std::chrono::hours(24 * 365));
    if (!ok) interval = std::min<steady_clock::duration>(interval, std::chrono::seconds(5));
    next = steady_clock::now() + interval;
  }
  std::lock_guard<std::mutex> lock(done_mu_);
  ++threads_done_;
  done_cv_.notify_all();
}

}  // namespace converge::watch
