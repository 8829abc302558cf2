// An in-memory emulator of the Amazon SageMaker control-plane API (JSON 1.1 protocol, botocore
// model 1.29.27 as embedded in reconcilers/sagemaker/model/), faithful to what the real service
// answers (../shared/upstream/sagemaker/NOTES.md). It is mounted under a path prefix of a
// cpp-httplib server and backs `converge sandbox` (/sagemaker) and the tests, so converge's own
// client and Debian's python3-boto3 see the same status codes, error codes, messages and
// status transitions as with SageMaker.
//
// Wire: every operation is `POST /` (below the mount prefix) with `X-Amz-Target:
// SageMaker.<Operation>` and `Content-Type: application/x-amz-json-1.1`. Answers carry
// `x-amzn-RequestId`; errors are `{"__type": "<Code>", "message": "..."}` (modeled exceptions
// ResourceInUse / ResourceNotFound use "Message", the member their shape declares).
//
// Operations: Create/Describe/Delete/List of Model and EndpointConfig; Create/Describe/Update/
// UpdateEndpointWeightsAndCapacities/Delete/List of Endpoint; Create/Describe/Stop/List of
// TrainingJob, ProcessingJob, TransformJob, HyperParameterTuningJob; AddTags/ListTags/DeleteTags;
// Search for Resource Endpoint and Model (emulator_search.cc: records with their Tags, paged).
// Any other target -> 400 UnknownOperationException.
//
// Behaviour (state advances lazily on each call; no background threads):
//   * Endpoint: Creating -> InService after transition_ms, or Failed + FailureReason when a
//   variant's
//     model uses an image of the failing set (decided when the transition starts).
//     UpdateEndpoint: Updating -> InService on the new config; a failing update goes Updating ->
//     RollingBack -> InService on the OLD config with FailureReason set (as SageMaker rolls back).
//     UpdateEndpointWeightsAndCapacities: Desired* at once, Current* after the delay (Updating).
//     DeleteEndpoint: Deleting -> gone. Update*/Delete while Creating/Updating/RollingBack ->
//     ValidationException "Cannot update in-progress endpoint ..."; Update* on a Failed endpoint
//     -> ValidationException (DeleteEndpoint is the only operation a failed endpoint allows).
//   * Unknown / existing names of hosting resources -> 400 ValidationException "Could not find
//     endpoint \"arn\"." / "Cannot create already existing endpoint \"arn\"." (and model,
//     endpoint configuration), as the real service (the EndpointDeleted waiter relies on it).
//   * Models and endpoint configs are immutable. Deleting one that an endpoint uses is allowed,
//     as SageMaker allows it: the endpoint keeps running on what it deployed.
//   * Jobs: InProgress -> Completed after transition_ms (Failed + FailureReason for a failing
//   image:
//     training AlgorithmSpecification.TrainingImage, processing AppSpecification.ImageUri,
//     transform: its model's images, tuning: the training definitions' TrainingImage). Stop:
//     Stopping -> Stopped after transition_ms. An existing job name -> ResourceInUse. An unknown
//     job name -> 400 ValidationException "Requested resource not found." — what the real service
//     answers although the model declares ResourceNotFound (aws/aws-sdk#165, boto/boto3#2808).
//   * Input is validated against the operation's input shape (ValidateShape with the service's
//     constraints): a constraint violation (required, length, range, enum, pattern) -> 400
//     ValidationException "N validation error(s) detected: Value 'x' at 'endpointName' failed to
//     satisfy constraint: Member must ..."; a wrong JSON type, an unknown member, malformed or
//     oversized JSON -> 400 SerializationException. (The real service may ignore unknown
//     members; rejecting them catches client bugs.)
//   * Lists: MaxResults 1-100 (default 10; ListTags 50), opaque NextToken, SortBy (default
//     CreationTime) / SortOrder (default Descending), NameContains (case-insensitive),
//     StatusEquals, Creation/LastModifiedTime Before/After where the operation has them.
//   * ARNs: arn:aws:sagemaker:<region>:<account>:<type>/<name>; endpoint names are
//     case-insensitive and lower-cased in their ARN, as the real service does.
//   * Auth: when `access_key` is set, every request needs a valid SigV4 signature for it (service
//     sagemaker): no Authorization -> 403 MissingAuthenticationTokenException; malformed ->
//     400 IncompleteSignatureException; another access key -> 400 UnrecognizedClientException
//     ("The security token included in the request is invalid."); wrong signature, wrong scope
//     or X-Amz-Date more than 15 minutes from wall_now -> 403 InvalidSignatureException. The
//     request is re-signed from what was received (method, Host, path as sent incl. the mount
//     prefix, signed header values, exact body bytes). When `access_key` is empty nothing is
//     checked (plain curl works).
//   * Region: `region` when set (requests scoped to another region are rejected); else the
//     region of each request's credential scope, else us-east-1.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reconcilers/common/emulator/emulator.h"
#include "specs/base/status.h"

namespace converge::sagemaker {

struct EmulatorOptions {
  // Monotonic time for transitions. Default: std::chrono::steady_clock::now.
  std::function<std::chrono::steady_clock::time_point()> now;
  // Wall time for CreationTime & co. and the X-Amz-Date check. Default: system_clock::now.
  std::function<std::chrono::system_clock::time_point()> wall_now;
  // How long Creating/Updating/RollingBack/Deleting and job runs take; 0 = the next call.
  int transition_ms = 2000;
  // Container images whose endpoints fail their health check and whose jobs fail.
  std::vector<std::string> failing_images;
  // SigV4 credentials requests must be signed with; empty access_key = no auth checks.
  std::string access_key;
  std::string secret_key;
  std::string region;  // empty = the request's credential scope region (default us-east-1)
  std::string account_id = "123456789012";
  // How many requests (operation + body) GET Requests() keeps.
  size_t request_log_size = 10000;
};

class Emulator : public emulator::Emulator {
 public:
  explicit Emulator(EmulatorOptions options = {});
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Registers handlers for `prefix` and `prefix` + "/..." for every method (only POST `prefix/`
  // is an operation; anything else answers UnknownOperationException).
  void Mount(httplib::Server& server, const std::string& prefix) override;

  // Serves one request; `path` is the request path below the mount prefix ("/"). Never throws.
  void Handle(const httplib::Request& req, httplib::Response& res, const std::string& path);

  // The shared knobs: how long transitions take; images whose endpoints and jobs fail.
  void SetTransitionMs(int ms) override;
  int TransitionMs() const override;
  void SetFailingImages(std::vector<std::string> images) override;
  std::vector<std::string> FailingImages() const override;
  // delay-ms: the admin route's name before the knobs were shared.
  std::map<std::string, std::string> AdminAliases() const override;
  // Faults are selected by X-Amz-Target (every operation is POST /) and answered as the service
  // answers errors: application/x-amz-json-1.1 {"__type", "message"} with an x-amzn-RequestId
  // (without a body: ThrottlingException below 500, else InternalFailure).
  std::string FaultTarget(const httplib::Request& req) const override;
  void AnswerFault(int status, const std::string& body, httplib::Response& res) const override;
  // GET/DELETE `admin_prefix`/requests: Requests() / ClearRequests().
  void MountAdmin(httplib::Server& server, const std::string& admin_prefix) override;
  // The last request_log_size operations that reached the emulator with a JSON body (after the
  // signature check, before input validation), oldest first:
  // [{"operation": "CreateModel", "body": {...}, "status": 200}, ...]. A body over 256 KiB is
  // not kept: "body": null, "truncated": true, "bodyBytes": N.
  nlohmann::json Requests() const;
  void ClearRequests();
  void Reset() override;  // wipes every resource and the request log (keeps options)

  // Persistence: every resource with tags, in-progress transitions with their remaining time.
  // ImportState replaces the current state.
  nlohmann::json ExportState() const override;
  Status ImportState(const nlohmann::json& state) override;

  // Called (outside the emulator lock) after every change of state, e.g. to persist it.
  void SetMutationObserver(std::function<void()> observer) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The sandbox's view (`converge sandbox --sagemaker-<flag>`): the flags besides the shared
// transition-ms and failing-image (access-key, secret-key, region), and an emulator built from
// flag values.
std::vector<emulator::EmulatorFlag> EmulatorFlags();
Result<std::unique_ptr<emulator::Emulator>> MakeEmulator(const emulator::EmulatorFlagValues& flags);

}  // namespace converge::sagemaker
