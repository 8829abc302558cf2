// The SageMaker reconciler: models, endpoint configs, endpoints and jobs (kinds.h).
//
// Immutable kinds (Model, EndpointConfig) are content-addressed: the live name is the spec name
// plus a hash of the request, so a changed spec creates a new object (action "replace"), the old
// ones are retained for rollback (Options::retain_versions per spec) and garbage-collected beyond
// that when nothing uses them. An endpoint config's hash covers its models' live names but not
// the variants' InitialInstanceCount / InitialVariantWeight: a change of only those is a "scale"
// of the endpoint (UpdateEndpointWeightsAndCapacities), not a new config.
//
// Jobs are declarative "a run for this spec revision exists": the job name carries the hash, so
// re-applying never starts a duplicate and a changed spec starts a new run. A failed run is
// reported (notice + FailureReason) and not restarted; `converge rerun` starts <name>-<hash>-r<N>.
//
// Ownership is the tag converge.io/managed-by=<instance>; converge.io/name=<spec name> maps a
// content-addressed object back to its spec. The annotation `converge/prune: "false"` travels as
// the tag converge.io/prune=false (on every retained version), so an object stays protected from
// `--prune` after its spec is deleted; Observe reports it as LiveObject::prune_protected.
//
// Observe reads models and endpoints with one paged Search per kind and endpoint configs with
// ListEndpointConfigs, their tags and models cached (docs/backends/sagemaker.md).
//
// Source files: reconciler.cc (names, hashes, desired documents, references), observe.cc,
// observe_search.cc, cache.cc (caches, the record of converge's writes), diff.cc, apply.cc, endpoints.cc (rollout health, restore), tags.cc (tag sync, garbage
// collection), jobs.cc (everything about runs).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconcilers/reconciler.h"
#include "specs/base/clock.h"
#include "reconcilers/sagemaker/kinds.h"

namespace converge::sagemaker {

constexpr char kManagedByTag[] = "converge.io/managed-by";
constexpr char kNameTag[] = "converge.io/name";
// Carries the annotation converge/prune; "false" protects the object from pruning.
constexpr char kPruneTag[] = "converge.io/prune";

// The SageMaker API as the reconciler needs it (implemented over the JSON 1.1 client; faked in
// unit tests).
class Api {
 public:
  virtual ~Api() = default;
  // One operation; NotFound (ValidationException "Could not find ..." / ResourceNotFound) is
  // Code::kNotFound, "already exists" / ResourceInUse is Code::kConflict.
  virtual Result<json> Call(const std::string& operation, const json& input) = 0;
  // Pages a List* operation, calling `visit` per element of `member`.
  virtual Status ListAll(const std::string& operation, json input, const std::string& member,
                         const std::function<Status(json&)>& visit) = 0;
  virtual long RequestCount() const = 0;
  virtual long WriteCount() const = 0;
};

struct Options {
  int retain_versions = 3;  // per Model / EndpointConfig spec, the live one included
  std::chrono::milliseconds poll_interval{10000};
  // Every wait inside a call (a Failed endpoint's deletion before it is re-created) goes through
  // this clock and ends early when `cancel` fires. Null clock = the real one.
  Clock* clock = nullptr;
  const Cancellation* cancel = nullptr;
  // How Observe reads models and endpoints: one paged `Search` per kind, whose records carry
  // each object with its tags (false, or a service without Search / a role without
  // sagemaker:Search: List* + ListTags + Describe per object). docs/backends/sagemaker.md.
  bool search = true;
  // Where the tags and models of immutable objects (and the endpoints converge wrote lately) are
  // kept between processes; empty = in memory only.
  std::string cache_file;
};

// How long a run of a job may take: its StoppingCondition plus 15 minutes to start and upload;
// nullopt when the request sets none (the backend's healthTimeout applies).
std::optional<std::chrono::seconds> RunTimeout(const json& desired);

class Reconciler : public converge::Reconciler, public RunDriver {
 public:
  using SpecMap = std::map<std::string, std::map<std::string, json>>;  // kind -> name -> spec
  Reconciler(std::unique_ptr<Api> api, std::string instance, Options options = {});
  ~Reconciler() override;  // saves the cache file (Options::cache_file)


  void BindSpecs(const std::vector<const Document*>& docs) override;
  Result<std::vector<LiveObject>> Observe() override;
  Result<std::optional<LiveObject>> Get(const ResourceKey& key) override;
  json Desired(const Document& doc) const override;
  json Definition(const json& live) const override { return live; }
  DiffResult Diff(const json& desired, const json& live, const json& last_applied) const override;
  std::vector<ResourceKey> Dependencies(const json& doc) const override;
  std::vector<ResourceKey> References(const Document& doc) const override;
  // The references of a spec of `kind` to other objects (Model / EndpointConfig by name).
  static std::vector<ResourceKey> RefsOf(const std::string& kind, const json& spec);
  Status Apply(const ChangeRequest& change) override;
  Result<Health> CheckHealth(const ResourceKey& key, const json& desired) override;
  Status Restore(const ResourceKey& key, const json& definition) override;
  // Jobs: at least their StoppingCondition (MaxRuntimeInSeconds + MaxWaitTimeInSeconds) plus

  long RequestCount() const override { return api_->RequestCount(); }
  long WriteCount() const override { return api_->WriteCount(); }

  // Jobs: the run lifecycle's driver (jobs.cc).
  RunDriver* Runs() override { return this; }
  Result<std::vector<RunRecord>> ListRuns(const std::string& kind,
                                          const std::string& base) override;
  Result<RunRecord> ReadRun(const std::string& kind, const std::string& name) override;
  Status StartRun(const std::string& kind, const json& desired) override;
  std::string CannotStart(const std::string& kind, const json& desired) const override;

  // The live name converge gives a spec ("churn-model-1a2b3c4d"); public for tests and the CLI.
  std::string LiveName(const std::string& kind, const std::string& name) const;

 private:
  // Both read one snapshot of the bound specs (`specs`), so a request and its hash always come
  // from the same spec set even while the watch loop rebinds.
  json Request(const SpecMap& specs, const std::string& kind, const std::string& name) const;
  std::string LiveName(const SpecMap& specs, const std::string& kind,
                       const std::string& name) const;
  // `tags` (the user's, and converge.io/prune when set) plus converge's ownership tags: the Tags
  // of a Create* request.
  json CreateTags(json tags, const std::string& name) const;
  // Whether an object's tags say this converge instance manages it.
  bool Mine(const std::map<std::string, std::string>& tags) const;
  // The tags of `arn`. `created` >= 0: an immutable object created then, whose tags may come from
  // the cache (re-read after kTagCacheTtl, and at once when the object was re-created).
  Result<std::map<std::string, std::string>> TagsOf(const std::string& arn, double created);
  // The live model names an endpoint config's variants use (DescribeEndpointConfig, cached:
  // configs are immutable; `created` >= 0 must match the cached object's). Deletes are ordered by
  // it: a config goes before its models.
  Result<std::vector<std::string>> ModelsOfConfig(const std::string& name, double created = -1);
  DiffResult DiffObject(const json& desired, const json& live, const json& last_applied) const;
  DiffResult DiffVersions(const KindSpec& k, const json& desired, const json& live,
                          const json& last_applied) const;
  DiffResult DiffEndpoint(const json& desired, const json& live) const;
  // References of a bound spec to objects that are not specs (models converge does not manage).
  std::vector<ResourceKey> ExternalRefs(const std::string& kind, const std::string& name) const;
  // Existence of objects by name, from the lists of Observe and the look-ups of Get.
  void NoteExisting(const std::string& kind, const std::string& name, bool exists);
  // Why a spec's external reference points at nothing ("" when all exist).
  std::string DanglingReference(const std::string& kind, const std::string& name) const;
  // DeleteEndpoint, wait until the name is free, CreateEndpoint: the only way out of Failed.
  Status RecreateEndpoint(const std::string& name, const json& create_input);
  // AddTags / DeleteTags so that the synced tags (the user's and converge.io/prune; not the
  // ownership tags) of `arn` become `want_tags`.
  Status SyncTags(const std::string& arn, const json& live_tags, const json& want_tags);
  // The versions of an immutable kind other than `except` get the prune tag of `desired_tags`.
  Status SyncPruneTags(const json& versions, const std::string& except, const json& desired_tags);
  Result<Health> EndpointHealth(const ResourceKey& key, const json& desired);
  Status RestoreEndpoint(const ResourceKey& key, const json& definition);
  // A job's Describe / List summary as a run.
  RunRecord RunOf(const KindSpec& k, const json& o) const;
  Status ObserveVersions(const KindSpec& k, const std::string& only_name,
                         std::map<std::string, json>& out);
  // A listed object (name, ARN, CreationTime members of `k`) and its tags when the listing
  // carried them (Search records).
  struct Listed {
    json o;
    std::optional<std::map<std::string, std::string>> tags;
  };
  // The owned versions among `candidates`, grouped by spec name, newest first (ObserveVersions).
  Status CollectVersions(const KindSpec& k, const std::string& only_name,
                         const std::vector<Listed>& candidates, std::map<std::string, json>& out);
  // observe_search.cc: Observe's reads through Search (and ListEndpoints: the List path).
  Status SearchVersions(const KindSpec& k, std::map<std::string, json>& out);
  Status SearchEndpoints(std::vector<LiveObject>& out);
  Status ListEndpoints(std::vector<LiveObject>& out);
  // Whether a failed Search means "use the List calls" (unknown operation, access denied).
  bool SearchUnavailable(const Status& s);
  // Writes by this reconciler: the objects Search may not show yet (its index lags). Persisted.
  void NoteWrite(const std::string& key);  // "Kind/name"
  bool WrittenLately(const std::string& kind, const std::string& name);
  // The cache file (Options::cache_file): read once before the first observe, written after an
  // observe or a write changed it. Best effort: a missing or broken file is an empty cache.
  void LoadCache();
  void SaveCache();
  double WallSeconds() const;
  Result<std::optional<json>> DescribeEndpoint(const std::string& name);
  Status GarbageCollect(const KindSpec& k, const std::string& spec_name, const json& keep_name);
  Status DeleteVersions(const KindSpec& k, const json& versions);

  std::unique_ptr<Api> api_;
  std::string instance_;
  Options options_;
  // The bound specs, replaced as a whole by BindSpecs (the watch loop rebinds while other
  // threads plan): readers take the current snapshot.
  std::shared_ptr<const SpecMap> Specs() const;
  mutable std::mutex specs_mu_;
  mutable std::mutex known_mu_;
  std::map<std::string, std::set<std::string>> known_;  // kind -> names that exist (any owner)
  std::shared_ptr<const SpecMap> specs_ = std::make_shared<SpecMap>();
  std::mutex tag_mu_;  // guards the caches below
  // Tags of immutable objects by ARN, re-read after kTagCacheTtl: ownership tags never change,
  // but user tags may be edited outside converge (drift a long-running watch should see). An
  // object deleted and re-created under the same name (same ARN) has another CreationTime: its
  // entry no longer counts. Wall-clock seconds, so entries stay valid across processes.
  struct CachedTags {
    std::map<std::string, std::string> tags;
    double created = 0;
    double at = 0;
  };
  static constexpr double kTagCacheTtl = 300;
  // How long after a write of converge Search may not show it yet: such objects are read with
  // Describe / List instead (the Search index is updated asynchronously).
  static constexpr double kSearchLag = 120;
  std::map<std::string, CachedTags> tag_cache_;
  struct CachedModels {
    std::vector<std::string> models;
    double created = 0;
  };
  std::map<std::string, CachedModels> config_models_cache_;  // by config name
  std::map<std::string, double> written_;  // "Kind/name" -> wall time of the last write
  bool cache_loaded_ = false;
  bool cache_dirty_ = false;
  double saved_at_ = 0;
  std::atomic<bool> search_off_{false};  // Search failed as unavailable: List calls from now on
};

// Pure helpers, exposed for tests.
std::string Hash8(const json& request);
// "a-1a2b3c4d" -> "a" when the suffix is 8 hex digits (optionally followed by -r<N>), else "".
std::string SpecNameOfLive(const std::string& live_name);
// The request to send: `desired` without converge's private members.
json WireRequest(const json& desired);

}  // namespace converge::sagemaker
