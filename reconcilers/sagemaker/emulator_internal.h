// Internal to the SageMaker emulator (reconcilers/sagemaker/emulator*.cc): the constants, types
// and helpers its files share, and the Impl they implement together. Not an API.
#pragma once

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string_view>
#include <utility>

#include "reconcilers/common/aws_sigv4.h"
#include "reconcilers/common/base64.h"
#include "reconcilers/common/emulator/mount.h"
#include "reconcilers/sagemaker/emulator.h"
#include "reconcilers/sagemaker/model.h"
#include "specs/base/ascii.h"

namespace converge::sagemaker {
namespace emulator_detail {

using json = nlohmann::json;

using SteadyTime = std::chrono::steady_clock::time_point;

using WallTime = std::chrono::system_clock::time_point;

using std::chrono::milliseconds;

// A request body larger than this is refused before parsing (the largest legitimate SageMaker
// request is far below; the real service caps payloads too).
constexpr size_t kMaxBodyBytes = 2 << 20;

// Deeper JSON is refused before parsing, so hostile nesting cannot exhaust the stack.
constexpr int kMaxJsonDepth = 64;

// Request bodies larger than this are logged without their body.
constexpr size_t kMaxLoggedBody = 256 << 10;

constexpr int kDefaultMaxResults = 10;

constexpr int kDefaultListTagsMaxResults = 50;

constexpr auto kMaxClockSkew = std::chrono::minutes(15);

constexpr char kContentType[] = "application/x-amz-json-1.1";

constexpr char kTargetPrefix[] = "SageMaker.";

constexpr char kSignatureMismatch[] =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

struct Reply {
  int status = 200;
  json body = json::object();
};

Reply Ok(json body = json::object());

Reply Error(int status, const std::string& code, const std::string& message);

// Modeled exceptions (ResourceInUse, ResourceNotFound) declare a `Message` member.
Reply Modeled(const std::string& code, const std::string& message);

Reply Validation(const std::string& message);

Reply Serialization(const std::string& message);


double WallSeconds(WallTime t);

std::string Quoted(const std::string& arn);

std::string Sha256Hex(const std::string& data);

// "repo/app:tag" -> "repo/app@sha256:<digest>": what the service shows as ResolvedImage.
std::string ResolvedImage(const std::string& image);

// Opaque paging tokens: the offset into the sorted, filtered list.
std::string PageToken(size_t offset);

std::optional<size_t> PageOffset(const std::string& token);

// Timestamps in requests: epoch seconds (what botocore sends) or ISO 8601 UTC.
std::optional<double> ParseTimestamp(const json& v);

// "20240102T030405Z" -> time point.
std::optional<WallTime> ParseAmzDate(const std::string& s);

// Nesting depth of JSON text, counted outside strings; stops early past `limit`.
int JsonDepth(std::string_view text, int limit);

const json& Shapes();

// The members of `obj` that `shape` declares (an output shape keeps what Describe returns).
json FilterToShape(const json& obj, const std::string& shape);

// "/ProductionVariants/0/InitialInstanceCount" ->
// "productionVariants.1.member.initialInstanceCount"
std::string AwsMemberPath(const json& body, const std::string& pointer);

std::string AwsValue(const json& body, const std::string& pointer);

// Text between `open` and the next `close` of `s`, or "".
std::string Between(const std::string& s, const std::string& open, const std::string& close);

std::string NumberText(const json& v);

// One ValidateShape diagnostic as the service words a constraint violation
// ("Value 'x' at 'endpointName' failed to satisfy constraint: Member must ...").
std::string AwsConstraint(const json& body, const PathDiagnostic& d);

bool IsSerializationProblem(const std::string& message);

// Models and endpoint configs: immutable once created.
struct Static {
  std::string name;
  std::string arn;
  json body;  // the Create request without Tags
  double created = 0;
  json tags = json::array();
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Static, name, arn, body, created, tags)

struct Variant {
  std::string name;
  double desired_weight = 1.0;
  double current_weight = 1.0;
  int desired_count = 1;
  int current_count = 1;
  json serverless;  // null or the ServerlessConfig (desired; current once deployed)
  json current_serverless;
  bool deployed = false;  // Current* and DeployedImages are known
  std::vector<std::string> images;
  double resolved_at = 0;
  std::string instance_type;
  std::string status;  // VariantStatus while a transition runs: Creating, Updating, Deleting
  double status_since = 0;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Variant, name, desired_weight, current_weight,
                                                desired_count, current_count, serverless,
                                                current_serverless, deployed, images, resolved_at,
                                                instance_type, status, status_since)

enum class Phase { kNone = 0, kCreating, kUpdating, kRollingBack, kScaling, kDeleting };

struct Endpoint {
  std::string name;  // as created; the map key is lower-case
  std::string arn;
  std::string config_name;
  std::string status;
  double created = 0;
  double modified = 0;
  std::vector<Variant> variants;
  std::string failure_reason;
  json last_deployment_config;  // null = none
  json tags = json::array();
  // The transition in progress.
  Phase phase = Phase::kNone;
  SteadyTime due{};
  double due_wall = 0;
  std::string pending_config;
  std::vector<Variant> pending;
  std::string pending_failure;  // non-empty: the transition fails with this reason
  double pending_start = 0;
};

enum class JobKind { kTraining = 0, kProcessing, kTransform, kTuning };

constexpr int kJobKinds = 4;

struct JobInfo {
  const char* noun;  // operation suffix
  const char* label;
  const char* arn_type;
  const char* name_member;
  const char* arn_member;
  const char* status_member;
  const char* summaries_member;
  const char* summary_shape;
  const char* start_member;  // "" = none
  const char* end_member;
};

constexpr JobInfo kJobInfo[kJobKinds] = {
    {"TrainingJob", "training job", "training-job", "TrainingJobName", "TrainingJobArn",
     "TrainingJobStatus", "TrainingJobSummaries", "TrainingJobSummary", "TrainingStartTime",
     "TrainingEndTime"},
    {"ProcessingJob", "processing job", "processing-job", "ProcessingJobName", "ProcessingJobArn",
     "ProcessingJobStatus", "ProcessingJobSummaries", "ProcessingJobSummary", "ProcessingStartTime",
     "ProcessingEndTime"},
    {"TransformJob", "transform job", "transform-job", "TransformJobName", "TransformJobArn",
     "TransformJobStatus", "TransformJobSummaries", "TransformJobSummary", "TransformStartTime",
     "TransformEndTime"},
    {"HyperParameterTuningJob", "hyperparameter tuning job", "hyper-parameter-tuning-job",
     "HyperParameterTuningJobName", "HyperParameterTuningJobArn", "HyperParameterTuningJobStatus",
     "HyperParameterTuningJobSummaries", "HyperParameterTuningJobSummary", "",
     "HyperParameterTuningEndTime"},
};

struct Job {
  int kind = 0;
  std::string name;
  std::string arn;
  json body;  // the Create request without Tags
  json tags = json::array();
  std::string status = "InProgress";
  std::string secondary = "Starting";  // training only
  json transitions = json::array();    // training only
  double created = 0;
  double modified = 0;
  double start = 0;
  double end = 0;
  bool active = false;  // a transition (run or stop) is due
  SteadyTime due{};
  double due_wall = 0;
  std::string planned_failure;  // non-empty: the run fails with this reason
  std::string failure_reason;
  int total_jobs = 1;  // tuning: training jobs the tuning job runs
};

const JobInfo& Info(const Job& j);

std::string Capitalized(std::string s);

struct ListItem {
  std::string name;
  double created = 0;
  double modified = 0;
  std::string status;
  json summary;
};

// Per-request context.
struct Ctx {
  std::string region;
  SteadyTime now;
  double wall = 0;
  bool mutated = false;
};

}  // namespace emulator_detail

// The files of this one library share these names.
using namespace emulator_detail;  // NOLINT(build/namespaces)

struct Emulator::Impl {
  EmulatorOptions options;
  mutable std::mutex mu;
  int transition_ms = 0;
  std::set<std::string> failing_images;
  std::map<std::string, Static> models;
  std::map<std::string, Static> configs;
  std::map<std::string, Endpoint> endpoints;  // key: lower-case name
  std::array<std::map<std::string, Job>, kJobKinds> jobs;
  std::deque<json> requests;
  std::mt19937_64 rng{std::random_device{}()};
  std::function<void()> observer;
  using Handler = Reply (Impl::*)(const json&, Ctx&);
  std::map<std::string, Handler> handlers;

  explicit Impl(EmulatorOptions o) : options(std::move(o)) {
    if (!options.now) options.now = [] { return std::chrono::steady_clock::now(); };
    if (!options.wall_now) options.wall_now = [] { return std::chrono::system_clock::now(); };
    transition_ms = std::max(0, options.transition_ms);
    failing_images.insert(options.failing_images.begin(), options.failing_images.end());
    handlers = {
        {"CreateModel", &Impl::CreateModel},
        {"DescribeModel", &Impl::DescribeModel},
        {"DeleteModel", &Impl::DeleteModel},
        {"ListModels", &Impl::ListModels},
        {"CreateEndpointConfig", &Impl::CreateEndpointConfig},
        {"DescribeEndpointConfig", &Impl::DescribeEndpointConfig},
        {"DeleteEndpointConfig", &Impl::DeleteEndpointConfig},
        {"ListEndpointConfigs", &Impl::ListEndpointConfigs},
        {"CreateEndpoint", &Impl::CreateEndpoint},
        {"DescribeEndpoint", &Impl::DescribeEndpoint},
        {"UpdateEndpoint", &Impl::UpdateEndpoint},
        {"UpdateEndpointWeightsAndCapacities", &Impl::UpdateWeights},
        {"DeleteEndpoint", &Impl::DeleteEndpoint},
        {"ListEndpoints", &Impl::ListEndpoints},
        {"CreateTrainingJob", &Impl::CreateTrainingJob},
        {"DescribeTrainingJob", &Impl::DescribeTrainingJob},
        {"StopTrainingJob", &Impl::StopTrainingJob},
        {"ListTrainingJobs", &Impl::ListTrainingJobs},
        {"CreateProcessingJob", &Impl::CreateProcessingJob},
        {"DescribeProcessingJob", &Impl::DescribeProcessingJob},
        {"StopProcessingJob", &Impl::StopProcessingJob},
        {"ListProcessingJobs", &Impl::ListProcessingJobs},
        {"CreateTransformJob", &Impl::CreateTransformJob},
        {"DescribeTransformJob", &Impl::DescribeTransformJob},
        {"StopTransformJob", &Impl::StopTransformJob},
        {"ListTransformJobs", &Impl::ListTransformJobs},
        {"CreateHyperParameterTuningJob", &Impl::CreateTuningJob},
        {"DescribeHyperParameterTuningJob", &Impl::DescribeTuningJob},
        {"StopHyperParameterTuningJob", &Impl::StopTuningJob},
        {"ListHyperParameterTuningJobs", &Impl::ListTuningJobs},
        {"AddTags", &Impl::AddTags},
        {"ListTags", &Impl::ListTags},
        {"DeleteTags", &Impl::DeleteTags},
        {"Search", &Impl::Search},
    };
  }

  // serving (emulator_serving.cc)
  std::string NewRequestId();
  std::string Arn(const Ctx& c, const std::string& type, const std::string& name) const;
  SteadyTime Due(const Ctx& c) const;
  double DueWall(const Ctx& c) const;
  Reply Serve(const httplib::Request& req, const std::string& path, bool* mutated);

  // Verifies the SigV4 signature by re-signing what was received. Sets the request's region.
  std::optional<Reply> Authenticate(const httplib::Request& req, std::string* region);

  Reply ValidateInput(const std::string& op, const json& body);

  // time (emulator_transitions.cc)
  bool Advance(SteadyTime now);
  static void Deploy(Variant& v, double t);
  bool StepEndpoint(Endpoint& ep, SteadyTime now, bool* erase);
  void AddTransition(Job& j, const std::string& status, double t, const std::string& message);
  bool StepJob(Job& j, SteadyTime now);

  // tags (emulator_tags.cc)
  static void MergeTags(json& tags, const json& add);

  // The tag list of the resource an ARN names, or nullptr.
  json* TagsOf(const std::string& arn);

  Reply AddTags(const json& in, Ctx& c);
  Reply ListTags(const json& in, Ctx& c);
  Reply DeleteTags(const json& in, Ctx& c);
  Reply ListPage(const json& in, std::vector<ListItem> items, const char* member);

  // models (emulator_models.cc)
  static std::vector<std::string> ModelImages(const json& model);
  Reply CreateModel(const json& in, Ctx& c);
  Reply DescribeModel(const json& in, Ctx& c);
  Reply DeleteModel(const json& in, Ctx& c);
  Reply ListModels(const json& in, Ctx&);
  Reply CreateEndpointConfig(const json& in, Ctx& c);
  Reply DescribeEndpointConfig(const json& in, Ctx& c);
  Reply DeleteEndpointConfig(const json& in, Ctx& c);
  Reply ListEndpointConfigs(const json& in, Ctx&);

  // endpoints (emulator_endpoints.cc)
  std::string EndpointArn(const Ctx& c, const std::string& name) const;

  // The variants a config deploys; sets `failure` when one of them uses a failing image.
  std::optional<Reply> VariantsOf(const std::string& config_name, Ctx& c, std::vector<Variant>* out,
                                  std::string* failure);

  Reply CreateEndpoint(const json& in, Ctx& c);
  static json VariantStatus(const Variant& v);
  static json VariantSummary(const Variant& v, bool pending_summary);
  Endpoint* FindEndpoint(const std::string& name);
  Reply NoEndpoint(const Ctx& c, const std::string& name) const;
  Reply DescribeEndpoint(const json& in, Ctx& c);

  // Update* and DeleteEndpoint need a settled endpoint.
  std::optional<Reply> CheckSettled(const Endpoint& ep, const char* verb, bool allow_failed);

  Reply UpdateEndpoint(const json& in, Ctx& c);
  Reply UpdateWeights(const json& in, Ctx& c);
  Reply DeleteEndpoint(const json& in, Ctx& c);
  Reply ListEndpoints(const json& in, Ctx&);

  // search (emulator_search.cc): Resource Endpoint and Model.
  Reply Search(const json& in, Ctx& c);

  // jobs (emulator_jobs.cc)

  // The images a job runs (for the failing set); an error for a transform job's missing model.
  std::optional<Reply> JobImages(JobKind kind, const json& in, Ctx& c,
                                 std::vector<std::string>* images);

  static std::string FailureFor(JobKind kind, const std::string& image, int total);
  Reply CreateJob(JobKind kind, const json& in, Ctx& c);
  Job* FindJob(JobKind kind, const json& in);

  // What the real service answers for an unknown job name (not the modeled ResourceNotFound).
  static Reply NoJob();

  static json TuningCounters(const Job& j);
  Reply DescribeJob(JobKind kind, const json& in, Ctx&);
  Reply StopJob(JobKind kind, const json& in, Ctx& c);
  Reply ListJobs(JobKind kind, const json& in, Ctx&);
  Reply CreateTrainingJob(const json& in, Ctx& c);
  Reply DescribeTrainingJob(const json& in, Ctx& c);
  Reply StopTrainingJob(const json& in, Ctx& c);
  Reply ListTrainingJobs(const json& in, Ctx& c);
  Reply CreateProcessingJob(const json& in, Ctx& c);
  Reply DescribeProcessingJob(const json& in, Ctx& c);
  Reply StopProcessingJob(const json& in, Ctx& c);
  Reply ListProcessingJobs(const json& in, Ctx& c);
  Reply CreateTransformJob(const json& in, Ctx& c);
  Reply DescribeTransformJob(const json& in, Ctx& c);
  Reply StopTransformJob(const json& in, Ctx& c);
  Reply ListTransformJobs(const json& in, Ctx& c);
  Reply CreateTuningJob(const json& in, Ctx& c);
  Reply DescribeTuningJob(const json& in, Ctx& c);
  Reply StopTuningJob(const json& in, Ctx& c);
  Reply ListTuningJobs(const json& in, Ctx& c);

  // persistence (emulator_persistence.cc)
  static long long Remaining(SteadyTime due, SteadyTime now);
  json Export(SteadyTime now) const;

  // Throws on malformed input (the caller turns it into a Status).
  void Import(const json& state, SteadyTime now);
};

}  // namespace converge::sagemaker
