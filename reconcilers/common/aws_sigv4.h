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
};

// Adds X-Amz-Date (and X-Amz-Security-Token when the credentials carry one) and Authorization to
// `request.headers`. The signed headers are host, content-type, x-amz-date, x-amz-target and
// x-amz-security-token (those present), as botocore signs them.
void Sign(SigningRequest& request, const Credentials& credentials, const std::string& region,
          const std::string& service, std::chrono::system_clock::time_point now);

// The hex signature Sign would compute (for tests and verification).
std::string Signature(const SigningRequest& request, const Credentials& credentials,
                      const std::string& region, const std::string& service,
                      const std::string& amz_date /* 20240102T030405Z */,
                      const std::vector<std::string>& signed_headers /* lower-case, sorted */);

}  // namespace converge::aws
