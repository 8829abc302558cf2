// SigV4 against botocore. The expected signatures were produced once with Debian's
// python3-botocore 1.29.27 (`/usr/bin/python3`), the clock pinned to 2024-01-02T03:04:05Z by
// replacing botocore.auth.datetime.datetime with a subclass whose utcnow() returns that time, and
// SigV4Auth(Credentials(...), 'sagemaker', 'us-east-1').add_auth(AWSRequest(method='POST',
// url=URL, data=BODY, headers={'X-Amz-Target': TARGET,
// 'Content-Type': 'application/x-amz-json-1.1'})). The first is the NOTES.md test vector.
#include "reconcilers/common/aws_sigv4.h"

#include <gtest/gtest.h>

#include <chrono>

namespace converge::aws {
namespace {

using namespace std::chrono;

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

system_clock::time_point PinnedTime() {
  return sys_days{year{2024} / 1 / 2} + hours{3} + minutes{4} + seconds{5};
}

SigningRequest Make(const std::string& url, const std::string& target, const std::string& body) {
  SigningRequest r;
  r.url = url;
  r.headers = {{"X-Amz-Target", target}, {"Content-Type", "application/x-amz-json-1.1"}};
  r.body = body;
  return r;
}

std::string HeaderValue(const SigningRequest& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "<absent>";
}

int HeaderCount(const SigningRequest& r, const std::string& name) {
  int n = 0;
  for (const auto& h : r.headers) n += h.first == name;
  return n;
}

TEST(AwsSigV4, NotesTestVector) {
  SigningRequest r =
      Make("https://api.sagemaker.us-east-1.amazonaws.com/", "SageMaker.CreateModel",
           R"({"ModelName": "m-1", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r"})");
  Sign(r, {"AKIDEXAMPLE", kSecret, ""}, "us-east-1", "sagemaker", PinnedTime());
  EXPECT_EQ(HeaderValue(r, "X-Amz-Date"), "20240102T030405Z");
  EXPECT_EQ(HeaderCount(r, "X-Amz-Security-Token"), 0);
  EXPECT_EQ(HeaderValue(r, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/sagemaker/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
            "Signature=e6b6e7e877e06ec70cfd0b207ec6eba51058d638bbeb12b55f6f3f71d88e6e44");
}

TEST(AwsSigV4, SessionTokenIsSentAndSigned) {
  SigningRequest r = Make("https://api.sagemaker.us-east-1.amazonaws.com/",
                          "SageMaker.DescribeEndpoint", R"({"EndpointName":"e-1"})");
  Sign(r, {"ASIAEXAMPLE", kSecret, "FwoGZXIvYXdzEXAMPLETOKEN//+="}, "us-east-1", "sagemaker",
       PinnedTime());
  EXPECT_EQ(HeaderValue(r, "X-Amz-Security-Token"), "FwoGZXIvYXdzEXAMPLETOKEN//+=");
  EXPECT_EQ(HeaderValue(r, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20240102/us-east-1/sagemaker/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
            "Signature=49f768472e263cf65bddbfd5e1fd4d22341d4d0ce5acda1197464c282890c5d9");
}

// The host header carries a non-default port (what curl sends as Host, too).
TEST(AwsSigV4, UrlWithPortAndPath) {
  SigningRequest r = Make("http://127.0.0.1:8443/sagemaker/", "SageMaker.ListModels", "{}");
  Sign(r, {"AKIDEXAMPLE", kSecret, ""}, "us-east-1", "sagemaker", PinnedTime());
  EXPECT_EQ(HeaderValue(r, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/sagemaker/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
            "Signature=8a9eb22e777a7a3c20cd4a2bd4a21de5dcdca6f912314c815e221a9cfb00a748");
}

// Default port dropped, host lower-cased, "//" and ".." removed, query sorted (botocore signs
// http://Localhost:80/a//b/../c?b=2&a=1&a=0 like this).
TEST(AwsSigV4, DefaultPortDotSegmentsAndSortedQuery) {
  SigningRequest r =
      Make("http://Localhost:80/a//b/../c?b=2&a=1&a=0", "SageMaker.ListModels", "{}");
  Sign(r, {"AKIDEXAMPLE", kSecret, ""}, "us-east-1", "sagemaker", PinnedTime());
  EXPECT_NE(HeaderValue(r, "Authorization")
                .find("Signature=a4b0b3b49ec90cecf9c32839fef98eb8ae292b0153eb36a6916c7ceab7c4665f"),
            std::string::npos)
      << HeaderValue(r, "Authorization");
}

TEST(AwsSigV4, ResigningReplacesEarlierSignature) {
  SigningRequest r =
      Make("https://api.sagemaker.us-east-1.amazonaws.com/", "SageMaker.CreateModel",
           R"({"ModelName": "m-1", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r"})");
  Sign(r, {"AKIDEXAMPLE", kSecret, "tok"}, "us-east-1", "sagemaker", PinnedTime() - hours(1));
  Sign(r, {"AKIDEXAMPLE", kSecret, ""}, "us-east-1", "sagemaker", PinnedTime());
  EXPECT_EQ(HeaderCount(r, "Authorization"), 1);
  EXPECT_EQ(HeaderCount(r, "X-Amz-Date"), 1);
  EXPECT_EQ(HeaderCount(r, "X-Amz-Security-Token"), 0);
  EXPECT_NE(HeaderValue(r, "Authorization")
                .find("Signature=e6b6e7e877e06ec70cfd0b207ec6eba51058d638bbeb12b55f6f3f71d88e6e44"),
            std::string::npos);
}

// User-Agent (like botocore) is not signed, so a proxy or transport changing it does not matter.
TEST(AwsSigV4, UserAgentNotSigned) {
  SigningRequest r =
      Make("https://api.sagemaker.us-east-1.amazonaws.com/", "SageMaker.CreateModel",
           R"({"ModelName": "m-1", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r"})");
  r.headers.emplace_back("User-Agent", "converge/1");
  Sign(r, {"AKIDEXAMPLE", kSecret, ""}, "us-east-1", "sagemaker", PinnedTime());
  EXPECT_NE(HeaderValue(r, "Authorization")
                .find("Signature=e6b6e7e877e06ec70cfd0b207ec6eba51058d638bbeb12b55f6f3f71d88e6e44"),
            std::string::npos);
}

// What a server does: parse Authorization, re-sign what it received, compare.
TEST(AwsSigV4, VerifyByResigning) {
  SigningRequest r = Make("http://127.0.0.1:8443/sagemaker/", "SageMaker.ListModels", "{}");
  Credentials creds{"AKIDEXAMPLE", kSecret, "session"};
  Sign(r, creds, "eu-west-1", "sagemaker", PinnedTime());
  auto auth = ParseAuthorization(HeaderValue(r, "Authorization"));
  ASSERT_TRUE(auth.has_value());
  EXPECT_EQ(auth->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(auth->date, "20240102");
  EXPECT_EQ(auth->region, "eu-west-1");
  EXPECT_EQ(auth->service, "sagemaker");
  EXPECT_EQ(auth->signed_headers,
            (std::vector<std::string>{"content-type", "host", "x-amz-date", "x-amz-security-token",
                                      "x-amz-target"}));
  // The server sees the Host header the client's transport sent.
  SigningRequest received = r;
  received.headers.emplace_back("Host", "127.0.0.1:8443");
  EXPECT_EQ(Signature(received, creds, auth->region, auth->service, HeaderValue(r, "X-Amz-Date"),
                      auth->signed_headers),
            auth->signature);
  received.body = "{ }";
  EXPECT_NE(Signature(received, creds, auth->region, auth->service, HeaderValue(r, "X-Amz-Date"),
                      auth->signed_headers),
            auth->signature);
  EXPECT_FALSE(ParseAuthorization("Basic abc").has_value());
  EXPECT_FALSE(
      ParseAuthorization("AWS4-HMAC-SHA256 Credential=AK/2024/x, Signature=1").has_value());
}

}  // namespace
}  // namespace converge::aws
