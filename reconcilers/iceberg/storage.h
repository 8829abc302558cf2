// Reading a table's files by URI for the exact small-file counts (manifests.h's FileSource): the
// Backend's optional `storage` member.
//
//   storage:
//     s3:                              # for s3:// (and s3a:// s3n://) URIs
//       region: eu-west-1              # else AWS_REGION / AWS_DEFAULT_REGION / the profile's
//       endpoint: http://minio:9000    # S3-compatible stores; default https://s3.<region>.amazonaws.com
//       pathStyle: true                # <endpoint>/<bucket>/<key>; default virtual-hosted
//       profile: lake                  # an AWS profile; else the usual chain
//
// What it promises:
//  * Local paths and file:// URIs are read from disk; http(s):// with a GET on the shared HTTP
//    client (retries, TLS as the Backend's `tls`); s3:// with a GET signed with SigV4 (service
//    s3, x-amz-content-sha256 of the empty body, the key's path encoded once as S3 signs it),
//    credentials from the AWS chain (reconcilers/common/aws_credentials.h), resolved at the
//    first s3:// read and resolved again once when S3 answers 400/403 for expired credentials.
//  * Reads are bounded: a file over `max_file_bytes` is a kInvalid error naming it (HTTP reads
//    ask for `Range: bytes=0-<max>`, so no more than max + 1 bytes are transferred).
//  * Other schemes (gs://, abfs://, ...) are kInvalid "cannot read" errors: the caller falls
//    back to the estimate. Errors name the URI and the status; never a key, token or signature.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/common/aws_credentials.h"
#include "reconcilers/common/http.h"
#include "reconcilers/iceberg/manifests.h"
#include "specs/base/clock.h"
#include "specs/document.h"

namespace converge::iceberg {

struct StorageOptions {
  std::string s3_region;    // "" = the AWS chain's region (then us-east-1)
  std::string s3_endpoint;  // "" = https://s3.<region>.amazonaws.com
  bool s3_path_style = false;
  std::string s3_profile;
  size_t max_file_bytes = ReadLimits{}.max_file_bytes;
};

// The JSON Schema (draft 4) of the Backend's `storage` member, and the checks a schema cannot
// say (the endpoint is an http(s) URL), paths from the document root.
json StorageSchema();
void ValidateStorage(const json& backend_spec, std::vector<PathDiagnostic>& out);
// The options of a Backend spec; nullopt when it has no `storage`.
std::optional<StorageOptions> StorageOptionsOf(const json& backend_spec);

// s3://bucket/a/b -> {"bucket", "a/b"}; nullopt when `uri` is not an S3 URI.
struct S3Object {
  std::string bucket;
  std::string key;
};
std::optional<S3Object> ParseS3Uri(const std::string& uri);

class Storage : public FileSource {
 public:
  Storage(StorageOptions options, std::unique_ptr<http::Transport> transport, Clock& clock,
          aws::Environment env = aws::Environment::Process());

  Result<std::string> Read(const std::string& uri) override;
  // Requests sent (HTTP and S3 attempts), for the bench.
  long RequestCount() { return http_->stats().requests.load() + s3_->stats().requests.load(); }

  // The URL and canonical path of an S3 GET (public for tests).
  struct S3Url {
    std::string url;
    std::string canonical_path;
  };
  S3Url S3UrlOf(const S3Object& object, const std::string& region) const;

 private:
  Result<std::string> ReadLocal(const std::string& path);
  Result<std::string> ReadHttp(const std::string& uri);
  Result<std::string> ReadS3(const std::string& uri, const S3Object& object);
  Result<std::string> Bounded(const std::string& uri, const http::Response& r);
  // The credentials and region in use (resolved at the first call; `refresh` resolves again).
  Status EnsureCredentials(bool refresh);

  StorageOptions options_;
  std::unique_ptr<http::Transport> transport_;
  std::unique_ptr<http::Client> http_;  // http(s)://
  std::unique_ptr<http::Client> s3_;    // s3://, every attempt signed
  Clock& clock_;
  aws::Environment env_;
  std::mutex mu_;  // guards the members below
  std::optional<aws::Credentials> credentials_;
  std::string region_;
};

}  // namespace converge::iceberg
