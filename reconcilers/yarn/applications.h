// YarnApplication: a one-shot application through the RM apps API, on the run lifecycle
// (controller/run_lifecycle.h). `spec` is the native application submission context without
// `application-id` (the RM assigns one per run).
//
//   run name   <metadata.name>-<hash8 of the spec> (reruns -r<N>), sent as `application-name`;
//              the application tags carry it too, lowercased as YARN stores every tag:
//              converge.io/run=<run name>, converge.io/run-of=<revision's run name>,
//              converge.io/managed-by=<instance>. A re-apply finds the earlier submission by
//              its tag instead of submitting again; a changed spec has a new hash.
//   start      POST /ws/v1/cluster/apps/new-application, check the AM `resource` against its
//              maximum-resource-capability (an error, never a silent clamp), then POST
//              /ws/v1/cluster/apps (202).
//   runs       GET /ws/v1/cluster/apps?applicationTags=... ({"apps": null} when none);
//              state NEW … ACCEPTED → pending, RUNNING → running, FINISHED + SUCCEEDED →
//              succeeded, anything else terminal → failed with the RM's diagnostics.
//   prune      a removed spec's application still going is killed (PUT …/state KILLED);
//              finished ones are history.
#pragma once

#include <string>

#include "reconcilers/reconciler.h"
#include "reconcilers/yarn/client.h"
#include "specs/loader.h"

namespace converge::yarn {

inline constexpr const char* kApplicationKind = "YarnApplication";
inline constexpr const char* kApplicationNameMember = "application-name";

// The loader's checks of a YarnApplication spec (file:line:column).
KindInfo ApplicationKind();

// The JSON Schema (draft-07) of the checks above, for `converge schema` (schema_export.cc).
json ApplicationSpecSchema();

// The submission context converge submits for a YarnApplication spec (tags and name set).
json ApplicationDesired(const Document& doc, const std::string& instance);

class ApplicationRuns : public RunDriver {
 public:
  ApplicationRuns(Client& client, std::string instance)
      : client_(client), instance_(std::move(instance)) {}
  Result<std::vector<RunRecord>> ListRuns(const std::string& kind,
                                          const std::string& base) override;
  Result<RunRecord> ReadRun(const std::string& kind, const std::string& name) override;
  Status StartRun(const std::string& kind, const json& desired) override;
  // Applications of this instance not finished yet (states NEW … RUNNING), for prune.
  Result<std::vector<RunRecord>> ListActiveRuns(const std::string& kind) override;
  // PUT /ws/v1/cluster/apps/<id>/state {"state": "KILLED"} (202 while killing, 200 once killed).
  Status StopRun(const std::string& kind, const RunRecord& run) override;

 private:
  Result<std::vector<RunRecord>> ListTagged(const std::string& tag, const std::string& query = "");
  Client& client_;
  std::string instance_;
};

}  // namespace converge::yarn
