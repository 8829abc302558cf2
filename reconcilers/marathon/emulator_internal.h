// Internal to the Marathon emulator (reconcilers/marathon/emulator*.cc): the constants, types
// and helpers its files share, and the Impl they implement together. Not an API.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include "reconcilers/common/base64.h"
#include "reconcilers/common/emulator/mount.h"
#include "reconcilers/marathon/emulator.h"
#include "specs/base/clock.h"

namespace converge::marathon {
namespace emulator_detail {

using json = nlohmann::json;

using SteadyTime = std::chrono::steady_clock::time_point;

using WallTime = std::chrono::system_clock::time_point;

using WallMs = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

using std::chrono::milliseconds;

// Marathon keeps this many versions per app (zk_max_versions in raml/v2/examples/info.json).
constexpr size_t kMaxVersionsPerApp = 50;

// Random service ports come from [local_port_min, ...] (info.json: 10000..20000).
constexpr int kServicePortMin = 10000;

constexpr int kHostPortMin = 31000;

constexpr int kHostPortMax = 32000;

// Upstream messages (NOTES.md, raml/traits.raml, raml/v2/apps.raml).
constexpr char kLockedMessage[] =
    "App is locked by one or more deployments. Override with the option '?force=true'. View "
    "details at '/v2/deployments/<DEPLOYMENT_ID>'.";

constexpr char kUnauthorizedMessage[] = "Invalid username or password.";

constexpr char kIdPatternMessage[] =
    "must fully match regular expression "
    "'^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|"
    "(\\.|\\.\\.)$'";

constexpr char kNotAllowedPrefix[] =
    "object instance has properties which are not allowed by the schema: ";

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

Reply JsonReply(int status, const json& body);

Reply MessageReply(int status, const std::string& message);

Reply AppNotFound(const std::string& id);

struct Violation {
  std::string path;
  std::string error;
};

// error.Error details: one entry per path, errors in the order found.
json DetailsJson(const std::vector<Violation>& violations);

Reply InvalidJsonReply(const std::vector<Violation>& violations);

Reply NotValidReply(const std::vector<Violation>& violations);

Reply DeploymentResultReply(int status, const std::string& deployment_id,
                            const std::string& version);

std::string FormatNumber(double v);

std::string NewUuid(std::mt19937_64& rng);

std::string UrlDecode(const std::string& s);

// A query parameter read from the raw request target: httplib splits parameters at every '=',
// which would truncate label selectors such as `env==prod` sent unencoded.
std::optional<std::string> QueryParam(const httplib::Request& req, const std::string& name);

bool IsTrue(const httplib::Request& req, const char* name, bool default_value);

// One path segment of an id: labels of [a-z0-9-] separated by dots, no label starting or ending
// with '-' (Marathon's PathId rule; also "." and "..").
bool ValidSegment(std::string_view s);

// Resolves `raw` (absolute, or relative to the absolute group `base`) to a canonical absolute
// path such as "/a/b" ("/" for the root). nullopt when a segment is invalid or ".." climbs above
// the root.
std::optional<std::string> ResolvePath(const std::string& raw, const std::string& base);

std::string ParentOf(const std::string& id);

// "/a/b" -> "a_b" (the task-id prefix Marathon uses, raml/v2/examples/app_tasks.json).
std::string TaskPrefix(const std::string& id);

// `key notin (a,b)`; comma = AND; backslash escapes any character.

struct LabelSelector {
  enum Op { kExists, kEquals, kNotEquals, kIn, kNotIn };
  std::string key;
  Op op = kExists;
  std::vector<std::string> values;

  bool Matches(const json& labels) const {
    auto it = labels.find(key);
    if (it == labels.end()) return false;
    std::string value = it->is_string() ? it->get<std::string>() : it->dump();
    switch (op) {
      case kExists:
        return true;
      case kEquals:
        return value == values[0];
      case kNotEquals:
        return value != values[0];
      case kIn:
        return std::find(values.begin(), values.end(), value) != values.end();
      case kNotIn:
        return std::find(values.begin(), values.end(), value) == values.end();
    }
    return false;
  }
};

class SelectorScanner {
 public:
  explicit SelectorScanner(const std::string& s) : s_(s) {}
  void SkipSpaces() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }
  bool AtEnd() {
    SkipSpaces();
    return pos_ >= s_.size();
  }
  bool Consume(std::string_view token) {
    SkipSpaces();
    if (s_.compare(pos_, token.size(), token) != 0) return false;
    pos_ += token.size();
    return true;
  }
  // A key or value: label characters or backslash-escaped ones.
  std::string Word() {
    SkipSpaces();
    std::string out;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\\' && pos_ + 1 < s_.size()) {
        out += s_[pos_ + 1];
        pos_ += 2;
      } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
        out += c;
        ++pos_;
      } else {
        break;
      }
    }
    return out;
  }
  size_t pos() const { return pos_; }

 private:
  const std::string& s_;
  size_t pos_ = 0;
};

std::optional<LabelSelector> ParseSelector(const std::string& term);

std::optional<std::vector<LabelSelector>> ParseLabelQuery(const std::string& query);

// App validation (emulator_validation.cc). Bodies are checked against the schema `converge
// validate` uses (AppSchema(), reconcilers/marathon/validate.h); its violations are answered in
// Marathon's words: a wrong JSON type or a missing required member is a 400 "Invalid JSON" with
// Play-style `error.expected.*` / `error.path.missing` errors (as the upstream example body
// shows), anything else a 422 "Object is not valid". Rules Marathon checks that a schema cannot
// say (cmd and args together, unique port names, ...) are checked on the normalized definition.

// AppInfo-only members (raml/v2/types/app.raml AppInfo): a client may echo them back from a GET;
// they are read-only, so they are dropped from request bodies.
bool IsAppInfoOnly(const std::string& key);

class Checker {
 public:
  std::vector<Violation> type_errors;  // -> 400
  std::vector<Violation> invalid;      // -> 422

  void Invalid(const std::string& path, std::string error) {
    invalid.push_back({path.empty() ? "/" : path, std::move(error)});
  }
  static std::string Index(const std::string& path, size_t i) {
    return path + "(" + std::to_string(i) + ")";
  }
};

// Schema violations of an App body, in Marathon's words (type errors and the rest apart).
void CheckAppSchema(Checker& c, const json& app);

bool HostNetworking(const json& app);

// Rules on the normalized definition (defaults applied) that the schema cannot say -> 422.
void CheckAppRules(Checker& c, const json& app);

void SetDefault(json& obj, const char* key, json value);

// Applies Marathon's defaults (raml/v2/types/*.raml) and converts deprecated members (ports ->
// portDefinitions, uris -> fetch, docker.network/portMappings -> networks/portMappings).
// Dependencies are resolved against the app's group; an invalid one is reported in `c`.
void Normalize(json& app, Checker& c);

// The parts of a definition that make a change a "config change" (anything but instances and
// the server-assigned version fields).
json ConfigOf(const json& def);

enum class StepKind { kStart, kStop, kScale, kRestart, kNoop };

const char* StepKindName(StepKind k);

std::optional<StepKind> StepKindFromName(const std::string& s);

struct Task {
  std::string id;
  std::string version;
  std::string staged_at;
  std::string started_at;
  std::vector<int> host_ports;
};

struct HistoryEntry {
  std::string version;
  std::string dump;  // the App definition at that version, serialized
};

struct AppRecord {
  json def;                          // normalized App incl. version and versionInfo
  std::string dump;                  // def.dump(), cached for fast listing and saving
  std::deque<HistoryEntry> history;  // oldest first
  std::string deployment_id;         // running deployment affecting the app, empty when idle
  json last_task_failure;            // null when none
  std::vector<Task> tasks;

  void SetDef(json d) {
    def = std::move(d);
    dump = def.dump();
  }
};

struct AppChange {
  std::string app_id;
  StepKind kind = StepKind::kNoop;
  json before;  // the definition before the deployment; null when the app did not exist
  int from_running = 0;
};

struct Deployment {
  std::string id;
  std::string version;
  std::vector<AppChange> changes;
  SteadyTime start;
  milliseconds duration{0};

  SteadyTime end() const { return start + duration; }
  double Progress(SteadyTime now) const {
    if (duration.count() <= 0) return 1.0;
    double p = std::chrono::duration<double, std::milli>(now - start).count() /
               static_cast<double>(duration.count());
    return std::clamp(p, 0.0, 1.0);
  }
};

struct Counts {
  int staged = 0;
  int running = 0;
  int healthy = 0;
  int unhealthy = 0;
};

struct Embed {
  bool tasks = false;
  bool last_task_failure = false;
  bool readiness = false;
  bool task_stats = false;
};

Embed ParseEmbed(const httplib::Request& req);

json StepActions(const std::vector<AppChange>& changes, int step);

// Steps as in raml/v2/examples/deployment_steps.json: a new app is started, then scaled.
json StepsOf(const std::vector<AppChange>& changes);

}  // namespace emulator_detail

// The files of this one library share these names.
using namespace emulator_detail;  // NOLINT(build/namespaces)

struct Emulator::Impl {
  EmulatorOptions options;
  mutable std::mutex mu;
  std::map<std::string, AppRecord> apps;
  std::map<std::string, Deployment> deployments;
  std::set<std::pair<SteadyTime, std::string>> by_end;  // running deployments by end time
  std::set<std::string> failing_images;
  int transition_ms = 1000;
  std::map<int, std::string> service_ports;  // port -> owning app id
  int next_service_port = kServicePortMin;
  int next_host_port = kHostPortMin;
  WallMs last_version{};
  std::mt19937_64 rng{std::random_device{}()};
  std::function<void()> observer;

  std::string basic_header;  // "Basic <base64>" or empty

  explicit Impl(EmulatorOptions o) : options(std::move(o)) {
    if (!options.now) options.now = [] { return std::chrono::steady_clock::now(); };
    if (!options.wall_now) options.wall_now = [] { return std::chrono::system_clock::now(); };
    transition_ms = std::max(0, options.transition_ms);
    failing_images.insert(options.failing_images.begin(), options.failing_images.end());
    if (!options.basic_auth.empty()) basic_header = "Basic " + Base64Encode(options.basic_auth);
  }

  // time, ids (emulator_deployments.cc)
  std::string NextVersion();
  std::string Wall();
  bool IsBadImage(const json& def) const;
  const AppChange* ChangeFor(const AppRecord& app, const std::string& id,
                             const Deployment** deployment) const;
  Counts CountsOf(const std::string& id, const AppRecord& app, SteadyTime now) const;
  bool Stuck(const Deployment& d) const;

  // Tasks failing forever get a lastTaskFailure, as Marathon reports for crash-looping tasks.
  void RecordFailureIfFailing(const std::string& id, AppRecord& app);

  // Finishes every deployment whose time is up (unless it waits for health forever).
  bool Advance(SteadyTime now);

  void Finish(const Deployment& d);

  // Cancels a running deployment without rollback: apps keep their current definitions.
  void Cancel(const std::string& deployment_id);

  std::string StartDeployment(std::vector<AppChange> changes, const std::string& version,
                              SteadyTime now);
  json DeploymentJson(const Deployment& d, SteadyTime now) const;

  // 409 when one of `ids` is locked by a running deployment and !force; with force the locking
  // deployments are cancelled.
  std::optional<Reply> CheckLocks(const std::vector<std::string>& ids, bool force);

  // ports (emulator_apps.cc)
  int AllocateServicePort(const std::string& app_id);
  static std::vector<json*> ServicePortSlots(json& def);
  static std::vector<int> ServicePortsOf(const json& def);

  // Port 0 gets a cluster-unique service port; an update keeps the port previously assigned at
  // the same index.
  void AssignServicePorts(const std::string& id, json& def, const json* previous);

  void ClaimServicePorts(const std::string& id, const json& def);
  void RemoveApp(std::map<std::string, AppRecord>::iterator it);
  void StoreNewVersion(AppRecord& app, json def);
  struct Prepared {
    json def;
    std::optional<Reply> error;
  };

  // Validates a request body and builds the normalized definition for app `id` (empty: take the
  // id from the body). With `existing` and `partial`, members missing from the body keep their
  // current values.
  Prepared Prepare(json body, const std::string& url_id, const json* existing, bool partial);

  void SetVersionInfo(json& def, const std::string& version, const json* previous, bool scale_only);

  // Works out what an update of app `id` (existing or not) to `def` means and applies the new
  // definition. Must be called after lock checks.
  AppChange ApplyDefinition(const std::string& id, json def, const std::string& version,
                            SteadyTime now, bool restore_as_is = false);

  // rendering (emulator_tasks.cc)
  Task NewTask(const std::string& id, const AppRecord& app, bool running);
  void SyncTasks(const std::string& id, AppRecord& app, const Counts& counts);
  json TaskJson(const std::string& id, const AppRecord& app, const Task& t, size_t index,
                const Counts& counts) const;
  json TasksJson(const std::string& id, AppRecord& app, const Counts& counts);
  static json TaskStatsJson(const Counts& c);

  // AppInfo = the stored definition plus status members, built by string concatenation so
  // listing 10,000 apps stays cheap.
  void AppendAppInfo(std::string& out, const std::string& id, AppRecord& app, const Embed& embed,
                     SteadyTime now);

  // handlers (emulator_app_routes.cc)
  Reply ListApps(const httplib::Request& req, SteadyTime now);
  Reply GetApp(const std::string& id, const httplib::Request& req, SteadyTime now);
  Reply CreateApp(const json& body, SteadyTime now, bool* mutated);

  // PUT/PATCH of one app. `create_allowed` is false for PATCH.
  Reply UpdateApp(const std::string& id, const json& body, bool partial, bool force,
                  bool create_allowed, SteadyTime now, bool* mutated);

  // PUT /v2/apps and PATCH /v2/apps: several apps, one deployment.
  Reply UpdateApps(const json& body, bool partial, bool force, bool create_allowed, SteadyTime now,
                   bool* mutated);

  Reply DeleteApp(const std::string& id, bool force, SteadyTime now, bool* mutated);
  Reply RestartApp(const std::string& id, bool force, SteadyTime now, bool* mutated);

  // handlers (emulator_routes.cc)
  Reply Versions(const std::string& id);
  Reply Version(const std::string& id, const std::string& version);

  // handlers (emulator_tasks.cc)
  Reply Tasks(const std::string& id, SteadyTime now);

  // DELETE /v2/apps/{id}/tasks[/{taskId}] (?scale=, ?host=).
  Reply KillTasks(const std::string& id, const std::string& task_id, const httplib::Request& req,
                  SteadyTime now, bool* mutated);

  // handlers (emulator_deployments.cc)
  Reply ListDeployments(SteadyTime now);
  Reply DeleteDeployment(const std::string& deployment_id, bool force, SteadyTime now,
                         bool* mutated);

  // handlers (emulator_routes.cc)
  Reply Info(const httplib::Request& req) const;
  bool Authorized(const httplib::Request& req) const;
  static std::optional<json> ParseBody(const std::string& body, Reply* error);

  // Splits "/a/b/versions/v" style remainders of /v2/apps/... into (app id, suffix, argument).
  struct AppRoute {
    std::string id;
    std::string suffix;  // "", "versions", "tasks", "restart"
    std::string arg;     // version or task id
  };

  static AppRoute ParseAppRoute(const std::string& rest);
  static std::string CanonicalUrlId(const std::string& raw);
  Reply Route(const httplib::Request& req, const std::string& path, SteadyTime now, bool* mutated);

  // persistence (emulator_persistence.cc)

  // The state as JSON text, assembled from the cached serializations so that saving 10,000 apps
  // holds the lock only for a few milliseconds.
  std::string Export(SteadyTime now) const;

  // Throws nlohmann exceptions on malformed input; the caller catches them.
  Status Import(const json& state, SteadyTime now);
};

}  // namespace converge::marathon
