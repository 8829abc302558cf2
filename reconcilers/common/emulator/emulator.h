// The emulator scaffold's contract: what one backend's emulation offers `converge sandbox`.
// The sandbox (controller/sandbox) owns the HTTP server, fault rules, the request log and
// counters, and state persistence; an emulator only speaks its backend's API under a path
// prefix. Every emulator has the same two knobs, named the same everywhere:
//   transition_ms   — how long an asynchronous transition takes (a Marathon deployment, a
//                     SageMaker Creating/Updating, a YARN service reaching STABLE, ...)
//   failing_images  — container images whose deployments / runs never become healthy or fail
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "specs/base/status.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace converge::emulator {

class Emulator {
 public:
  virtual ~Emulator() = default;

  // Registers handlers for `prefix` and `prefix` + "/..." for every method.
  virtual void Mount(httplib::Server& server, const std::string& prefix) = 0;

  // The shared knobs (see above).
  virtual void SetTransitionMs(int ms) = 0;
  virtual int TransitionMs() const = 0;
  virtual void SetFailingImages(std::vector<std::string> images) = 0;
  virtual std::vector<std::string> FailingImages() const = 0;

  // Wipes every object (keeps options and knobs).
  virtual void Reset() = 0;
  // Persistence: the whole state as JSON; ImportState replaces the current state.
  virtual nlohmann::json ExportState() const = 0;
  virtual Status ImportState(const nlohmann::json& state) = 0;
  // ExportState() as JSON text; an emulator with a large state may assemble it more cheaply
  // (Marathon keeps each app's serialization).
  virtual std::string SerializeState() const { return ExportState().dump(); }
  // Called (outside the emulator's lock) after every change of state, e.g. to persist it.
  virtual void SetMutationObserver(std::function<void()> observer) = 0;

  // How this API answers an injected fault of `status` with `body` ("" = the API's usual error
  // body for that status): SageMaker answers application/x-amz-json-1.1 with an __type and an
  // x-amzn-RequestId, Marathon a JSON {"message"}.
  virtual void AnswerFault(int status, const std::string& body, httplib::Response& res) const;

  // What a fault rule's "target" member matches for a request ("" when the API has no such
  // notion): SageMaker's X-Amz-Target, since every operation is POST /.
  virtual std::string FaultTarget(const httplib::Request& req) const { return ""; }

  // Backend-specific admin routes, mounted under /_admin/<backend>/ (e.g. SageMaker's request
  // body log). `admin_prefix` is "/_admin/<backend>".
  virtual void MountAdmin(httplib::Server& server, const std::string& admin_prefix) {}

  // Older names of the shared admin routes, kept working: alias -> "transition-ms" or
  // "failing-images" (e.g. Marathon's "deploy-ms"), served as /_admin/<backend>/<alias>.
  virtual std::map<std::string, std::string> AdminAliases() const { return {}; }

  // Commands that a job of another emulator runs (a YARN application's AM command line, a local
  // command): the sandbox offers the command to every emulator in turn. An emulator that
  // recognises it carries it out on its own state and answers Ok or the error the job fails
  // with; nullopt = not its command. Iceberg answers Spark's `CALL ... rewrite_data_files(...)`,
  // so that a compaction submitted to the sandbox's YARN rewrites a sandbox table.
  virtual std::optional<Status> RunCommand(const std::string& command) { return std::nullopt; }
  // How an emulator whose jobs run commands reaches the others (set by the sandbox before
  // serving): the first emulator's answer to RunCommand, or nullopt when none recognises it.
  using CommandRunner = std::function<std::optional<Status>(const std::string& command)>;
  virtual void SetCommandRunner(CommandRunner runner) {}
};

// The answer Emulator::AnswerFault gives by default: `body` (default {"message": "converge
// sandbox: injected fault"}) as application/json when it parses, else text/plain.
void DefaultFaultAnswer(int status, const std::string& body, httplib::Response& res);

// A flag of an emulator, given as `converge sandbox --<backend>-<name> VALUE`.
struct EmulatorFlag {
  std::string name;           // "transition-ms"
  std::string help;           // shown by `converge sandbox --help`
  std::string default_value;  // shown in --help; "" = none
  bool repeated = false;      // may be given several times (a list)
};

// Flag values by flag name; a flag not given is absent.
using EmulatorFlagValues = std::map<std::string, std::vector<std::string>>;

}  // namespace converge::emulator
