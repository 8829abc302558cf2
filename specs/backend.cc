#include "specs/backend.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace converge {
namespace {

void Err(std::vector<PathDiagnostic>& out, std::string path, std::string msg) {
  out.push_back(PathDiagnostic{std::move(path), std::move(msg), Severity::kError});
}

bool ValidSecretRef(const json& v, const std::string& path, std::vector<PathDiagnostic>& out) {
  if (v.is_string() || v.is_number()) {
    Err(out, path,
        "a literal secret is not allowed in a spec file; reference it with {fromEnv: VAR} or "
        "{fromFile: PATH}");
    return false;
  }
  if (!v.is_object() || v.size() != 1 || !(v.contains("fromEnv") || v.contains("fromFile"))) {
    Err(out, path, "expected exactly one of {fromEnv: VAR} or {fromFile: PATH}");
    return false;
  }
  auto it = v.begin();
  const std::string k = it.key();
  const json& val = it.value();
  if (!val.is_string() || val.get<std::string>().empty()) {
    Err(out, path + "/" + k, k + " must be a non-empty string");
    return false;
  }
  return true;
}

SecretRef SecretFrom(const json& v) {
  SecretRef r;
  if (!v.is_object()) return r;
  r.from_env = v.value("fromEnv", "");
  r.from_file = v.value("fromFile", "");
  return r;
}

}  // namespace

bool ParseDuration(const std::string& s, std::chrono::seconds* out) {
  if (s.empty()) return false;
  long total = 0, num = -1;
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      num = (num < 0 ? 0 : num) * 10 + (c - '0');
      if (num > 100000000) return false;
      continue;
    }
    if (num < 0) return false;
    switch (c) {
      case 's': total += num; break;
      case 'm': total += num * 60; break;
      case 'h': total += num * 3600; break;
      default: return false;
    }
    num = -1;
  }
  if (num >= 0) total += num;
  *out = std::chrono::seconds(total);
  return true;
}

bool ParseDurationMs(const std::string& s, std::chrono::milliseconds* out) {
  if (s.size() > 2 && s.compare(s.size() - 2, 2, "ms") == 0) {
    long n = 0;
    for (size_t i = 0; i + 2 < s.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i])) || n > 100000000) return false;
      n = n * 10 + (s[i] - '0');
    }
    *out = std::chrono::milliseconds(n);
    return true;
  }
  std::chrono::seconds sec;
  if (!ParseDuration(s, &sec)) return false;
  *out = sec;
  return true;
}

const std::set<std::string>& CommonBackendMembers() {
  static const std::set<std::string> kMembers = {"type",   "url",          "auth",
                                                 "tls",    "prune",        "autoRollback",
                                                 "healthTimeout", "pollInterval"};
  return kMembers;
}

namespace {

void ValidateAuth(const json& auth, const BackendMembers* type, std::vector<PathDiagnostic>& out) {
  if (!auth.is_object()) {
    Err(out, "/spec/auth", "auth must be a mapping {type: ..., ...}");
    return;
  }
  // Not auth.value("type", ...): it throws on a non-string (found by fuzz/marathon_app).
  auto type_member = auth.find("type");
  std::string at = type_member == auth.end() ? "none"
                   : type_member->is_string() ? type_member->get<std::string>()
                                              : "";
  if (type_member != auth.end() && !type_member->is_string()) {
    Err(out, "/spec/auth/type", "auth.type must be a string");
    return;
  }
  static const std::set<std::string> kAuthMembers = {
      "type", "username", "password", "token", "profile", "user",
      "clientId", "clientSecret", "tokenUrl", "scope"};
  for (const auto& [k, _] : auth.items())
    if (!kAuthMembers.count(k)) Err(out, "/spec/auth/" + k, "unknown field \"" + k + "\"");
  for (const char* secret : {"password", "token", "clientSecret"}) {
    if (auth.contains(secret)) ValidSecretRef(auth[secret], std::string("/spec/auth/") + secret, out);
  }
  if (type != nullptr && !type->auth_types.count(at)) {
    std::string accepted;
    for (const auto& t : type->auth_types) accepted += (accepted.empty() ? "" : ", ") + t;
    Err(out, "/spec/auth/type", "auth.type must be one of: " + accepted);
    return;
  }
  if (at == "basic") {
    if (!auth.contains("username") || !auth["username"].is_string())
      Err(out, "/spec/auth", "basic auth needs username (a string)");
    if (!auth.contains("password"))
      Err(out, "/spec/auth", "basic auth needs password: {fromEnv: VAR} or {fromFile: PATH}");
  } else if (at == "dcos-token") {
    if (!auth.contains("token"))
      Err(out, "/spec/auth", "dcos-token auth needs token: {fromEnv: VAR} or {fromFile: PATH}");
  } else if (at == "bearer") {
    if (!auth.contains("token"))
      Err(out, "/spec/auth", "bearer auth needs token: {fromEnv: VAR} or {fromFile: PATH}");
  } else if (at == "oauth2") {
    if (!auth.contains("clientId") || !auth["clientId"].is_string())
      Err(out, "/spec/auth", "oauth2 auth needs clientId (a string)");
    if (!auth.contains("clientSecret"))
      Err(out, "/spec/auth",
          "oauth2 auth needs clientSecret: {fromEnv: VAR} or {fromFile: PATH}");
    for (const char* s : {"tokenUrl", "scope"})
      if (auth.contains(s) && !auth[s].is_string())
        Err(out, std::string("/spec/auth/") + s, "expected a string");
  } else if (at == "aws") {
    // Credentials come from the environment or the shared credentials file, never the spec;
    // `profile` only names a profile there.
    if (auth.contains("profile") && !auth["profile"].is_string())
      Err(out, "/spec/auth/profile", "expected a profile name of ~/.aws/credentials");
  }
}

}  // namespace

void ValidateBackend(const Document& doc, const std::map<std::string, BackendMembers>& types,
                     std::vector<PathDiagnostic>& out) {
  const json spec = doc.spec.Get();
  std::string names;
  for (const auto& [t, _] : types) names += (names.empty() ? "" : ", ") + t;
  auto type = spec.find("type");
  const BackendMembers* known = nullptr;
  if (type == spec.end() || !type->is_string()) {
    Err(out, type == spec.end() ? "/spec" : "/spec/type",
        "spec.type is required (expected one of: " + names + ")");
  } else if (auto it = types.find(type->get<std::string>()); it == types.end()) {
    Err(out, "/spec/type",
        "unknown backend type \"" + type->get<std::string>() + "\" (expected one of: " + names +
            ")");
  } else {
    known = &it->second;
  }
  for (const auto& [k, _] : spec.items()) {
    if (CommonBackendMembers().count(k) || (known != nullptr && known->extra.count(k))) continue;
    if (known == nullptr) {
      bool any = false;  // type unknown: a member of some type is not reported twice
      for (const auto& [_, m] : types) any = any || m.extra.count(k);
      if (any) continue;
    }
    Err(out, "/spec/" + k,
        "unknown field \"" + k + "\"" +
            (known != nullptr ? " for a " + type->get<std::string>() + " backend" : ""));
  }
  if (auto url = spec.find("url"); url != spec.end()) {
    std::string u = url->is_string() ? url->get<std::string>() : "";
    if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0) {
      Err(out, "/spec/url", "url must be an http:// or https:// URL");
    }
  }
  if (auto auth = spec.find("auth"); auth != spec.end()) ValidateAuth(*auth, known, out);
  if (auto tls = spec.find("tls"); tls != spec.end()) {
    if (!tls->is_object()) {
      Err(out, "/spec/tls", "tls must be a mapping {caFile, insecureSkipVerify}");
    } else {
      for (const auto& [k, v] : tls->items()) {
        if (k == "caFile" && !v.is_string()) Err(out, "/spec/tls/caFile", "expected a path");
        else if (k == "insecureSkipVerify" && !v.is_boolean())
          Err(out, "/spec/tls/insecureSkipVerify", "expected true or false");
        else if (k != "caFile" && k != "insecureSkipVerify")
          Err(out, "/spec/tls/" + k, "unknown field \"" + k + "\" (expected caFile, insecureSkipVerify)");
      }
    }
  }
  for (const char* b : {"prune", "autoRollback"}) {
    if (spec.contains(b) && !spec[b].is_boolean())
      Err(out, std::string("/spec/") + b, "expected true or false");
  }
  if (spec.contains("pollInterval")) {
    std::chrono::milliseconds d;
    const json& v = spec["pollInterval"];
    bool ok = v.is_string() && ParseDurationMs(v.get<std::string>(), &d);
    if (!ok) Err(out, "/spec/pollInterval", "expected a duration such as 500ms, 10s or 1m");
  }
  if (spec.contains("healthTimeout")) {
    std::chrono::seconds d;
    const json& v = spec["healthTimeout"];
    bool ok = v.is_number_integer() ? v.get<long>() > 0
                                    : v.is_string() && ParseDuration(v.get<std::string>(), &d);
    if (!ok) Err(out, "/spec/healthTimeout", "expected a duration such as 90s, 10m or 1h");
  }
}

BackendConfig BackendFromDocument(const Document& doc) {
  BackendConfig c;
  const json s = doc.spec.Get();
  c.name = doc.name;
  c.type = s.value("type", "");
  c.url = s.value("url", "");
  while (!c.url.empty() && c.url.back() == '/') c.url.pop_back();
  if (s.contains("auth") && s["auth"].is_object()) {
    const json& a = s["auth"];
    c.auth_type = a.value("type", "none");
    c.username = a.value("username", "");
    if (a.contains("password")) c.password = SecretFrom(a["password"]);
    if (a.contains("token")) c.token = SecretFrom(a["token"]);
    c.client_id = a.value("clientId", "");
    if (a.contains("clientSecret")) c.client_secret = SecretFrom(a["clientSecret"]);
    c.token_url = a.value("tokenUrl", "");
    c.scope = a.value("scope", "");
  }
  if (s.contains("tls") && s["tls"].is_object()) {
    c.ca_file = s["tls"].value("caFile", "");
    c.insecure_skip_verify = s["tls"].value("insecureSkipVerify", false);
  }
  c.prune = s.value("prune", false);
  c.auto_rollback = s.value("autoRollback", true);
  if (s.contains("healthTimeout")) {
    const json& v = s["healthTimeout"];
    if (v.is_number_integer()) c.health_timeout = std::chrono::seconds(v.get<long>());
    else if (v.is_string()) ParseDuration(v.get<std::string>(), &c.health_timeout);
  }
  if (s.contains("pollInterval") && s["pollInterval"].is_string())
    ParseDurationMs(s["pollInterval"].get<std::string>(), &c.poll_interval);
  c.spec = s;
  return c;
}

Result<std::string> ResolveSecret(const SecretRef& ref) {
  if (!ref.from_env.empty()) {
    const char* v = std::getenv(ref.from_env.c_str());
    if (!v) return InvalidError("secret from env " + ref.from_env + " is not set");
    return std::string(v);
  }
  if (!ref.from_file.empty()) {
    std::ifstream in(ref.from_file, std::ios::binary);
    if (!in) return InvalidError("cannot read secret file " + ref.from_file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string v = ss.str();
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
    return v;
  }
  return InvalidError("no secret reference given");
}

}  // namespace converge
