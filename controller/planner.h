// The planner pairs (desired, live, last-applied) per resource, asks each backend's pure diff
// for the action, applies the safety contract of docs/architecture.md (holds, prune gating, max deletes,
// blocked deletes when a file failed to load) and orders the result.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "controller/plan.h"
#include "reconcilers/reconciler.h"
#include "reconcilers/registry.h"
#include "specs/base/clock.h"
#include "specs/backend.h"
#include "specs/loader.h"

namespace converge {

// What converge applied last time to a resource, kept as JSON text and parsed when the resource
// is planned: a plan of 10,000 resources holds them all, and parsed they take six times the
// memory of their text.
struct LastAppliedDoc {
  std::string text;  // "" = null
  std::string revision;

  LastAppliedDoc() = default;
  LastAppliedDoc(std::string doc_text, std::string spec_revision)
      : text(std::move(doc_text)), revision(std::move(spec_revision)) {}
  LastAppliedDoc(const json& doc, std::string spec_revision)
      : text(doc.is_null() ? std::string() : doc.dump()), revision(std::move(spec_revision)) {}
  json Doc() const { return text.empty() ? json() : json::parse(text, nullptr, false); }
};

struct HoldInfo {
  std::string revision;  // the spec revision the hold is for; "*" = until released
  std::string reason;
};

// Everything the planner needs, already observed: planning itself does no I/O.
struct PlanInputs {
  const LoadResult* specs = nullptr;
  std::map<std::string, BackendConfig> backends;                 // by Backend name
  std::map<std::string, Reconciler*> reconcilers;                 // by Backend name
  std::map<std::string, std::vector<LiveObject>> live;            // by Backend name
  std::map<std::string, LastAppliedDoc> last_applied;             // by resource key
  std::map<std::string, HoldInfo> holds;                          // by resource key
  // The kinds' lifecycles; nullptr = every backend compiled in (Backends()).
  const BackendRegistry* registry = nullptr;
};

struct PlanOptions {
  bool prune = false;        // --prune (a backend's `prune: true` also enables it for that backend)
  int max_deletes = 5;       // --max-deletes
  std::string spec_dir;
  std::string git_commit;
  // When set, only these resource keys ("Kind/name") are planned: changes, settles and skips of
  // other resources are left out (`converge watch` re-plans only what an event affected). Every
  // safety rule applies unchanged to the keys planned; --max-deletes counts their deletions.
  const std::set<std::string>* only_keys = nullptr;
  // What stamps Plan::created_at, the planner's only use of time; nullptr = the system clock.
  const Clock* clock = nullptr;
};

Plan ComputePlan(const PlanInputs& in, const PlanOptions& options);

// Sets PlannedChange::stage from the backends' Dependencies(): within a wave, a change runs
// after the changes of the resources it depends on (deletes: before them).
void AssignStages(std::vector<PlannedChange>& changes,
                  const std::map<std::string, Reconciler*>& reconcilers);

// Sorts changes: creates/updates/scales by wave, then dependency stage, then kind and name;
// deletes after them in reverse order.
void OrderChanges(std::vector<PlannedChange>& changes);

}  // namespace converge
