// The one small interface every backend implements. Queueing, retries of whole changes,
// ordering, snapshots, health waits and rollback are generic and live in controller/.
//
//   observe  — list the live objects converge owns (one paged list call per kind)
//   desired  — the native document converge wants live for a spec (adds the ownership label)
//   diff     — pure: (desired, live, last-applied) -> action + field changes
//   health   — is the object rolled out and healthy yet?
//   apply    — one backend write for one change
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "specs/base/status.h"
#include "specs/document.h"

namespace converge {

struct ResourceKey {
  std::string kind;
  std::string name;
  std::string ToString() const { return kind + "/" + name; }  // CLI form: App//shop/web
  std::string Display() const { return kind + " " + name; }   // for people: App /shop/web
  bool operator<(const ResourceKey& o) const {
    return kind != o.kind ? kind < o.kind : name < o.name;
  }
  bool operator==(const ResourceKey& o) const { return kind == o.kind && name == o.name; }
};

// Parses "App//payments/api" or "App/payments/api" (kind, then the rest is the name; Marathon
// ids get their leading slash back).
Result<ResourceKey> ParseResourceKey(const std::string& s);

struct LiveObject {
  ResourceKey key;
  json doc;            // as the backend returned it (status fields included), or null when
  std::string raw;     // ... a backend keeps it compact: JSON text, parsed on demand by Doc()
  bool owned = false;  // carries this converge instance's ownership label
  // The object says "never prune" (the annotation converge/prune: "false", copied by Desired
  // onto the object: a Marathon label, a SageMaker tag), so it outlives the spec. The planner
  // never deletes such an object, whatever the backend.
  bool prune_protected = false;

  // The document, parsed from `raw` when that is how it is kept (10,000 parsed documents cost
  // ten times the memory of their text).
  json Doc() const { return doc.is_null() && !raw.empty() ? json::parse(raw, nullptr, false) : doc; }
};

enum class Action { kNoop, kCreate, kUpdate, kScale, kReplace, kDelete, kRun };
const char* ActionName(Action a);  // "create", "update", ...

struct FieldChange {
  std::string path;  // dotted path for display: container.docker.image, env.LOG_LEVEL
  json before;       // null when absent
  json after;        // null when removed/reset
};

struct DiffResult {
  Action action = Action::kNoop;
  std::vector<FieldChange> fields;
  std::string reason;  // for display only
  // Something the user should know about an object even when nothing is planned for it (a job
  // whose run for this revision failed and is not restarted). Shown with the skipped resources.
  std::string notice;
  // The spec cannot be planned (it references something that does not exist): a plan error at
  // the spec's file:line:column, so that nothing at all is applied.
  std::string error;
  // Lifecycle maintenance: the tasks that are suspended after repeated failures (not run until
  // the spec changes or `converge release`, see Resume). With no action the object is skipped
  // as "suspended" instead of "notice".
  std::vector<std::string> suspended;
};

// kFailed: the backend says the change failed for good (a SageMaker endpoint `Failed`, or rolled
// back by SageMaker; a job `Failed`): the executor stops waiting at once instead of running out
// the health timeout. kDegraded may still recover, so it is waited on. kDiverged: the object
// settled, but not at the desired state, and will not get there by itself (a SageMaker endpoint
// InService on the right config with the counts that config was created with): the executor
// sends `follow_up` (a scale) as a step of the change, then waits again. Health checks only read.
enum class HealthState { kProgressing, kHealthy, kDegraded, kMissing, kFailed, kDiverged };

struct Health {
  HealthState state = HealthState::kProgressing;
  std::string message;  // "deployment 1/2, tasks healthy 1/3"
  Action follow_up = Action::kNoop;  // kDiverged: the write that brings it to the desired state
};

// One change to apply; what the executor hands to a reconciler.
struct ChangeRequest {
  ResourceKey key;
  Action action = Action::kNoop;
  json desired;  // native document (null for delete)
  json live;     // definition as observed (null for create)
  // How long the change may take (`--health-timeout`, else the Backend's healthTimeout); a
  // backend whose write itself waits (YARN's upgrade batches) bounds its waits by it. 0 = unset.
  std::chrono::seconds timeout{0};
};

// One run of a run-lifecycle kind, as the backend reports it.
enum class RunPhase { kPending, kRunning, kSucceeded, kFailed };
const char* RunPhaseName(RunPhase p);  // "pending" | "running" | "succeeded" | "failed"

struct RunRecord {
  std::string name;    // the run's live name: <base> or <base>-r<N>
  RunPhase phase = RunPhase::kPending;
  std::string status;  // the backend's own word, for people: "InProgress/Training", "RUNNING"
  std::string reason;  // why it failed (SageMaker FailureReason, YARN diagnostics)
  int64_t created_ms = 0;  // for ordering: newest first
  std::string id;          // the backend's own id of the run (a YARN application id), if any
  std::string spec_name;   // ListActiveRuns: the metadata.name of the spec it was started for
};

// What a backend does for its run-lifecycle kinds. A run's live name carries the spec revision
// (the backend's Desired puts it in the member KindDef::run_name_member names), so the name is
// the idempotency key: the controller starts a run only when no run of that name exists.
class RunDriver {
 public:
  virtual ~RunDriver() = default;
  // Every run of `kind` named `base` or `base-r<N>` (the runs of one spec revision), any order.
  virtual Result<std::vector<RunRecord>> ListRuns(const std::string& kind,
                                                  const std::string& base) = 0;
  // One run by its live name; kNotFound when there is none.
  virtual Result<RunRecord> ReadRun(const std::string& kind, const std::string& name) = 0;
  // Starts the run `desired` names. A run of that name that already exists (an earlier attempt
  // whose answer was lost) is success.
  virtual Status StartRun(const std::string& kind, const json& desired) = 0;
  // Runs converge started (this instance) that are still pending or running, of every spec,
  // with spec_name set: a running run of a removed spec is stopped by a prune. Default: none
  // (the backend's runs are never stopped; they are history).
  virtual Result<std::vector<RunRecord>> ListActiveRuns(const std::string& kind) {
    return std::vector<RunRecord>{};
  }
  // Stops a pending or running run (a prune). Called only for runs ListActiveRuns returned.
  virtual Status StopRun(const std::string& kind, const RunRecord& run) {
    return InvalidError(kind + " runs cannot be stopped");
  }
  // Why this run cannot start, checked offline at plan time (a reference that resolves to
  // nothing); "" when it can.
  virtual std::string CannotStart(const std::string& kind, const json& desired) const {
    return "";
  }
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;

  // Called with this backend's documents before Observe and Desired: backends whose objects
  // reference each other (an endpoint naming its config) resolve references and content-derived
  // names from it. Default: nothing to bind.
  virtual void BindSpecs(const std::vector<const Document*>& docs) {}

  virtual Result<std::vector<LiveObject>> Observe() = 0;
  // Whether Observe reads what BindSpecs bound (which objects to look at). A backend that lists
  // everything it may own says false, and is then observed while the specs are still loading.
  virtual bool ObserveNeedsSpecs() const { return true; }
  // One object by key whether or not converge owns it (import, fresh snapshots).
  virtual Result<std::optional<LiveObject>> Get(const ResourceKey& key) = 0;

  // The native document to make live for a spec: spec + id + ownership label.
  virtual json Desired(const Document& doc) const = 0;
  // The restorable definition of a live object: server-populated status stripped.
  virtual json Definition(const json& live) const = 0;
  // Pure. `desired` null = no spec (prune candidate); `live` null = missing.
  virtual DiffResult Diff(const json& desired, const json& live,
                          const json& last_applied) const = 0;

  // Other resources of this backend a document depends on (created first, deleted last).
  virtual std::vector<ResourceKey> Dependencies(const json& doc) const { return {}; }
  // The specs whose content this spec's desired state is computed from (a SageMaker config
  // embeds its models' content-addressed names). When one of them changes, this one must be
  // planned again too; `converge watch` uses it to widen an incremental re-plan.
  virtual std::vector<ResourceKey> References(const Document& doc) const { return {}; }

  virtual Status Apply(const ChangeRequest& change) = 0;
  virtual Result<Health> CheckHealth(const ResourceKey& key, const json& desired) = 0;
  // Put the object back to a snapshot's definition (or delete it when the snapshot says it
  // did not exist).
  virtual Status Restore(const ResourceKey& key, const json& definition) = 0;
  // Lifecycle maintenance: clear a suspension (DiffResult::suspended) of `key`, as `converge
  // release` does. The default has nothing to resume.
  virtual Status Resume(const ResourceKey& key) { return Status::Ok(); }
  // The backend's side of the run lifecycle (kinds registered with Lifecycle::kRun): listing,
  // starting and reading runs. The controller decides what runs, when, and what an outcome means
  // (controller/run_lifecycle.h). nullptr when the backend has no run kinds.
  virtual RunDriver* Runs() { return nullptr; }
  // Number of backend requests made so far (attempts), and of those that write.
  virtual long RequestCount() const = 0;
  virtual long WriteCount() const = 0;
};

}  // namespace converge
