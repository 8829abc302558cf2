// An in-memory backend for testing the controller (executor, planner, watch loop) without HTTP.
// It keeps one live document per key and behaves like a well-mannered backend by default:
//   Apply    — the write succeeds and lands (live = desired; a delete removes the object);
//   Restore  — the same with the snapshot's definition (null removes the object);
//   Get      — the live document;
//   CheckHealth — what the live document's "health" member says ("progressing", "degraded",
//              "failed", "missing"; healthy when absent). A desired document that carries
//              "health": "progressing" therefore never becomes healthy, and restoring the
//              snapshot taken before it (no such member) makes the object healthy again.
//              With no desired document (a delete) the object is healthy once it is gone.
//   Diff     — noop when live equals desired (ignoring "status"), create / delete when one side
//              is missing, scale when only "instances" differs, update otherwise.
// Per-key scripts override the defaults call by call (consumed in order; when a key's script is
// used up the default applies again). Every call is recorded, so tests check what was called
// in which order. Thread-safe: the executor calls it from several workers.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconcilers/reconciler.h"
#include "reconcilers/registry.h"

namespace converge::test {

// The Status of a write whose reply was lost after the request was sent (the outcome is
// unknown).
Status UnknownOutcome();

class FakeReconciler : public Reconciler {
 public:
  // One scripted write (Apply or Restore): what it returns and whether it changed live state.
  struct Write {
    Status status;
    bool lands = true;
  };
  static Write Succeeds() { return {Status::Ok(), true}; }
  static Write Fails(Status s) { return {std::move(s), false}; }
  // The request reached the backend (landed or not) but the reply was lost.
  static Write LosesReply(bool landed) { return {UnknownOutcome(), landed}; }

  struct Call {
    std::string op;  // observe | get | apply | health | restore
    ResourceKey key;
    Action action = Action::kNoop;  // apply only
    json doc;                       // apply: desired; restore: definition; health: desired
    std::string ToString() const;   // "apply create App/a", "health App/a"
  };

  explicit FakeReconciler(std::string type = "fake", std::vector<std::string> kinds = {"App"})
      : type_(std::move(type)), kinds_(std::move(kinds)) {}

  // The world.
  void SetLive(const ResourceKey& key, json doc);
  std::optional<json> Live(const ResourceKey& key) const;

  // Scripts, per key.
  void ScriptApply(const ResourceKey& key, std::vector<Write> writes);
  void ScriptRestore(const ResourceKey& key, std::vector<Write> writes);
  void ScriptHealth(const ResourceKey& key, std::vector<Result<Health>> answers);
  void ScriptGet(const ResourceKey& key, std::vector<Status> errors);

  // Called at the start of every Apply / Restore, outside the lock (look at the store when the
  // backend call is made, or wait until another worker is in flight). Set before use.
  std::function<void(const ChangeRequest&)> on_apply;
  std::function<void(const ResourceKey&, const json&)> on_restore;

  // What a real backend registers about itself (reconcilers/registry.h), as Factory() returns
  // it: the default poll interval, a per-kind timeout, the kinds whose lifecycle is `run`.
  std::chrono::milliseconds poll_interval{0};
  std::optional<std::chrono::seconds> health_timeout;  // every kind's timeout() when set
  std::set<std::string> run_kinds;                     // lifecycle run: never rolled back
  std::set<std::string> maintenance_kinds;             // lifecycle maintenance: nor these
  // The run driver of the run kinds (tests/common/fake_runs.h); null = none, and then runs
  // go through Apply / CheckHealth like resources (only their lifecycle differs).
  RunDriver* runs = nullptr;
  RunDriver* Runs() override { return runs; }
  BackendFactory Factory() const;

  // What happened.
  std::vector<Call> calls() const;
  // Calls as strings ("apply create App/a"), optionally only those of one op.
  std::vector<std::string> Trace(const std::string& op = "") const;
  int Count(const std::string& op, const ResourceKey& key) const;
  // The most Apply calls that were in progress at the same time.
  int max_concurrent_applies() const;

  // Reconciler.
  Result<std::vector<LiveObject>> Observe() override;
  Result<std::optional<LiveObject>> Get(const ResourceKey& key) override;
  json Desired(const Document& doc) const override;
  json Definition(const json& live) const override;
  DiffResult Diff(const json& desired, const json& live, const json& last_applied) const override;
  Status Apply(const ChangeRequest& change) override;
  Result<Health> CheckHealth(const ResourceKey& key, const json& desired) override;
  Status Restore(const ResourceKey& key, const json& definition) override;
  long RequestCount() const override;
  long WriteCount() const override;

 private:
  Write NextWrite(std::map<ResourceKey, std::vector<Write>>& scripts, const ResourceKey& key);
  void Land(const ResourceKey& key, const json& doc);  // null erases

  std::string type_;
  std::vector<std::string> kinds_;
  mutable std::mutex mu_;
  std::map<ResourceKey, json> live_;
  std::map<ResourceKey, std::vector<Write>> apply_script_, restore_script_;
  std::map<ResourceKey, std::vector<Result<Health>>> health_script_;
  std::map<ResourceKey, std::vector<Status>> get_script_;
  std::vector<Call> calls_;
  int applying_ = 0, max_applying_ = 0;
  long writes_ = 0;
};

}  // namespace converge::test
