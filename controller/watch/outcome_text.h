// Every decision `converge watch` makes by reading message text, in one place.
//
// Outcomes still reach the watch loop as strings: a ChangeResult carries only a message, and
// plan errors are a vector<string>. Until they carry a Status code and the resource key (issue
// 11, item 4), the loop asks these functions instead of matching text itself, so switching to
// codes changes this file only. Nothing else in controller/watch/ decides by message text.
#pragma once

#include <string>

#include "controller/executor.h"

namespace converge::watch {

// Whether a failed change cannot be fixed by retrying (it is not retried until its spec
// changes). Today: the message starts with "<code name>: " for a terminal code (kInvalid,
// kPermission, kStale), which is how the executor reports such a Status (Status::ToString).
bool IsTerminal(const ChangeResult& result);

// Whether plan error `error` is about resource `key`. Today: the planner writes
// "FILE:L:C: KEY already exists ..." or "FILE:L:C: KEY: a reference to nothing".
bool PlanErrorNames(const std::string& error, const std::string& key);

}  // namespace converge::watch
