// The SageMaker emulator (botocore model 1.29.27, the one embedded in the binary), driven
// in-process through Emulator::Handle with a fake clock, so transitions need no sleeps. Every 200
// answer is checked against the operation's output shape of the embedded model.
#include "tests/unit/emulator/sagemaker_emulator_fixture.h"

namespace converge::sagemaker {
namespace {
using namespace emulator_test;  // NOLINT: the shared fixture

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

}  // namespace
}  // namespace converge::sagemaker
