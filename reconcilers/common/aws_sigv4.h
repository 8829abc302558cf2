// AWS Signature Version 4 (the signing every AWS JSON API, SageMaker included, requires).
// Used by the SageMaker client to sign requests and by the sandbox to verify them by re-signing
// (same headers, same body bytes, the time from X-Amz-Date) and comparing.
//
// Test vector (../shared/upstream/sagemaker/NOTES.md, checked against botocore): AKIDEXAMPLE /
// wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, us-east-1, 2024-01-02T03:04:05Z, POST
// https://api.sagemaker.us-east-1.amazonaws.com/ with X-Amz-Target SageMaker.CreateModel and
// Content-Type application/x-amz-json-1.1 -> Signature=e6b6e7e8...
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace converge::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;  // never logged
  std::string session_token;      // optional; never logged
  bool empty() const { return access_key_id.empty() || secret_access_key.empty(); }
};

struct SigningRequest {
  std::string method = "POST";
  std::string url;  // absolute: scheme://host[:port]/path[?query]
  std::vector<std::pair<std::string, std::string>> headers;  // as they will be sent
  std::string body;
  // The canonical URI when the service does not take botocore's default (the path normalised and
  // percent-encoded twice): S3 signs the path as sent, encoded once (S3SigV4Auth). "" = default.
  std::string canonical_path;
};

// Adds X-Amz-Date (and X-Amz-Security-Token when the credentials carry one) and Authorization to
// `request.headers`, replacing any earlier ones (so a retry can be signed again). Signed, as
// botocore signs them: host (from the URL, with the port only when it is not the scheme's
// default, unless the request sets Host) and every header of the request except User-Agent,
// Expect and X-Amzn-Trace-Id; for the SageMaker client that is
// content-type;host;x-amz-date;x-amz-target (;x-amz-security-token with session credentials).
// The X-Amz-Date form of a time: 20150830T123600Z (UTC).
std::string AmzDate(std::chrono::system_clock::time_point t);

void Sign(SigningRequest& request, const Credentials& credentials, const std::string& region,
          const std::string& service, std::chrono::system_clock::time_point now);

// The hex signature Sign would compute (for tests and verification).
std::string Signature(const SigningRequest& request, const Credentials& credentials,
                      const std::string& region, const std::string& service,
                      const std::string& amz_date /* 20240102T030405Z */,
                      const std::vector<std::string>& signed_headers /* lower-case, sorted */);

// The parts of an "AWS4-HMAC-SHA256 Credential=AK/20240102/us-east-1/sagemaker/aws4_request,
// SignedHeaders=a;b, Signature=hex" header, for a server verifying a request: re-sign with
// Signature(request, credentials-for(access_key_id), region, service, X-Amz-Date,
// signed_headers) and compare with `signature`. nullopt when the header is malformed.
struct Authorization {
  std::string access_key_id;
  std::string date;  // yyyymmdd from the scope
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;
  std::string signature;
};
std::optional<Authorization> ParseAuthorization(const std::string& header);

}  // namespace converge::aws
