// The pure Marathon app diff behind `converge plan`: what would change if converge applied the
// desired app definition, given the live app and what converge applied last time.
//
// Semantics, in short (the shared engine reconcilers/common/json_diff.h does the comparing;
// diff.cc holds Marathon's defaults, its port rule and the scale-vs-update decision):
//  * only members the desired document sets are compared ("subset" semantics), so server
//    defaults and server-populated members never show; numbers compare by value (512 == 512.0);
//    a desired port of 0 (servicePort, port, hostPort, containerPort, ports[i]) means "Marathon
//    assigns one" and matches any live port; an empty desired object/array matches an absent one;
//  * members present in `last_applied` but no longer desired are resets: back to Marathon's
//    default (AppDefault) for top-level members, gone (after = null) inside objects (env.FOO);
//    shown only while live still differs;
//  * objects are compared per key, arrays element-wise when they hold objects or arrays and have
//    the same length; a changed array of scalars or a length change is one whole-array field.
// No I/O, no clocks; the output is a function of the inputs.
#pragma once

#include <string>

#include "reconcilers/reconciler.h"
#include "specs/document.h"

namespace converge::marathon {

// A restorable app definition from a live AppInfo: drops the members Marathon populates (version,
// versionInfo, tasksStaged/Running/Healthy/Unhealthy, deployments, readinessCheckResults, tasks,
// lastTaskFailure, tasksStats, counts) and top-level nulls (unset members, e.g. "user": null).
// Dropping "version" matters: a version in an update asks Marathon to roll back to it.
json AppDefinition(const json& live_app_info);

// `desired`: the native app definition converge wants (with "id"), or null when no spec asks for
// the app; `live`: the live AppInfo or definition, or null when the app does not exist;
// `last_applied`: what converge applied last time, or null.
//   desired null, live set   -> kDelete (no fields)
//   desired set,  live null  -> kCreate, one field per leaf of desired (before = null)
//   both set                 -> kScale if only `instances` differs, kUpdate if anything else
//                               does, else kNoop
// Fields are sorted by path (array indices numerically).
DiffResult DiffApp(const json& desired, const json& live, const json& last_applied);

// Marathon's default for a top-level app member (raml/v2/types/app.raml and friends; empty
// collections for list/map members), or null when there is none (cmd, container, ...).
json AppDefault(const std::string& member);

}  // namespace converge::marathon
