// `converge sandbox`: a local HTTP server that serves emulated backends so converge, its tests and
// benchmarks run without a cluster or a cloud account. The server knows no backend: it mounts
// each emulator it is given (reconcilers/common/emulator/emulator.h) at /<name> and adds fault
// injection, request counters, the shared knobs and state persistence (the scaffold in
// reconcilers/common/emulator/). `converge sandbox` mounts:
//   /marathon/...   the Marathon REST API v2 emulator (reconcilers/marathon/emulator.h)
//   /sagemaker/     the SageMaker JSON 1.1 API emulator (reconcilers/sagemaker/emulator.h):
//                   boto3.client("sagemaker", endpoint_url=URL + "/sagemaker", ...). Requests must
//                   be SigV4-signed with the test credentials (default access key AKIDSANDBOX,
//                   secret sandbox-secret; flags --sagemaker-access-key/--sagemaker-secret-key;
//                   an empty access key turns the check off), any region.
//   /yarn/, /yarn-standby/   an active and a standby YARN ResourceManager (RM REST apps API and
//                   the Services API; reconcilers/yarn/emulator.h)
//   /iceberg/       an Iceberg REST catalog with real tables in a warehouse directory
//                   (reconcilers/iceberg/emulator.h; backend type iceberg-rest, mounted by its
//                   factory's sandbox_mount); admin: /_admin/iceberg/{append,rewrite,remove-orphans}
//
// Admin endpoints (for tests; never subject to faults, never counted in /_admin/requests)
//   POST   /_admin/faults    add a fault rule, body:
//            {"backend": "marathon" | "*",        a mounted name; default "*"
//             "method": "PUT" | "*",              default "*"
//             "path_regex": "^/v2/apps",          searched in the path below the backend mount
//                                                 (e.g. "/v2/apps/x"); default: every path
//             "target": "SageMaker.CreateEndpoint",  what the backend's FaultTarget says
//                                                 (SageMaker: exact X-Amz-Target, every
//                                                 operation being POST /); default: any
//             "status": 503,                      answer with this status (0/absent: no answer,
//                                                 only latency is added)
//             "count": N,                         fire N times (absent: unlimited)
//             "rate": 0.0-1.0,                    fire with this probability (seeded RNG)
//             "latency_ms": M,                    delay before answering / forwarding
//             "retry_after": "2",                 Retry-After header on the answer
//             "body": "...",                      answer body (default: the backend's usual
//                                                 error body, Marathon {"message": ...})
//             "reset_connection": true,           drop the connection without an answer; the
//                                                 request is not carried out
//             "after": true}                      carry the request out (state changes), then
//                                                 drop the connection without the reply: a write
//                                                 whose outcome the client cannot know
//          Rules are tried in order before routing; the first that fires applies.
//          -> 201 {"id": N, ...rule}
//   GET    /_admin/faults    -> {"faults": [{...rule, "id", "fired", "remaining"}]}
//   DELETE /_admin/faults    -> {"cleared": N}; also reseeds the RNG
//   POST   /_admin/<backend>/failing-images  {"images": ["repo/app:bad"]} (replaces the set):
//            Marathon deployments of them never become healthy; SageMaker endpoints deploying
//            them go Failed (updates roll back), jobs running them fail
//   GET    /_admin/<backend>/failing-images
//   POST   /_admin/<backend>/transition-ms  {"ms": N} (0..86400000): how long a transition takes
//            (a Marathon deployment; SageMaker Creating, Updating, RollingBack, Deleting, job
//            runs, Stopping); GET answers the current value
//   Older names kept working: /_admin/marathon/unhealthy-images (failing-images),
//            /_admin/marathon/deploy-ms and /_admin/sagemaker/delay-ms (transition-ms).
//   GET    /_admin/sagemaker/requests  -> {"requests": [{"operation", "body", "status"}, ...]}:
//            the last 10000 SageMaker operations with their JSON bodies (for checking them
//            against botocore's model); DELETE clears them
//   A SageMaker throttling storm: POST /_admin/faults {"backend": "sagemaker", "status": 400,
//            "body": "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}",
//            "rate": 0.3}; SageMaker fault answers are application/x-amz-json-1.1 with an
//            x-amzn-RequestId; without "body" they are ThrottlingException (status < 500) or
//            InternalFailure.
//   GET    /_admin/yarn/requests  -> {"requests": [{"method", "path", "query", "body", "status"}]}:
//            the last 2000 writes the active RM answered, with their bodies (for checking them
//            against the Services API Swagger); DELETE clears them. /_admin/yarn/ha and
//            /_admin/yarn/options: see reconcilers/yarn/emulator.h
//   GET    /_admin/requests  -> {"total": N, "by_method": {"GET": N, ...}, "writes": N,
//                                "log": [{"method", "path", "status"}, ... last 1000]}
//                               (status 0 = connection dropped by a fault)
//   DELETE /_admin/requests  resets the counters and the log
//   POST   /_admin/reset     wipes all emulator state (apps, deployments, SageMaker resources
//                            and request log); faults and settings stay
//
// State file: {"format": "converge-sandbox/1", "<backend>": <that emulator's state>, ...},
// written atomically after mutations; members of backends not mounted are kept as they are.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "reconcilers/common/emulator/emulator.h"
#include "specs/base/status.h"

namespace converge::sandbox {

// One emulator served at /<name>.
struct MountedEmulator {
  std::string name;  // "marathon"
  std::unique_ptr<emulator::Emulator> emulator;
};

struct Options {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 = pick a free port
  std::string state_file;  // empty = in memory; else load at start, save atomically (write tmp +
                           // fsync + rename) after every mutation
  std::vector<MountedEmulator> emulators;
};

// The server behind Run(), usable in-process (tests).
class Server {
 public:
  explicit Server(Options options);
  ~Server();  // Stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the state file (if any), binds the listen address and serves on background threads.
  Status Start();
  // Stops serving and writes the state file. Idempotent.
  void Stop();

  int port() const;
  std::string url() const;  // e.g. http://127.0.0.1:41234

  // The emulator mounted as `name`; nullptr when there is none.
  emulator::Emulator* Find(const std::string& name);
  // The same, as the type the caller knows it has (tests: Get<marathon::Emulator>("marathon")).
  template <typename T>
  T& Get(const std::string& name) {
    return *static_cast<T*>(Find(name));
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Starts serving, prints exactly one line "converge sandbox listening on http://127.0.0.1:PORT"
// to stdout (flushed), then blocks until SIGINT/SIGTERM, then saves state and returns 0. Errors
// (bad listen address, port in use, unreadable state file) -> message on stderr, return 1.
int Run(Options options);

}  // namespace converge::sandbox
