// The plan is a value: what converge would change, computed by the planner from
// (desired, live, last-applied), rendered by render.h, consumed by the executor, and saved to a
// file with `plan --out` for a later `apply --plan`. Reasons are for display only.
#pragma once

#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "specs/base/status.h"
#include "reconcilers/reconciler.h"
#include "specs/document.h"

namespace converge {

inline constexpr const char* kPlanFormatVersion = "1.0";

struct PlannedChange {
  ResourceKey key;
  std::string backend;
  Action action = Action::kNoop;
  std::vector<FieldChange> fields;
  std::string reason;
  // The native document to make live (null for delete); packed by the planner (a plan of
  // 10,000 creates or settles holds 10,000 of them), read with desired.Get().
  PackedJson desired;
  json live;                // observed definition (null when absent)
  std::string fingerprint;  // hash of the observed definition this change was computed from
  std::string revision;     // spec revision ("" for delete)
  std::string source;       // file:line:column of the spec ("" for delete)
  int wave = 0;
  int stage = 0;  // dependency depth within the wave: stage N runs after stage N-1
  bool auto_rollback = true;
  std::vector<std::string> suspended;  // maintenance: tasks suspended meanwhile (DiffResult)
};

// A resource the plan deliberately leaves alone, with why: held after a rollback, a prune that
// needs --prune, a delete blocked because some spec file failed to load...
struct SkippedResource {
  ResourceKey key;
  std::string backend;
  std::string status;  // held | not-pruned | unknown-desired-state | protected | suspended | notice
  std::string reason;
  std::vector<std::string> suspended;  // status suspended: which tasks (DiffResult::suspended)
};

// An error that stops the plan from being applied, as a value: which resource it is about ("" when
// it is about the plan as a whole, e.g. too many deletions), where its spec is, what is wrong.
struct PlanError {
  enum class Kind {
    kNotManaged,      // an existing object converge does not own is in the way of a spec
    kUnresolvable,    // the spec cannot be planned (a reference to nothing)
    kTooManyDeletes,  // more deletions than --max-deletes
  };
  Kind kind = Kind::kUnresolvable;
  std::string key;       // "App//shop/web", or "" for the whole plan
  std::string position;  // "file:line:column" of the spec, or ""
  std::string message;
  // For people: "file:line:column: KEY: message".
  std::string Text() const;
};

struct Plan {
  std::string format_version = kPlanFormatVersion;
  std::string created_at;
  std::string spec_dir;
  std::string git_commit;
  std::vector<PlannedChange> changes;  // ordered: waves, then dependencies, then kind, then name
  std::vector<SkippedResource> skipped;
  // Resources already matching their spec whose last-applied record is missing or older (an
  // apply killed after its backend call, or an import): apply records them after a health
  // check, without any backend write, so later removals from the spec are reset.
  std::vector<PlannedChange> settle;
  std::vector<Diagnostic> diagnostics;  // load errors and warnings
  std::vector<PlanError> errors;        // errors that stop the plan (nothing is applied)
  std::map<std::string, json> backends; // Backend specs used (secret references only)
  size_t resources = 0;                 // desired resources considered

  std::map<std::string, int> Summary() const;  // action name -> count (create/update/...)
  bool HasChanges() const { return !changes.empty(); }
  bool HasErrors() const;
};

const char* PlanErrorKindName(PlanError::Kind k);  // "not-managed", ...
json PlanToJson(const Plan& plan);
// Writes exactly PlanToJson(plan).dump(2), one change at a time: the document of a plan of
// 10,000 creates is never built (it would take several times the memory of its text).
void WritePlanJson(const Plan& plan, std::ostream& out);
// [{severity, file, line, column, document, message, kind}] — shared by plan and validate
// output. kind is Diagnostic::kind, else "invalid" (an error) or "warning".
json DiagnosticsToJson(const std::vector<Diagnostic>& diagnostics);
Result<Plan> PlanFromJson(const json& j);
Action ActionFromName(const std::string& name);

}  // namespace converge
