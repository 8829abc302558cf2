// The pure half of the YarnService reconciler: what a live service's definition is, how desired
// and live compare, and which write a difference needs. No I/O, no clocks.
//
//  * Ownership and converge's per-service settings live in the service's own
//    `configuration.properties` (they survive converge's state being lost, and YARN keeps them
//    with the spec it stores): converge.io/managed-by = <instance>, and the annotations
//    converge/prune, converge/allowReplace, converge/maxUnavailable when a spec has them. They
//    are bookkeeping, never shown as differences.
//  * Definition(live) drops what YARN fills in (id, launch_time, number_of_running_containers,
//    components[].containers / state, lifetime -1 = unlimited, empty collections) and reduces
//    `state` to STARTED or STOPPED (FAILED and SUCCEEDED count as not running).
//  * Components are matched by name, config files by dest_file; numbers by value.
//  * Actions: create; delete; scale when only number_of_containers changed; update for a
//    start / stop, a lifetime change, or anything else through YARN's upgrade (which needs a new
//    `version`); replace (stop, destroy, create) where an upgrade cannot be done (the Backend
//    says upgrade: disabled, or the service is or will be stopped), only with the annotation
//    converge/allowReplace: "true", otherwise a plan error that says why.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "reconcilers/reconciler.h"
#include "specs/document.h"

namespace converge::yarn {

inline constexpr const char* kManagedByProperty = "converge.io/managed-by";
inline constexpr const char* kPruneProperty = "converge/prune";
inline constexpr const char* kAllowReplaceProperty = "converge/allowReplace";
inline constexpr const char* kMaxUnavailableProperty = "converge/maxUnavailable";

// configuration.properties[key] of a service, or "" when absent.
std::string Property(const json& service, const std::string& key);
// Sets configuration.properties[key] (creating the objects on the way).
void SetProperty(json& service, const std::string& key, const std::string& value);

// The restorable definition of a live service (see above).
json ServiceDefinition(const json& live);
// "STARTED" or "STOPPED": a desired service without `state` is STARTED; a live one is STOPPED
// when YARN says STOPPED, FAILED or SUCCEEDED.
std::string RunState(const json& service);
// The document compared by the diff: no converge properties, no state.
json ForDiff(const json& service);

// What differs between a desired and a live service.
struct ServiceChange {
  std::vector<FieldChange> fields;  // spec differences (state not included)
  std::string want_state, have_state;
  bool scale_only = false;             // every field is a components[..].number_of_containers
  bool lifetime_only = false;          // every field is lifetime (set to a positive value)
  std::map<std::string, long> counts;  // scale_only: component -> desired count
  bool empty() const { return fields.empty() && want_state == have_state; }
};
ServiceChange Classify(const json& desired, const json& live, const json& last_applied);

// The plan for one service. `upgrade_enabled`: the Backend's `upgrade` member.
DiffResult DiffService(const json& desired, const json& live, const json& last_applied,
                       bool upgrade_enabled);

}  // namespace converge::yarn
