#include "reconcilers/sagemaker/emulator.h"

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
#include "reconcilers/sagemaker/model.h"

namespace converge::sagemaker {
namespace {

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

// ---------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------

struct Reply {
  int status = 200;
  json body = json::object();
};

Reply Ok(json body = json::object()) {
  return {200, std::move(body)};
}

Reply Error(int status, const std::string& code, const std::string& message) {
  return {status, {{"__type", code}, {"message", message}}};
}

// Modeled exceptions (ResourceInUse, ResourceNotFound) declare a `Message` member.
Reply Modeled(const std::string& code, const std::string& message) {
  return {400, {{"__type", code}, {"Message", message}}};
}

Reply Validation(const std::string& message) {
  return Error(400, "ValidationException", message);
}

Reply Serialization(const std::string& message) {
  return Error(400, "SerializationException", message);
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

double WallSeconds(WallTime t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count() / 1000.0;
}

std::string Quoted(const std::string& arn) {
  return "\"" + arn + "\"";
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// "repo/app:tag" -> "repo/app@sha256:<digest>": what the service shows as ResolvedImage.
std::string ResolvedImage(const std::string& image) {
  std::string repo = image;
  size_t at = repo.find('@');
  if (at != std::string::npos) return image;  // already a digest
  size_t colon = repo.rfind(':');
  size_t slash = repo.rfind('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    repo = repo.substr(0, colon);
  }
  return repo + "@sha256:" + Sha256Hex(image);
}

// Opaque paging tokens: the offset into the sorted, filtered list.
std::string PageToken(size_t offset) {
  return Base64Encode("converge-sandbox/page/" + std::to_string(offset));
}

std::optional<size_t> PageOffset(const std::string& token) {
  auto raw = Base64Decode(token);
  const std::string prefix = "converge-sandbox/page/";
  if (!raw || raw->rfind(prefix, 0) != 0) return std::nullopt;
  std::string digits = raw->substr(prefix.size());
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoul(digits);
}

// Timestamps in requests: epoch seconds (what botocore sends) or ISO 8601 UTC.
std::optional<double> ParseTimestamp(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  const std::string s = v.get<std::string>();
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (!s.empty() && end == s.c_str() + s.size()) return d;
  std::tm tm{};
  double seconds = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%lf", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &seconds) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_sec = 0;
  return double(timegm(&tm)) + seconds;
}

// "20240102T030405Z" -> time point.
std::optional<WallTime> ParseAmzDate(const std::string& s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  std::tm tm{};
  if (std::sscanf(s.c_str(), "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string FormatAmzDate(WallTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Nesting depth of JSON text, counted outside strings; stops early past `limit`.
int JsonDepth(std::string_view text, int limit) {
  int depth = 0;
  int max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max_depth = std::max(max_depth, ++depth);
      if (max_depth > limit) return max_depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return max_depth;
}

const json& Shapes() {
  return ServiceModel()["shapes"];
}

// The members of `obj` that `shape` declares (an output shape keeps what Describe returns).
json FilterToShape(const json& obj, const std::string& shape) {
  json out = json::object();
  auto it = Shapes().find(shape);
  if (it == Shapes().end() || !obj.is_object()) return out;
  const json& members = it->value("members", json::object());
  for (const auto& [k, v] : obj.items()) {
    if (members.contains(k)) out[k] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation messages in the service's words
// ---------------------------------------------------------------------------------------------

// "/ProductionVariants/0/InitialInstanceCount" ->
// "productionVariants.1.member.initialInstanceCount"
std::string AwsMemberPath(const json& body, const std::string& pointer) {
  std::string out;
  const json* cur = &body;
  size_t pos = 1;
  while (pos <= pointer.size() && !pointer.empty()) {
    size_t next = pointer.find('/', pos);
    std::string token =
        pointer.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    std::string unescaped;
    for (size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size()) {
        unescaped += token[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        unescaped += token[i];
      }
    }
    if (!out.empty()) out += '.';
    if (cur != nullptr && cur->is_array()) {
      size_t index = std::strtoul(unescaped.c_str(), nullptr, 10);
      out += std::to_string(index + 1) + ".member";
      cur = index < cur->size() ? &(*cur)[index] : nullptr;
    } else {
      std::string member = unescaped;
      if (!member.empty()) {
        member[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(member[0])));
      }
      out += member;
      cur = cur != nullptr && cur->is_object() && cur->contains(unescaped) ? &(*cur)[unescaped]
                                                                           : nullptr;
    }
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return out;
}

std::string AwsValue(const json& body, const std::string& pointer) {
  try {
    const json& v = body.at(json::json_pointer(pointer));
    std::string text = v.is_string() ? v.get<std::string>()
                                     : v.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() > 256) text = text.substr(0, 253) + "...";
    return "'" + text + "'";
  } catch (const std::exception&) {
    return "null";
  }
}

// Text between `open` and the next `close` of `s`, or "".
std::string Between(const std::string& s, const std::string& open, const std::string& close) {
  size_t a = s.find(open);
  if (a == std::string::npos) return "";
  a += open.size();
  size_t b = s.find(close, a);
  return b == std::string::npos ? "" : s.substr(a, b - a);
}

std::string NumberText(const json& v) {
  if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()) {
    return std::to_string(static_cast<long long>(v.get<double>()));
  }
  return v.dump();
}

// One ValidateShape diagnostic as the service words a constraint violation
// ("Value 'x' at 'endpointName' failed to satisfy constraint: Member must ...").
std::string AwsConstraint(const json& body, const PathDiagnostic& d) {
  const std::string& m = d.message;
  const std::string shape_name = Between(m + ")", "(shape ", ")");
  const json* shape = nullptr;
  if (auto it = Shapes().find(shape_name); it != Shapes().end()) shape = &*it;
  const bool sized =
      shape != nullptr && (shape->value("type", "") == "string" ||
                           shape->value("type", "") == "list" || shape->value("type", "") == "map");
  if (m.rfind("missing required field ", 0) == 0) {
    std::string member = Between(m, "missing required field ", " ");
    if (member.empty()) member = m.substr(std::string("missing required field ").size());
    std::string path = AwsMemberPath(body, d.path);
    std::string lower = member;
    if (!lower.empty()) {
      lower[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(lower[0])));
    }
    return "Value null at '" + (path.empty() ? lower : path + "." + lower) +
           "' failed to satisfy constraint: Member must not be null";
  }
  std::string prefix = "Value " + AwsValue(body, d.path) + " at '" + AwsMemberPath(body, d.path) +
                       "' failed to satisfy constraint: ";
  if (shape != nullptr) {
    if (m.find("must match the pattern") != std::string::npos && shape->contains("pattern")) {
      return prefix + "Member must satisfy regular expression pattern: " +
             (*shape)["pattern"].get<std::string>();
    }
    if (m.find("must be one of") != std::string::npos && shape->contains("enum")) {
      std::string set;
      for (const auto& e : (*shape)["enum"])
        set += (set.empty() ? "" : ", ") + e.get<std::string>();
      return prefix + "Member must satisfy enum value set: [" + set + "]";
    }
    bool at_least = m.find("at least") != std::string::npos;
    bool at_most = m.find("at most") != std::string::npos;
    if ((at_least && shape->contains("min")) || (at_most && shape->contains("max"))) {
      std::string bound = NumberText((*shape)[at_least ? "min" : "max"]);
      std::string relation = at_least ? "greater than or equal to " : "less than or equal to ";
      return prefix + (sized ? "Member must have length " : "Member must have value ") + relation +
             bound;
    }
  }
  return prefix + m;
}

bool IsSerializationProblem(const std::string& message) {
  return message.rfind("expected ", 0) == 0 || message.rfind("unknown field", 0) == 0 ||
         message.rfind("integer out of range", 0) == 0 ||
         message.rfind("nested too deeply", 0) == 0 || message.rfind("internal:", 0) == 0;
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

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

const JobInfo& Info(const Job& j) {
  return kJobInfo[j.kind];
}

std::string Capitalized(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

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

}  // namespace

// ---------------------------------------------------------------------------------------------
// Impl
// ---------------------------------------------------------------------------------------------

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
    };
  }

  std::string NewRequestId() {
    uint64_t hi = rng();
    uint64_t lo = rng();
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", uint32_t(hi >> 32),
                  uint32_t((hi >> 16) & 0xffff), uint32_t((hi & 0x0fff) | 0x4000),
                  uint32_t(((lo >> 48) & 0x3fff) | 0x8000),
                  static_cast<unsigned long long>(lo & 0xffffffffffffULL));
    return buf;
  }

  std::string Arn(const Ctx& c, const std::string& type, const std::string& name) const {
    return "arn:aws:sagemaker:" + c.region + ":" + options.account_id + ":" + type + "/" + name;
  }

  SteadyTime Due(const Ctx& c) const { return c.now + milliseconds(transition_ms); }
  double DueWall(const Ctx& c) const { return c.wall + transition_ms / 1000.0; }

  // ----- serving ------------------------------------------------------------------------------

  Reply Serve(const httplib::Request& req, const std::string& path, bool* mutated) {
    if (req.method != "POST" || (path != "/" && !path.empty())) {
      return Error(404, "UnknownOperationException",
                   "SageMaker operations are POST / with an X-Amz-Target header");
    }
    Ctx c;
    c.now = options.now();
    c.wall = WallSeconds(options.wall_now());
    if (auto err = Authenticate(req, &c.region)) return *err;
    std::string content_type = Lower(req.get_header_value("Content-Type"));
    if (content_type.rfind(kContentType, 0) != 0) {
      return Serialization("Content-Type must be application/x-amz-json-1.1, got '" +
                           req.get_header_value("Content-Type") + "'");
    }
    std::string target = req.get_header_value("X-Amz-Target");
    if (target.rfind(kTargetPrefix, 0) != 0) {
      return Error(400, "UnknownOperationException",
                   target.empty() ? "Missing X-Amz-Target header" : "Unknown target " + target);
    }
    const std::string op = target.substr(std::string(kTargetPrefix).size());
    auto handler = handlers.find(op);
    if (handler == handlers.end()) {
      return Error(400, "UnknownOperationException",
                   "converge sandbox does not emulate SageMaker operation " + op);
    }
    if (req.body.size() > kMaxBodyBytes) {
      return Serialization("Request body of " + std::to_string(req.body.size()) +
                           " bytes is too large");
    }
    std::string_view text = req.body.empty() ? std::string_view("{}") : req.body;
    if (JsonDepth(text, kMaxJsonDepth) > kMaxJsonDepth) {
      return Serialization("Request body is nested too deeply");
    }
    json body = json::parse(text, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return Serialization(body.is_discarded() ? "Request body is not valid JSON"
                                               : "Request body must be a JSON object");
    }
    // Logged before validation, so a body the model rejects shows up for the botocore check.
    // Bodies over kMaxLoggedBody bytes are not kept (10000 of them could fill the memory).
    json* entry = nullptr;
    if (options.request_log_size > 0) {
      json logged = {{"operation", op}, {"status", 0}};
      if (req.body.size() <= kMaxLoggedBody) {
        logged["body"] = body;
      } else {
        logged["body"] = nullptr;
        logged["truncated"] = true;
        logged["bodyBytes"] = req.body.size();
      }
      requests.push_back(std::move(logged));
      while (requests.size() > options.request_log_size) requests.pop_front();
      entry = &requests.back();
    }

    Reply reply = ValidateInput(op, body);
    if (reply.status == 200) {
      *mutated = Advance(c.now) || *mutated;
      reply = (this->*(handler->second))(body, c);
      *mutated = *mutated || c.mutated;
    }
    if (entry != nullptr) (*entry)["status"] = reply.status;
    return reply;
  }

  // Verifies the SigV4 signature by re-signing what was received. Sets the request's region.
  std::optional<Reply> Authenticate(const httplib::Request& req, std::string* region) {
    *region = options.region.empty() ? "us-east-1" : options.region;
    const std::string header = req.get_header_value("Authorization");
    auto auth = aws::ParseAuthorization(header);
    if (options.access_key.empty()) {
      if (auth && options.region.empty() && !auth->region.empty()) *region = auth->region;
      return std::nullopt;
    }
    if (header.empty()) {
      return Error(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
    }
    if (!auth) {
      return Error(400, "IncompleteSignatureException",
                   "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' "
                   "parameters with algorithm AWS4-HMAC-SHA256.");
    }
    if (auth->access_key_id != options.access_key) {
      return Error(400, "UnrecognizedClientException",
                   "The security token included in the request is invalid.");
    }
    if (auth->service != "sagemaker") {
      return Error(403, "InvalidSignatureException",
                   "Credential should be scoped to correct service: 'sagemaker'. ");
    }
    if (!options.region.empty() && auth->region != options.region) {
      return Error(403, "InvalidSignatureException",
                   "Credential should be scoped to a valid region, not '" + auth->region + "'. ");
    }
    const std::string amz_date = req.get_header_value("X-Amz-Date");
    if (amz_date.empty()) {
      return Error(400, "IncompleteSignatureException",
                   "Authorization header requires existence of either a 'X-Amz-Date' or a "
                   "'Date' header.");
    }
    auto signed_at = ParseAmzDate(amz_date);
    if (!signed_at) {
      return Error(400, "IncompleteSignatureException",
                   "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    }
    if (auth->date != amz_date.substr(0, 8)) {
      return Error(403, "InvalidSignatureException",
                   "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                   "date from HTTP: '" +
                       auth->date + "' != '" + amz_date.substr(0, 8) + "', from '" + amz_date +
                       "'.");
    }
    if (std::find(auth->signed_headers.begin(), auth->signed_headers.end(), "host") ==
        auth->signed_headers.end()) {
      return Error(403, "InvalidSignatureException",
                   "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
    }
    WallTime wall = options.wall_now();
    if (*signed_at < wall - kMaxClockSkew) {
      return Error(403, "InvalidSignatureException",
                   "Signature expired: " + amz_date + " is now earlier than " +
                       FormatAmzDate(wall - kMaxClockSkew) + " (" + FormatAmzDate(wall) +
                       " - 15 min.)");
    }
    if (*signed_at > wall + kMaxClockSkew) {
      return Error(403, "InvalidSignatureException",
                   "Signature not yet current: " + amz_date + " is still later than " +
                       FormatAmzDate(wall + kMaxClockSkew) + " (" + FormatAmzDate(wall) +
                       " + 15 min.)");
    }
    aws::SigningRequest signing;
    signing.method = req.method;
    signing.url = "http://" + req.get_header_value("Host") + req.target;
    for (const std::string& name : auth->signed_headers) {
      size_t n = req.get_header_value_count(name);
      for (size_t i = 0; i < n; ++i) {
        signing.headers.emplace_back(name, req.get_header_value(name, i));
      }
    }
    signing.body = req.body;
    aws::Credentials credentials{options.access_key, options.secret_key, ""};
    std::string expected = aws::Signature(signing, credentials, auth->region, auth->service,
                                          amz_date, auth->signed_headers);
    if (expected.size() != auth->signature.size() ||
        CRYPTO_memcmp(expected.data(), auth->signature.data(), expected.size()) != 0) {
      return Error(403, "InvalidSignatureException", kSignatureMismatch);
    }
    if (options.region.empty()) *region = auth->region;
    return std::nullopt;
  }

  Reply ValidateInput(const std::string& op, const json& body) {
    const std::string shape = InputShapeOf(op);
    if (shape.empty()) return Ok();
    std::vector<PathDiagnostic> diagnostics;
    json copy = body;
    ValidateShape(copy, shape, "", ShapeCheckOptions{}, diagnostics);
    std::vector<std::string> constraints;
    for (const PathDiagnostic& d : diagnostics) {
      if (d.severity != Severity::kError) continue;
      if (IsSerializationProblem(d.message)) {
        std::string where = AwsMemberPath(body, d.path);
        return Serialization(d.message + (where.empty() ? "" : " at '" + where + "'"));
      }
      constraints.push_back(AwsConstraint(body, d));
    }
    if (constraints.empty()) return Ok();
    std::string message = std::to_string(constraints.size()) +
                          (constraints.size() == 1 ? " validation error detected: "
                                                   : " validation errors detected: ");
    for (size_t i = 0; i < constraints.size(); ++i) {
      message += (i == 0 ? "" : "; ") + constraints[i];
    }
    return Validation(message);
  }

  // ----- time ---------------------------------------------------------------------------------

  bool Advance(SteadyTime now) {
    bool changed = false;
    for (auto it = endpoints.begin(); it != endpoints.end();) {
      bool erase = false;
      changed = StepEndpoint(it->second, now, &erase) || changed;
      it = erase ? endpoints.erase(it) : std::next(it);
    }
    for (auto& by_name : jobs) {
      for (auto& [name, job] : by_name) changed = StepJob(job, now) || changed;
    }
    return changed;
  }

  static void Deploy(Variant& v, double t) {
    v.current_weight = v.desired_weight;
    v.current_count = v.desired_count;
    v.current_serverless = v.serverless;
    v.deployed = true;
    v.resolved_at = t;
    v.status.clear();
  }

  bool StepEndpoint(Endpoint& ep, SteadyTime now, bool* erase) {
    bool changed = false;
    while (ep.phase != Phase::kNone && ep.due <= now) {
      changed = true;
      const double t = ep.due_wall;
      ep.modified = t;
      switch (ep.phase) {
        case Phase::kCreating:
          if (!ep.pending_failure.empty()) {
            ep.status = "Failed";
            ep.failure_reason = ep.pending_failure;
            for (Variant& v : ep.variants) v.status.clear();
          } else {
            ep.status = "InService";
            for (Variant& v : ep.variants) Deploy(v, t);
          }
          ep.pending_failure.clear();
          ep.phase = Phase::kNone;
          break;
        case Phase::kUpdating:
          if (!ep.pending_failure.empty()) {
            // The new fleet never became healthy: SageMaker rolls back to the old config.
            ep.status = "RollingBack";
            ep.phase = Phase::kRollingBack;
            ep.due += milliseconds(transition_ms);
            ep.due_wall += transition_ms / 1000.0;
            for (Variant& v : ep.pending) v.status = "Deleting";
          } else {
            ep.config_name = ep.pending_config;
            ep.variants = std::move(ep.pending);
            for (Variant& v : ep.variants) Deploy(v, t);
            ep.status = "InService";
            ep.failure_reason.clear();
            ep.pending.clear();
            ep.pending_config.clear();
            ep.phase = Phase::kNone;
          }
          break;
        case Phase::kRollingBack:
          ep.status = "InService";
          ep.failure_reason = ep.pending_failure;
          ep.pending_failure.clear();
          ep.pending.clear();
          ep.pending_config.clear();
          ep.phase = Phase::kNone;
          break;
        case Phase::kScaling:
          for (Variant& v : ep.variants) Deploy(v, v.resolved_at == 0 ? t : v.resolved_at);
          ep.status = "InService";
          ep.phase = Phase::kNone;
          break;
        case Phase::kDeleting:
          *erase = true;
          return true;
        case Phase::kNone:
          break;
      }
    }
    return changed;
  }

  void AddTransition(Job& j, const std::string& status, double t, const std::string& message) {
    if (j.kind != int(JobKind::kTraining)) return;
    if (!j.transitions.empty()) j.transitions.back()["EndTime"] = t;
    j.transitions.push_back({{"Status", status}, {"StartTime", t}, {"StatusMessage", message}});
    j.secondary = status;
  }

  bool StepJob(Job& j, SteadyTime now) {
    if (!j.active || j.due > now) return false;
    const double t = j.due_wall;
    j.active = false;
    j.modified = t;
    j.end = t;
    if (j.status == "Stopping") {
      j.status = "Stopped";
      AddTransition(j, "Stopped", t, "Training job stopped");
    } else if (!j.planned_failure.empty()) {
      j.status = "Failed";
      j.failure_reason = j.planned_failure;
      AddTransition(j, "Failed", t, "Training job failed. Reason: " + j.failure_reason);
    } else {
      j.status = "Completed";
      AddTransition(j, "Completed", t, "Training job completed");
    }
    if (!j.transitions.empty()) j.transitions.back()["EndTime"] = t;
    return true;
  }

  // ----- tags ---------------------------------------------------------------------------------

  static void MergeTags(json& tags, const json& add) {
    if (!add.is_array()) return;
    for (const json& t : add) {
      if (!t.is_object() || !t.contains("Key")) continue;
      json tag = {{"Key", t["Key"]}, {"Value", t.value("Value", json(""))}};
      auto same = std::find_if(tags.begin(), tags.end(),
                               [&](const json& e) { return e["Key"] == tag["Key"]; });
      if (same != tags.end()) {
        *same = tag;
      } else {
        tags.push_back(tag);
      }
    }
  }

  // The tag list of the resource an ARN names, or nullptr.
  json* TagsOf(const std::string& arn) {
    // arn:aws:sagemaker:<region>:<account>:<type>/<name>
    std::vector<std::string> parts;
    size_t pos = 0;
    for (int i = 0; i < 5; ++i) {
      size_t colon = arn.find(':', pos);
      if (colon == std::string::npos) return nullptr;
      parts.push_back(arn.substr(pos, colon - pos));
      pos = colon + 1;
    }
    std::string resource = arn.substr(pos);
    if (parts[0] != "arn" || parts[2] != "sagemaker" || parts[4] != options.account_id) {
      return nullptr;
    }
    size_t slash = resource.find('/');
    if (slash == std::string::npos) return nullptr;
    std::string type = resource.substr(0, slash);
    std::string name = resource.substr(slash + 1);
    if (type == "model") {
      auto it = models.find(name);
      return it == models.end() ? nullptr : &it->second.tags;
    }
    if (type == "endpoint-config") {
      auto it = configs.find(name);
      return it == configs.end() ? nullptr : &it->second.tags;
    }
    if (type == "endpoint") {
      auto it = endpoints.find(Lower(name));
      return it == endpoints.end() ? nullptr : &it->second.tags;
    }
    for (int k = 0; k < kJobKinds; ++k) {
      if (type != kJobInfo[k].arn_type) continue;
      auto it = jobs[k].find(name);
      return it == jobs[k].end() ? nullptr : &it->second.tags;
    }
    return nullptr;
  }

  Reply AddTags(const json& in, Ctx& c) {
    const std::string arn = in["ResourceArn"];
    json* tags = TagsOf(arn);
    if (tags == nullptr) return Validation("Could not find resource " + Quoted(arn) + ".");
    json merged = *tags;
    MergeTags(merged, in["Tags"]);
    if (merged.size() > 50) {
      return Error(400, "ResourceLimitExceeded",
                   "A resource can have at most 50 tags; this request would give it " +
                       std::to_string(merged.size()) + ".");
    }
    *tags = std::move(merged);
    c.mutated = true;
    return Ok({{"Tags", in["Tags"]}});
  }

  Reply ListTags(const json& in, Ctx& c) {
    const std::string arn = in["ResourceArn"];
    json* tags = TagsOf(arn);
    if (tags == nullptr) return Validation("Could not find resource " + Quoted(arn) + ".");
    size_t max = in.value("MaxResults", kDefaultListTagsMaxResults);
    size_t offset = 0;
    if (in.contains("NextToken")) {
      auto o = PageOffset(in["NextToken"].get<std::string>());
      if (!o) return Validation("Invalid NextToken value.");
      offset = *o;
    }
    json page = json::array();
    for (size_t i = offset; i < tags->size() && page.size() < max; ++i) page.push_back((*tags)[i]);
    json out = {{"Tags", page}};
    if (offset + page.size() < tags->size()) out["NextToken"] = PageToken(offset + page.size());
    return Ok(out);
  }

  Reply DeleteTags(const json& in, Ctx& c) {
    const std::string arn = in["ResourceArn"];
    json* tags = TagsOf(arn);
    if (tags == nullptr) return Validation("Could not find resource " + Quoted(arn) + ".");
    std::set<std::string> keys;
    for (const json& k : in["TagKeys"]) keys.insert(k.get<std::string>());
    json kept = json::array();
    for (const json& t : *tags) {
      if (!keys.count(t["Key"].get<std::string>())) kept.push_back(t);
    }
    *tags = std::move(kept);
    c.mutated = true;
    return Ok();
  }

  // ----- lists --------------------------------------------------------------------------------

  Reply ListPage(const json& in, std::vector<ListItem> items, const char* member) {
    std::optional<double> created_before, created_after, modified_before, modified_after;
    auto ts = [&](const char* key, std::optional<double>* out) -> bool {
      if (!in.contains(key)) return true;
      *out = ParseTimestamp(in[key]);
      return out->has_value();
    };
    if (!ts("CreationTimeBefore", &created_before) || !ts("CreationTimeAfter", &created_after) ||
        !ts("LastModifiedTimeBefore", &modified_before) ||
        !ts("LastModifiedTimeAfter", &modified_after)) {
      return Serialization("Timestamps must be epoch seconds or ISO 8601");
    }
    const std::string contains = Lower(in.value("NameContains", ""));
    const std::string status = in.value("StatusEquals", "");
    std::erase_if(items, [&](const ListItem& i) {
      return (!contains.empty() && Lower(i.name).find(contains) == std::string::npos) ||
             (!status.empty() && i.status != status) ||
             (created_before && !(i.created < *created_before)) ||
             (created_after && !(i.created > *created_after)) ||
             (modified_before && !(i.modified < *modified_before)) ||
             (modified_after && !(i.modified > *modified_after));
    });
    const std::string sort_by = in.value("SortBy", "CreationTime");
    const bool ascending = in.value("SortOrder", "Descending") == "Ascending";
    std::stable_sort(items.begin(), items.end(), [&](const ListItem& a, const ListItem& b) {
      auto key = [&](const ListItem& i) {
        if (sort_by == "Name") return std::make_tuple(0.0, std::string(), i.name);
        if (sort_by == "Status") return std::make_tuple(0.0, i.status, i.name);
        return std::make_tuple(i.created, std::string(), i.name);
      };
      return ascending ? key(a) < key(b) : key(b) < key(a);
    });
    size_t max = in.value("MaxResults", kDefaultMaxResults);
    size_t offset = 0;
    if (in.contains("NextToken")) {
      auto o = PageOffset(in["NextToken"].get<std::string>());
      if (!o) return Validation("Invalid NextToken value.");
      offset = *o;
    }
    json page = json::array();
    for (size_t i = offset; i < items.size() && page.size() < max; ++i) {
      page.push_back(std::move(items[i].summary));
    }
    json out = {{member, page}};
    if (offset + page.size() < items.size()) out["NextToken"] = PageToken(offset + page.size());
    return Ok(out);
  }

  // ----- models -------------------------------------------------------------------------------

  static std::vector<std::string> ModelImages(const json& model) {
    std::vector<std::string> images;
    auto add = [&](const json& container) {
      if (container.is_object() && container.contains("Image") && container["Image"].is_string()) {
        images.push_back(container["Image"]);
      }
    };
    if (model.contains("PrimaryContainer")) add(model["PrimaryContainer"]);
    for (const json& c : model.value("Containers", json::array())) add(c);
    return images;
  }

  Reply CreateModel(const json& in, Ctx& c) {
    const std::string name = in["ModelName"];
    const std::string arn = Arn(c, "model", name);
    if (models.count(name))
      return Validation("Cannot create already existing model " + Quoted(arn) + ".");
    if (!in.contains("PrimaryContainer") && !in.contains("Containers")) {
      return Validation("Either PrimaryContainer or Containers must be specified.");
    }
    Static m{name, arn, in, c.wall, json::array()};
    m.body.erase("Tags");
    MergeTags(m.tags, in.value("Tags", json::array()));
    models.emplace(name, std::move(m));
    c.mutated = true;
    return Ok({{"ModelArn", arn}});
  }

  Reply DescribeModel(const json& in, Ctx& c) {
    const std::string name = in["ModelName"];
    auto it = models.find(name);
    if (it == models.end()) {
      return Validation("Could not find model " + Quoted(Arn(c, "model", name)) + ".");
    }
    const Static& m = it->second;
    json out = FilterToShape(m.body, "DescribeModelOutput");
    // Defaults the service fills in.
    auto container_defaults = [](json& container) {
      if (!container.is_object() || !container.contains("Image")) return;
      if (!container.contains("Mode")) container["Mode"] = "SingleModel";
      if (!container.contains("Environment")) container["Environment"] = json::object();
    };
    if (out.contains("PrimaryContainer")) container_defaults(out["PrimaryContainer"]);
    if (out.contains("Containers")) {
      for (json& container : out["Containers"]) container_defaults(container);
    }
    if (!out.contains("EnableNetworkIsolation")) out["EnableNetworkIsolation"] = false;
    out["ModelArn"] = m.arn;
    out["CreationTime"] = m.created;
    return Ok(out);
  }

  Reply DeleteModel(const json& in, Ctx& c) {
    const std::string name = in["ModelName"];
    if (models.erase(name) == 0) {
      return Validation("Could not find model " + Quoted(Arn(c, "model", name)) + ".");
    }
    c.mutated = true;
    return Ok();
  }

  Reply ListModels(const json& in, Ctx&) {
    std::vector<ListItem> items;
    for (const auto& [name, m] : models) {
      items.push_back({name,
                       m.created,
                       m.created,
                       "",
                       {{"ModelName", name}, {"ModelArn", m.arn}, {"CreationTime", m.created}}});
    }
    return ListPage(in, std::move(items), "Models");
  }

  // ----- endpoint configs ---------------------------------------------------------------------

  Reply CreateEndpointConfig(const json& in, Ctx& c) {
    const std::string name = in["EndpointConfigName"];
    const std::string arn = Arn(c, "endpoint-config", name);
    if (configs.count(name)) {
      return Validation("Cannot create already existing endpoint configuration " + Quoted(arn) +
                        ".");
    }
    std::set<std::string> variant_names;
    for (const json& pv : in["ProductionVariants"]) {
      const std::string variant = pv["VariantName"];
      if (!variant_names.insert(variant).second) {
        return Validation("Variant names must be unique within an endpoint configuration; " +
                          Quoted(variant) + " appears more than once.");
      }
      const std::string model = pv["ModelName"];
      if (!models.count(model)) {
        return Validation("Could not find model " + Quoted(Arn(c, "model", model)) + ".");
      }
    }
    Static cfg{name, arn, in, c.wall, json::array()};
    cfg.body.erase("Tags");
    MergeTags(cfg.tags, in.value("Tags", json::array()));
    configs.emplace(name, std::move(cfg));
    c.mutated = true;
    return Ok({{"EndpointConfigArn", arn}});
  }

  Reply DescribeEndpointConfig(const json& in, Ctx& c) {
    const std::string name = in["EndpointConfigName"];
    auto it = configs.find(name);
    if (it == configs.end()) {
      return Validation("Could not find endpoint configuration " +
                        Quoted(Arn(c, "endpoint-config", name)) + ".");
    }
    json out = FilterToShape(it->second.body, "DescribeEndpointConfigOutput");
    out["EndpointConfigArn"] = it->second.arn;
    out["CreationTime"] = it->second.created;
    return Ok(out);
  }

  Reply DeleteEndpointConfig(const json& in, Ctx& c) {
    const std::string name = in["EndpointConfigName"];
    // Allowed while an endpoint uses it, as in SageMaker: the endpoint keeps what it deployed.
    if (configs.erase(name) == 0) {
      return Validation("Could not find endpoint configuration " +
                        Quoted(Arn(c, "endpoint-config", name)) + ".");
    }
    c.mutated = true;
    return Ok();
  }

  Reply ListEndpointConfigs(const json& in, Ctx&) {
    std::vector<ListItem> items;
    for (const auto& [name, cfg] : configs) {
      items.push_back({name,
                       cfg.created,
                       cfg.created,
                       "",
                       {{"EndpointConfigName", name},
                        {"EndpointConfigArn", cfg.arn},
                        {"CreationTime", cfg.created}}});
    }
    return ListPage(in, std::move(items), "EndpointConfigs");
  }

  // ----- endpoints ----------------------------------------------------------------------------

  std::string EndpointArn(const Ctx& c, const std::string& name) const {
    return Arn(c, "endpoint", Lower(name));
  }

  // The variants a config deploys; sets `failure` when one of them uses a failing image.
  std::optional<Reply> VariantsOf(const std::string& config_name, Ctx& c, std::vector<Variant>* out,
                                  std::string* failure) {
    auto it = configs.find(config_name);
    if (it == configs.end()) {
      return Validation("Could not find endpoint configuration " +
                        Quoted(Arn(c, "endpoint-config", config_name)) + ".");
    }
    for (const json& pv : it->second.body["ProductionVariants"]) {
      Variant v;
      v.name = pv["VariantName"];
      if (pv.contains("InitialVariantWeight")) v.desired_weight = pv["InitialVariantWeight"];
      if (pv.contains("ServerlessConfig")) {
        v.serverless = pv["ServerlessConfig"];
        v.desired_count = 0;
      } else if (pv.contains("InitialInstanceCount")) {
        v.desired_count = pv["InitialInstanceCount"];
      }
      v.instance_type = pv.value("InstanceType", "");
      const std::string model = pv["ModelName"];
      auto m = models.find(model);
      if (m == models.end()) {
        return Validation("Could not find model " + Quoted(Arn(c, "model", model)) + ".");
      }
      v.images = ModelImages(m->second.body);
      for (const std::string& image : v.images) {
        if (failure->empty() && failing_images.count(image)) {
          *failure = "The primary container for production variant " + v.name +
                     " did not pass the ping health check. Please check CloudWatch logs for "
                     "this endpoint.";
        }
      }
      out->push_back(std::move(v));
    }
    return std::nullopt;
  }

  Reply CreateEndpoint(const json& in, Ctx& c) {
    const std::string name = in["EndpointName"];
    const std::string arn = EndpointArn(c, name);
    if (endpoints.count(Lower(name))) {
      return Validation("Cannot create already existing endpoint " + Quoted(arn) + ".");
    }
    Endpoint ep;
    std::string failure;
    if (auto err = VariantsOf(in["EndpointConfigName"], c, &ep.variants, &failure)) return *err;
    ep.name = name;
    ep.arn = arn;
    ep.config_name = in["EndpointConfigName"];
    ep.status = "Creating";
    ep.created = ep.modified = c.wall;
    for (Variant& v : ep.variants) {
      v.status = "Creating";
      v.status_since = c.wall;
    }
    if (in.contains("DeploymentConfig")) ep.last_deployment_config = in["DeploymentConfig"];
    MergeTags(ep.tags, in.value("Tags", json::array()));
    ep.phase = Phase::kCreating;
    ep.due = Due(c);
    ep.due_wall = DueWall(c);
    ep.pending_failure = failure;
    endpoints.emplace(Lower(name), std::move(ep));
    c.mutated = true;
    return Ok({{"EndpointArn", arn}});
  }

  static json VariantStatus(const Variant& v) {
    if (v.status.empty()) return nullptr;
    return json::array({{{"Status", v.status}, {"StartTime", v.status_since}}});
  }

  static json VariantSummary(const Variant& v, bool pending_summary) {
    json s = {{"VariantName", v.name}};
    if (v.deployed) {
      json images = json::array();
      for (const std::string& image : v.images) {
        images.push_back({{"SpecifiedImage", image},
                          {"ResolvedImage", ResolvedImage(image)},
                          {"ResolutionTime", v.resolved_at}});
      }
      s["DeployedImages"] = images;
      s["CurrentWeight"] = v.current_weight;
      if (v.current_serverless.is_null()) {
        s["CurrentInstanceCount"] = v.current_count;
      } else {
        s["CurrentServerlessConfig"] = v.current_serverless;
      }
    }
    s["DesiredWeight"] = v.desired_weight;
    if (v.serverless.is_null()) {
      s["DesiredInstanceCount"] = v.desired_count;
    } else {
      s["DesiredServerlessConfig"] = v.serverless;
    }
    if (pending_summary && !v.instance_type.empty()) s["InstanceType"] = v.instance_type;
    if (json status = VariantStatus(v); !status.is_null()) s["VariantStatus"] = status;
    return s;
  }

  Endpoint* FindEndpoint(const std::string& name) {
    auto it = endpoints.find(Lower(name));
    return it == endpoints.end() ? nullptr : &it->second;
  }

  Reply NoEndpoint(const Ctx& c, const std::string& name) const {
    return Validation("Could not find endpoint " + Quoted(EndpointArn(c, name)) + ".");
  }

  Reply DescribeEndpoint(const json& in, Ctx& c) {
    Endpoint* ep = FindEndpoint(in["EndpointName"]);
    if (ep == nullptr) return NoEndpoint(c, in["EndpointName"]);
    json out = {{"EndpointName", ep->name},
                {"EndpointArn", ep->arn},
                {"EndpointConfigName", ep->config_name},
                {"EndpointStatus", ep->status},
                {"CreationTime", ep->created},
                {"LastModifiedTime", ep->modified}};
    json variants = json::array();
    for (const Variant& v : ep->variants) variants.push_back(VariantSummary(v, false));
    if (!variants.empty()) out["ProductionVariants"] = variants;
    if (!ep->failure_reason.empty()) out["FailureReason"] = ep->failure_reason;
    if (!ep->last_deployment_config.is_null()) {
      out["LastDeploymentConfig"] = ep->last_deployment_config;
    }
    if (ep->phase == Phase::kUpdating || ep->phase == Phase::kRollingBack) {
      json pending = json::array();
      for (const Variant& v : ep->pending) pending.push_back(VariantSummary(v, true));
      out["PendingDeploymentSummary"] = {{"EndpointConfigName", ep->pending_config},
                                         {"ProductionVariants", pending},
                                         {"StartTime", ep->pending_start}};
    }
    return Ok(out);
  }

  // Update* and DeleteEndpoint need a settled endpoint.
  std::optional<Reply> CheckSettled(const Endpoint& ep, const char* verb, bool allow_failed) {
    if (ep.phase != Phase::kNone) {
      return Validation(std::string("Cannot ") + verb + " in-progress endpoint " + Quoted(ep.arn) +
                        ".");
    }
    if (!allow_failed && ep.status == "Failed") {
      return Validation(std::string("Cannot ") + verb + " failed endpoint " + Quoted(ep.arn) +
                        ". DeleteEndpoint is the only operation a failed endpoint allows.");
    }
    return std::nullopt;
  }

  Reply UpdateEndpoint(const json& in, Ctx& c) {
    Endpoint* ep = FindEndpoint(in["EndpointName"]);
    if (ep == nullptr) return NoEndpoint(c, in["EndpointName"]);
    if (auto err = CheckSettled(*ep, "update", false)) return *err;
    std::vector<Variant> variants;
    std::string failure;
    if (auto err = VariantsOf(in["EndpointConfigName"], c, &variants, &failure)) return *err;
    if (in.value("RetainAllVariantProperties", false)) {
      for (Variant& v : variants) {
        for (const Variant& old : ep->variants) {
          if (old.name != v.name) continue;
          v.desired_weight = old.desired_weight;
          v.desired_count = old.desired_count;
        }
      }
    }
    for (Variant& v : variants) {
      v.status = "Creating";
      v.status_since = c.wall;
    }
    ep->pending = std::move(variants);
    ep->pending_config = in["EndpointConfigName"];
    ep->pending_failure = failure;
    ep->pending_start = c.wall;
    ep->status = "Updating";
    ep->modified = c.wall;
    if (in.contains("DeploymentConfig")) {
      ep->last_deployment_config = in["DeploymentConfig"];
    } else if (!in.value("RetainDeploymentConfig", false)) {
      ep->last_deployment_config = nullptr;
    }
    ep->phase = Phase::kUpdating;
    ep->due = Due(c);
    ep->due_wall = DueWall(c);
    c.mutated = true;
    return Ok({{"EndpointArn", ep->arn}});
  }

  Reply UpdateWeights(const json& in, Ctx& c) {
    Endpoint* ep = FindEndpoint(in["EndpointName"]);
    if (ep == nullptr) return NoEndpoint(c, in["EndpointName"]);
    if (auto err = CheckSettled(*ep, "update", false)) return *err;
    std::string missing;
    for (const json& d : in["DesiredWeightsAndCapacities"]) {
      const std::string name = d["VariantName"];
      bool found = std::any_of(ep->variants.begin(), ep->variants.end(),
                               [&](const Variant& v) { return v.name == name; });
      if (!found) missing += (missing.empty() ? "" : ", ") + name;
      if (!d.contains("DesiredWeight") && !d.contains("DesiredInstanceCount")) {
        return Validation(
            "Either DesiredWeight or DesiredInstanceCount must be specified for "
            "variant " +
            Quoted(name) + ".");
      }
    }
    if (!missing.empty()) {
      return Validation("The variant(s) \"[" + missing + "]\" is/are not present in endpoint " +
                        Quoted(ep->arn) + ".");
    }
    for (const json& d : in["DesiredWeightsAndCapacities"]) {
      for (Variant& v : ep->variants) {
        if (v.name != d["VariantName"]) continue;
        if (d.contains("DesiredWeight")) v.desired_weight = d["DesiredWeight"];
        if (d.contains("DesiredInstanceCount")) v.desired_count = d["DesiredInstanceCount"];
        v.status = "Updating";
        v.status_since = c.wall;
      }
    }
    ep->status = "Updating";
    ep->modified = c.wall;
    ep->phase = Phase::kScaling;
    ep->due = Due(c);
    ep->due_wall = DueWall(c);
    c.mutated = true;
    return Ok({{"EndpointArn", ep->arn}});
  }

  Reply DeleteEndpoint(const json& in, Ctx& c) {
    Endpoint* ep = FindEndpoint(in["EndpointName"]);
    if (ep == nullptr) return NoEndpoint(c, in["EndpointName"]);
    if (ep->phase == Phase::kDeleting) return Ok();  // already going
    if (auto err = CheckSettled(*ep, "delete", true)) return *err;
    ep->status = "Deleting";
    ep->modified = c.wall;
    for (Variant& v : ep->variants) {
      v.status = "Deleting";
      v.status_since = c.wall;
    }
    ep->phase = Phase::kDeleting;
    ep->due = Due(c);
    ep->due_wall = DueWall(c);
    c.mutated = true;
    return Ok();
  }

  Reply ListEndpoints(const json& in, Ctx&) {
    std::vector<ListItem> items;
    for (const auto& [key, ep] : endpoints) {
      items.push_back({ep.name,
                       ep.created,
                       ep.modified,
                       ep.status,
                       {{"EndpointName", ep.name},
                        {"EndpointArn", ep.arn},
                        {"CreationTime", ep.created},
                        {"LastModifiedTime", ep.modified},
                        {"EndpointStatus", ep.status}}});
    }
    return ListPage(in, std::move(items), "Endpoints");
  }

  // ----- jobs ---------------------------------------------------------------------------------

  // The images a job runs (for the failing set); an error for a transform job's missing model.
  std::optional<Reply> JobImages(JobKind kind, const json& in, Ctx& c,
                                 std::vector<std::string>* images) {
    auto training_image = [&](const json& definition) {
      const json& spec = definition.value("AlgorithmSpecification", json::object());
      if (spec.contains("TrainingImage") && spec["TrainingImage"].is_string()) {
        images->push_back(spec["TrainingImage"]);
      }
    };
    switch (kind) {
      case JobKind::kTraining:
        training_image(in);
        break;
      case JobKind::kProcessing:
        images->push_back(in["AppSpecification"]["ImageUri"]);
        break;
      case JobKind::kTransform: {
        const std::string model = in["ModelName"];
        auto m = models.find(model);
        if (m == models.end()) {
          return Validation("Could not find model " + Quoted(Arn(c, "model", model)) + ".");
        }
        *images = ModelImages(m->second.body);
        break;
      }
      case JobKind::kTuning:
        if (in.contains("TrainingJobDefinition")) training_image(in["TrainingJobDefinition"]);
        for (const json& d : in.value("TrainingJobDefinitions", json::array())) training_image(d);
        break;
    }
    return std::nullopt;
  }

  static std::string FailureFor(JobKind kind, const std::string& image, int total) {
    switch (kind) {
      case JobKind::kTraining:
        return "AlgorithmError: the training container (image " + image +
               ") exited with a non-zero status";
      case JobKind::kProcessing:
        return "AlgorithmError: the processing container (image " + image +
               ") exited with a non-zero status";
      case JobKind::kTransform:
        return "ClientError: the model container (image " + image +
               ") did not pass the ping health check";
      case JobKind::kTuning:
        return "No training job succeeded after " + std::to_string(total) +
               " attempts. For additional details, please take a look at the training job "
               "failures by listing training jobs for the hyperparameter tuning job (image " +
               image + ").";
    }
    return "";
  }

  Reply CreateJob(JobKind kind, const json& in, Ctx& c) {
    const JobInfo& info = kJobInfo[int(kind)];
    const std::string name = in[info.name_member];
    const std::string arn = Arn(c, info.arn_type, name);
    auto& by_name = jobs[int(kind)];
    if (by_name.count(name)) {
      return Modeled("ResourceInUse", Capitalized(info.label) +
                                          " names must be unique within an AWS account and "
                                          "region, and a " +
                                          info.label + " with this name already exists (" + arn +
                                          ")");
    }
    std::vector<std::string> images;
    if (auto err = JobImages(kind, in, c, &images)) return *err;
    Job j;
    j.kind = int(kind);
    j.name = name;
    j.arn = arn;
    j.body = in;
    j.body.erase("Tags");
    MergeTags(j.tags, in.value("Tags", json::array()));
    j.created = j.modified = c.wall;
    if (info.start_member[0] != '\0') j.start = c.wall;
    if (kind == JobKind::kTuning) {
      const json& limits = in["HyperParameterTuningJobConfig"]["ResourceLimits"];
      j.total_jobs = std::max(1, limits.value("MaxNumberOfTrainingJobs", 1));
    }
    for (const std::string& image : images) {
      if (j.planned_failure.empty() && failing_images.count(image)) {
        j.planned_failure = FailureFor(kind, image, j.total_jobs);
      }
    }
    AddTransition(j, "Starting", c.wall, "Preparing the instances for training");
    j.active = true;
    j.due = Due(c);
    j.due_wall = DueWall(c);
    by_name.emplace(name, std::move(j));
    c.mutated = true;
    return Ok({{info.arn_member, arn}});
  }

  Job* FindJob(JobKind kind, const json& in) {
    auto& by_name = jobs[int(kind)];
    auto it = by_name.find(in[kJobInfo[int(kind)].name_member].get<std::string>());
    return it == by_name.end() ? nullptr : &it->second;
  }

  // What the real service answers for an unknown job name (not the modeled ResourceNotFound).
  static Reply NoJob() { return Validation("Requested resource not found."); }

  static json TuningCounters(const Job& j) {
    int n = j.total_jobs;
    json training = {{"Completed", 0},
                     {"InProgress", 0},
                     {"RetryableError", 0},
                     {"NonRetryableError", 0},
                     {"Stopped", 0}};
    json objective = {{"Succeeded", 0}, {"Pending", 0}, {"Failed", 0}};
    if (j.status == "InProgress" || j.status == "Stopping") {
      training["InProgress"] = n;
      objective["Pending"] = n;
    } else if (j.status == "Completed") {
      training["Completed"] = n;
      objective["Succeeded"] = n;
    } else if (j.status == "Failed") {
      training["NonRetryableError"] = n;
      objective["Failed"] = n;
    } else if (j.status == "Stopped") {
      training["Stopped"] = n;
      objective["Failed"] = n;
    }
    return {{"TrainingJobStatusCounters", training}, {"ObjectiveStatusCounters", objective}};
  }

  Reply DescribeJob(JobKind kind, const json& in, Ctx&) {
    Job* j = FindJob(kind, in);
    if (j == nullptr) return NoJob();
    const JobInfo& info = Info(*j);
    json out = FilterToShape(j->body, OutputShapeOf(std::string("Describe") + info.noun));
    out[info.name_member] = j->name;
    out[info.arn_member] = j->arn;
    out[info.status_member] = j->status;
    out["CreationTime"] = j->created;
    out["LastModifiedTime"] = j->modified;
    if (info.start_member[0] != '\0' && j->start > 0) out[info.start_member] = j->start;
    if (j->end > 0) out[info.end_member] = j->end;
    if (!j->failure_reason.empty()) out["FailureReason"] = j->failure_reason;
    switch (JobKind(j->kind)) {
      case JobKind::kTraining: {
        std::string path = j->body["OutputDataConfig"].value("S3OutputPath", "");
        while (!path.empty() && path.back() == '/') path.pop_back();
        out["ModelArtifacts"] = {
            {"S3ModelArtifacts", path + "/" + j->name + "/output/model.tar.gz"}};
        out["SecondaryStatus"] = j->secondary;
        out["SecondaryStatusTransitions"] = j->transitions;
        for (const char* flag : {"EnableNetworkIsolation", "EnableInterContainerTrafficEncryption",
                                 "EnableManagedSpotTraining"}) {
          if (!out.contains(flag)) out[flag] = false;
        }
        if (j->end > 0) {
          int seconds = std::max(1, int(std::lround(j->end - j->start)));
          out["TrainingTimeInSeconds"] = seconds;
          out["BillableTimeInSeconds"] = seconds;
        }
        break;
      }
      case JobKind::kProcessing:
        if (j->status == "Failed") out["ExitMessage"] = j->failure_reason;
        break;
      case JobKind::kTransform:
        break;
      case JobKind::kTuning:
        out.update(TuningCounters(*j));
        break;
    }
    // Only what the output shape declares (DescribeTransformJob has no LastModifiedTime).
    return Ok(FilterToShape(out, OutputShapeOf(std::string("Describe") + info.noun)));
  }

  Reply StopJob(JobKind kind, const json& in, Ctx& c) {
    Job* j = FindJob(kind, in);
    if (j == nullptr) return NoJob();
    if (j->status == "Stopping") return Ok();
    if (j->status != "InProgress") {
      return Validation("The request was rejected because the " + std::string(Info(*j).label) +
                        " is in status " + j->status + ".");
    }
    j->status = "Stopping";
    j->modified = c.wall;
    AddTransition(*j, "Stopping", c.wall, "Stopping the training job");
    j->active = true;
    j->due = Due(c);
    j->due_wall = DueWall(c);
    c.mutated = true;
    return Ok();
  }

  Reply ListJobs(JobKind kind, const json& in, Ctx&) {
    const JobInfo& info = kJobInfo[int(kind)];
    std::vector<ListItem> items;
    for (const auto& [name, j] : jobs[int(kind)]) {
      json s = {{info.name_member, name},
                {info.arn_member, j.arn},
                {"CreationTime", j.created},
                {"LastModifiedTime", j.modified},
                {info.status_member, j.status}};
      if (j.end > 0) s[info.end_member] = j.end;
      if (!j.failure_reason.empty() && kind != JobKind::kTraining) {
        s["FailureReason"] = j.failure_reason;
      }
      if (kind == JobKind::kTuning) {
        const json& config = j.body["HyperParameterTuningJobConfig"];
        s["Strategy"] = config["Strategy"];
        if (config.contains("ResourceLimits")) s["ResourceLimits"] = config["ResourceLimits"];
        s.update(TuningCounters(j));
      }
      items.push_back(
          {name, j.created, j.modified, j.status, FilterToShape(s, info.summary_shape)});
    }
    return ListPage(in, std::move(items), info.summaries_member);
  }

  Reply CreateTrainingJob(const json& in, Ctx& c) { return CreateJob(JobKind::kTraining, in, c); }
  Reply DescribeTrainingJob(const json& in, Ctx& c) {
    return DescribeJob(JobKind::kTraining, in, c);
  }
  Reply StopTrainingJob(const json& in, Ctx& c) { return StopJob(JobKind::kTraining, in, c); }
  Reply ListTrainingJobs(const json& in, Ctx& c) { return ListJobs(JobKind::kTraining, in, c); }
  Reply CreateProcessingJob(const json& in, Ctx& c) {
    return CreateJob(JobKind::kProcessing, in, c);
  }
  Reply DescribeProcessingJob(const json& in, Ctx& c) {
    return DescribeJob(JobKind::kProcessing, in, c);
  }
  Reply StopProcessingJob(const json& in, Ctx& c) { return StopJob(JobKind::kProcessing, in, c); }
  Reply ListProcessingJobs(const json& in, Ctx& c) { return ListJobs(JobKind::kProcessing, in, c); }
  Reply CreateTransformJob(const json& in, Ctx& c) { return CreateJob(JobKind::kTransform, in, c); }
  Reply DescribeTransformJob(const json& in, Ctx& c) {
    return DescribeJob(JobKind::kTransform, in, c);
  }
  Reply StopTransformJob(const json& in, Ctx& c) { return StopJob(JobKind::kTransform, in, c); }
  Reply ListTransformJobs(const json& in, Ctx& c) { return ListJobs(JobKind::kTransform, in, c); }
  Reply CreateTuningJob(const json& in, Ctx& c) { return CreateJob(JobKind::kTuning, in, c); }
  Reply DescribeTuningJob(const json& in, Ctx& c) { return DescribeJob(JobKind::kTuning, in, c); }
  Reply StopTuningJob(const json& in, Ctx& c) { return StopJob(JobKind::kTuning, in, c); }
  Reply ListTuningJobs(const json& in, Ctx& c) { return ListJobs(JobKind::kTuning, in, c); }

  // ----- persistence --------------------------------------------------------------------------

  static long long Remaining(SteadyTime due, SteadyTime now) {
    return std::max<long long>(0, std::chrono::duration_cast<milliseconds>(due - now).count());
  }

  json Export(SteadyTime now) const {
    json out = {{"format", "converge-sagemaker-emulator/1"}};
    json m = json::array();
    for (const auto& [name, s] : models) m.push_back(s);
    out["models"] = m;
    json cfgs = json::array();
    for (const auto& [name, s] : configs) cfgs.push_back(s);
    out["endpointConfigs"] = cfgs;
    json eps = json::array();
    for (const auto& [key, ep] : endpoints) {
      json e = {{"name", ep.name},
                {"arn", ep.arn},
                {"configName", ep.config_name},
                {"status", ep.status},
                {"created", ep.created},
                {"modified", ep.modified},
                {"variants", ep.variants},
                {"failureReason", ep.failure_reason},
                {"lastDeploymentConfig", ep.last_deployment_config},
                {"tags", ep.tags},
                {"phase", int(ep.phase)}};
      if (ep.phase != Phase::kNone) {
        e["remainingMs"] = Remaining(ep.due, now);
        e["dueWall"] = ep.due_wall;
        e["pendingConfig"] = ep.pending_config;
        e["pending"] = ep.pending;
        e["pendingFailure"] = ep.pending_failure;
        e["pendingStart"] = ep.pending_start;
      }
      eps.push_back(e);
    }
    out["endpoints"] = eps;
    json js = json::array();
    for (const auto& by_name : jobs) {
      for (const auto& [name, j] : by_name) {
        json e = {{"kind", kJobInfo[j.kind].noun},
                  {"name", j.name},
                  {"arn", j.arn},
                  {"body", j.body},
                  {"tags", j.tags},
                  {"status", j.status},
                  {"secondary", j.secondary},
                  {"transitions", j.transitions},
                  {"created", j.created},
                  {"modified", j.modified},
                  {"start", j.start},
                  {"end", j.end},
                  {"plannedFailure", j.planned_failure},
                  {"failureReason", j.failure_reason},
                  {"totalJobs", j.total_jobs}};
        if (j.active) {
          e["remainingMs"] = Remaining(j.due, now);
          e["dueWall"] = j.due_wall;
        }
        js.push_back(e);
      }
    }
    out["jobs"] = js;
    return out;
  }

  // Throws on malformed input (the caller turns it into a Status).
  void Import(const json& state, SteadyTime now) {
    if (!state.is_object()) throw std::runtime_error("SageMaker state must be an object");
    std::map<std::string, Static> new_models, new_configs;
    for (const json& s : state.value("models", json::array())) {
      Static m = s.get<Static>();
      new_models[m.name] = m;
    }
    for (const json& s : state.value("endpointConfigs", json::array())) {
      Static m = s.get<Static>();
      new_configs[m.name] = m;
    }
    std::map<std::string, Endpoint> new_endpoints;
    for (const json& e : state.value("endpoints", json::array())) {
      Endpoint ep;
      ep.name = e.at("name");
      ep.arn = e.at("arn");
      ep.config_name = e.at("configName");
      ep.status = e.at("status");
      ep.created = e.at("created");
      ep.modified = e.at("modified");
      ep.variants = e.at("variants").get<std::vector<Variant>>();
      ep.failure_reason = e.value("failureReason", "");
      ep.last_deployment_config = e.value("lastDeploymentConfig", json());
      ep.tags = e.value("tags", json::array());
      int phase = e.value("phase", 0);
      if (phase < 0 || phase > int(Phase::kDeleting)) throw std::runtime_error("bad phase");
      ep.phase = Phase(phase);
      if (ep.phase != Phase::kNone) {
        ep.due = now + milliseconds(e.value("remainingMs", 0LL));
        ep.due_wall = e.value("dueWall", 0.0);
        ep.pending_config = e.value("pendingConfig", "");
        ep.pending = e.value("pending", json::array()).get<std::vector<Variant>>();
        ep.pending_failure = e.value("pendingFailure", "");
        ep.pending_start = e.value("pendingStart", 0.0);
      }
      new_endpoints[Lower(ep.name)] = std::move(ep);
    }
    std::array<std::map<std::string, Job>, kJobKinds> new_jobs;
    for (const json& e : state.value("jobs", json::array())) {
      Job j;
      const std::string kind = e.at("kind");
      j.kind = -1;
      for (int k = 0; k < kJobKinds; ++k) {
        if (kind == kJobInfo[k].noun) j.kind = k;
      }
      if (j.kind < 0) throw std::runtime_error("unknown job kind " + kind);
      j.name = e.at("name");
      j.arn = e.at("arn");
      j.body = e.at("body");
      j.tags = e.value("tags", json::array());
      j.status = e.at("status");
      j.secondary = e.value("secondary", "");
      j.transitions = e.value("transitions", json::array());
      j.created = e.at("created");
      j.modified = e.at("modified");
      j.start = e.value("start", 0.0);
      j.end = e.value("end", 0.0);
      j.planned_failure = e.value("plannedFailure", "");
      j.failure_reason = e.value("failureReason", "");
      j.total_jobs = e.value("totalJobs", 1);
      if (e.contains("remainingMs")) {
        j.active = true;
        j.due = now + milliseconds(e["remainingMs"].get<long long>());
        j.due_wall = e.value("dueWall", 0.0);
      }
      new_jobs[j.kind][j.name] = std::move(j);
    }
    models = std::move(new_models);
    configs = std::move(new_configs);
    endpoints = std::move(new_endpoints);
    jobs = std::move(new_jobs);
  }
};

// ---------------------------------------------------------------------------------------------
// Emulator
// ---------------------------------------------------------------------------------------------

Emulator::Emulator(EmulatorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Emulator::~Emulator() = default;

void Emulator::Mount(httplib::Server& server, const std::string& prefix) {
  MountUnderPrefix(server, prefix, [this](const httplib::Request& req, httplib::Response& res,
                                          const std::string& rest) { Handle(req, res, rest); });
}

void Emulator::Handle(const httplib::Request& req, httplib::Response& res,
                      const std::string& path) {
  Reply reply;
  bool mutated = false;
  std::string request_id;
  std::function<void()> observer;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    request_id = impl_->NewRequestId();
    try {
      reply = impl_->Serve(req, path, &mutated);
    } catch (const std::exception& e) {
      reply = Error(500, "InternalFailure", std::string("converge sandbox: ") + e.what());
    }
    observer = impl_->observer;
  }
  res.status = reply.status;
  res.set_header("x-amzn-RequestId", request_id);
  res.set_content(reply.body.dump(-1, ' ', false, json::error_handler_t::replace), kContentType);
  if (mutated && observer) observer();
}

void Emulator::SetTransitionMs(int ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->transition_ms = std::max(0, ms);
}

int Emulator::TransitionMs() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->transition_ms;
}

void Emulator::SetFailingImages(std::vector<std::string> images) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->failing_images = std::set<std::string>(images.begin(), images.end());
}

std::vector<std::string> Emulator::FailingImages() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return {impl_->failing_images.begin(), impl_->failing_images.end()};
}

std::map<std::string, std::string> Emulator::AdminAliases() const {
  return {{"delay-ms", "transition-ms"}};
}

std::string Emulator::FaultTarget(const httplib::Request& req) const {
  return req.get_header_value("X-Amz-Target");
}

void Emulator::AnswerFault(int status, const std::string& body, httplib::Response& res) const {
  std::string text = body;
  if (text.empty()) {
    // An AWS error body: botocore reads the code from "__type".
    text = json{{"__type", status >= 500 ? "InternalFailure" : "ThrottlingException"},
                {"message", "converge sandbox: injected fault"}}
               .dump();
  }
  const bool is_json = !json::parse(text, nullptr, false).is_discarded();
  std::string request_id;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    request_id = impl_->NewRequestId();
  }
  res.status = status;
  res.set_header("x-amzn-RequestId", request_id);
  res.set_content(text, is_json ? kContentType : "text/plain");
}

void Emulator::MountAdmin(httplib::Server& server, const std::string& admin_prefix) {
  const std::string path = admin_prefix + "/requests";
  server.Get(path, [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(json{{"requests", Requests()}}.dump(), "application/json");
  });
  server.Delete(path, [this](const httplib::Request&, httplib::Response& res) {
    ClearRequests();
    res.set_content(json{{"requests", json::array()}}.dump(), "application/json");
  });
}

nlohmann::json Emulator::Requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return json(std::vector<json>(impl_->requests.begin(), impl_->requests.end()));
}

void Emulator::ClearRequests() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->requests.clear();
}

void Emulator::Reset() {
  std::function<void()> observer;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->models.clear();
    impl_->configs.clear();
    impl_->endpoints.clear();
    for (auto& by_name : impl_->jobs) by_name.clear();
    impl_->requests.clear();
    observer = impl_->observer;
  }
  if (observer) observer();
}

nlohmann::json Emulator::ExportState() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Export(impl_->options.now());
}

Status Emulator::ImportState(const nlohmann::json& state) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  try {
    impl_->Import(state, impl_->options.now());
  } catch (const std::exception& e) {
    return InvalidError(std::string("malformed SageMaker emulator state: ") + e.what());
  }
  return Status::Ok();
}

void Emulator::SetMutationObserver(std::function<void()> observer) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->observer = std::move(observer);
}

}  // namespace converge::sagemaker
