// An in-memory emulator of the Marathon REST API v2 (apps, versions, tasks, deployments), faithful
// to the upstream spec in reconcilers/marathon/upstream/ (NOTES.md, raml/, jsonschema-1.7/). It
// is mounted under a path prefix on a cpp-httplib server and backs `converge sandbox` and the
// tests, so a client sees the same status codes, error bodies, defaults and server-populated
// fields (version, versionInfo, service ports, task counts, deployments) as with real Marathon.
//
// Model:
//   * Every create/update/scale/restart/delete/rollback starts a deployment that finishes after
//     transition_ms (measured with the injectable `now`). State advances lazily on each call, so
//     tests with a fake clock need no sleeps. While it runs, the app lists it in `deployments`,
//     other deployable calls on that app without ?force=true get 409 (app locked).
//   * The stored definition changes when the deployment starts (as in Marathon); task counts move
//     from their old value toward the target while the deployment runs.
//   * Apps whose container.docker.image is in the failing images set never become healthy:
//     their deployments never finish; with health checks tasksRunning = instances and
//     tasksUnhealthy = instances, without them tasks keep failing (tasksRunning 0,
//     lastTaskFailure set).
//   * A deleted app stays visible (with its StopApplication deployment) until that deployment
//     finishes, then it is removed.
//
// Deliberate deviations: service ports are assigned from 10000 upwards and keep counting past
// local_port_max (20000) instead of failing; pods and groups endpoints are not emulated.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reconcilers/common/emulator/emulator.h"
#include "specs/base/status.h"

namespace converge::marathon {

struct EmulatorOptions {
  // Monotonic time used for deployment progress. Default: std::chrono::steady_clock::now.
  std::function<std::chrono::steady_clock::time_point()> now;
  // Wall time used for versions and timestamps. Default: std::chrono::system_clock::now.
  std::function<std::chrono::system_clock::time_point()> wall_now;
  // How long a deployment runs; 0 finishes deployments on the next call.
  int transition_ms = 1000;
  // Optional HTTP Basic credentials "user:password" and/or DC/OS token (`Authorization:
  // token=<t>`). When either is set, every /v2 call needs one of them (401 otherwise).
  std::string basic_auth;
  std::string token;
  // Docker images whose tasks never become healthy.
  std::vector<std::string> failing_images;
};

class Emulator : public emulator::Emulator {
 public:
  explicit Emulator(EmulatorOptions options = {});
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Registers handlers for `prefix` + "/..." (e.g. "/marathon/v2/apps") for every method.
  // `prefix` may be empty (Marathon at the root).
  void Mount(httplib::Server& server, const std::string& prefix) override;

  // Serves one request; `path` is the request path with the mount prefix removed
  // (e.g. "/v2/apps/group/app"). Never throws.
  void Handle(const httplib::Request& req, httplib::Response& res, const std::string& path);

  // The shared knobs: deployment duration; images whose deployments never become healthy.
  void SetTransitionMs(int ms) override;
  int TransitionMs() const override;
  void SetFailingImages(std::vector<std::string> images) override;
  std::vector<std::string> FailingImages() const override;
  // deploy-ms, unhealthy-images: the admin routes' names before the knobs were shared.
  std::map<std::string, std::string> AdminAliases() const override;
  void Reset() override;  // wipes apps, deployments and port counters (keeps options)

  // Persistence: a JSON snapshot of apps (with version history) and running deployments
  // (with their remaining time). ImportState replaces the current state.
  nlohmann::json ExportState() const override;
  std::string SerializeState() const override;  // ExportState() as JSON text, cheaper
  Status ImportState(const nlohmann::json& state) override;

  // Called (outside the emulator lock) after every change of state, e.g. to persist it.
  void SetMutationObserver(std::function<void()> observer) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The sandbox's view (`converge sandbox --marathon-<flag>`): the flags besides the shared
// transition-ms and failing-image (basic-auth, token), and an emulator built from flag values.
std::vector<emulator::EmulatorFlag> EmulatorFlags();
Result<std::unique_ptr<emulator::Emulator>> MakeEmulator(const emulator::EmulatorFlagValues& flags);

}  // namespace converge::marathon
