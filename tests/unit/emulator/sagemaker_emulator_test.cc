// The SageMaker emulator (botocore model 1.29.27, the one embedded in the binary), driven
// in-process through Emulator::Handle with a fake clock, so transitions need no sleeps. Every 200
// answer is checked against the operation's output shape of the embedded model.
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
namespace {

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

TEST_F(SageMakerEmulatorTest, ModelCreateDescribeListDelete) {
  Resp r = CreateModel("churn", "repo/churn:1", {{"Tags", {{{"Key", "k"}, {"Value", "v"}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, json({{"ModelArn", std::string(kArn) + "model/churn"}}));
  r = Call("DescribeModel", {{"ModelName", "churn"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["ModelName"], "churn");
  EXPECT_EQ(r.body["ExecutionRoleArn"], kRole);
  EXPECT_EQ(r.body["CreationTime"], WallSeconds());
  EXPECT_EQ(r.body["PrimaryContainer"]["Mode"], "SingleModel");
  EXPECT_EQ(r.body["EnableNetworkIsolation"], false);
  EXPECT_FALSE(r.body.contains("Tags"));

  r = CreateModel("churn");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.code(), "ValidationException");
  EXPECT_EQ(r.message(),
            "Cannot create already existing model \"" + std::string(kArn) + "model/churn\".");
  EXPECT_EQ(Call("ListModels", json::object()).body["Models"].size(), 1u);
  EXPECT_EQ(Call("DeleteModel", {{"ModelName", "churn"}}).status, 200);
  r = Call("DescribeModel", {{"ModelName", "churn"}});
  EXPECT_EQ(r.code(), "ValidationException");
  EXPECT_EQ(r.message(), "Could not find model \"" + std::string(kArn) + "model/churn\".");
  EXPECT_EQ(Call("DeleteModel", {{"ModelName", "churn"}}).code(), "ValidationException");
  EXPECT_EQ(Call("CreateModel", {{"ModelName", "x"}, {"ExecutionRoleArn", kRole}}).code(),
            "ValidationException");  // neither PrimaryContainer nor Containers
}

TEST_F(SageMakerEmulatorTest, EndpointConfigNeedsItsModelsAndIsImmutable) {
  Resp r = CreateConfig("c1", {{"a", "missing"}});
  EXPECT_EQ(r.code(), "ValidationException");
  EXPECT_EQ(r.message(), "Could not find model \"" + std::string(kArn) + "model/missing\".");
  ASSERT_EQ(CreateModel("m1").status, 200);
  r = CreateConfig("c1", {{"a", "m1"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["EndpointConfigArn"], std::string(kArn) + "endpoint-config/c1");
  r = CreateConfig("c1", {{"a", "m1"}});
  EXPECT_EQ(r.message(), "Cannot create already existing endpoint configuration \"" +
                             std::string(kArn) + "endpoint-config/c1\".");
  EXPECT_EQ(CreateConfig("c2", {{"a", "m1"}, {"a", "m1"}}).code(), "ValidationException");
  r = Call("DescribeEndpointConfig", {{"EndpointConfigName", "c1"}});
  EXPECT_EQ(r.body["ProductionVariants"][0]["InitialInstanceCount"], 2);
  EXPECT_EQ(Call("UpdateEndpointConfig", {{"EndpointConfigName", "c1"}}).code(),
            "UnknownOperationException");
  EXPECT_EQ(Call("DeleteEndpointConfig", {{"EndpointConfigName", "c1"}}).status, 200);
  r = Call("DescribeEndpointConfig", {{"EndpointConfigName", "c1"}});
  EXPECT_EQ(r.message(), "Could not find endpoint configuration \"" + std::string(kArn) +
                             "endpoint-config/c1\".");
}

// ----- endpoints -------------------------------------------------------------------------------

TEST_F(SageMakerEmulatorTest, EndpointCreatingThenInServiceAfterTheDelay) {
  Serving();
  double created = WallSeconds();
  json d = Describe("ep");
  EXPECT_EQ(d["EndpointStatus"], "Creating");
  EXPECT_EQ(d["EndpointArn"], std::string(kArn) + "endpoint/ep");
  EXPECT_EQ(d["ProductionVariants"][0]["VariantStatus"][0]["Status"], "Creating");
  EXPECT_FALSE(d["ProductionVariants"][0].contains("CurrentInstanceCount"));
  Advance(999);
  EXPECT_EQ(Describe("ep")["EndpointStatus"], "Creating");
  Advance(1);
  d = Describe("ep");
  EXPECT_EQ(d["EndpointStatus"], "InService");
  EXPECT_EQ(d["CreationTime"], created);
  EXPECT_EQ(d["LastModifiedTime"], created + 1.0);
  const json& v = d["ProductionVariants"][0];
  EXPECT_EQ(v["CurrentInstanceCount"], 2);
  EXPECT_EQ(v["DesiredInstanceCount"], 2);
  EXPECT_EQ(v["CurrentWeight"], 0.5);
  EXPECT_EQ(v["DeployedImages"][0]["SpecifiedImage"], "repo/churn:1");
  EXPECT_EQ(
      v["DeployedImages"][0]["ResolvedImage"].get<std::string>().rfind("repo/churn@sha256:", 0),
      0u);
  EXPECT_FALSE(v.contains("VariantStatus"));
  Resp r = Call("CreateEndpoint", {{"EndpointName", "EP"}, {"EndpointConfigName", "c1"}});
  EXPECT_EQ(r.message(),
            "Cannot create already existing endpoint \"" + std::string(kArn) + "endpoint/ep\".");
}

TEST_F(SageMakerEmulatorTest, EndpointNamesAreCaseInsensitiveAndLowerCasedInArns) {
  ASSERT_EQ(CreateModel("m1").status, 200);
  ASSERT_EQ(CreateConfig("c1", {{"a", "m1"}}).status, 200);
  Resp r = Call("CreateEndpoint", {{"EndpointName", "Churn-Prod"}, {"EndpointConfigName", "c1"}});
  EXPECT_EQ(r.body["EndpointArn"], std::string(kArn) + "endpoint/churn-prod");
  EXPECT_EQ(Describe("churn-prod")["EndpointName"], "Churn-Prod");
  r = Call("DescribeEndpoint", {{"EndpointName", "other"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.code(), "ValidationException");
  EXPECT_EQ(r.message(), "Could not find endpoint \"" + std::string(kArn) + "endpoint/other\".");
  EXPECT_EQ(
      Call("CreateEndpoint", {{"EndpointName", "x"}, {"EndpointConfigName", "nope"}}).message(),
      "Could not find endpoint configuration \"" + std::string(kArn) + "endpoint-config/nope\".");
}

TEST_F(SageMakerEmulatorTest, FailingImageFailsTheCreate) {
  emu_->SetFailingImages({"repo/churn:bad"});
  Serving("repo/churn:bad");
  Advance(1000);
  json d = Describe("ep");
  EXPECT_EQ(d["EndpointStatus"], "Failed");
  EXPECT_EQ(d["FailureReason"],
            "The primary container for production variant a did not pass the ping health check. "
            "Please check CloudWatch logs for this endpoint.");
  ASSERT_EQ(CreateConfig("c2", {{"a", "m1"}}).status, 200);
  Resp r = Call("UpdateEndpoint", {{"EndpointName", "ep"}, {"EndpointConfigName", "c2"}});
  EXPECT_EQ(r.code(), "ValidationException");
  EXPECT_NE(r.message().find("failed endpoint"), std::string::npos);
  EXPECT_EQ(Call("DeleteEndpoint", {{"EndpointName", "ep"}}).status, 200);
}

TEST_F(SageMakerEmulatorTest, UpdateEndpointDeploysTheNewConfig) {
  Serving();
  Resp r = Call("UpdateEndpoint", {{"EndpointName", "ep"}, {"EndpointConfigName", "c1"}});
  EXPECT_EQ(r.message(),
            "Cannot update in-progress endpoint \"" + std::string(kArn) + "endpoint/ep\".");
  EXPECT_EQ(Call("DeleteEndpoint", {{"EndpointName", "ep"}}).code(), "ValidationException");
  Advance(1000);
  ASSERT_EQ(CreateModel("m2", "repo/churn:2").status, 200);
  ASSERT_EQ(CreateConfig("c2", {{"b", "m2"}}).status, 200);
  r = Call("UpdateEndpoint", {{"EndpointName", "ep"}, {"EndpointConfigName", "c2"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["EndpointArn"], std::string(kArn) + "endpoint/ep");
  json d = Describe("ep");
  EXPECT_EQ(d["EndpointStatus"], "Updating");
  EXPECT_EQ(d["EndpointConfigName"], "c1");  // the old config serves until the switch
  EXPECT_EQ(d["PendingDeploymentSummary"]["EndpointConfigName"], "c2");
  EXPECT_EQ(d["PendingDeploymentSummary"]["ProductionVariants"][0]["VariantName"], "b");
  EXPECT_EQ(Call("UpdateEndpointWeightsAndCapacities",
                 {{"EndpointName", "ep"},
                  {"DesiredWeightsAndCapacities", {{{"VariantName", "a"}, {"DesiredWeight", 1}}}}})
                .message(),
            "Cannot update in-progress endpoint \"" + std::string(kArn) + "endpoint/ep\".");
  Advance(1000);
  d = Describe("ep");
  EXPECT_EQ(d["EndpointStatus"], "InService");
  EXPECT_EQ(d["EndpointConfigName"], "c2");
  EXPECT_EQ(d["ProductionVariants"].size(), 1u);
  EXPECT_EQ(d["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"], "repo/churn:2");
  EXPECT_FALSE(d.contains("PendingDeploymentSummary"));
  EXPECT_FALSE(d.contains("FailureReason"));
}

TEST_F(SageMakerEmulatorTest, FailingUpdateRollsBackToTheOldConfig) {
  Serving();
  Advance(1000);
  emu_->SetFailingImages({"repo/churn:bad"});
  ASSERT_EQ(CreateModel("m2", "repo/churn:bad").status, 200);
  ASSERT_EQ(CreateConfig("c2", {{"a", "m2"}}).status, 200);
  ASSERT_EQ(Call("UpdateEndpoint", {{"EndpointName", "ep"}, {"EndpointConfigName", "c2"}}).status,
            200);
  EXPECT_EQ(Describe("ep")["EndpointStatus"], "Updating");
  Advance(1000);
  json d = Describe("ep");
  EXPECT_EQ(d["EndpointStatus"], "RollingBack");
  EXPECT_EQ(d["EndpointConfigName"], "c1");
  Advance(1000);
  d = Describe("ep");
  EXPECT_EQ(d["EndpointStatus"], "InService");
  EXPECT_EQ(d["EndpointConfigName"], "c1");
  EXPECT_NE(d["FailureReason"].get<std::string>().find("did not pass the ping health check"),
            std::string::npos);
  EXPECT_EQ(d["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"], "repo/churn:1");
  // A later good update clears the reason.
  ASSERT_EQ(Call("UpdateEndpoint", {{"EndpointName", "ep"}, {"EndpointConfigName", "c1"}}).status,
            200);
  Advance(1000);
  EXPECT_FALSE(Describe("ep").contains("FailureReason"));
}

TEST_F(SageMakerEmulatorTest, WeightsAndCapacitiesChangeDesiredThenCurrent) {
  Serving();
  Advance(1000);
  Resp r = Call("UpdateEndpointWeightsAndCapacities",
                {{"EndpointName", "ep"},
                 {"DesiredWeightsAndCapacities",
                  {{{"VariantName", "a"}, {"DesiredWeight", 0.25}, {"DesiredInstanceCount", 4}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  json v = Describe("ep")["ProductionVariants"][0];
  EXPECT_EQ(Describe("ep")["EndpointStatus"], "Updating");
  EXPECT_EQ(v["DesiredInstanceCount"], 4);
  EXPECT_EQ(v["CurrentInstanceCount"], 2);
  EXPECT_EQ(v["DesiredWeight"], 0.25);
  EXPECT_EQ(v["CurrentWeight"], 0.5);
  EXPECT_EQ(v["VariantStatus"][0]["Status"], "Updating");
  Advance(1000);
  json d = Describe("ep");
  EXPECT_EQ(d["EndpointStatus"], "InService");
  EXPECT_EQ(d["EndpointConfigName"], "c1");
  EXPECT_EQ(d["ProductionVariants"][0]["CurrentInstanceCount"], 4);
  EXPECT_EQ(d["ProductionVariants"][0]["CurrentWeight"], 0.25);
  r = Call("UpdateEndpointWeightsAndCapacities",
           {{"EndpointName", "ep"},
            {"DesiredWeightsAndCapacities", {{{"VariantName", "zz"}, {"DesiredWeight", 1}}}}});
  EXPECT_EQ(r.code(), "ValidationException");
  EXPECT_NE(r.message().find("zz"), std::string::npos);
}

TEST_F(SageMakerEmulatorTest, DeleteEndpointGoesDeletingThenGone) {
  Serving();
  Advance(1000);
  ASSERT_EQ(Call("DeleteEndpoint", {{"EndpointName", "ep"}}).status, 200);
  EXPECT_EQ(Describe("ep")["EndpointStatus"], "Deleting");
  EXPECT_EQ(Call("DeleteEndpoint", {{"EndpointName", "ep"}}).status, 200);  // idempotent
  Advance(1000);
  Resp r = Call("DescribeEndpoint", {{"EndpointName", "ep"}});
  EXPECT_EQ(r.code(), "ValidationException");
  EXPECT_EQ(Call("ListEndpoints", json::object()).body["Endpoints"], json::array());
  // The name is free again; the models and config it used are untouched.
  EXPECT_EQ(Call("CreateEndpoint", {{"EndpointName", "ep"}, {"EndpointConfigName", "c1"}}).status,
            200);
}

TEST_F(SageMakerEmulatorTest, DeletingAConfigOrModelInUseIsAllowed) {
  Serving();
  Advance(1000);
  EXPECT_EQ(Call("DeleteEndpointConfig", {{"EndpointConfigName", "c1"}}).status, 200);
  EXPECT_EQ(Call("DeleteModel", {{"ModelName", "m1"}}).status, 200);
  json d = Describe("ep");
  EXPECT_EQ(d["EndpointStatus"], "InService");
  EXPECT_EQ(d["EndpointConfigName"], "c1");
}

TEST_F(SageMakerEmulatorTest, ZeroDelayFinishesOnTheNextCall) {
  emu_->SetTransitionMs(0);
  Serving();
  EXPECT_EQ(Describe("ep")["EndpointStatus"], "InService");
}

// ----- jobs ------------------------------------------------------------------------------------

json TrainingJob(const std::string& name, const std::string& image = "repo/train:1") {
  return {{"TrainingJobName", name},
          {"RoleArn", kRole},
          {"AlgorithmSpecification", {{"TrainingImage", image}, {"TrainingInputMode", "File"}}},
          {"OutputDataConfig", {{"S3OutputPath", "s3://out/"}}},
          {"ResourceConfig",
           {{"InstanceType", "ml.m5.xlarge"}, {"InstanceCount", 1}, {"VolumeSizeInGB", 10}}},
          {"StoppingCondition", {{"MaxRuntimeInSeconds", 3600}}},
          {"Tags", {{{"Key", "owner"}, {"Value", "converge"}}}}};
}

TEST_F(SageMakerEmulatorTest, TrainingJobRunsToCompletion) {
  Resp r = Call("CreateTrainingJob", TrainingJob("t1"));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string arn = std::string(kArn) + "training-job/t1";
  EXPECT_EQ(r.body["TrainingJobArn"], arn);
  r = Call("DescribeTrainingJob", {{"TrainingJobName", "t1"}});
  EXPECT_EQ(r.body["TrainingJobStatus"], "InProgress");
  EXPECT_EQ(r.body["SecondaryStatus"], "Starting");
  EXPECT_EQ(r.body["ModelArtifacts"]["S3ModelArtifacts"], "s3://out/t1/output/model.tar.gz");
  r = Call("CreateTrainingJob", TrainingJob("t1"));
  EXPECT_EQ(r.code(), "ResourceInUse");
  EXPECT_EQ(r.message(),
            "Training job names must be unique within an AWS account and region, and a training "
            "job with this name already exists (" +
                arn + ")");
  Advance(1000);
  r = Call("DescribeTrainingJob", {{"TrainingJobName", "t1"}});
  EXPECT_EQ(r.body["TrainingJobStatus"], "Completed");
  EXPECT_EQ(r.body["SecondaryStatus"], "Completed");
  EXPECT_EQ(r.body["TrainingEndTime"], WallSeconds());
  EXPECT_EQ(r.body["SecondaryStatusTransitions"].size(), 2u);
  EXPECT_EQ(Call("ListTags", {{"ResourceArn", arn}}).body["Tags"][0]["Key"], "owner");
  r = Call("StopTrainingJob", {{"TrainingJobName", "t1"}});
  EXPECT_EQ(r.code(), "ValidationException");
  EXPECT_EQ(r.message(),
            "The request was rejected because the training job is in status Completed.");
  r = Call("DescribeTrainingJob", {{"TrainingJobName", "nope"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.code(), "ValidationException");
  EXPECT_EQ(r.message(), "Requested resource not found.");
}

TEST_F(SageMakerEmulatorTest, TrainingJobWithFailingImageFailsAndStopStops) {
  emu_->SetFailingImages({"repo/train:bad"});
  ASSERT_EQ(Call("CreateTrainingJob", TrainingJob("bad", "repo/train:bad")).status, 200);
  ASSERT_EQ(Call("CreateTrainingJob", TrainingJob("stopped")).status, 200);
  ASSERT_EQ(Call("StopTrainingJob", {{"TrainingJobName", "stopped"}}).status, 200);
  EXPECT_EQ(Call("DescribeTrainingJob", {{"TrainingJobName", "stopped"}}).body["TrainingJobStatus"],
            "Stopping");
  Advance(1000);
  Resp r = Call("DescribeTrainingJob", {{"TrainingJobName", "bad"}});
  EXPECT_EQ(r.body["TrainingJobStatus"], "Failed");
  EXPECT_NE(r.body["FailureReason"].get<std::string>().find("repo/train:bad"), std::string::npos);
  EXPECT_EQ(Call("DescribeTrainingJob", {{"TrainingJobName", "stopped"}}).body["TrainingJobStatus"],
            "Stopped");
  r = Call("ListTrainingJobs", {{"StatusEquals", "Failed"}});
  ASSERT_EQ(r.body["TrainingJobSummaries"].size(), 1u);
  EXPECT_EQ(r.body["TrainingJobSummaries"][0]["TrainingJobName"], "bad");
}

TEST_F(SageMakerEmulatorTest, ProcessingTransformAndTuningJobs) {
  emu_->SetFailingImages({"repo/prep:bad"});
  json processing = {
      {"ProcessingJobName", "p1"},
      {"RoleArn", kRole},
      {"ProcessingResources",
       {{"ClusterConfig",
         {{"InstanceCount", 1}, {"InstanceType", "ml.m5.xlarge"}, {"VolumeSizeInGB", 30}}}}},
      {"AppSpecification", {{"ImageUri", "repo/prep:bad"}}}};
  ASSERT_EQ(Call("CreateProcessingJob", processing).status, 200);
  EXPECT_EQ(Call("CreateProcessingJob", processing).code(), "ResourceInUse");

  ASSERT_EQ(CreateModel("scorer", "repo/score:1").status, 200);
  json transform = {
      {"TransformJobName", "x1"},
      {"ModelName", "scorer"},
      {"TransformInput",
       {{"DataSource", {{"S3DataSource", {{"S3DataType", "S3Prefix"}, {"S3Uri", "s3://in/"}}}}}}},
      {"TransformOutput", {{"S3OutputPath", "s3://out/"}}},
      {"TransformResources", {{"InstanceType", "ml.m5.large"}, {"InstanceCount", 1}}}};
  ASSERT_EQ(Call("CreateTransformJob", transform).status, 200);
  transform["TransformJobName"] = "x2";
  transform["ModelName"] = "nope";
  EXPECT_EQ(Call("CreateTransformJob", transform).code(), "ValidationException");

  json tuning = {
      {"HyperParameterTuningJobName", "h1"},
      {"HyperParameterTuningJobConfig",
       {{"Strategy", "Random"},
        {"ResourceLimits", {{"MaxNumberOfTrainingJobs", 3}, {"MaxParallelTrainingJobs", 1}}}}},
      {"TrainingJobDefinition", TrainingJob("unused")}};
  tuning["TrainingJobDefinition"].erase("TrainingJobName");
  tuning["TrainingJobDefinition"].erase("Tags");
  Resp r = Call("CreateHyperParameterTuningJob", tuning);
  ASSERT_EQ(r.status, 200) << r.body;
  r = Call("DescribeHyperParameterTuningJob", {{"HyperParameterTuningJobName", "h1"}});
  EXPECT_EQ(r.body["HyperParameterTuningJobStatus"], "InProgress");
  EXPECT_EQ(r.body["TrainingJobStatusCounters"]["InProgress"], 3);

  Advance(1000);
  r = Call("DescribeProcessingJob", {{"ProcessingJobName", "p1"}});
  EXPECT_EQ(r.body["ProcessingJobStatus"], "Failed");
  EXPECT_EQ(r.body["ExitMessage"], r.body["FailureReason"]);
  EXPECT_EQ(Call("DescribeTransformJob", {{"TransformJobName", "x1"}}).body["TransformJobStatus"],
            "Completed");
  r = Call("DescribeHyperParameterTuningJob", {{"HyperParameterTuningJobName", "h1"}});
  EXPECT_EQ(r.body["HyperParameterTuningJobStatus"], "Completed");
  EXPECT_EQ(r.body["TrainingJobStatusCounters"]["Completed"], 3);
  EXPECT_EQ(r.body["ObjectiveStatusCounters"]["Succeeded"], 3);
  EXPECT_EQ(Call("ListProcessingJobs", json::object()).body["ProcessingJobSummaries"].size(), 1u);
  EXPECT_EQ(Call("ListTransformJobs", json::object()).body["TransformJobSummaries"].size(), 1u);
  r = Call("ListHyperParameterTuningJobs", json::object());
  EXPECT_EQ(r.body["HyperParameterTuningJobSummaries"][0]["Strategy"], "Random");
  EXPECT_EQ(Call("StopTransformJob", {{"TransformJobName", "x1"}}).code(), "ValidationException");
  EXPECT_EQ(Call("StopHyperParameterTuningJob", {{"HyperParameterTuningJobName", "zz"}}).message(),
            "Requested resource not found.");
}

// ----- lists and tags --------------------------------------------------------------------------

TEST_F(SageMakerEmulatorTest, ListsPageSortAndFilter) {
  for (int i = 0; i < 12; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "model-%02d", i);
    ASSERT_EQ(CreateModel(name).status, 200);
    Advance(10);
  }
  Resp r = Call("ListModels", json::object());  // default: 10, newest first
  ASSERT_EQ(r.body["Models"].size(), 10u);
  EXPECT_EQ(r.body["Models"][0]["ModelName"], "model-11");
  ASSERT_TRUE(r.body.contains("NextToken"));
  r = Call("ListModels", {{"NextToken", r.body["NextToken"]}});
  ASSERT_EQ(r.body["Models"].size(), 2u);
  EXPECT_EQ(r.body["Models"][1]["ModelName"], "model-00");
  EXPECT_FALSE(r.body.contains("NextToken"));
  r = Call("ListModels", {{"SortBy", "Name"}, {"SortOrder", "Ascending"}, {"MaxResults", 2}});
  EXPECT_EQ(r.body["Models"][0]["ModelName"], "model-00");
  EXPECT_EQ(r.body["Models"][1]["ModelName"], "model-01");
  r = Call("ListModels", {{"NameContains", "L-1"}, {"MaxResults", 100}});
  EXPECT_EQ(r.body["Models"].size(), 2u);  // model-10, model-11 (case-insensitive)
  double cutoff = WallSeconds() - 0.055;
  r = Call("ListModels", {{"CreationTimeAfter", cutoff}});
  EXPECT_EQ(r.body["Models"].size(), 5u);
  EXPECT_EQ(Call("ListModels", {{"NextToken", "bogus"}}).code(), "ValidationException");
  EXPECT_EQ(Call("ListModels", {{"MaxResults", 0}}).code(), "ValidationException");
  EXPECT_EQ(Call("ListModels", {{"MaxResults", 101}}).code(), "ValidationException");
  EXPECT_EQ(Call("ListEndpoints", {{"StatusEquals", "Bogus"}}).code(), "ValidationException");
}

TEST_F(SageMakerEmulatorTest, TagsAddListDelete) {
  std::string arn =
      CreateModel("m1", "repo/a:1", {{"Tags", {{{"Key", "a"}, {"Value", "1"}}}}}).body["ModelArn"];
  Resp r =
      Call("AddTags", {{"ResourceArn", arn},
                       {"Tags", {{{"Key", "b"}, {"Value", "2"}}, {{"Key", "a"}, {"Value", "3"}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  r = Call("ListTags", {{"ResourceArn", arn}});
  EXPECT_EQ(r.body["Tags"],
            json::parse(R"([{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}])"));
  ASSERT_EQ(Call("DeleteTags", {{"ResourceArn", arn}, {"TagKeys", {"a"}}}).status, 200);
  EXPECT_EQ(Call("ListTags", {{"ResourceArn", arn}}).body["Tags"].size(), 1u);
  EXPECT_EQ(Call("ListTags", {{"ResourceArn", arn + "x"}}).code(), "ValidationException");
  EXPECT_EQ(Call("ListTags", {{"ResourceArn", arn}, {"MaxResults", 10}}).code(),
            "ValidationException");  // ListTags pages at least 50
  json many = json::array();
  for (int i = 0; i < 50; ++i) many.push_back({{"Key", "k" + std::to_string(i)}, {"Value", ""}});
  EXPECT_EQ(Call("AddTags", {{"ResourceArn", arn}, {"Tags", many}}).code(),
            "ResourceLimitExceeded");
}

// ----- validation and hostile input ------------------------------------------------------------

TEST_F(SageMakerEmulatorTest, ConstraintViolationsAreWordedLikeTheService) {
  Resp r = Call("CreateEndpoint", {{"EndpointName", "bad_name"}, {"EndpointConfigName", "c"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.code(), "ValidationException");
  EXPECT_EQ(r.message(),
            "1 validation error detected: Value 'bad_name' at 'endpointName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}");
  r = Call("CreateModel", {{"ModelName", std::string(64, 'a')}});
  EXPECT_EQ(r.message(),
            "2 validation errors detected: Value null at 'executionRoleArn' failed to satisfy "
            "constraint: Member must not be null; Value '" +
                std::string(64, 'a') +
                "' at 'modelName' failed to satisfy constraint: Member must have length less "
                "than or equal to 63");
  ASSERT_EQ(CreateModel("m").status, 200);
  r = Call("CreateEndpointConfig",
           {{"EndpointConfigName", "c"},
            {"ProductionVariants",
             {{{"VariantName", "a"}, {"ModelName", "m"}, {"InitialInstanceCount", 0}}}}});
  EXPECT_EQ(r.message(),
            "1 validation error detected: Value '0' at "
            "'productionVariants.1.member.initialInstanceCount' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1");
}

TEST_F(SageMakerEmulatorTest, TypeErrorsUnknownMembersAndBadJsonAreSerializationExceptions) {
  EXPECT_EQ(Call("ListModels", {{"MaxResults", "ten"}}).code(), "SerializationException");
  EXPECT_EQ(Call("ListModels", {{"Bogus", 1}}).code(), "SerializationException");
  EXPECT_EQ(Send(RawRequest("SageMaker.ListModels", "{not json")).code(), "SerializationException");
  EXPECT_EQ(Send(RawRequest("SageMaker.ListModels", "[1]")).code(), "SerializationException");
  EXPECT_EQ(Send(RawRequest("SageMaker.ListModels", std::string(200000, '['))).code(),
            "SerializationException");
  EXPECT_EQ(
      Send(RawRequest("SageMaker.ListModels", "\"" + std::string(3 << 20, 'x') + "\"")).code(),
      "SerializationException");
  EXPECT_EQ(Send(RawRequest("SageMaker.ListModels", "")).status, 200);  // empty = {}
  httplib::Request wrong_type = RawRequest("SageMaker.ListModels", "{}");
  wrong_type.headers.erase("Content-Type");
  wrong_type.set_header("Content-Type", "text/plain");
  EXPECT_EQ(Send(wrong_type).code(), "SerializationException");
}

TEST_F(SageMakerEmulatorTest, UnknownOperationsAndMethods) {
  Resp r = Call("ListDomains", json::object());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.code(), "UnknownOperationException");
  EXPECT_EQ(Send(RawRequest("", "{}")).code(), "UnknownOperationException");
  EXPECT_EQ(Send(RawRequest("Other.ListModels", "{}")).code(), "UnknownOperationException");
  httplib::Request get = RawRequest("SageMaker.ListModels", "");
  get.method = "GET";
  EXPECT_EQ(Send(get).status, 404);
  EXPECT_EQ(Send(RawRequest("SageMaker.ListModels", "{}"), "/v2/apps").status, 404);
}

// ----- signatures ------------------------------------------------------------------------------

class SignedEmulatorTest : public SageMakerEmulatorTest {
 protected:
  SignedEmulatorTest() {
    EmulatorOptions o = Options();
    o.access_key = kAccessKey;
    o.secret_key = kSecret;
    Start(o);
    signed_ = true;
  }
};

TEST_F(SignedEmulatorTest, SignedRequestsPassAndTheRegionComesFromTheScope) {
  Resp r = CreateModel("m1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["ModelArn"], "arn:aws:sagemaker:eu-west-1:123456789012:model/m1");
}

TEST_F(SignedEmulatorTest, BadSignaturesAreRejectedWithAwsCodes) {
  httplib::Request req = RawRequest("SageMaker.ListModels", "{}");
  Resp r = Send(req);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.code(), "MissingAuthenticationTokenException");

  SignRequest(req, kAccessKey, "wrong-secret");
  r = Send(req);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.code(), "InvalidSignatureException");
  EXPECT_NE(r.message().find("does not match the signature you provided"), std::string::npos);

  SignRequest(req, "AKIDOTHER", kSecret);
  r = Send(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.code(), "UnrecognizedClientException");
  EXPECT_EQ(r.message(), "The security token included in the request is invalid.");

  SignRequest(req, kAccessKey, kSecret);
  req.body = R"({"MaxResults": 5})";  // changed after signing
  EXPECT_EQ(Send(req).code(), "InvalidSignatureException");

  req.body = "{}";
  EXPECT_EQ(Send(req).status, 200);
  req.headers.erase("Authorization");
  req.set_header("Authorization", "AWS4-HMAC-SHA256 garbage");
  EXPECT_EQ(Send(req).code(), "IncompleteSignatureException");

  SignRequest(req, kAccessKey, kSecret);
  Advance(16 * 60 * 1000);  // the signature is now too old
  r = Send(req);
  EXPECT_EQ(r.code(), "InvalidSignatureException");
  EXPECT_EQ(r.message().rfind("Signature expired: ", 0), 0u) << r.message();
}

TEST_F(SignedEmulatorTest, ThePathIncludesTheMountPrefixAsSent) {
  httplib::Request req = RawRequest("SageMaker.ListModels", "{}");
  SignRequest(req, kAccessKey, kSecret);
  req.target = "/";  // the client signed /sagemaker/, the server sees /
  EXPECT_EQ(Send(req).code(), "InvalidSignatureException");
}

// The test vector of ../shared/upstream/sagemaker/NOTES.md, signed by botocore.
TEST(SageMakerEmulatorSignature, VerifiesBotocoresTestVector) {
  EmulatorOptions o;
  o.access_key = "AKIDEXAMPLE";
  o.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  o.wall_now = [] {
    std::tm tm{};
    tm.tm_year = 124;
    tm.tm_mon = 0;
    tm.tm_mday = 2;
    tm.tm_hour = 3;
    tm.tm_min = 4;
    tm.tm_sec = 5;
    return std::chrono::system_clock::from_time_t(timegm(&tm));
  };
  Emulator emu(o);
  httplib::Request req;
  req.method = "POST";
  req.path = req.target = "/";
  req.body = R"({"ModelName": "m-1", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r"})";
  req.set_header("Host", "api.sagemaker.us-east-1.amazonaws.com");
  req.set_header("X-Amz-Target", "SageMaker.CreateModel");
  req.set_header("Content-Type", "application/x-amz-json-1.1");
  req.set_header("X-Amz-Date", "20240102T030405Z");
  req.set_header("Authorization",
                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/sagemaker/"
                 "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                 "Signature=e6b6e7e877e06ec70cfd0b207ec6eba51058d638bbeb12b55f6f3f71d88e6e44");
  httplib::Response res;
  emu.Handle(req, res, "/");
  // Past the signature check: the body lacks a container, which the service refuses.
  json body = json::parse(res.body);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(body["__type"], "ValidationException") << res.body;
  EXPECT_EQ(body["message"], "Either PrimaryContainer or Containers must be specified.");
}

// ----- admin, state ----------------------------------------------------------------------------

TEST_F(SageMakerEmulatorTest, RequestLogKeepsOperationsAndBodies) {
  ASSERT_EQ(CreateModel("m1").status, 200);
  Call("DescribeModel", {{"ModelName", "nope"}});
  Call("ListDomains", json::object());  // unknown operations are not logged
  json log = emu_->Requests();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["operation"], "CreateModel");
  EXPECT_EQ(log[0]["body"]["ModelName"], "m1");
  EXPECT_EQ(log[0]["status"], 200);
  EXPECT_EQ(log[1]["status"], 400);
  emu_->ClearRequests();
  EXPECT_EQ(emu_->Requests().size(), 0u);

  EmulatorOptions o = Options();
  o.request_log_size = 3;
  Start(o);
  for (int i = 0; i < 5; ++i) Call("ListModels", json::object());
  EXPECT_EQ(emu_->Requests().size(), 3u);
}

TEST_F(SageMakerEmulatorTest, ResetWipesResources) {
  Serving();
  ASSERT_EQ(Call("CreateTrainingJob", TrainingJob("t1")).status, 200);
  emu_->Reset();
  EXPECT_EQ(Call("ListModels", json::object()).body["Models"].size(), 0u);
  EXPECT_EQ(Call("ListEndpoints", json::object()).body["Endpoints"].size(), 0u);
  EXPECT_EQ(Call("ListTrainingJobs", json::object()).body["TrainingJobSummaries"].size(), 0u);
  EXPECT_EQ(emu_->Requests().size(), 3u);  // the three List calls above
}

TEST_F(SageMakerEmulatorTest, StateExportImportKeepsResourcesAndTransitions) {
  Serving();
  ASSERT_EQ(Call("AddTags", {{"ResourceArn", std::string(kArn) + "endpoint/ep"},
                             {"Tags", {{{"Key", "k"}, {"Value", "v"}}}}})
                .status,
            200);
  ASSERT_EQ(Call("CreateTrainingJob", TrainingJob("t1")).status, 200);
  Advance(400);
  json state = emu_->ExportState();
  int observed = 0;
  Start();
  emu_->SetMutationObserver([&] { ++observed; });
  ASSERT_TRUE(emu_->ImportState(state).ok());
  EXPECT_EQ(Describe("ep")["EndpointStatus"], "Creating");
  Advance(600);
  EXPECT_EQ(Describe("ep")["EndpointStatus"], "InService");
  EXPECT_GT(observed, 0);  // the transition is a change to persist
  EXPECT_EQ(Call("DescribeTrainingJob", {{"TrainingJobName", "t1"}}).body["TrainingJobStatus"],
            "Completed");
  EXPECT_EQ(Call("ListTags", {{"ResourceArn", std::string(kArn) + "endpoint/ep"}}).body["Tags"],
            json::parse(R"([{"Key": "k", "Value": "v"}])"));
  EXPECT_EQ(Call("DescribeModel", {{"ModelName", "m1"}}).status, 200);
  EXPECT_EQ(emu_->ExportState()["endpoints"].size(), 1u);

  EXPECT_FALSE(emu_->ImportState(json::array()).ok());
  EXPECT_FALSE(emu_->ImportState({{"endpoints", {{{"name", 1}}}}}).ok());
  EXPECT_EQ(Describe("ep")["EndpointStatus"], "InService");  // a failed import changes nothing
}

TEST(SageMakerEmulatorServer, MountServesPrefixWithAndWithoutSlash) {
  EmulatorOptions o;
  o.transition_ms = 0;
  Emulator emu(o);
  httplib::Server server;
  emu.Mount(server, "/sagemaker");
  int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread t([&] { server.listen_after_bind(); });
  for (int i = 0; i < 5000 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  httplib::Client client("127.0.0.1", port);
  httplib::Headers headers = {{"X-Amz-Target", "SageMaker.ListModels"}};
  for (const char* path : {"/sagemaker/", "/sagemaker"}) {
    auto r = client.Post(path, headers, "{}", "application/x-amz-json-1.1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path << " " << r->body;
    EXPECT_EQ(r->body, R"({"Models":[]})");
    EXPECT_TRUE(r->has_header("x-amzn-RequestId"));
  }
  auto r = client.Get("/sagemaker/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  server.stop();
  t.join();
}

}  // namespace
}  // namespace converge::sagemaker
