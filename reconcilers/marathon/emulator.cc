#include "reconcilers/marathon/emulator.h"

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

#include "specs/base/clock.h"
#include "reconcilers/common/base64.h"
#include "reconcilers/common/emulator/mount.h"

namespace converge::marathon {
namespace {

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

// ---------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

Reply JsonReply(int status, const json& body) {
  Reply r;
  r.status = status;
  r.body = body.dump();
  return r;
}

Reply MessageReply(int status, const std::string& message) {
  return JsonReply(status, json{{"message", message}});
}

Reply AppNotFound(const std::string& id) {
  return MessageReply(404, "App '" + id + "' does not exist");
}

struct Violation {
  std::string path;
  std::string error;
};

// error.Error details: one entry per path, errors in the order found.
json DetailsJson(const std::vector<Violation>& violations) {
  json details = json::array();
  std::map<std::string, size_t> index;
  for (const Violation& v : violations) {
    auto [it, inserted] = index.emplace(v.path, details.size());
    if (inserted) details.push_back({{"path", v.path}, {"errors", json::array()}});
    details[it->second]["errors"].push_back(v.error);
  }
  return details;
}

Reply InvalidJsonReply(const std::vector<Violation>& violations) {
  return JsonReply(400, {{"message", "Invalid JSON"}, {"details", DetailsJson(violations)}});
}

Reply NotValidReply(const std::vector<Violation>& violations) {
  return JsonReply(422, {{"message", "Object is not valid"}, {"details", DetailsJson(violations)}});
}

Reply DeploymentResultReply(int status, const std::string& deployment_id,
                            const std::string& version) {
  Reply r = JsonReply(status, {{"deploymentId", deployment_id}, {"version", version}});
  r.headers.emplace_back("Marathon-Deployment-Id", deployment_id);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

std::string FormatNumber(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string NewUuid(std::mt19937_64& rng) {
  uint64_t hi = rng();
  uint64_t lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", uint32_t(hi >> 32),
                uint32_t((hi >> 16) & 0xffff), uint32_t(hi & 0xffff), uint32_t(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

std::string UrlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// A query parameter read from the raw request target: httplib splits parameters at every '=',
// which would truncate label selectors such as `env==prod` sent unencoded.
std::optional<std::string> QueryParam(const httplib::Request& req, const std::string& name) {
  size_t q = req.target.find('?');
  if (q == std::string::npos) return std::nullopt;
  std::string_view query = std::string_view(req.target).substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    size_t eq = part.find('=');
    if (UrlDecode(std::string(part.substr(0, eq))) == name) {
      return eq == std::string_view::npos ? "" : UrlDecode(std::string(part.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool IsTrue(const httplib::Request& req, const char* name, bool default_value) {
  if (!req.has_param(name)) return default_value;
  std::string v = req.get_param_value(name);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return default_value;
}

// One path segment of an id: labels of [a-z0-9-] separated by dots, no label starting or ending
// with '-' (Marathon's PathId rule; also "." and "..").
bool ValidSegment(std::string_view s) {
  if (s == "." || s == "..") return true;
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view label =
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Resolves `raw` (absolute, or relative to the absolute group `base`) to a canonical absolute
// path such as "/a/b" ("/" for the root). nullopt when a segment is invalid or ".." climbs above
// the root.
std::optional<std::string> ResolvePath(const std::string& raw, const std::string& base) {
  std::vector<std::string> parts;
  auto push_all = [&parts](const std::string& s) -> bool {
    size_t start = 0;
    while (start <= s.size()) {
      size_t slash = s.find('/', start);
      std::string seg =
          s.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      if (!seg.empty() && seg != ".") {
        if (!ValidSegment(seg)) return false;
        if (seg == "..") {
          if (parts.empty()) return false;
          parts.pop_back();
        } else {
          parts.push_back(seg);
        }
      }
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    return true;
  };
  if (raw.empty() || raw[0] != '/') {
    if (!push_all(base)) return std::nullopt;
  }
  if (!push_all(raw)) return std::nullopt;
  std::string out;
  for (const std::string& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::string ParentOf(const std::string& id) {
  size_t slash = id.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return id.substr(0, slash);
}

// "/a/b" -> "a_b" (the task-id prefix Marathon uses, raml/v2/examples/app_tasks.json).
std::string TaskPrefix(const std::string& id) {
  std::string s = id.size() > 1 ? id.substr(1) : id;
  std::replace(s.begin(), s.end(), '/', '_');
  return s;
}

// ---------------------------------------------------------------------------------------------
// Label selectors (GET /v2/apps?label=...): `key`, `key==v`, `key!=v`, `key in (a,b)`,
// `key notin (a,b)`; comma = AND; backslash escapes any character.
// ---------------------------------------------------------------------------------------------

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

std::optional<LabelSelector> ParseSelector(const std::string& term) {
  SelectorScanner sc(term);
  LabelSelector sel;
  sel.key = sc.Word();
  if (sel.key.empty()) return std::nullopt;
  if (sc.AtEnd()) return sel;
  auto parse_set = [&]() -> bool {
    if (!sc.Consume("(")) return false;
    while (true) {
      sel.values.push_back(sc.Word());
      if (sc.Consume(")")) return true;
      if (!sc.Consume(",")) return false;
    }
  };
  if (sc.Consume("==")) {
    sel.op = LabelSelector::kEquals;
    sel.values.push_back(sc.Word());
  } else if (sc.Consume("!=")) {
    sel.op = LabelSelector::kNotEquals;
    sel.values.push_back(sc.Word());
  } else if (sc.Consume("notin")) {
    sel.op = LabelSelector::kNotIn;
    if (!parse_set()) return std::nullopt;
  } else if (sc.Consume("in")) {
    sel.op = LabelSelector::kIn;
    if (!parse_set()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (!sc.AtEnd()) return std::nullopt;
  return sel;
}

std::optional<std::vector<LabelSelector>> ParseLabelQuery(const std::string& query) {
  std::vector<std::string> terms;
  std::string current;
  int depth = 0;
  for (size_t i = 0; i < query.size(); ++i) {
    char c = query[i];
    if (c == '\\' && i + 1 < query.size()) {
      current += c;
      current += query[++i];
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      terms.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  terms.push_back(current);
  std::vector<LabelSelector> out;
  for (const std::string& t : terms) {
    auto sel = ParseSelector(t);
    if (!sel) return std::nullopt;
    out.push_back(std::move(*sel));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// App validation (jsonschema-1.7/AppDefinition.json, raml/v2/types/app.raml).
// Wrong JSON types are a 400 "Invalid JSON" with Play-style `error.expected.*` errors (as the
// upstream example body shows); rule violations are a 422 "Object is not valid".
// ---------------------------------------------------------------------------------------------

enum class JType { kString, kNumber, kInteger, kBoolean, kArray, kObject, kStringOrObject };

bool HasType(const json& v, JType t) {
  switch (t) {
    case JType::kString:
      return v.is_string();
    case JType::kNumber:
      return v.is_number();
    case JType::kInteger:
      if (v.is_number_integer()) return true;
      if (v.is_number_float()) {
        double d = v.get<double>();
        return std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 2147483648.0;
      }
      return false;
    case JType::kBoolean:
      return v.is_boolean();
    case JType::kArray:
      return v.is_array();
    case JType::kObject:
      return v.is_object();
    case JType::kStringOrObject:
      return v.is_string() || v.is_object();
  }
  return false;
}

const char* ExpectedError(const json& v, JType t) {
  switch (t) {
    case JType::kString:
      return "error.expected.jsstring";
    case JType::kNumber:
      return "error.expected.jsnumber";
    case JType::kInteger:
      return v.is_number() ? "error.expected.int" : "error.expected.jsnumber";
    case JType::kBoolean:
      return "error.expected.jsboolean";
    case JType::kArray:
      return "error.expected.jsarray";
    case JType::kObject:
    case JType::kStringOrObject:
      return "error.expected.jsobject";
  }
  return "error.expected.jsvalue";
}

struct FieldSpec {
  const char* name;
  JType type;
};

// Every member of App in the 1.7 JSON schema, plus the ones the newer RAML App adds (check, tty,
// role, resourceLimits).
const std::vector<FieldSpec>& AppFields() {
  static const std::vector<FieldSpec> kFields = {
      {"id", JType::kString},
      {"acceptedResourceRoles", JType::kArray},
      {"args", JType::kArray},
      {"backoffFactor", JType::kNumber},
      {"backoffSeconds", JType::kInteger},
      {"cmd", JType::kString},
      {"constraints", JType::kArray},
      {"container", JType::kObject},
      {"cpus", JType::kNumber},
      {"dependencies", JType::kArray},
      {"disk", JType::kNumber},
      {"env", JType::kObject},
      {"executor", JType::kString},
      {"executorResources", JType::kObject},
      {"fetch", JType::kArray},
      {"gpus", JType::kInteger},
      {"healthChecks", JType::kArray},
      {"instances", JType::kInteger},
      {"ipAddress", JType::kObject},
      {"killSelection", JType::kString},
      {"labels", JType::kObject},
      {"maxLaunchDelaySeconds", JType::kInteger},
      {"mem", JType::kNumber},
      {"networks", JType::kArray},
      {"portDefinitions", JType::kArray},
      {"ports", JType::kArray},
      {"readinessChecks", JType::kArray},
      {"requirePorts", JType::kBoolean},
      {"residency", JType::kObject},
      {"secrets", JType::kObject},
      {"taskKillGracePeriodSeconds", JType::kInteger},
      {"unreachableStrategy", JType::kStringOrObject},
      {"upgradeStrategy", JType::kObject},
      {"uris", JType::kArray},
      {"user", JType::kString},
      {"version", JType::kString},
      {"versionInfo", JType::kObject},
      {"check", JType::kObject},
      {"tty", JType::kBoolean},
      {"role", JType::kString},
      {"resourceLimits", JType::kObject},
  };
  return kFields;
}

// AppInfo-only members (raml/v2/types/app.raml AppInfo): a client may echo them back from a GET;
// they are read-only, so they are dropped from request bodies.
bool IsAppInfoOnly(const std::string& key) {
  static const std::set<std::string> kKeys = {
      "tasksStaged", "tasksRunning", "tasksHealthy",    "tasksUnhealthy",       "deployments",
      "tasks",       "tasksStats",   "lastTaskFailure", "readinessCheckResults"};
  return kKeys.count(key) > 0;
}

class Checker {
 public:
  std::vector<Violation> type_errors;  // -> 400
  std::vector<Violation> invalid;      // -> 422

  bool Type(const json& v, JType t, const std::string& path) {
    if (HasType(v, t)) return true;
    type_errors.push_back({path, ExpectedError(v, t)});
    return false;
  }
  void Invalid(const std::string& path, std::string error) {
    invalid.push_back({path.empty() ? "/" : path, std::move(error)});
  }
  void AtLeast(const json& v, double min, const std::string& path) {
    if (v.is_number() && v.get<double>() < min) Invalid(path, "is less than " + FormatNumber(min));
  }
  void AtMost(const json& v, double max, const std::string& path) {
    if (v.is_number() && v.get<double>() > max) {
      Invalid(path, "is greater than " + FormatNumber(max));
    }
  }
  void OneOf(const json& v, std::initializer_list<const char*> allowed, const std::string& path) {
    if (!v.is_string()) return;
    std::string s = v.get<std::string>();
    std::string list;
    for (const char* a : allowed) {
      if (s == a) return;
      list += list.empty() ? a : std::string(", ") + a;
    }
    Invalid(path, "is not one of (" + list + ")");
  }

  // Type-checks the listed members of `obj`; with `closed` other members are reported (the
  // schema's additionalProperties: false).
  void Members(const json& obj, const std::string& path, const std::vector<FieldSpec>& fields,
               bool closed) {
    std::vector<std::string> unknown;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const FieldSpec* spec = nullptr;
      for (const FieldSpec& f : fields) {
        if (it.key() == f.name) spec = &f;
      }
      if (spec == nullptr) {
        unknown.push_back(it.key());
      } else {
        Type(it.value(), spec->type, path + "/" + it.key());
      }
    }
    if (closed && !unknown.empty()) Invalid(path, kNotAllowedPrefix + json(unknown).dump());
  }

  // Type-checks every item of an array.
  void Items(const json& arr, const std::string& path, JType t) {
    for (size_t i = 0; i < arr.size(); ++i) Type(arr[i], t, Index(path, i));
  }

  static std::string Index(const std::string& path, size_t i) {
    return path + "(" + std::to_string(i) + ")";
  }
};

bool Has(const json& obj, const char* key, JType t) {
  auto it = obj.find(key);
  return it != obj.end() && HasType(*it, t);
}

void CheckStringMap(Checker& c, const json& obj, const std::string& path) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    c.Type(it.value(), JType::kString, path + "/" + it.key());
  }
}

void CheckPortMappings(Checker& c, const json& mappings, const std::string& path) {
  static const std::vector<FieldSpec> kFields = {
      {"containerPort", JType::kInteger}, {"hostPort", JType::kInteger},
      {"labels", JType::kObject},         {"name", JType::kString},
      {"networkNames", JType::kArray},    {"protocol", JType::kString},
      {"servicePort", JType::kInteger}};
  for (size_t i = 0; i < mappings.size(); ++i) {
    std::string p = Checker::Index(path, i);
    if (!c.Type(mappings[i], JType::kObject, p)) continue;
    c.Members(mappings[i], p, kFields, true);
    if (Has(mappings[i], "labels", JType::kObject)) {
      CheckStringMap(c, mappings[i]["labels"], p + "/labels");
    }
  }
}

void CheckContainerTypes(Checker& c, const json& container) {
  static const std::vector<FieldSpec> kContainer = {
      {"type", JType::kString},      {"docker", JType::kObject}, {"appc", JType::kObject},
      {"linuxInfo", JType::kObject}, {"volumes", JType::kArray}, {"portMappings", JType::kArray}};
  static const std::vector<FieldSpec> kDocker = {
      {"credential", JType::kObject},      {"pullConfig", JType::kObject},
      {"forcePullImage", JType::kBoolean}, {"image", JType::kString},
      {"network", JType::kString},         {"parameters", JType::kArray},
      {"portMappings", JType::kArray},     {"privileged", JType::kBoolean}};
  c.Members(container, "/container", kContainer, true);
  if (Has(container, "docker", JType::kObject)) {
    const json& docker = container["docker"];
    c.Members(docker, "/container/docker", kDocker, true);
    if (Has(docker, "parameters", JType::kArray)) {
      const json& params = docker["parameters"];
      for (size_t i = 0; i < params.size(); ++i) {
        std::string p = Checker::Index("/container/docker/parameters", i);
        if (!c.Type(params[i], JType::kObject, p)) continue;
        c.Members(params[i], p, {{"key", JType::kString}, {"value", JType::kString}}, true);
      }
    }
    if (Has(docker, "portMappings", JType::kArray)) {
      CheckPortMappings(c, docker["portMappings"], "/container/docker/portMappings");
    }
  }
  if (Has(container, "portMappings", JType::kArray)) {
    CheckPortMappings(c, container["portMappings"], "/container/portMappings");
  }
  if (Has(container, "volumes", JType::kArray)) {
    c.Items(container["volumes"], "/container/volumes", JType::kObject);
  }
}

void CheckHealthCheckTypes(Checker& c, const json& checks) {
  static const std::vector<FieldSpec> kFields = {{"command", JType::kObject},
                                                 {"gracePeriodSeconds", JType::kInteger},
                                                 {"ignoreHttp1xx", JType::kBoolean},
                                                 {"intervalSeconds", JType::kInteger},
                                                 {"maxConsecutiveFailures", JType::kInteger},
                                                 {"path", JType::kString},
                                                 {"port", JType::kInteger},
                                                 {"portIndex", JType::kInteger},
                                                 {"protocol", JType::kString},
                                                 {"ipProtocol", JType::kString},
                                                 {"timeoutSeconds", JType::kInteger},
                                                 {"delaySeconds", JType::kInteger}};
  for (size_t i = 0; i < checks.size(); ++i) {
    std::string p = Checker::Index("/healthChecks", i);
    if (!c.Type(checks[i], JType::kObject, p)) continue;
    c.Members(checks[i], p, kFields, true);
  }
}

void CheckReadinessCheckTypes(Checker& c, const json& checks) {
  static const std::vector<FieldSpec> kFields = {{"name", JType::kString},
                                                 {"protocol", JType::kString},
                                                 {"path", JType::kString},
                                                 {"portName", JType::kString},
                                                 {"intervalSeconds", JType::kInteger},
                                                 {"timeoutSeconds", JType::kInteger},
                                                 {"httpStatusCodesForReady", JType::kArray},
                                                 {"preserveLastResponse", JType::kBoolean}};
  for (size_t i = 0; i < checks.size(); ++i) {
    std::string p = Checker::Index("/readinessChecks", i);
    if (!c.Type(checks[i], JType::kObject, p)) continue;
    c.Members(checks[i], p, kFields, true);
    if (Has(checks[i], "httpStatusCodesForReady", JType::kArray)) {
      c.Items(checks[i]["httpStatusCodesForReady"], p + "/httpStatusCodesForReady",
              JType::kInteger);
    }
  }
}

// Type checks of an App body (400 on failure) and the unknown-member check (422).
void CheckAppTypes(Checker& c, const json& app) {
  c.Members(app, "", AppFields(), true);
  for (const char* key : {"args", "acceptedResourceRoles", "uris", "dependencies"}) {
    if (Has(app, key, JType::kArray)) c.Items(app[key], std::string("/") + key, JType::kString);
  }
  if (Has(app, "ports", JType::kArray)) c.Items(app["ports"], "/ports", JType::kInteger);
  if (Has(app, "labels", JType::kObject)) CheckStringMap(c, app["labels"], "/labels");
  if (Has(app, "env", JType::kObject)) {
    for (auto it = app["env"].begin(); it != app["env"].end(); ++it) {
      std::string p = "/env/" + it.key();
      if (it->is_object()) {
        if (!Has(*it, "secret", JType::kString)) c.Type(json(), JType::kString, p + "/secret");
      } else {
        c.Type(*it, JType::kString, p);
      }
    }
  }
  if (Has(app, "secrets", JType::kObject)) {
    for (auto it = app["secrets"].begin(); it != app["secrets"].end(); ++it) {
      std::string p = "/secrets/" + it.key();
      if (c.Type(*it, JType::kObject, p)) {
        c.Members(*it, p, {{"source", JType::kString}}, true);
      }
    }
  }
  if (Has(app, "constraints", JType::kArray)) {
    const json& cs = app["constraints"];
    for (size_t i = 0; i < cs.size(); ++i) {
      std::string p = Checker::Index("/constraints", i);
      if (c.Type(cs[i], JType::kArray, p)) c.Items(cs[i], p, JType::kString);
    }
  }
  if (Has(app, "container", JType::kObject)) CheckContainerTypes(c, app["container"]);
  if (Has(app, "healthChecks", JType::kArray)) CheckHealthCheckTypes(c, app["healthChecks"]);
  if (Has(app, "readinessChecks", JType::kArray)) {
    CheckReadinessCheckTypes(c, app["readinessChecks"]);
  }
  if (Has(app, "portDefinitions", JType::kArray)) {
    const json& pds = app["portDefinitions"];
    for (size_t i = 0; i < pds.size(); ++i) {
      std::string p = Checker::Index("/portDefinitions", i);
      if (!c.Type(pds[i], JType::kObject, p)) continue;
      c.Members(pds[i], p,
                {{"port", JType::kInteger},
                 {"labels", JType::kObject},
                 {"name", JType::kString},
                 {"protocol", JType::kString}},
                true);
      if (Has(pds[i], "labels", JType::kObject)) CheckStringMap(c, pds[i]["labels"], p + "/labels");
    }
  }
  if (Has(app, "fetch", JType::kArray)) {
    const json& fetch = app["fetch"];
    for (size_t i = 0; i < fetch.size(); ++i) {
      std::string p = Checker::Index("/fetch", i);
      if (!c.Type(fetch[i], JType::kObject, p)) continue;
      c.Members(fetch[i], p,
                {{"uri", JType::kString},
                 {"executable", JType::kBoolean},
                 {"extract", JType::kBoolean},
                 {"cache", JType::kBoolean},
                 {"destPath", JType::kString}},
                true);
      if (!fetch[i].contains("uri")) c.type_errors.push_back({p + "/uri", "error.path.missing"});
    }
  }
  if (Has(app, "upgradeStrategy", JType::kObject)) {
    c.Members(app["upgradeStrategy"], "/upgradeStrategy",
              {{"minimumHealthCapacity", JType::kNumber}, {"maximumOverCapacity", JType::kNumber}},
              true);
  }
  if (Has(app, "unreachableStrategy", JType::kObject)) {
    c.Members(app["unreachableStrategy"], "/unreachableStrategy",
              {{"inactiveAfterSeconds", JType::kInteger}, {"expungeAfterSeconds", JType::kInteger}},
              true);
  }
  if (Has(app, "networks", JType::kArray)) {
    const json& nets = app["networks"];
    for (size_t i = 0; i < nets.size(); ++i) {
      std::string p = Checker::Index("/networks", i);
      if (!c.Type(nets[i], JType::kObject, p)) continue;
      c.Members(nets[i], p,
                {{"name", JType::kString}, {"mode", JType::kString}, {"labels", JType::kObject}},
                true);
    }
  }
}

bool HostNetworking(const json& app) {
  auto it = app.find("networks");
  if (it == app.end() || !it->is_array()) return true;
  for (const json& n : *it) {
    if (n.value("mode", "container") != "host") return false;
  }
  return true;
}

bool PortNameValid(const std::string& name) {
  if (name.empty() || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
  });
}

bool ExecutorValid(const std::string& e) {
  if (e.empty() || e == "//cmd") return true;
  // ^/?[^/]+(/[^/]+)*$
  std::string_view s = e;
  if (s.front() == '/') s.remove_prefix(1);
  if (s.empty() || s.back() == '/') return false;
  return s.find("//") == std::string_view::npos && s.front() != '/';
}

void CheckPortMappingRules(Checker& c, const json& mappings, const std::string& path) {
  std::set<std::string> names;
  for (size_t i = 0; i < mappings.size(); ++i) {
    const json& m = mappings[i];
    std::string p = Checker::Index(path, i);
    for (const char* k : {"containerPort", "hostPort", "servicePort"}) {
      if (m.contains(k)) {
        c.AtLeast(m[k], 0, p + "/" + k);
        c.AtMost(m[k], 65535, p + "/" + k);
      }
    }
    if (m.contains("protocol")) c.OneOf(m["protocol"], {"tcp", "udp", "udp,tcp"}, p + "/protocol");
    if (m.contains("name")) {
      std::string n = m["name"].get<std::string>();
      if (!PortNameValid(n))
        c.Invalid(p + "/name", "must fully match regular expression '^[a-z][a-z0-9-]*$'");
      if (!names.insert(n).second) c.Invalid(path, "Port names must be unique.");
    }
  }
}

// Rules on the normalized definition (defaults applied) -> 422.
void CheckAppRules(Checker& c, const json& app) {
  bool has_cmd = app.contains("cmd");
  bool has_args = app.contains("args") && !app["args"].empty();
  if (has_cmd && app["cmd"].get<std::string>().empty()) c.Invalid("/cmd", "must not be empty");
  if (has_cmd && has_args) c.Invalid("/", "must not specify both cmd and args");
  if (!has_cmd && !has_args && !app.contains("container")) {
    c.Invalid("/",
              "AppDefinition must either contain one of 'cmd' or 'args', and/or a "
              "'container'.");
  }
  c.AtLeast(app["instances"], 0, "/instances");
  c.AtLeast(app["cpus"], 0.001, "/cpus");
  c.AtLeast(app["mem"], 0, "/mem");
  c.AtLeast(app["disk"], 0, "/disk");
  c.AtLeast(app["gpus"], 0, "/gpus");
  c.AtLeast(app["backoffSeconds"], 0, "/backoffSeconds");
  c.AtLeast(app["backoffFactor"], 1.0, "/backoffFactor");
  c.AtLeast(app["maxLaunchDelaySeconds"], 0, "/maxLaunchDelaySeconds");
  if (app.contains("taskKillGracePeriodSeconds")) {
    c.AtLeast(app["taskKillGracePeriodSeconds"], 0, "/taskKillGracePeriodSeconds");
  }
  for (const char* k : {"minimumHealthCapacity", "maximumOverCapacity"}) {
    std::string p = std::string("/upgradeStrategy/") + k;
    c.AtLeast(app["upgradeStrategy"][k], 0, p);
    c.AtMost(app["upgradeStrategy"][k], 1, p);
  }
  c.OneOf(app["killSelection"], {"YOUNGEST_FIRST", "OLDEST_FIRST"}, "/killSelection");
  const json& unreachable = app["unreachableStrategy"];
  if (unreachable.is_string()) {
    c.OneOf(unreachable, {"disabled"}, "/unreachableStrategy");
  } else {
    c.AtLeast(unreachable["inactiveAfterSeconds"], 0, "/unreachableStrategy/inactiveAfterSeconds");
    c.AtLeast(unreachable["expungeAfterSeconds"], 0, "/unreachableStrategy/expungeAfterSeconds");
    if (unreachable["expungeAfterSeconds"].get<double>() <
        unreachable["inactiveAfterSeconds"].get<double>()) {
      c.Invalid("/unreachableStrategy/expungeAfterSeconds",
                "must be greater than or equal to inactiveAfterSeconds");
    }
  }
  if (!ExecutorValid(app["executor"].get<std::string>())) {
    c.Invalid("/executor", "must fully match regular expression '^(//cmd)|(/?[^/]+(/[^/]+)*)|$'");
  }
  const json& constraints = app["constraints"];
  for (size_t i = 0; i < constraints.size(); ++i) {
    std::string p = Checker::Index("/constraints", i);
    const json& con = constraints[i];
    if (con.size() < 2 || con.size() > 3) {
      c.Invalid(p, "Each constraint must have either 2 or 3 fields");
      continue;
    }
    c.OneOf(con[1], {"UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS"},
            p + "(1)");
  }
  const json& checks = app["healthChecks"];
  for (size_t i = 0; i < checks.size(); ++i) {
    std::string p = Checker::Index("/healthChecks", i);
    const json& hc = checks[i];
    c.OneOf(hc["protocol"],
            {"HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"},
            p + "/protocol");
    c.OneOf(hc["ipProtocol"], {"IPv4", "IPv6"}, p + "/ipProtocol");
    for (const char* k : {"gracePeriodSeconds", "intervalSeconds", "maxConsecutiveFailures",
                          "timeoutSeconds", "delaySeconds", "portIndex"}) {
      if (hc.contains(k)) c.AtLeast(hc[k], 0, p + "/" + k);
    }
    if (hc.contains("port")) {
      c.AtLeast(hc["port"], 0, p + "/port");
      c.AtMost(hc["port"], 65535, p + "/port");
    }
    if (hc["protocol"] == "COMMAND" && !hc.contains("command")) {
      c.Invalid(p + "/command", "is required for protocol COMMAND");
    }
  }
  const json& readiness = app["readinessChecks"];
  for (size_t i = 0; i < readiness.size(); ++i) {
    std::string p = Checker::Index("/readinessChecks", i);
    c.OneOf(readiness[i]["protocol"], {"HTTP", "HTTPS"}, p + "/protocol");
  }
  if (app.contains("portDefinitions")) {
    const json& pds = app["portDefinitions"];
    if (!pds.empty() && !HostNetworking(app)) {
      c.Invalid("/portDefinitions", "must be empty unless the app uses host networking");
    }
    std::set<std::string> names;
    for (size_t i = 0; i < pds.size(); ++i) {
      std::string p = Checker::Index("/portDefinitions", i);
      c.AtLeast(pds[i]["port"], 0, p + "/port");
      c.AtMost(pds[i]["port"], 65535, p + "/port");
      c.OneOf(pds[i]["protocol"], {"tcp", "udp", "udp,tcp"}, p + "/protocol");
      if (pds[i].contains("name")) {
        std::string n = pds[i]["name"].get<std::string>();
        if (!PortNameValid(n)) {
          c.Invalid(p + "/name", "must fully match regular expression '^[a-z][a-z0-9-]*$'");
        }
        if (!names.insert(n).second) c.Invalid("/portDefinitions", "Port names must be unique.");
      }
    }
  }
  if (app.contains("container")) {
    const json& container = app["container"];
    c.OneOf(container["type"], {"DOCKER", "MESOS"}, "/container/type");
    if (container["type"] == "DOCKER" && !container.contains("docker")) {
      c.Invalid("/container/docker", "must not be empty");
    }
    if (container.contains("docker")) {
      const json& docker = container["docker"];
      if (!docker.contains("image")) {
        c.Invalid("/container/docker/image", "error.path.missing");
      } else if (docker["image"].get<std::string>().empty()) {
        c.Invalid("/container/docker/image", "must not be empty");
      }
    }
    if (container.contains("portMappings")) {
      CheckPortMappingRules(c, container["portMappings"], "/container/portMappings");
    }
  }
  const json& nets = app["networks"];
  for (size_t i = 0; i < nets.size(); ++i) {
    if (nets[i].contains("mode")) {
      c.OneOf(nets[i]["mode"], {"container", "container/bridge", "host"},
              Checker::Index("/networks", i) + "/mode");
    }
  }
}

void SetDefault(json& obj, const char* key, json value) {
  if (!obj.contains(key)) obj[key] = std::move(value);
}

// Applies Marathon's defaults (raml/v2/types/*.raml) and converts deprecated members (ports ->
// portDefinitions, uris -> fetch, docker.network/portMappings -> networks/portMappings).
// Dependencies are resolved against the app's group; an invalid one is reported in `c`.
void Normalize(json& app, Checker& c) {
  const std::string id = app["id"].get<std::string>();
  app.erase("version");
  app.erase("versionInfo");
  SetDefault(app, "backoffFactor", 1.15);
  SetDefault(app, "backoffSeconds", 1);
  SetDefault(app, "constraints", json::array());
  SetDefault(app, "cpus", 1);
  SetDefault(app, "dependencies", json::array());
  SetDefault(app, "disk", 0);
  SetDefault(app, "env", json::object());
  SetDefault(app, "executor", "");
  SetDefault(app, "gpus", 0);
  SetDefault(app, "healthChecks", json::array());
  SetDefault(app, "instances", 1);
  SetDefault(app, "killSelection", "YOUNGEST_FIRST");
  SetDefault(app, "labels", json::object());
  SetDefault(app, "maxLaunchDelaySeconds", 300);
  SetDefault(app, "mem", 128);
  SetDefault(app, "readinessChecks", json::array());
  SetDefault(app, "requirePorts", false);
  SetDefault(app, "unreachableStrategy", json::object());
  SetDefault(app, "upgradeStrategy", json::object());
  if (app["unreachableStrategy"].is_object()) {
    SetDefault(app["unreachableStrategy"], "inactiveAfterSeconds", 0);
    SetDefault(app["unreachableStrategy"], "expungeAfterSeconds", 0);
  }
  SetDefault(app["upgradeStrategy"], "minimumHealthCapacity", 1);
  SetDefault(app["upgradeStrategy"], "maximumOverCapacity", 1);
  if (app.contains("args") && app["args"].empty()) app.erase("args");
  if (app.contains("secrets") && app["secrets"].empty()) app.erase("secrets");

  // Dependencies are relative to the app's group.
  json& deps = app["dependencies"];
  for (size_t i = 0; i < deps.size(); ++i) {
    auto resolved = ResolvePath(deps[i].get<std::string>(), ParentOf(id));
    if (!resolved || *resolved == "/") {
      c.Invalid(Checker::Index("/dependencies", i), kIdPatternMessage);
    } else {
      deps[i] = *resolved;
    }
  }

  // uris -> fetch
  if (app.contains("uris")) {
    json fetch = json::array();
    for (const json& u : app["uris"]) fetch.push_back({{"uri", u}});
    app["fetch"] = fetch;
    app.erase("uris");
  }
  SetDefault(app, "fetch", json::array());
  for (json& f : app["fetch"]) {
    SetDefault(f, "extract", true);
    SetDefault(f, "executable", false);
    SetDefault(f, "cache", false);
  }

  // Container and the deprecated docker networking members.
  if (app.contains("container")) {
    json& container = app["container"];
    SetDefault(container, "type", "DOCKER");
    SetDefault(container, "volumes", json::array());
    if (container.contains("docker")) {
      json& docker = container["docker"];
      SetDefault(docker, "forcePullImage", false);
      SetDefault(docker, "privileged", false);
      SetDefault(docker, "parameters", json::array());
      if (docker.contains("network")) {
        std::string mode = docker["network"].get<std::string>();
        if (!app.contains("networks")) {
          if (mode == "BRIDGE") app["networks"] = json::array({{{"mode", "container/bridge"}}});
          if (mode == "USER") app["networks"] = json::array({{{"mode", "container"}}});
          if (mode == "HOST") app["networks"] = json::array({{{"mode", "host"}}});
        }
        docker.erase("network");
      }
      if (docker.contains("portMappings")) {
        if (!container.contains("portMappings")) container["portMappings"] = docker["portMappings"];
        docker.erase("portMappings");
      }
    }
  }
  if (!app.contains("networks") || app["networks"].empty()) {
    app["networks"] = json::array({{{"mode", "host"}}});
  }
  for (json& n : app["networks"]) SetDefault(n, "mode", "container");

  // Ports.
  if (HostNetworking(app)) {
    if (app.contains("ports")) {
      json pds = json::array();
      for (const json& p : app["ports"]) pds.push_back({{"port", p}, {"protocol", "tcp"}});
      app["portDefinitions"] = pds;
      app.erase("ports");
    }
    SetDefault(app, "portDefinitions", json::array({{{"port", 0}, {"protocol", "tcp"}}}));
    for (json& pd : app["portDefinitions"]) {
      SetDefault(pd, "port", 0);
      SetDefault(pd, "protocol", "tcp");
    }
  } else {
    app.erase("ports");
    SetDefault(app, "portDefinitions", json::array());
    bool bridge = false;
    for (const json& n : app["networks"]) bridge = bridge || n["mode"] == "container/bridge";
    if (!app.contains("container")) {
      app["container"] = {{"type", "MESOS"}, {"volumes", json::array()}};
    }
    json& container = app["container"];
    if (!container.contains("portMappings")) {
      json m = {{"containerPort", 0}, {"protocol", "tcp"}, {"servicePort", 0}};
      if (bridge) m["hostPort"] = 0;
      container["portMappings"] = json::array({m});
    }
    for (json& m : container["portMappings"]) {
      SetDefault(m, "containerPort", 0);
      SetDefault(m, "protocol", "tcp");
      SetDefault(m, "servicePort", 0);
      if (bridge) SetDefault(m, "hostPort", 0);
    }
  }

  for (json& hc : app["healthChecks"]) {
    SetDefault(hc, "gracePeriodSeconds", 300);
    SetDefault(hc, "intervalSeconds", 60);
    SetDefault(hc, "maxConsecutiveFailures", 3);
    SetDefault(hc, "timeoutSeconds", 20);
    SetDefault(hc, "delaySeconds", 15);
    SetDefault(hc, "protocol", "HTTP");
    SetDefault(hc, "ipProtocol", "IPv4");
  }
  for (json& rc : app["readinessChecks"]) {
    SetDefault(rc, "name", "readinessCheck");
    SetDefault(rc, "protocol", "HTTP");
    SetDefault(rc, "path", "/");
    SetDefault(rc, "portName", "http-api");
    SetDefault(rc, "intervalSeconds", 30);
    SetDefault(rc, "timeoutSeconds", 10);
    SetDefault(rc, "httpStatusCodesForReady", json::array({200}));
    SetDefault(rc, "preserveLastResponse", false);
  }
}

// The parts of a definition that make a change a "config change" (anything but instances and
// the server-assigned version fields).
json ConfigOf(const json& def) {
  json c = def;
  c.erase("instances");
  c.erase("version");
  c.erase("versionInfo");
  return c;
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

enum class StepKind { kStart, kStop, kScale, kRestart, kNoop };

const char* StepKindName(StepKind k) {
  switch (k) {
    case StepKind::kStart:
      return "start";
    case StepKind::kStop:
      return "stop";
    case StepKind::kScale:
      return "scale";
    case StepKind::kRestart:
      return "restart";
    case StepKind::kNoop:
      return "noop";
  }
  return "noop";
}

std::optional<StepKind> StepKindFromName(const std::string& s) {
  for (StepKind k :
       {StepKind::kStart, StepKind::kStop, StepKind::kScale, StepKind::kRestart, StepKind::kNoop}) {
    if (s == StepKindName(k)) return k;
  }
  return std::nullopt;
}

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

Embed ParseEmbed(const httplib::Request& req) {
  Embed e;
  size_t n = req.get_param_value_count("embed");
  for (size_t i = 0; i < n; ++i) {
    std::string v = req.get_param_value("embed", i);
    for (const char* prefix : {"apps.", "app."}) {
      if (v.rfind(prefix, 0) == 0) {
        v = v.substr(std::string(prefix).size());
        break;
      }
    }
    if (v == "tasks") e.tasks = true;
    if (v == "lastTaskFailure") e.last_task_failure = true;
    if (v == "readiness") e.readiness = true;
    if (v == "taskStats") e.task_stats = true;
    if (v == "failures") e.tasks = e.last_task_failure = true;
  }
  return e;
}

json StepActions(const std::vector<AppChange>& changes, int step) {
  json actions = json::array();
  for (const AppChange& c : changes) {
    const char* action = nullptr;
    switch (c.kind) {
      case StepKind::kStart:
        action = step == 0 ? "StartApplication" : "ScaleApplication";
        break;
      case StepKind::kStop:
        action = step == 0 ? "StopApplication" : nullptr;
        break;
      case StepKind::kScale:
        action = step == 0 ? "ScaleApplication" : nullptr;
        break;
      case StepKind::kRestart:
        action = step == 0 ? "RestartApplication" : nullptr;
        break;
      case StepKind::kNoop:
        break;
    }
    if (action != nullptr) actions.push_back({{"action", action}, {"app", c.app_id}});
  }
  return actions;
}

// Steps as in raml/v2/examples/deployment_steps.json: a new app is started, then scaled.
json StepsOf(const std::vector<AppChange>& changes) {
  json steps = json::array();
  for (int step = 0; step < 2; ++step) {
    json actions = StepActions(changes, step);
    if (!actions.empty()) steps.push_back({{"actions", actions}});
  }
  return steps;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Emulator::Impl
// ---------------------------------------------------------------------------------------------

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

  // ----- time, ids --------------------------------------------------------------------------

  std::string NextVersion() {
    WallMs t = std::chrono::time_point_cast<milliseconds>(options.wall_now());
    if (t <= last_version) t = last_version + milliseconds(1);
    last_version = t;
    return FormatIsoTime(t);
  }
  std::string Wall() { return FormatIsoTime(options.wall_now()); }

  // ----- health model -----------------------------------------------------------------------

  bool IsBadImage(const json& def) const {
    if (failing_images.empty()) return false;
    auto c = def.find("container");
    if (c == def.end()) return false;
    auto d = c->find("docker");
    if (d == c->end()) return false;
    auto image = d->find("image");
    return image != d->end() && image->is_string() &&
           failing_images.count(image->get<std::string>()) > 0;
  }

  const AppChange* ChangeFor(const AppRecord& app, const std::string& id,
                             const Deployment** deployment) const {
    *deployment = nullptr;
    if (app.deployment_id.empty()) return nullptr;
    auto it = deployments.find(app.deployment_id);
    if (it == deployments.end()) return nullptr;
    for (const AppChange& c : it->second.changes) {
      if (c.app_id == id) {
        *deployment = &it->second;
        return &c;
      }
    }
    return nullptr;
  }

  Counts CountsOf(const std::string& id, const AppRecord& app, SteadyTime now) const {
    const Deployment* d = nullptr;
    const AppChange* change = ChangeFor(app, id, &d);
    bool stopping = change != nullptr && change->kind == StepKind::kStop;
    int instances = app.def.value("instances", 1);
    int target = stopping ? 0 : instances;
    int running = target;
    if (change != nullptr) {
      // Moves from the count at deployment start toward the target; reaches it at the end.
      double delta = (target - change->from_running) * d->Progress(now);
      running = change->from_running + static_cast<int>(delta);
    }
    bool health_checks = !app.def["healthChecks"].empty();
    Counts c;
    if (!stopping && IsBadImage(app.def)) {
      if (health_checks) {
        c.running = running;
        c.unhealthy = running;
      }
      return c;  // without health checks the tasks keep failing: nothing runs
    }
    c.running = running;
    c.healthy = health_checks ? running : 0;
    return c;
  }

  bool Stuck(const Deployment& d) const {
    for (const AppChange& c : d.changes) {
      if (c.kind == StepKind::kStop) continue;
      auto it = apps.find(c.app_id);
      if (it != apps.end() && IsBadImage(it->second.def)) return true;
    }
    return false;
  }

  // Tasks failing forever get a lastTaskFailure, as Marathon reports for crash-looping tasks.
  void RecordFailureIfFailing(const std::string& id, AppRecord& app) {
    if (!IsBadImage(app.def) || !app.def["healthChecks"].empty()) return;
    if (app.def.value("instances", 1) == 0) return;
    std::string version = app.def["version"].get<std::string>();
    if (!app.last_task_failure.is_null() && app.last_task_failure["version"] == version) return;
    std::string task_id = TaskPrefix(id) + ".instance-" + NewUuid(rng);
    std::string image = app.def["container"]["docker"]["image"].get<std::string>();
    app.last_task_failure = {{"appId", id},
                             {"host", "agent-1.sandbox.local"},
                             {"message", "Container exited with status 1 (image " + image + ")"},
                             {"state", "TASK_FAILED"},
                             {"taskId", task_id},
                             {"timestamp", Wall()},
                             {"version", version},
                             {"slaveId", "sandbox-agent-1"}};
  }

  // ----- deployments -------------------------------------------------------------------------

  // Finishes every deployment whose time is up (unless it waits for health forever).
  bool Advance(SteadyTime now) {
    bool changed = false;
    for (auto it = by_end.begin(); it != by_end.end() && it->first <= now;) {
      auto d = deployments.find(it->second);
      if (d == deployments.end()) {
        it = by_end.erase(it);
        continue;
      }
      if (Stuck(d->second)) {
        ++it;
        continue;
      }
      Finish(d->second);
      deployments.erase(d);
      it = by_end.erase(it);
      changed = true;
    }
    return changed;
  }

  void Finish(const Deployment& d) {
    for (const AppChange& c : d.changes) {
      auto it = apps.find(c.app_id);
      if (it == apps.end() || it->second.deployment_id != d.id) continue;
      if (c.kind == StepKind::kStop) {
        RemoveApp(it);
        continue;
      }
      it->second.deployment_id.clear();
      if (c.kind == StepKind::kRestart || c.kind == StepKind::kStart) {
        // Old tasks were replaced by tasks of the new version.
        std::string version = it->second.def["version"].get<std::string>();
        auto& tasks = it->second.tasks;
        tasks.erase(std::remove_if(tasks.begin(), tasks.end(),
                                   [&](const Task& t) { return t.version != version; }),
                    tasks.end());
      }
    }
  }

  // Cancels a running deployment without rollback: apps keep their current definitions.
  void Cancel(const std::string& deployment_id) {
    auto d = deployments.find(deployment_id);
    if (d == deployments.end()) return;
    for (const AppChange& c : d->second.changes) {
      auto it = apps.find(c.app_id);
      if (it != apps.end() && it->second.deployment_id == deployment_id) {
        it->second.deployment_id.clear();
      }
    }
    by_end.erase({d->second.end(), deployment_id});
    deployments.erase(d);
  }

  std::string StartDeployment(std::vector<AppChange> changes, const std::string& version,
                              SteadyTime now) {
    Deployment d;
    d.id = NewUuid(rng);
    d.version = version;
    d.start = now;
    bool noop = std::all_of(changes.begin(), changes.end(),
                            [](const AppChange& c) { return c.kind == StepKind::kNoop; });
    d.duration = milliseconds(noop ? 0 : transition_ms);
    for (const AppChange& c : changes) {
      auto it = apps.find(c.app_id);
      if (it != apps.end()) {
        it->second.deployment_id = d.id;
        RecordFailureIfFailing(c.app_id, it->second);
      }
    }
    d.changes = std::move(changes);
    by_end.insert({d.end(), d.id});
    std::string id = d.id;
    deployments.emplace(id, std::move(d));
    return id;
  }

  json DeploymentJson(const Deployment& d, SteadyTime now) const {
    json steps = StepsOf(d.changes);
    json affected = json::array();
    for (const AppChange& c : d.changes) affected.push_back(c.app_id);
    int total = static_cast<int>(steps.size());
    int current = 0;
    json current_actions = json::array();
    if (total > 0) {
      current = std::min(total, 1 + static_cast<int>(d.Progress(now) * total));
      for (const json& a : steps[current - 1]["actions"]) {
        json action = a;
        action["readinessCheckResults"] = json::array();
        current_actions.push_back(action);
      }
    }
    return {{"id", d.id},
            {"version", d.version},
            {"affectedApps", affected},
            {"affectedPods", json::array()},
            {"steps", steps},
            {"currentActions", current_actions},
            {"currentStep", current},
            {"totalSteps", total}};
  }

  // 409 when one of `ids` is locked by a running deployment and !force; with force the locking
  // deployments are cancelled.
  std::optional<Reply> CheckLocks(const std::vector<std::string>& ids, bool force) {
    std::set<std::string> locking;
    for (const std::string& id : ids) {
      auto it = apps.find(id);
      if (it != apps.end() && !it->second.deployment_id.empty()) {
        locking.insert(it->second.deployment_id);
      }
    }
    if (locking.empty()) return std::nullopt;
    if (!force) {
      json deps = json::array();
      for (const std::string& d : locking) deps.push_back({{"id", d}});
      return JsonReply(409, {{"message", kLockedMessage}, {"deployments", deps}});
    }
    for (const std::string& d : locking) Cancel(d);
    return std::nullopt;
  }

  // ----- ports --------------------------------------------------------------------------------

  int AllocateServicePort(const std::string& app_id) {
    for (int tries = 0; tries < 65536; ++tries) {
      int p = next_service_port++;
      if (next_service_port > 65535) next_service_port = kServicePortMin;
      if (service_ports.count(p) == 0) {
        service_ports[p] = app_id;
        return p;
      }
    }
    return 0;
  }

  static std::vector<json*> ServicePortSlots(json& def) {
    std::vector<json*> slots;
    if (HostNetworking(def)) {
      for (json& pd : def["portDefinitions"]) slots.push_back(&pd["port"]);
    } else if (def.contains("container")) {
      for (json& m : def["container"]["portMappings"]) slots.push_back(&m["servicePort"]);
    }
    return slots;
  }

  static std::vector<int> ServicePortsOf(const json& def) {
    json copy = def;
    std::vector<int> out;
    for (json* slot : ServicePortSlots(copy)) out.push_back(slot->get<int>());
    return out;
  }

  // Port 0 gets a cluster-unique service port; an update keeps the port previously assigned at
  // the same index.
  void AssignServicePorts(const std::string& id, json& def, const json* previous) {
    std::vector<int> old = previous != nullptr ? ServicePortsOf(*previous) : std::vector<int>();
    std::set<int> used;
    std::vector<json*> slots = ServicePortSlots(def);
    for (size_t i = 0; i < slots.size(); ++i) {
      int p = slots[i]->get<int>();
      if (p == 0 && i < old.size() && old[i] != 0 && used.count(old[i]) == 0) p = old[i];
      if (p == 0) p = AllocateServicePort(id);
      *slots[i] = p;
      used.insert(p);
      service_ports[p] = id;
    }
    for (int p : old) {
      auto it = service_ports.find(p);
      if (used.count(p) == 0 && it != service_ports.end() && it->second == id) {
        service_ports.erase(it);
      }
    }
  }

  void ClaimServicePorts(const std::string& id, const json& def) {
    for (int p : ServicePortsOf(def)) service_ports[p] = id;
  }

  void RemoveApp(std::map<std::string, AppRecord>::iterator it) {
    for (int p : ServicePortsOf(it->second.def)) {
      auto sp = service_ports.find(p);
      if (sp != service_ports.end() && sp->second == it->first) service_ports.erase(sp);
    }
    apps.erase(it);
  }

  // ----- apps --------------------------------------------------------------------------------

  void StoreNewVersion(AppRecord& app, json def) {
    app.SetDef(std::move(def));
    app.history.push_back({app.def["version"].get<std::string>(), app.dump});
    while (app.history.size() > kMaxVersionsPerApp) app.history.pop_front();
  }

  struct Prepared {
    json def;
    std::optional<Reply> error;
  };

  // Validates a request body and builds the normalized definition for app `id` (empty: take the
  // id from the body). With `existing` and `partial`, members missing from the body keep their
  // current values.
  Prepared Prepare(json body, const std::string& url_id, const json* existing, bool partial) {
    Prepared out;
    if (!body.is_object()) {
      out.error = InvalidJsonReply({{"/", "error.expected.jsobject"}});
      return out;
    }
    for (auto it = body.begin(); it != body.end();) {
      if (it->is_null() || IsAppInfoOnly(it.key())) {
        it = body.erase(it);
      } else {
        ++it;
      }
    }
    Checker c;
    CheckAppTypes(c, body);
    if (!c.type_errors.empty()) {
      out.error = InvalidJsonReply(c.type_errors);
      return out;
    }
    if (body.contains("ports") && body.contains("portDefinitions")) {
      c.Invalid("/", "You cannot specify both ports and port definitions");
    }
    if (body.contains("uris") && body.contains("fetch")) {
      c.Invalid("/", "You cannot specify both uris and fetch fields");
    }
    std::string id = url_id;
    if (id.empty()) {
      if (!body.contains("id")) {
        out.error = InvalidJsonReply({{"/id", "error.path.missing"}});
        return out;
      }
      auto resolved = ResolvePath(body["id"].get<std::string>(), "/");
      if (!resolved || *resolved == "/") {
        c.Invalid("/id", kIdPatternMessage);
      } else {
        id = *resolved;
      }
    }
    if (!c.invalid.empty()) {
      out.error = NotValidReply(c.invalid);
      return out;
    }
    json def;
    if (existing != nullptr && partial) {
      def = *existing;
      if (body.contains("ports")) def.erase("portDefinitions");
      if (body.contains("portDefinitions")) def.erase("ports");
      if (body.contains("uris")) def.erase("fetch");
      bool networking = body.contains("networks") || body.contains("container");
      if (networking && !body.contains("ports") && !body.contains("portDefinitions")) {
        def.erase("portDefinitions");
      }
      if (body.contains("container") && !body.contains("networks") &&
          body["container"].contains("docker") && body["container"]["docker"].contains("network")) {
        def.erase("networks");
      }
      for (auto it = body.begin(); it != body.end(); ++it) def[it.key()] = it.value();
    } else {
      def = std::move(body);
    }
    def["id"] = id;
    Normalize(def, c);
    if (c.invalid.empty()) CheckAppRules(c, def);
    if (!c.invalid.empty()) {
      out.error = NotValidReply(c.invalid);
      return out;
    }
    out.def = std::move(def);
    return out;
  }

  void SetVersionInfo(json& def, const std::string& version, const json* previous,
                      bool scale_only) {
    def["version"] = version;
    std::string config_change = version;
    if (scale_only && previous != nullptr) {
      config_change = (*previous)["versionInfo"]["lastConfigChangeAt"].get<std::string>();
    }
    def["versionInfo"] = {{"lastScalingAt", version}, {"lastConfigChangeAt", config_change}};
  }

  // Works out what an update of app `id` (existing or not) to `def` means and applies the new
  // definition. Must be called after lock checks.
  AppChange ApplyDefinition(const std::string& id, json def, const std::string& version,
                            SteadyTime now, bool restore_as_is = false) {
    AppChange change;
    change.app_id = id;
    auto it = apps.find(id);
    if (it == apps.end()) {
      if (!restore_as_is) {
        AssignServicePorts(id, def, nullptr);
        SetVersionInfo(def, version, nullptr, false);
      } else {
        ClaimServicePorts(id, def);
      }
      AppRecord record;
      StoreNewVersion(record, std::move(def));
      apps.emplace(id, std::move(record));
      change.kind = StepKind::kStart;
      return change;
    }
    AppRecord& app = it->second;
    change.before = app.def;
    change.from_running = CountsOf(id, app, now).running;
    if (restore_as_is) {
      ClaimServicePorts(id, def);
    } else {
      AssignServicePorts(id, def, &app.def);
    }
    bool config_changed = ConfigOf(def) != ConfigOf(app.def);
    bool scaled = def["instances"] != app.def["instances"];
    // A deleted app whose stop is being rolled back has to be brought back up.
    bool restarting_stopped = restore_as_is && change.from_running != def.value("instances", 1);
    if (config_changed) {
      change.kind = StepKind::kRestart;
    } else if (scaled || restarting_stopped) {
      change.kind = StepKind::kScale;
    } else {
      change.kind = StepKind::kNoop;
      return change;
    }
    if (restore_as_is) {
      app.SetDef(std::move(def));
    } else {
      SetVersionInfo(def, version, &app.def, !config_changed);
      StoreNewVersion(app, std::move(def));
    }
    return change;
  }

  // ----- rendering ----------------------------------------------------------------------------

  Task NewTask(const std::string& id, const AppRecord& app, bool running) {
    Task t;
    t.id = TaskPrefix(id) + ".instance-" + NewUuid(rng);
    t.version = app.def["version"].get<std::string>();
    t.staged_at = Wall();
    if (running) t.started_at = t.staged_at;
    size_t ports = ServicePortsOf(app.def).size();
    for (size_t i = 0; i < ports; ++i) {
      t.host_ports.push_back(next_host_port++);
      if (next_host_port > kHostPortMax) next_host_port = kHostPortMin;
    }
    return t;
  }

  void SyncTasks(const std::string& id, AppRecord& app, const Counts& counts) {
    size_t want = static_cast<size_t>(std::max(0, counts.running + counts.staged));
    // Marathon's default killSelection kills the youngest first.
    while (app.tasks.size() > want) app.tasks.pop_back();
    while (app.tasks.size() < want) {
      app.tasks.push_back(NewTask(id, app, app.tasks.size() < size_t(counts.running)));
    }
  }

  json TaskJson(const std::string& id, const AppRecord& app, const Task& t, size_t index,
                const Counts& counts) const {
    bool running = index < size_t(counts.running);
    json j = {{"appId", id},
              {"host", "agent-1.sandbox.local"},
              {"id", t.id},
              {"ipAddresses", json::array({{{"ipAddress", "127.0.0.1"}, {"protocol", "IPv4"}}})},
              {"ports", t.host_ports},
              {"servicePorts", ServicePortsOf(app.def)},
              {"slaveId", "sandbox-agent-1"},
              {"stagedAt", t.staged_at},
              {"state", running ? "TASK_RUNNING" : "TASK_STAGING"},
              {"version", t.version},
              {"localVolumes", json::array()},
              {"region", "sandbox"},
              {"zone", "sandbox-a"},
              {"role", "*"}};
    if (running) j["startedAt"] = t.started_at.empty() ? t.staged_at : t.started_at;
    if (running && !app.def["healthChecks"].empty()) {
      bool alive = index < size_t(counts.healthy);
      std::string instance = t.id;
      json result = {{"alive", alive},
                     {"consecutiveFailures", alive ? 0 : 1},
                     {"instanceId", instance},
                     {"taskId", t.id}};
      if (alive) {
        result["firstSuccess"] = t.staged_at;
        result["lastSuccess"] = t.staged_at;
      } else {
        result["lastFailure"] = t.staged_at;
        result["lastFailureCause"] = "health check failed";
      }
      json results = json::array();
      for (size_t i = 0; i < app.def["healthChecks"].size(); ++i) results.push_back(result);
      j["healthCheckResults"] = results;
    }
    return j;
  }

  json TasksJson(const std::string& id, AppRecord& app, const Counts& counts) {
    SyncTasks(id, app, counts);
    json tasks = json::array();
    for (size_t i = 0; i < app.tasks.size(); ++i) {
      tasks.push_back(TaskJson(id, app, app.tasks[i], i, counts));
    }
    return tasks;
  }

  static json TaskStatsJson(const Counts& c) {
    if (c.running == 0 && c.staged == 0) return json::object();
    json stats = {{"stats",
                   {{"counts",
                     {{"staged", c.staged},
                      {"running", c.running},
                      {"healthy", c.healthy},
                      {"unhealthy", c.unhealthy}}},
                    {"lifeTime", {{"averageSeconds", 0.0}, {"medianSeconds", 0.0}}}}}};
    return {
        {"startedAfterLastScaling", stats}, {"withLatestConfig", stats}, {"totalSummary", stats}};
  }

  // AppInfo = the stored definition plus status members, built by string concatenation so
  // listing 10,000 apps stays cheap.
  void AppendAppInfo(std::string& out, const std::string& id, AppRecord& app, const Embed& embed,
                     SteadyTime now) {
    Counts c = CountsOf(id, app, now);
    RecordFailureIfFailing(id, app);
    out.append(app.dump, 0, app.dump.size() - 1);
    out += ",\"tasksStaged\":" + std::to_string(c.staged);
    out += ",\"tasksRunning\":" + std::to_string(c.running);
    out += ",\"tasksHealthy\":" + std::to_string(c.healthy);
    out += ",\"tasksUnhealthy\":" + std::to_string(c.unhealthy);
    out += ",\"deployments\":[";
    if (!app.deployment_id.empty()) out += "{\"id\":\"" + app.deployment_id + "\"}";
    out += "]";
    if (embed.tasks) out += ",\"tasks\":" + TasksJson(id, app, c).dump();
    if (embed.last_task_failure && !app.last_task_failure.is_null()) {
      out += ",\"lastTaskFailure\":" + app.last_task_failure.dump();
    }
    if (embed.readiness) out += ",\"readinessCheckResults\":[]";
    if (embed.task_stats) out += ",\"tasksStats\":" + TaskStatsJson(c).dump();
    out += "}";
  }

  // ----- handlers -----------------------------------------------------------------------------

  Reply ListApps(const httplib::Request& req, SteadyTime now) {
    std::string id_filter = QueryParam(req, "id").value_or("");
    std::string cmd_filter = QueryParam(req, "cmd").value_or("");
    std::vector<LabelSelector> selectors;
    if (auto label = QueryParam(req, "label")) {
      auto parsed = ParseLabelQuery(*label);
      if (!parsed) return MessageReply(400, "Invalid label selector: " + *label);
      selectors = std::move(*parsed);
    }
    Embed embed = ParseEmbed(req);
    Reply r;
    r.body = "{\"apps\":[";
    r.body.reserve(apps.size() * 1200 + 16);
    bool first = true;
    for (auto& [id, app] : apps) {
      if (!id_filter.empty() && id.find(id_filter) == std::string::npos) continue;
      if (!cmd_filter.empty()) {
        auto cmd = app.def.find("cmd");
        if (cmd == app.def.end() || cmd->get<std::string>().find(cmd_filter) == std::string::npos) {
          continue;
        }
      }
      const json& labels = app.def["labels"];
      bool matches = std::all_of(selectors.begin(), selectors.end(),
                                 [&](const LabelSelector& s) { return s.Matches(labels); });
      if (!matches) continue;
      if (!first) r.body += ',';
      first = false;
      AppendAppInfo(r.body, id, app, embed, now);
    }
    r.body += "]}";
    return r;
  }

  Reply GetApp(const std::string& id, const httplib::Request& req, SteadyTime now) {
    auto it = apps.find(id);
    if (it == apps.end()) return AppNotFound(id);
    Embed embed = ParseEmbed(req);
    embed.tasks = embed.last_task_failure = true;  // always embedded for compatibility
    Reply r;
    r.body = "{\"app\":";
    AppendAppInfo(r.body, id, it->second, embed, now);
    r.body += "}";
    return r;
  }

  Reply CreateApp(const json& body, SteadyTime now, bool* mutated) {
    Prepared p = Prepare(body, "", nullptr, false);
    if (p.error) return *p.error;
    std::string id = p.def["id"].get<std::string>();
    if (apps.count(id) > 0) {
      return MessageReply(409, "An app with id [" + id + "] already exists.");
    }
    std::string version = NextVersion();
    AppChange change = ApplyDefinition(id, std::move(p.def), version, now);
    std::string deployment = StartDeployment({change}, version, now);
    *mutated = true;
    Reply r;
    r.status = 201;
    Embed embed;
    AppendAppInfo(r.body, id, apps[id], embed, now);
    r.headers.emplace_back("Location", id);
    r.headers.emplace_back("Marathon-Deployment-Id", deployment);
    return r;
  }

  // PUT/PATCH of one app. `create_allowed` is false for PATCH.
  Reply UpdateApp(const std::string& id, const json& body, bool partial, bool force,
                  bool create_allowed, SteadyTime now, bool* mutated) {
    auto existing = apps.find(id);
    if (existing == apps.end() && !create_allowed) return AppNotFound(id);
    // {"version": "..."} rolls the app back to that version.
    if (existing != apps.end() && body.is_object() && body.contains("version") &&
        body["version"].is_string() &&
        (body.size() == 1 || (body.size() == 2 && body.contains("id")))) {
      const std::string wanted = body["version"].get<std::string>();
      const HistoryEntry* found = nullptr;
      for (const HistoryEntry& v : existing->second.history) {
        if (v.version == wanted) found = &v;
      }
      if (found == nullptr) {
        return MessageReply(404, "App '" + id + "' does not exist in version " + wanted);
      }
      if (auto locked = CheckLocks({id}, force)) return *locked;
      json def = json::parse(found->dump);
      def.erase("version");
      def.erase("versionInfo");
      std::string version = NextVersion();
      AppChange change = ApplyDefinition(id, std::move(def), version, now);
      std::string deployment = StartDeployment({change}, version, now);
      *mutated = true;
      return DeploymentResultReply(200, deployment, version);
    }
    const json* current = existing == apps.end() ? nullptr : &existing->second.def;
    Prepared p = Prepare(body, id, current, partial);
    if (p.error) return *p.error;
    if (auto locked = CheckLocks({id}, force)) return *locked;
    bool created = apps.count(id) == 0;
    std::string version = NextVersion();
    AppChange change = ApplyDefinition(id, std::move(p.def), version, now);
    std::string deployment = StartDeployment({change}, version, now);
    *mutated = true;
    Reply r = DeploymentResultReply(created ? 201 : 200, deployment, version);
    if (created) r.headers.emplace_back("Location", id);
    return r;
  }

  // PUT /v2/apps and PATCH /v2/apps: several apps, one deployment.
  Reply UpdateApps(const json& body, bool partial, bool force, bool create_allowed, SteadyTime now,
                   bool* mutated) {
    if (!body.is_array()) return InvalidJsonReply({{"/", "error.expected.jsarray"}});
    std::vector<std::pair<std::string, json>> defs;
    std::set<std::string> seen;
    for (size_t i = 0; i < body.size(); ++i) {
      const json& item = body[i];
      if (!item.is_object() || !item.contains("id") || !item["id"].is_string()) {
        return InvalidJsonReply({{Checker::Index("", i) + "/id", "error.path.missing"}});
      }
      auto id = ResolvePath(item["id"].get<std::string>(), "/");
      if (!id || *id == "/")
        return NotValidReply({{Checker::Index("", i) + "/id", kIdPatternMessage}});
      auto existing = apps.find(*id);
      if (existing == apps.end() && !create_allowed) return AppNotFound(*id);
      if (!seen.insert(*id).second) {
        return NotValidReply({{"/", "Duplicate app id " + *id + " in request"}});
      }
      const json* current = existing == apps.end() ? nullptr : &existing->second.def;
      Prepared p = Prepare(item, *id, current, partial);
      if (p.error) return *p.error;
      defs.emplace_back(*id, std::move(p.def));
    }
    std::vector<std::string> ids;
    for (const auto& d : defs) ids.push_back(d.first);
    if (auto locked = CheckLocks(ids, force)) return *locked;
    std::string version = NextVersion();
    std::vector<AppChange> changes;
    for (auto& [id, def] : defs)
      changes.push_back(ApplyDefinition(id, std::move(def), version, now));
    std::string deployment = StartDeployment(std::move(changes), version, now);
    *mutated = true;
    return DeploymentResultReply(200, deployment, version);
  }

  Reply DeleteApp(const std::string& id, bool force, SteadyTime now, bool* mutated) {
    auto it = apps.find(id);
    if (it == apps.end()) return AppNotFound(id);
    int from_running = CountsOf(id, it->second, now).running;
    if (auto locked = CheckLocks({id}, force)) return *locked;
    AppChange change;
    change.app_id = id;
    change.kind = StepKind::kStop;
    change.before = it->second.def;
    change.from_running = from_running;
    std::string version = NextVersion();
    std::string deployment = StartDeployment({change}, version, now);
    *mutated = true;
    return DeploymentResultReply(200, deployment, version);
  }

  Reply RestartApp(const std::string& id, bool force, SteadyTime now, bool* mutated) {
    auto it = apps.find(id);
    if (it == apps.end()) return AppNotFound(id);
    int from_running = CountsOf(id, it->second, now).running;
    if (auto locked = CheckLocks({id}, force)) return *locked;
    AppRecord& app = it->second;
    AppChange change;
    change.app_id = id;
    change.kind = StepKind::kRestart;
    change.before = app.def;
    change.from_running = from_running;
    std::string version = NextVersion();
    json def = app.def;
    SetVersionInfo(def, version, nullptr, false);
    StoreNewVersion(app, std::move(def));
    std::string deployment = StartDeployment({change}, version, now);
    *mutated = true;
    return DeploymentResultReply(200, deployment, version);
  }

  Reply Versions(const std::string& id) {
    auto it = apps.find(id);
    if (it == apps.end()) return AppNotFound(id);
    json versions = json::array();
    for (auto v = it->second.history.rbegin(); v != it->second.history.rend(); ++v) {
      versions.push_back(v->version);
    }
    return JsonReply(200, {{"versions", versions}});
  }

  Reply Version(const std::string& id, const std::string& version) {
    auto it = apps.find(id);
    if (it == apps.end()) return AppNotFound(id);
    for (const HistoryEntry& v : it->second.history) {
      if (v.version == version) {
        Reply r;
        r.body = v.dump;
        return r;
      }
    }
    return MessageReply(404, "App '" + id + "' does not exist in version " + version);
  }

  Reply Tasks(const std::string& id, SteadyTime now) {
    auto it = apps.find(id);
    if (it == apps.end()) return AppNotFound(id);
    Counts c = CountsOf(id, it->second, now);
    return JsonReply(200, {{"tasks", TasksJson(id, it->second, c)}});
  }

  // DELETE /v2/apps/{id}/tasks[/{taskId}] (?scale=, ?host=).
  Reply KillTasks(const std::string& id, const std::string& task_id, const httplib::Request& req,
                  SteadyTime now, bool* mutated) {
    auto it = apps.find(id);
    if (it == apps.end()) return AppNotFound(id);
    AppRecord& app = it->second;
    Counts c = CountsOf(id, app, now);
    SyncTasks(id, app, c);
    std::string host = req.get_param_value("host");
    std::vector<size_t> victims;
    for (size_t i = 0; i < app.tasks.size(); ++i) {
      if (!task_id.empty() && app.tasks[i].id != task_id) continue;
      if (!host.empty() && host != "agent-1.sandbox.local") continue;
      victims.push_back(i);
    }
    if (!task_id.empty() && victims.empty()) {
      return MessageReply(404, "Task '" + task_id + "' does not exist");
    }
    if (IsTrue(req, "scale", false)) {
      json def = app.def;
      def["instances"] = std::max(0, def.value("instances", 1) - int(victims.size()));
      if (auto locked = CheckLocks({id}, IsTrue(req, "force", false))) return *locked;
      std::string version = NextVersion();
      for (auto v = victims.rbegin(); v != victims.rend(); ++v)
        app.tasks.erase(app.tasks.begin() + *v);
      AppChange change = ApplyDefinition(id, std::move(def), version, now);
      std::string deployment = StartDeployment({change}, version, now);
      *mutated = true;
      return DeploymentResultReply(200, deployment, version);
    }
    json killed = json::array();
    for (size_t v : victims) killed.push_back(TaskJson(id, app, app.tasks[v], v, c));
    for (auto v = victims.rbegin(); v != victims.rend(); ++v)
      app.tasks.erase(app.tasks.begin() + *v);
    if (!task_id.empty()) return JsonReply(200, {{"task", killed[0]}});
    return JsonReply(200, {{"tasks", killed}});
  }

  Reply ListDeployments(SteadyTime now) {
    json out = json::array();
    for (const auto& [id, d] : deployments) out.push_back(DeploymentJson(d, now));
    return JsonReply(200, out);
  }

  Reply DeleteDeployment(const std::string& deployment_id, bool force, SteadyTime now,
                         bool* mutated) {
    auto it = deployments.find(deployment_id);
    if (it == deployments.end()) {
      return MessageReply(404, "DeploymentPlan " + deployment_id + " does not exist");
    }
    if (force) {
      Cancel(deployment_id);
      *mutated = true;
      Reply r;
      r.status = 202;
      r.content_type.clear();
      return r;
    }
    // Rollback: a new deployment restoring every affected app's previous definition.
    Deployment d = it->second;
    std::vector<std::pair<std::string, int>> running;
    for (const AppChange& c : d.changes) {
      auto app = apps.find(c.app_id);
      if (app != apps.end())
        running.emplace_back(c.app_id, CountsOf(c.app_id, app->second, now).running);
    }
    Cancel(deployment_id);
    std::string version = NextVersion();
    std::vector<AppChange> changes;
    for (const AppChange& c : d.changes) {
      auto app = apps.find(c.app_id);
      if (c.before.is_null()) {
        if (app == apps.end()) continue;
        AppChange stop;
        stop.app_id = c.app_id;
        stop.kind = StepKind::kStop;
        stop.before = app->second.def;
        for (const auto& [rid, n] : running) {
          if (rid == c.app_id) stop.from_running = n;
        }
        changes.push_back(stop);
      } else {
        changes.push_back(ApplyDefinition(c.app_id, c.before, version, now, true));
        for (const auto& [rid, n] : running) {
          if (rid == c.app_id) changes.back().from_running = n;
        }
      }
    }
    std::string rollback = StartDeployment(std::move(changes), version, now);
    *mutated = true;
    return DeploymentResultReply(200, rollback, version);
  }

  Reply Info(const httplib::Request& req) const {
    std::string leader = req.local_addr + ":" + std::to_string(req.local_port);
    json marathon_config = {{"access_control_allow_origin", json::array()},
                            {"checkpoint", true},
                            {"decline_offer_duration", 120000},
                            {"default_network_name", "container-network"},
                            {"env_vars_prefix", "APP"},
                            {"executor", "//cmd"},
                            {"failover_timeout", 604800},
                            {"features", json::array()},
                            {"framework_name", "marathon"},
                            {"ha", false},
                            {"hostname", req.local_addr},
                            {"launch_token", 100},
                            {"launch_token_refresh_interval", 30000},
                            {"leader_proxy_connection_timeout_ms", 5000},
                            {"leader_proxy_read_timeout_ms", 10000},
                            {"local_port_max", 20000},
                            {"local_port_min", kServicePortMin},
                            {"master", "zk://localhost:2181/mesos"},
                            {"max_instances_per_offer", 5},
                            {"mesos_bridge_name", "mesos-bridge"},
                            {"mesos_leader_ui_url", "http://localhost:5050/"},
                            {"mesos_role", "*"},
                            {"mesos_user", "nobody"},
                            {"reconciliation_initial_delay", 15000},
                            {"reconciliation_interval", 600000},
                            {"task_launch_timeout", 300000},
                            {"task_reservation_timeout", 20000},
                            {"webui_url", "http://" + leader}};
    json zk = {{"zk", "zk://localhost:2181/marathon"}, {"zk_compression", true},
               {"zk_compression_threshold", 65536},    {"zk_connection_timeout", 10000},
               {"zk_max_node_size", 1024000},          {"zk_max_versions", kMaxVersionsPerApp},
               {"zk_session_timeout", 10000},          {"zk_timeout", 10000}};
    return JsonReply(200, {{"name", "marathon"},
                           {"version", "1.11.0"},
                           {"buildref", "converge-sandbox"},
                           {"elected", true},
                           {"leader", leader},
                           {"frameworkId", "converge-sandbox-0000"},
                           {"marathon_config", marathon_config},
                           {"zookeeper_config", zk},
                           {"http_config", {{"http_port", req.local_port}, {"https_port", 8443}}}});
  }

  bool Authorized(const httplib::Request& req) const {
    if (basic_header.empty() && options.token.empty()) return true;
    std::string auth = req.get_header_value("Authorization");
    if (!basic_header.empty() && auth == basic_header) return true;
    if (!options.token.empty() && auth == "token=" + options.token) return true;
    return false;
  }

  static std::optional<json> ParseBody(const std::string& body, Reply* error) {
    json parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded()) {
      *error = InvalidJsonReply({{"/", "error.expected.jsvalue: the body is not valid JSON"}});
      return std::nullopt;
    }
    return parsed;
  }

  // Splits "/a/b/versions/v" style remainders of /v2/apps/... into (app id, suffix, argument).
  struct AppRoute {
    std::string id;
    std::string suffix;  // "", "versions", "tasks", "restart"
    std::string arg;     // version or task id
  };

  static AppRoute ParseAppRoute(const std::string& rest) {
    AppRoute r;
    auto strip = [](std::string s) {
      while (s.size() > 1 && s.back() == '/') s.pop_back();
      return s;
    };
    std::string s = strip(rest);
    auto ends_with = [&](const std::string& suffix) {
      return s.size() > suffix.size() + 1 &&
             s.compare(s.size() - suffix.size() - 1, suffix.size() + 1, "/" + suffix) == 0;
    };
    for (const char* suffix : {"versions", "tasks", "restart"}) {
      if (ends_with(suffix)) {
        r.id = s.substr(0, s.size() - std::string(suffix).size() - 1);
        r.suffix = suffix;
        return r;
      }
    }
    // {id}/versions/{version} and {id}/tasks/{taskId}
    size_t last = s.rfind('/');
    if (last != std::string::npos && last > 0) {
      std::string head = s.substr(0, last);
      for (const char* suffix : {"versions", "tasks"}) {
        std::string marker = std::string("/") + suffix;
        if (head.size() > marker.size() &&
            head.compare(head.size() - marker.size(), marker.size(), marker) == 0) {
          r.id = head.substr(0, head.size() - marker.size());
          r.suffix = suffix;
          r.arg = s.substr(last + 1);
          return r;
        }
      }
    }
    r.id = s;
    return r;
  }

  static std::string CanonicalUrlId(const std::string& raw) {
    auto resolved = ResolvePath(raw, "/");
    if (resolved) return *resolved;
    std::string s = raw;
    if (s.empty() || s[0] != '/') s = "/" + s;
    return s;
  }

  Reply Route(const httplib::Request& req, const std::string& path, SteadyTime now, bool* mutated) {
    const std::string& m = req.method;
    if (path == "/ping") {
      Reply r;
      r.body = "pong";
      r.content_type = "text/plain";
      return r;
    }
    if (!Authorized(req)) {
      Reply r = MessageReply(401, kUnauthorizedMessage);
      if (!basic_header.empty())
        r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Mesosphere\"");
      return r;
    }
    if (path == "/v2/info") {
      if (m != "GET") return MessageReply(405, "HTTP 405 Method Not Allowed");
      return Info(req);
    }
    if (path == "/v2/apps" || path == "/v2/apps/") {
      if (m == "GET") return ListApps(req, now);
      Reply error;
      if (m != "POST" && m != "PUT" && m != "PATCH") {
        return MessageReply(405, "HTTP 405 Method Not Allowed");
      }
      auto body = ParseBody(req.body, &error);
      if (!body) return error;
      if (m == "POST") return CreateApp(*body, now, mutated);
      return UpdateApps(*body, IsTrue(req, "partialUpdate", true), IsTrue(req, "force", false),
                        m == "PUT", now, mutated);
    }
    if (path.rfind("/v2/apps/", 0) == 0) {
      AppRoute route = ParseAppRoute(path.substr(std::string("/v2/apps").size()));
      std::string id = CanonicalUrlId(route.id);
      if (route.suffix.empty()) {
        if (m == "GET") return GetApp(id, req, now);
        if (m == "DELETE") return DeleteApp(id, IsTrue(req, "force", true), now, mutated);
        if (m == "PUT" || m == "PATCH") {
          if (!ResolvePath(route.id, "/") || id == "/") {
            return NotValidReply({{"/id", kIdPatternMessage}});
          }
          Reply error;
          auto body = ParseBody(req.body, &error);
          if (!body) return error;
          bool partial = m == "PATCH" || IsTrue(req, "partialUpdate", true);
          return UpdateApp(id, *body, partial, IsTrue(req, "force", false), m == "PUT", now,
                           mutated);
        }
        return MessageReply(405, "HTTP 405 Method Not Allowed");
      }
      if (route.suffix == "restart") {
        if (m != "POST") return MessageReply(405, "HTTP 405 Method Not Allowed");
        return RestartApp(id, IsTrue(req, "force", false), now, mutated);
      }
      if (route.suffix == "versions") {
        if (m != "GET") return MessageReply(405, "HTTP 405 Method Not Allowed");
        return route.arg.empty() ? Versions(id) : Version(id, route.arg);
      }
      if (route.suffix == "tasks") {
        if (m == "GET" && route.arg.empty()) return Tasks(id, now);
        if (m == "DELETE") return KillTasks(id, route.arg, req, now, mutated);
        return MessageReply(405, "HTTP 405 Method Not Allowed");
      }
    }
    if (path == "/v2/tasks") {
      if (m != "GET") return MessageReply(405, "HTTP 405 Method Not Allowed");
      json tasks = json::array();
      for (auto& [id, app] : apps) {
        for (json& t : TasksJson(id, app, CountsOf(id, app, now))) tasks.push_back(std::move(t));
      }
      return JsonReply(200, {{"tasks", tasks}});
    }
    if (path == "/v2/leader") {
      if (m != "GET") return MessageReply(405, "HTTP 405 Method Not Allowed");
      return JsonReply(200, {{"leader", req.local_addr + ":" + std::to_string(req.local_port)}});
    }
    if (path == "/v2/deployments" || path == "/v2/deployments/") {
      if (m != "GET") return MessageReply(405, "HTTP 405 Method Not Allowed");
      return ListDeployments(now);
    }
    if (path.rfind("/v2/deployments/", 0) == 0) {
      if (m != "DELETE") return MessageReply(405, "HTTP 405 Method Not Allowed");
      return DeleteDeployment(path.substr(std::string("/v2/deployments/").size()),
                              IsTrue(req, "force", false), now, mutated);
    }
    return MessageReply(404, "HTTP 404 Not Found");
  }

  // ----- persistence --------------------------------------------------------------------------

  // The state as JSON text, assembled from the cached serializations so that saving 10,000 apps
  // holds the lock only for a few milliseconds.
  std::string Export(SteadyTime now) const {
    std::string out = "{\"format\":\"converge-marathon-emulator/1\"";
    out += ",\"transitionMs\":" + std::to_string(transition_ms);
    out += ",\"nextServicePort\":" + std::to_string(next_service_port);
    out += ",\"failingImages\":" + json(failing_images).dump();
    out += ",\"apps\":[";
    bool first = true;
    for (const auto& [id, app] : apps) {
      if (!first) out += ',';
      first = false;
      out += "{\"id\":" + json(id).dump();
      out += ",\"deploymentId\":" + json(app.deployment_id).dump();
      out += ",\"lastTaskFailure\":" + app.last_task_failure.dump();
      out += ",\"def\":" + app.dump;
      out += ",\"history\":[";
      for (size_t i = 0; i < app.history.size(); ++i) {
        if (i > 0) out += ',';
        out += app.history[i].dump;
      }
      out += "]}";
    }
    out += "]";
    json deps = json::array();
    for (const auto& [id, d] : deployments) {
      json changes = json::array();
      for (const AppChange& c : d.changes) {
        changes.push_back({{"app", c.app_id},
                           {"kind", StepKindName(c.kind)},
                           {"before", c.before},
                           {"fromRunning", c.from_running}});
      }
      auto remaining = std::chrono::duration_cast<milliseconds>(d.end() - now).count();
      deps.push_back({{"id", id},
                      {"version", d.version},
                      {"changes", changes},
                      {"durationMs", d.duration.count()},
                      {"remainingMs", std::max<long long>(0, remaining)}});
    }
    out += ",\"deployments\":" + deps.dump() + "}";
    return out;
  }

  // Throws nlohmann exceptions on malformed input; the caller catches them.
  Status Import(const json& state, SteadyTime now) {
    if (!state.is_object() || state.value("format", "") != "converge-marathon-emulator/1") {
      return InvalidError("not a converge Marathon emulator state (format mismatch)");
    }
    std::map<std::string, AppRecord> new_apps;
    std::map<int, std::string> ports;
    for (const json& a : state.at("apps")) {
      AppRecord record;
      std::string id = a.at("id").get<std::string>();
      record.SetDef(a.at("def"));
      for (const json& h : a.at("history")) {
        record.history.push_back({h.at("version").get<std::string>(), h.dump()});
      }
      record.deployment_id = a.value("deploymentId", "");
      record.last_task_failure = a.value("lastTaskFailure", json());
      for (int p : ServicePortsOf(record.def)) ports[p] = id;
      new_apps.emplace(id, std::move(record));
    }
    std::map<std::string, Deployment> new_deployments;
    std::set<std::pair<SteadyTime, std::string>> new_by_end;
    for (const json& dj : state.at("deployments")) {
      Deployment d;
      d.id = dj.at("id").get<std::string>();
      d.version = dj.at("version").get<std::string>();
      d.duration = milliseconds(dj.at("durationMs").get<long long>());
      d.start = now - (d.duration - milliseconds(dj.at("remainingMs").get<long long>()));
      for (const json& cj : dj.at("changes")) {
        AppChange c;
        c.app_id = cj.at("app").get<std::string>();
        auto kind = StepKindFromName(cj.at("kind").get<std::string>());
        if (!kind) return InvalidError("unknown deployment step kind in state");
        c.kind = *kind;
        c.before = cj.at("before");
        c.from_running = cj.at("fromRunning").get<int>();
        d.changes.push_back(std::move(c));
      }
      new_by_end.insert({d.end(), d.id});
      new_deployments.emplace(d.id, std::move(d));
    }
    for (auto& [id, app] : new_apps) {
      if (!app.deployment_id.empty() && new_deployments.count(app.deployment_id) == 0) {
        app.deployment_id.clear();
      }
    }
    apps = std::move(new_apps);
    deployments = std::move(new_deployments);
    by_end = std::move(new_by_end);
    service_ports = std::move(ports);
    // Files written before the knobs were renamed say deployMs / unhealthyImages.
    transition_ms = state.value("transitionMs", state.value("deployMs", transition_ms));
    next_service_port = state.value("nextServicePort", kServicePortMin);
    failing_images.clear();
    for (const json& i : state.value("failingImages", state.value("unhealthyImages", json::array()))) {
      failing_images.insert(i.get<std::string>());
    }
    return Status::Ok();
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
  std::function<void()> observer;
  try {
    std::lock_guard<std::mutex> lock(impl_->mu);
    SteadyTime now = impl_->options.now();
    mutated = impl_->Advance(now);
    reply = impl_->Route(req, path, now, &mutated);
    observer = impl_->observer;
  } catch (const std::exception& e) {
    reply = MessageReply(500, std::string("emulator error: ") + e.what());
  }
  res.status = reply.status;
  for (const auto& [k, v] : reply.headers) res.set_header(k, v);
  if (!reply.content_type.empty()) res.set_content(reply.body, reply.content_type.c_str());
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

std::map<std::string, std::string> Emulator::AdminAliases() const {
  return {{"deploy-ms", "transition-ms"}, {"unhealthy-images", "failing-images"}};
}

void Emulator::SetFailingImages(std::vector<std::string> images) {
  std::function<void()> observer;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->failing_images = std::set<std::string>(images.begin(), images.end());
    observer = impl_->observer;
  }
  if (observer) observer();
}

std::vector<std::string> Emulator::FailingImages() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return {impl_->failing_images.begin(), impl_->failing_images.end()};
}

void Emulator::Reset() {
  std::function<void()> observer;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->apps.clear();
    impl_->deployments.clear();
    impl_->by_end.clear();
    impl_->service_ports.clear();
    impl_->next_service_port = kServicePortMin;
    impl_->next_host_port = kHostPortMin;
    observer = impl_->observer;
  }
  if (observer) observer();
}

nlohmann::json Emulator::ExportState() const {
  return json::parse(SerializeState());
}

std::string Emulator::SerializeState() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Export(impl_->options.now());
}

Status Emulator::ImportState(const nlohmann::json& state) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  try {
    return impl_->Import(state, impl_->options.now());
  } catch (const std::exception& e) {
    return InvalidError(std::string("malformed emulator state: ") + e.what());
  }
}

void Emulator::SetMutationObserver(std::function<void()> observer) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->observer = std::move(observer);
}

}  // namespace converge::marathon
