#include "reconcilers/sagemaker/model.h"

#include <gtest/gtest.h>

namespace converge::sagemaker {
namespace {

std::vector<PathDiagnostic> Check(json v, const std::string& shape, bool coerce = true) {
  std::vector<PathDiagnostic> out;
  ShapeCheckOptions o;
  o.coerce_numeric_strings = coerce;
  ValidateShape(v, shape, "/spec", o, out);
  return out;
}

json GoodModel() {
  return json::parse(R"({"ModelName": "m-1",
    "ExecutionRoleArn": "arn:aws:iam::123456789012:role/sagemaker",
    "PrimaryContainer": {"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1",
                         "ModelDataUrl": "s3://bucket/model.tar.gz",
                         "Environment": {"A": "b"}}})");
}

TEST(ServiceModelTest, IsDebianBotocoreSubset) {
  const json& m = ServiceModel();
  EXPECT_EQ(m["metadata"]["targetPrefix"], "SageMaker");
  EXPECT_EQ(m["metadata"]["jsonVersion"], "1.1");
  EXPECT_EQ(InputShapeOf("CreateModel"), "CreateModelInput");
  EXPECT_EQ(OutputShapeOf("DescribeEndpoint"), "DescribeEndpointOutput");
  EXPECT_EQ(InputShapeOf("NoSuchOperation"), "");
  // Debian's 1.29.27 model still requires ExecutionRoleArn (NOTES.md).
  auto req = m["shapes"]["CreateModelInput"]["required"];
  EXPECT_NE(std::find(req.begin(), req.end(), "ExecutionRoleArn"), req.end());
}

TEST(ValidateShapeTest, AcceptsAValidRequest) {
  EXPECT_TRUE(Check(GoodModel(), "CreateModelInput").empty());
}

TEST(ValidateShapeTest, MissingRequiredAndUnknownMembers) {
  json m = GoodModel();
  m.erase("ExecutionRoleArn");
  m["PrimaryContainer"]["image"] = "x";
  auto d = Check(m, "CreateModelInput");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].path, "/spec");
  EXPECT_NE(d[0].message.find("missing required field ExecutionRoleArn"), std::string::npos);
  EXPECT_EQ(d[1].path, "/spec/PrimaryContainer/image");
  EXPECT_NE(d[1].message.find("did you mean Image?"), std::string::npos);
}

TEST(ValidateShapeTest, NumericStringsBecomeIntegersWithAWarning) {
  json c = json::parse(R"({"EndpointConfigName": "c", "ProductionVariants": [
      {"VariantName": "a", "ModelName": "m", "InitialInstanceCount": "2",
       "InstanceType": "ml.m5.large"}]})");
  std::vector<PathDiagnostic> out;
  ShapeCheckOptions o;
  o.coerce_numeric_strings = true;
  ValidateShape(c, "CreateEndpointConfigInput", "/spec", o, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].severity, Severity::kWarning);
  EXPECT_EQ(out[0].path, "/spec/ProductionVariants/0/InitialInstanceCount");
  EXPECT_EQ(c["ProductionVariants"][0]["InitialInstanceCount"], 2);
}

TEST(ValidateShapeTest, OtherTypeMismatchesAreErrors) {
  json c = json::parse(R"({"EndpointConfigName": "c", "ProductionVariants": [
      {"VariantName": "a", "ModelName": "m", "InitialInstanceCount": "two",
       "InitialVariantWeight": "0.5", "InstanceType": "ml.bogus"}]})");
  auto d = Check(c, "CreateEndpointConfigInput");
  ASSERT_EQ(d.size(), 3u);
  for (const auto& x : d) EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_NE(d[0].message.find("expected an integer"), std::string::npos);
  EXPECT_NE(d[1].message.find("expected a number"), std::string::npos);  // floats not coerced
  EXPECT_NE(d[2].message.find("must be one of"), std::string::npos);
}

TEST(ValidateShapeTest, MinimumsPatternsAndRanges) {
  json c = json::parse(R"({"EndpointConfigName": "bad_name!", "ProductionVariants": [
      {"VariantName": "a", "ModelName": "m", "InitialInstanceCount": 0}]})");
  auto d = Check(c, "CreateEndpointConfigInput");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].path, "/spec/EndpointConfigName");
  EXPECT_NE(d[0].message.find("must match the pattern"), std::string::npos);
  EXPECT_EQ(d[1].path, "/spec/ProductionVariants/0/InitialInstanceCount");
  EXPECT_NE(d[1].message.find("at least 1"), std::string::npos) << d[1].message;
  json big = GoodModel();
  big["ModelName"] = std::string(64, 'a');
  EXPECT_EQ(Check(big, "CreateModelInput").size(), 1u);
  json overflow = c;
  overflow["EndpointConfigName"] = "ok";
  overflow["ProductionVariants"][0]["InitialInstanceCount"] = 5000000000LL;
  auto o = Check(overflow, "CreateEndpointConfigInput");
  ASSERT_EQ(o.size(), 1u);
  EXPECT_NE(o[0].message.find("32-bit"), std::string::npos);
}

TEST(ValidateShapeTest, DiagnosticsAreBounded) {
  json c = {{"EndpointConfigName", "c"}, {"ProductionVariants", json::array()}};
  for (int i = 0; i < 5000; ++i) c["Unknown" + std::to_string(i)] = 1;
  EXPECT_LE(Check(c, "CreateEndpointConfigInput").size(), 100u);
}

}  // namespace
}  // namespace converge::sagemaker
