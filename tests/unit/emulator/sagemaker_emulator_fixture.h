// The SageMaker emulator test fixture: an emulator on a fake clock, requests signed or not,
// answers parsed. Shared by sagemaker_emulator_test.cc and sagemaker_emulator_state_test.cc.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "reconcilers/common/aws_sigv4.h"
#include "reconcilers/sagemaker/emulator.h"
#include "reconcilers/sagemaker/model.h"
#include "tests/common/fake_clock.h"

namespace converge::sagemaker {
namespace emulator_test {  // named: both test files share one fixture class (gtest requires it)

using json = nlohmann::json;
using std::chrono::milliseconds;

constexpr char kRole[] = "arn:aws:iam::123456789012:role/sagemaker";
constexpr char kAccessKey[] = "AKIDUNITTEST";
constexpr char kSecret[] = "unit-test-secret";

struct Resp {
  int status = 0;
  json body;
  std::string request_id;
  std::string code() const { return body.value("__type", ""); }
  std::string message() const {
    return body.contains("message") ? body.value("message", "") : body.value("Message", "");
  }
};

class SageMakerEmulatorTest : public ::testing::Test {
 protected:
  SageMakerEmulatorTest() { Start(); }

  EmulatorOptions Options() {
    EmulatorOptions o;
    o.now = [this] { return clock_.Now(); };
    o.wall_now = [this] { return clock_.WallNow(); };
    o.transition_ms = 1000;
    return o;
  }

  void Start(EmulatorOptions o) { emu_ = std::make_unique<Emulator>(std::move(o)); }
  void Start() { Start(Options()); }

  void Advance(int ms) { clock_.Advance(milliseconds(ms)); }

  double WallSeconds() const {
    return std::chrono::duration_cast<milliseconds>(clock_.WallNow().time_since_epoch()).count() /
           1000.0;
  }

  // A raw request to POST /sagemaker/ (the mount prefix as sent by the client).
  static httplib::Request RawRequest(const std::string& target, const std::string& body) {
    httplib::Request req;
    req.method = "POST";
    req.path = "/sagemaker/";
    req.target = "/sagemaker/";
    req.body = body;
    req.set_header("Host", "sandbox.local:8080");
    req.set_header("Content-Type", "application/x-amz-json-1.1");
    if (!target.empty()) req.set_header("X-Amz-Target", target);
    return req;
  }

  // Signs `req` as botocore would, at the fake wall time.
  void SignRequest(httplib::Request& req, const std::string& access_key, const std::string& secret,
                   const std::string& region = "eu-west-1") {
    aws::SigningRequest s;
    s.method = req.method;
    s.url = "http://sandbox.local:8080" + req.target;
    s.headers = {{"Content-Type", req.get_header_value("Content-Type")}};
    if (req.has_header("X-Amz-Target")) {
      s.headers.emplace_back("X-Amz-Target", req.get_header_value("X-Amz-Target"));
    }
    s.body = req.body;
    aws::Sign(s, aws::Credentials{access_key, secret, ""}, region, "sagemaker", clock_.WallNow());
    for (const auto& [k, v] : s.headers) {
      if (k != "X-Amz-Date" && k != "Authorization") continue;
      req.headers.erase(k);  // set_header appends
      req.set_header(k, v);
    }
  }

  Resp Send(const httplib::Request& req, const std::string& path = "/") {
    httplib::Response res;
    emu_->Handle(req, res, path);
    Resp r;
    r.status = res.status;
    r.body = json::parse(res.body, nullptr, false);
    r.request_id = res.get_header_value("x-amzn-RequestId");
    EXPECT_EQ(res.get_header_value("Content-Type"), "application/x-amz-json-1.1");
    EXPECT_EQ(r.request_id.size(), 36u);
    return r;
  }

  Resp Call(const std::string& op, const json& body) {
    httplib::Request req = RawRequest("SageMaker." + op, body.dump());
    if (signed_) SignRequest(req, kAccessKey, kSecret);
    Resp r = Send(req);
    if (r.status == 200) ExpectOutputShape(op, r.body);
    return r;
  }

  // The answer satisfies the operation's output shape: required members, types, no unknown
  // members (what a strict SDK would trip over).
  static void ExpectOutputShape(const std::string& op, const json& body) {
    const std::string shape = OutputShapeOf(op);
    if (shape.empty()) {
      EXPECT_EQ(body, json::object()) << op;
      return;
    }
    std::vector<PathDiagnostic> diagnostics;
    json copy = body;
    ShapeCheckOptions options;
    options.service_constraints = false;
    ValidateShape(copy, shape, "", options, diagnostics);
    for (const auto& d : diagnostics)
      ADD_FAILURE() << op << " output " << d.path << ": " << d.message;
  }

  Resp CreateModel(const std::string& name, const std::string& image = "repo/churn:1",
                   json extra = json::object()) {
    json body = {{"ModelName", name},
                 {"ExecutionRoleArn", kRole},
                 {"PrimaryContainer", {{"Image", image}, {"ModelDataUrl", "s3://m/model.tar.gz"}}}};
    body.update(extra);
    return Call("CreateModel", body);
  }

  Resp CreateConfig(
      const std::string& name,
      const std::vector<std::pair<std::string, std::string>>& variants /* variant, model */) {
    json pvs = json::array();
    for (const auto& [v, m] : variants) {
      pvs.push_back({{"VariantName", v},
                     {"ModelName", m},
                     {"InstanceType", "ml.m5.large"},
                     {"InitialInstanceCount", 2},
                     {"InitialVariantWeight", 0.5}});
    }
    return Call("CreateEndpointConfig",
                {{"EndpointConfigName", name}, {"ProductionVariants", pvs}});
  }

  json Describe(const std::string& endpoint) {
    Resp r = Call("DescribeEndpoint", {{"EndpointName", endpoint}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }

  // Model m1 (image), config c1 with variant "a", endpoint "ep" (Creating).
  void Serving(const std::string& image = "repo/churn:1") {
    ASSERT_EQ(CreateModel("m1", image).status, 200);
    ASSERT_EQ(CreateConfig("c1", {{"a", "m1"}}).status, 200);
    Resp r = Call("CreateEndpoint", {{"EndpointName", "ep"}, {"EndpointConfigName", "c1"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  test::FakeClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)),
                         std::chrono::steady_clock::time_point(std::chrono::hours(1000))};
  std::unique_ptr<Emulator> emu_;
  bool signed_ = false;
};

const char kArn[] = "arn:aws:sagemaker:us-east-1:123456789012:";

// ----- models and endpoint configs -------------------------------------------------------------

// A CreateTrainingJob request (jobs tests, state export/import).
inline json TrainingJob(const std::string& name, const std::string& image = "repo/train:1") {
  return {{"TrainingJobName", name},
          {"RoleArn", kRole},
          {"AlgorithmSpecification", {{"TrainingImage", image}, {"TrainingInputMode", "File"}}},
          {"OutputDataConfig", {{"S3OutputPath", "s3://out/"}}},
          {"ResourceConfig",
           {{"InstanceType", "ml.m5.xlarge"}, {"InstanceCount", 1}, {"VolumeSizeInGB", 10}}},
          {"StoppingCondition", {{"MaxRuntimeInSeconds", 3600}}},
          {"Tags", {{{"Key", "owner"}, {"Value", "converge"}}}}};
}

}  // namespace emulator_test
}  // namespace converge::sagemaker
