// Where converge's AWS credentials and region come from (the SageMaker client, Iceberg's s3://
// storage), resolved the way the AWS CLI
// and botocore resolve them (the subset converge supports: static keys, no role assumption,
// SSO or credential_process):
//
// credentials: an explicit profile (a Backend's auth.profile / storage.s3.profile) -> that profile, like
//   `aws --profile x` (environment keys are then ignored, as botocore does); otherwise
//   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN); otherwise the profile
//   AWS_PROFILE or "default" of the shared credentials file (AWS_SHARED_CREDENTIALS_FILE,
//   default ~/.aws/credentials), then of the config file (AWS_CONFIG_FILE, default ~/.aws/config,
//   section [profile x] or [default]).
// region: explicit (the Backend's spec.region) > AWS_REGION > AWS_DEFAULT_REGION > `region` of the
//   profile in the config file.
//
// Errors say where converge looked and what to set; they never contain a key or token value.
#pragma once

#include <functional>
#include <string>

#include "reconcilers/common/aws_sigv4.h"
#include "specs/base/status.h"

namespace converge::aws {

// The process environment, injectable for tests. HOME (for ~) is read through `getenv` as well.
struct Environment {
  std::function<const char*(const char*)> getenv;
  // The real environment (::getenv).
  static Environment Process();
};

// `profile` empty: not given explicitly. `source`, when not null, receives where the credentials
// came from ("environment", "profile ml-deploy of /home/u/.aws/credentials") — safe to print.
Result<Credentials> ResolveCredentials(const std::string& profile,
                                            const Environment& env = Environment::Process(),
                                            std::string* source = nullptr);

Result<std::string> ResolveRegion(const std::string& explicit_region, const std::string& profile,
                                  const Environment& env = Environment::Process());

}  // namespace converge::aws
