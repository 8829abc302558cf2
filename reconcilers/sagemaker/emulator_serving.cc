// SageMaker emulator: one operation from request to reply (auth, input validation, dispatch).
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
#include "reconcilers/sagemaker/emulator_internal.h"
#include "reconcilers/sagemaker/model.h"

namespace converge::sagemaker {

std::string Emulator::Impl::NewRequestId() {
  uint64_t hi = rng();
  uint64_t lo = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", uint32_t(hi >> 32),
                uint32_t((hi >> 16) & 0xffff), uint32_t((hi & 0x0fff) | 0x4000),
                uint32_t(((lo >> 48) & 0x3fff) | 0x8000),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

std::string Emulator::Impl::Arn(const Ctx& c, const std::string& type,
                                const std::string& name) const {
  return "arn:aws:sagemaker:" + c.region + ":" + options.account_id + ":" + type + "/" + name;
}

SteadyTime Emulator::Impl::Due(const Ctx& c) const {
  return c.now + milliseconds(transition_ms);
}

double Emulator::Impl::DueWall(const Ctx& c) const {
  return c.wall + transition_ms / 1000.0;
}

Reply Emulator::Impl::Serve(const httplib::Request& req, const std::string& path, bool* mutated) {
  if (req.method != "POST" || (path != "/" && !path.empty())) {
    return Error(404, "UnknownOperationException",
                 "SageMaker operations are POST / with an X-Amz-Target header");
  }
  Ctx c;
  c.now = options.now();
  c.wall = WallSeconds(options.wall_now());
  if (auto err = Authenticate(req, &c.region)) return *err;
  std::string content_type = AsciiLower(req.get_header_value("Content-Type"));
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

std::optional<Reply> Emulator::Impl::Authenticate(const httplib::Request& req,
                                                  std::string* region) {
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
                     auth->date + "' != '" + amz_date.substr(0, 8) + "', from '" + amz_date + "'.");
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
                     aws::AmzDate(wall - kMaxClockSkew) + " (" + aws::AmzDate(wall) +
                     " - 15 min.)");
  }
  if (*signed_at > wall + kMaxClockSkew) {
    return Error(403, "InvalidSignatureException",
                 "Signature not yet current: " + amz_date + " is still later than " +
                     aws::AmzDate(wall + kMaxClockSkew) + " (" + aws::AmzDate(wall) +
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
  std::string expected = aws::Signature(signing, credentials, auth->region, auth->service, amz_date,
                                        auth->signed_headers);
  if (expected.size() != auth->signature.size() ||
      CRYPTO_memcmp(expected.data(), auth->signature.data(), expected.size()) != 0) {
    return Error(403, "InvalidSignatureException", kSignatureMismatch);
  }
  if (options.region.empty()) *region = auth->region;
  return std::nullopt;
}

Reply Emulator::Impl::ValidateInput(const std::string& op, const json& body) {
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
  std::string message =
      std::to_string(constraints.size()) +
      (constraints.size() == 1 ? " validation error detected: " : " validation errors detected: ");
  for (size_t i = 0; i < constraints.size(); ++i) {
    message += (i == 0 ? "" : "; ") + constraints[i];
  }
  return Validation(message);
}

}  // namespace converge::sagemaker
