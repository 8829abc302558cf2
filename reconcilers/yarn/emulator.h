// An in-memory emulator of a YARN ResourceManager pair for `converge sandbox` and the tests: the
// RM REST apps API (/ws/v1/cluster/...) and the YARN Services API (/app/v1/services...), with the
// status codes and bodies the real servers return (reconcilers/yarn/upstream, NOTES.md §1, §2,
// §5 — where the server and its Swagger disagree, the server wins).
//
// Model:
//   * Mount(prefix) serves the ACTIVE RM at `prefix` and a STANDBY RM at `prefix`-standby. The
//     standby answers 307 to the active one (Location built from the request's Host header),
//     except /ws/v1/cluster/info (haState STANDBY), /isActive (405), /conf and /logs. Admin
//     routes swap the roles or leave no RM active (307 + Refresh on both).
//   * Every state is computed from timestamps (the injectable `now`), never from sleeps:
//     an application goes NEW → SUBMITTED → ACCEPTED → RUNNING one transition_ms per step, runs
//     app_run_ms, then FINISHED/SUCCEEDED; its AM command naming a failing image → FAILED.
//     Services are ACCEPTED for one step, then one container per step appears
//     RUNNING_BUT_UNREADY and becomes READY one step later; a component whose launch_command or
//     artifact id names a failing image never becomes READY (the service stays STARTED).
//   * A plain application's AM command is offered to the sandbox's other emulators when the
//     application would succeed (Emulator::RunCommand; once): a compaction submitted here
//     rewrites a sandbox Iceberg table; an error fails the application with its diagnostic.
//   * Each service is also an RM application (applicationType yarn-service, lowercased tags
//     `name: <n>`, `version: <v>`, `description: <d>`); a stop finishes it, a start submits a
//     new one.
//   * Auth is Hadoop's "simple": ?user.name=USER names the caller. Writes without one answer
//     401 (RM) / 403 (Services API) unless a static user is configured (as a cluster without an
//     authentication filter uses hadoop.http.staticuser.user).
//
// Deliberate deviations: XML is not served; no queue capacity or scheduling (apps never wait
// for resources); SPNEGO is not emulated; the RM keeps every application until Reset.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reconcilers/common/emulator/emulator.h"
#include "specs/base/status.h"

namespace converge::yarn {

struct EmulatorOptions {
  // Wall time in epoch milliseconds; drives every transition. Default: the system clock.
  std::function<int64_t()> now_ms;
  // One step of every asynchronous transition.
  int transition_ms = 500;
  // How long an RM application runs before it FINISHES (after reaching RUNNING).
  int app_run_ms = -1;  // < 0: four transition_ms steps
  // Images (or any substring of an AM command / launch command / artifact id) that fail.
  std::vector<std::string> failing_images;
  // The RM's maximum-resource-capability.
  int max_memory_mb = 8192;
  int max_vcores = 32;
  // Queues that exist; an application submitted to another one FAILS.
  std::vector<std::string> queues = {"default"};
  // The user of requests without ?user.name= ("" = such writes are refused).
  std::string static_user;
  // The Services API answers 503 to every call (yarn.webapp.api-service.enable=false).
  bool services_api_disabled = false;
  // Upgrade requests are refused (yarn.service.upgrade.enabled=false).
  bool upgrade_disabled = false;
};

class Emulator : public emulator::Emulator {
 public:
  explicit Emulator(EmulatorOptions options = {});
  ~Emulator() override;
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // The active RM at `prefix`, the standby at `prefix` + "-standby".
  void Mount(httplib::Server& server, const std::string& prefix) override;
  // Serves one request to the RM at `prefix` (`path` = the request path without it).
  void Handle(const httplib::Request& req, httplib::Response& res, const std::string& prefix,
              const std::string& path);

  void SetTransitionMs(int ms) override;
  int TransitionMs() const override;
  void SetFailingImages(std::vector<std::string> images) override;
  std::vector<std::string> FailingImages() const override;
  void Reset() override;  // wipes applications and services (keeps options and HA roles)

  nlohmann::json ExportState() const override;
  Status ImportState(const nlohmann::json& state) override;
  void SetMutationObserver(std::function<void()> observer) override;

  // A fault rule's "target": "services" for /app/v1 paths, "rm" for the others.
  std::string FaultTarget(const httplib::Request& req) const override;
  // RM paths answer {"RemoteException":{...}}, Services API paths a ServiceStatus.
  void AnswerFault(int status, const std::string& body, httplib::Response& res) const override;

  // /_admin/yarn/ha: GET {"active":"primary"|"standby"|"none"}; POST {"active": ...} switches.
  // /_admin/yarn/options: GET/POST {"app_run_ms","services_api_disabled","upgrade_disabled"}.
  // /_admin/yarn/requests: GET {"requests": [{"method","path","query","body","status"}]}, the
  // last 2000 writes (POST/PUT/DELETE) the active RM answered, bodies parsed when JSON (for
  // checking converge's requests against the Swagger); DELETE clears them.
  void MountAdmin(httplib::Server& server, const std::string& admin_prefix) override;
  // An application's AM command runs through `runner` when the application would succeed.
  void SetCommandRunner(CommandRunner runner) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `converge sandbox --yarn-<flag>`: the flags besides transition-ms and failing-image, and an
// emulator built from flag values.
std::vector<emulator::EmulatorFlag> EmulatorFlags();
Result<std::unique_ptr<emulator::Emulator>> MakeEmulator(const emulator::EmulatorFlagValues& flags);

}  // namespace converge::yarn
