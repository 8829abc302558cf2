// The one JSON diff every backend's plan is computed with: a pure three-way comparison of the
// document converge wants (`desired`), the object as the backend returns it (`live`) and what
// converge applied last time (`last_applied`), producing the field changes a plan shows.
//
// What it promises (each backend chooses with Options; its normaliser shapes the documents):
//  * subset semantics: only members the desired document sets are compared, so server defaults
//    and server-populated members never show (Options::subset; off = a full two-way comparison,
//    members only live has are shown live -> null);
//  * server defaults: a member live leaves out counts as its default (Options::defaults, a
//    document shaped like the object), and a member present in last_applied but no longer
//    desired is reset to its default (null when there is none), shown live -> default while
//    live still differs;
//  * numbers compare by value (512 == 512.0); null, {} and [] mean "nothing" where the backend
//    says so (Options::empty_is_absent);
//  * objects are compared per member; arrays of objects per element, matched by a key member
//    where the backend names one for that member (ProductionVariants by VariantName), else by
//    index when both have the same length; any other changed array is one whole field;
//  * ignored members (Options::ignored, by member path) and whole members (compared and shown as
//    one value) are never looked into.
// Display paths are dotted: container.docker.image, env.LOG_LEVEL, healthChecks[0].path; keys
// that are not plain are quoted (labels["converge.io/managed-by"]); key-matched elements show
// their key (ProductionVariants[blue].ModelName). Changes are sorted by path (indices by number).
// No I/O and no clocks; subtrees nested deeper than 256 levels are compared and shown whole.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "reconcilers/reconciler.h"  // FieldChange (a plain struct; no link dependency)
#include "specs/document.h"

namespace converge::json_diff {

struct Options {
  // Compare only the members `desired` sets. Off: members only `live` has are differences too.
  bool subset = true;
  // null, {} and [] are all "nothing here" (Marathon leaves empty collections out).
  bool empty_is_absent = false;
  // The server's defaults, shaped like the document ({"cpus": 1, "upgradeStrategy": {...}}):
  // an absent live member that the desired value is satisfied by is no change, and a member
  // removed since last_applied resets to it. Array elements have no defaults.
  json defaults;
  // The key member that identifies the elements of the array held by `member`
  // ("ProductionVariants" -> "VariantName"), or "" to match elements by index. Elements are
  // matched by key only when every element of both arrays has a distinct string key.
  std::function<std::string(const std::string& member)> array_key;
  // A desired scalar that any live value satisfies (Marathon: a port 0 means "assign one");
  // `member` is the name of the member holding it (for array elements: the array's).
  std::function<bool(const std::string& member, const json& desired)> matches_any;
  // Member paths never compared: keys joined by '.', array positions left out
  // ("Tags", "container.docker.forcePullImage").
  std::set<std::string> ignored;
  // Member paths compared as one value and shown whole when they differ ("Tags").
  std::set<std::string> whole;
};

// The changes that would make `live` satisfy `desired`, plus the resets of members removed
// since `last_applied` (null: none). `live` null = the object is absent (every desired value
// shows null -> value). Before = live's value (null when absent), after = the wanted value.
std::vector<FieldChange> Diff(const json& desired, const json& live, const json& last_applied,
                              const Options& options);

// Every leaf of `doc` as a change from nothing (what a create sets).
std::vector<FieldChange> Leaves(const json& doc, const Options& options);

// Equality with numbers by value (512 == 512.0 == 512u), without recursion.
bool DeepEqual(const json& a, const json& b);

}  // namespace converge::json_diff
