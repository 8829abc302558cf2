// The SageMaker emulator: SigV4 verification, the request log, reset, state export/import,
// and serving under a mount prefix.
#include "tests/unit/emulator/sagemaker_emulator_fixture.h"

namespace converge::sagemaker {
namespace {
using namespace emulator_test;  // NOLINT: the shared fixture

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
