// Wiring: which kinds exist, and a live Reconciler for each Backend document.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "specs/base/clock.h"
#include "controller/planner.h"
#include "controller/store/store.h"
#include "reconcilers/common/http.h"
#include "reconcilers/reconciler.h"
#include "reconcilers/registry.h"
#include "specs/backend.h"
#include "specs/loader.h"

namespace converge {

// The loader's kinds: every kind of every registered backend (reconcilers/registry.h), plus
// Backend.
KindRegistry DefaultKindRegistry();

// A spec of a run-lifecycle kind, bound: the live name its revision runs under.
struct BoundRun {
  const KindDef* kind = nullptr;
  std::string base;  // KindDef::run_name_member of its desired document
};

struct BackendSet {
  std::map<std::string, BackendConfig> configs;
  std::map<std::string, std::unique_ptr<Reconciler>> owned;
  std::map<std::string, Reconciler*> reconcilers;  // views of `owned`
  // Per backend, the bound specs of run kinds by key (filled by BindSpecs): their runs are
  // observed by name, since runs of removed specs are history and never listed.
  std::map<std::string, std::map<std::string, BoundRun>> runs;
  // The same views, shared with each reconciler's ConnectContext::peer (so that they outlive a
  // move of the set).
  std::shared_ptr<std::map<std::string, Reconciler*>> peers =
      std::make_shared<std::map<std::string, Reconciler*>>();
};

struct ConnectOptions {
  // When set: hooks installed on each backend's HTTP client, around every attempt (retries
  // included) — `converge watch` rate-limits and counts requests per backend with them.
  std::function<http::AttemptHooks(const std::string& backend)> attempt_hooks;
  // Fired when converge must stop at once: waits inside a backend call end early.
  const Cancellation* cancel = nullptr;
  // ConnectContext::cache_dir: where backends may keep caches between processes (created when
  // missing; empty = none). CacheDirOf(state_dir) for the commands that have a state directory.
  std::string cache_dir;
};

// The cache directory of a state directory ("<state>/cache").
std::string CacheDirOf(const std::string& state_dir);

// Connects every backend (resolving secrets). `instance` names this converge for ownership
// labels.
Result<BackendSet> ConnectBackends(const std::map<std::string, BackendConfig>& configs,
                                   const std::string& instance, Clock& clock,
                                   const ConnectOptions& options = {});

// Backend configs from loaded documents.
std::map<std::string, BackendConfig> BackendsOf(const LoadResult& specs);

// Hands each backend's documents to its reconciler (Reconciler::BindSpecs) before observing and
// planning.
void BindSpecs(BackendSet& set, const LoadResult& specs);

// Observes all backends concurrently (one list call per kind per backend), and the runs of the
// bound run-lifecycle specs (controller/run_lifecycle.h). A backend in `observed` is not
// observed again: its result is used (load_and_observe.h observes some while loading).
using Observed = std::map<std::string, Result<std::vector<LiveObject>>>;
Result<std::map<std::string, std::vector<LiveObject>>> ObserveAll(BackendSet& set,
                                                                 Observed observed = {});

// What a plan reads from the state store into `in`: the last-applied documents (as text) and
// the holds, of `keys` only when set.
Status ReadPlanState(store::Store& st, PlanInputs& in, const std::set<std::string>* keys = nullptr);

// One object by key, whatever its lifecycle (a run kind: the runs of its bound spec).
Result<std::optional<LiveObject>> GetLive(BackendSet& set, const std::string& backend,
                                          const ResourceKey& key);

// The commit of the git work tree holding `dir` (with "-dirty" when it has uncommitted
// changes), or "" when it is not in a git work tree.
std::string GitCommitOf(const std::string& dir);

// The state key under which a Backend's spec is recorded ("Backend/<name>").
std::string BackendStateKey(const std::string& name);

// Records the Backend specs (secret references only, never values) with a run, so that
// `converge rollback` can reconnect without the spec directory. Best effort.
void RecordBackends(store::Store& st, const std::map<std::string, BackendConfig>& configs,
                    int64_t run);

}  // namespace converge
