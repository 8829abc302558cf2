#include "reconcilers/common/aws_credentials.h"
#include "specs/base/ascii.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string_view>

namespace converge::aws {
namespace {

using Section = std::map<std::string, std::string>;
using IniFile = std::map<std::string, Section>;

std::string Env(const Environment& env, const char* name) {
  const char* v = env.getenv ? env.getenv(name) : nullptr;
  return v ? std::string(v) : std::string();
}

std::string ExpandHome(const std::string& path, const Environment& env) {
  if (path.starts_with("~/") || path == "~") return Env(env, "HOME") + path.substr(1);
  return path;
}

// The INI dialect of the AWS files (Python configparser as botocore uses it): `[section]`,
// `key = value` or `key: value`, keys case-insensitive, full-line comments with # or ;. Indented
// lines continue a nested value (e.g. `s3 =` sub-settings) and are skipped. nullopt: the file
// cannot be read (most often: it does not exist, which is not an error).
std::optional<IniFile> ReadIni(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  IniFile ini;
  Section* current = nullptr;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) continue;
    std::string_view l = TrimAsciiSpace(line);
    if (l.empty() || l.front() == '#' || l.front() == ';') continue;
    if (l.front() == '[') {
      size_t close = l.find(']');
      if (close == std::string_view::npos) continue;
      current = &ini[std::string(TrimAsciiSpace(l.substr(1, close - 1)))];
      continue;
    }
    size_t sep = l.find_first_of("=:");
    if (current == nullptr || sep == std::string_view::npos) continue;
    (*current)[AsciiLower(TrimAsciiSpace(l.substr(0, sep)))] = std::string(TrimAsciiSpace(l.substr(sep + 1)));
  }
  return ini;
}

std::string CredentialsPath(const Environment& env) {
  std::string p = Env(env, "AWS_SHARED_CREDENTIALS_FILE");
  return ExpandHome(p.empty() ? "~/.aws/credentials" : p, env);
}

std::string ConfigPath(const Environment& env) {
  std::string p = Env(env, "AWS_CONFIG_FILE");
  return ExpandHome(p.empty() ? "~/.aws/config" : p, env);
}

// A profile's section in the config file: [profile x], or [default] for "default".
const Section* ConfigProfile(const IniFile& config, const std::string& profile) {
  auto it = config.find("profile " + profile);
  if (it == config.end() && profile == "default") it = config.find("default");
  return it == config.end() ? nullptr : &it->second;
}

std::string Get(const Section& s, const std::string& key) {
  auto it = s.find(key);
  return it == s.end() ? std::string() : it->second;
}

constexpr char kNoCredentials[] =
    "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a profile in "
    "~/.aws/credentials (AWS_PROFILE)";

// Reads static keys from one profile section. nullopt: the section has no access key at all.
Result<std::optional<aws::Credentials>> FromSection(const Section& s, const std::string& profile,
                                                    const std::string& path) {
  aws::Credentials c{Get(s, "aws_access_key_id"), Get(s, "aws_secret_access_key"),
                     Get(s, "aws_session_token")};
  if (c.access_key_id.empty()) {
    for (const char* unsupported : {"role_arn", "sso_session", "sso_start_url",
                                    "credential_process", "web_identity_token_file"}) {
      if (s.count(unsupported)) {
        return InvalidError("AWS profile \"" + profile + "\" in " + path + " uses " + unsupported +
                            ", which converge does not support; export static credentials "
                            "instead (e.g. `eval \"$(aws configure export-credentials --profile " +
                            profile + " --format env)\"`)");
      }
    }
    return std::optional<aws::Credentials>();
  }
  if (c.secret_access_key.empty()) {
    return InvalidError("partial AWS credentials: profile \"" + profile + "\" in " + path +
                        " has aws_access_key_id but no aws_secret_access_key");
  }
  return std::optional<aws::Credentials>(std::move(c));
}

}  // namespace

Environment Environment::Process() {
  return Environment{[](const char* name) -> const char* { return std::getenv(name); }};
}

Result<aws::Credentials> ResolveCredentials(const std::string& profile, const Environment& env,
                                            std::string* source) {
  // Like botocore: a profile named explicitly (not through AWS_PROFILE) wins over the
  // environment's keys, so `profile: x` in a Backend means x even in a shell with other keys.
  if (profile.empty()) {
    aws::Credentials c{Env(env, "AWS_ACCESS_KEY_ID"), Env(env, "AWS_SECRET_ACCESS_KEY"),
                       Env(env, "AWS_SESSION_TOKEN")};
    if (!c.access_key_id.empty()) {
      if (c.secret_access_key.empty()) {
        return InvalidError(
            "partial AWS credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
      }
      if (source) *source = "environment";
      return c;
    }
  }
  std::string env_profile = Env(env, "AWS_PROFILE");
  std::string name = !profile.empty() ? profile : !env_profile.empty() ? env_profile : "default";
  bool named = !profile.empty() || !env_profile.empty();

  std::string cred_path = CredentialsPath(env);
  std::string config_path = ConfigPath(env);
  bool profile_seen = false;
  if (auto creds = ReadIni(cred_path)) {
    if (auto it = creds->find(name); it != creds->end()) {
      profile_seen = true;
      auto c = FromSection(it->second, name, cred_path);
      if (!c.ok()) return c.status();
      if (c->has_value()) {
        if (source) *source = "profile " + name + " of " + cred_path;
        return std::move(**c);
      }
    }
  }
  if (auto config = ReadIni(config_path)) {
    if (const Section* s = ConfigProfile(*config, name)) {
      profile_seen = true;
      auto c = FromSection(*s, name, config_path);
      if (!c.ok()) return c.status();
      if (c->has_value()) {
        if (source) *source = "profile " + name + " of " + config_path;
        return std::move(**c);
      }
    }
  }
  if (named && !profile_seen) {
    return InvalidError("AWS profile \"" + name + "\" not found in " + cred_path + " or " +
                        config_path);
  }
  return Status(Code::kPermission, std::string(kNoCredentials) +
                                       " (looked in the environment and profile \"" + name +
                                       "\" of " + cred_path + " and " + config_path + ")");
}

Result<std::string> ResolveRegion(const std::string& explicit_region, const std::string& profile,
                                  const Environment& env) {
  if (!explicit_region.empty()) return explicit_region;
  for (const char* var : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    std::string r = Env(env, var);
    if (!r.empty()) return r;
  }
  std::string env_profile = Env(env, "AWS_PROFILE");
  std::string name = !profile.empty() ? profile : !env_profile.empty() ? env_profile : "default";
  std::string config_path = ConfigPath(env);
  if (auto config = ReadIni(config_path)) {
    if (const Section* s = ConfigProfile(*config, name)) {
      std::string r = Get(*s, "region");
      if (!r.empty()) return r;
    }
  }
  return InvalidError(
      "no AWS region: set spec.region of the Backend, AWS_REGION or AWS_DEFAULT_REGION, or "
      "region in profile \"" +
      name + "\" of " + config_path);
}

}  // namespace converge::aws
