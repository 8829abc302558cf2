// The run lifecycle (Lifecycle::kRun in reconcilers/registry.h), the same for every backend:
// the desired state of a run kind means "this revision has run".
//   - the run's live name carries the spec revision (the backend's Desired puts it in the member
//     KindDef::run_name_member names), so re-applying never starts a duplicate and a changed
//     spec starts a new run;
//   - it runs once: a failed run is a notice with its reason and is not restarted;
//   - `converge rerun` starts <name>-r<N>;
//   - never rolled back (the executor reads the lifecycle), never pruned (runs of removed specs
//     are not observed: they are history);
//   - waited on up to its own time limit (KindDef::timeout), or — in `converge watch` — not
//     waited on by an apply worker at all: the run is followed by polling (RunFollower).
// A backend only lists, reads and starts runs (RunDriver in reconcilers/reconciler.h).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "reconcilers/reconciler.h"
#include "reconcilers/registry.h"

namespace converge {
struct BoundRun;  // controller/backends.h
}

namespace converge::runs {

// The live name of the run `desired` means ("" when the member is missing).
std::string RunName(const KindDef& kind, const json& desired);

// The live object of one run-lifecycle spec whose run name is `base`: {"Runs": [...]}, newest
// first, each {"Name", "Phase", "Status", "Reason"}; nullopt when this revision never ran.
Result<std::optional<LiveObject>> Observe(RunDriver& driver, const KindDef& kind,
                                          const ResourceKey& key, const std::string& base);

// Pure. No run of this revision → kRun; the newest run failed → no action, a notice that says
// why and how to rerun; a reference that resolves to nothing → an error (nothing is applied).
DiffResult Diff(const RunDriver& driver, const KindDef& kind, const ResourceKey& key,
                const json& desired, const json& live);

// The live objects of runs still going whose spec is not among `bound` (keys "Kind/name"): one
// per spec, owned, so that a prune plans their stop (a delete of a run kind stops its runs).
std::vector<LiveObject> Orphans(const KindDef& kind, const std::vector<RunRecord>& active,
                                const std::map<std::string, BoundRun>& bound);

// A prune of a run kind: stops every pending or running run in `live` ({"Runs": [...]}); the
// names stopped, for the journal.
Result<std::string> StopRuns(RunDriver& driver, const KindDef& kind, const json& live);

// A notice's kind, for whoever reports it (`converge watch` shows a failed run as failed).
inline constexpr const char* kRunFailedStatus = "run-failed";
inline constexpr const char* kRunningStatus = "running";
// The SkippedResource status Diff's notice stands for: kRunFailedStatus or kRunningStatus.
std::string NoticeStatus(const json& live);

// The health of the run `desired` names: succeeded → healthy, failed → kFailed (with the
// reason), pending / running → progressing, none → missing.
Result<Health> RunHealth(RunDriver& driver, const KindDef& kind, const json& desired);

// The kinds whose lifecycle is `run`, comma-separated ("TrainingJob, ProcessingJob, ...").
std::string RunKindsOf(const BackendRegistry& registry);

// `converge rerun`: `desired` renamed to the next free <base>-r<N> (or kept when this revision
// never ran).
Result<json> DesiredForRerun(RunDriver& driver, const KindDef& kind, json desired);

}  // namespace converge::runs
