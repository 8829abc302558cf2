// The Backend's `storage`: local and file:// reads, http(s):// and s3:// GETs on the shared HTTP
// client (bounded with Range), S3 requests signed exactly as botocore signs them (the vectors
// below were computed with botocore's S3SigV4Auth), credentials refreshed once on ExpiredToken,
// no secret in any error, and the `storage` member validated with its path.
#include "reconcilers/iceberg/storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "tests/common/fake_clock.h"
#include "tests/common/fake_transport.h"

namespace converge::iceberg {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKeyId[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

std::string Header(const http::Request& r, const std::string& lower) {
  for (const auto& [k, v] : r.headers) {
    std::string l = k;
    for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (l == lower) return v;
  }
  return "";
}

// The bytes read, or the error (so that a failure says why).
std::string Text(const Result<std::string>& r) { return r.ok() ? *r : r.status().ToString(); }

struct StorageWorld {
  // 2013-05-24T00:00:00Z, the time of the AWS documentation's S3 example.
  converge::test::FakeClock clock{std::chrono::system_clock::from_time_t(1369353600)};
  converge::test::FakeTransport fake;
  std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", kKeyId},
                                            {"AWS_SECRET_ACCESS_KEY", kSecret}};
  std::unique_ptr<Storage> Make(StorageOptions o) {
    aws::Environment e{[this](const char* name) -> const char* {
      auto it = env.find(name);
      return it == env.end() ? nullptr : it->second.c_str();
    }};
    return std::make_unique<Storage>(o, fake.Borrow(), clock, e);
  }
};

TEST(StorageTest, LocalPathsAndFileUris) {
  auto dir = std::filesystem::temp_directory_path() / ("converge-storage-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "day=2026-11-30");
  const std::string file = (dir / "day=2026-11-30" / "a b.avro").string();
  std::ofstream(file, std::ios::binary) << "manifest bytes";
  StorageWorld w;
  auto s = w.Make({});
  EXPECT_EQ(Text(s->Read(file)), "manifest bytes");
  EXPECT_EQ(Text(s->Read("file://" + file)), "manifest bytes");
  EXPECT_EQ(Text(s->Read("file:" + file)), "manifest bytes");
  std::string encoded = "file://" + (dir / "day%3D2026-11-30" / "a%20b.avro").string();
  EXPECT_EQ(Text(s->Read(encoded)), "manifest bytes");
  EXPECT_EQ(s->Read("file://" + (dir / "missing").string()).status().code(), Code::kNotFound);
  EXPECT_EQ(s->Read("file://otherhost/x").status().code(), Code::kInvalid);

  StorageOptions small;
  small.max_file_bytes = 4;
  auto bounded = w.Make(small)->Read(file);
  EXPECT_EQ(bounded.status().code(), Code::kInvalid);
  EXPECT_THAT(bounded.status().message(), HasSubstr("limit of 4"));
  EXPECT_EQ(w.fake.request_count(), 0u);
  std::filesystem::remove_all(dir);
}

TEST(StorageTest, HttpReadsAreBoundedWithRange) {
  StorageWorld w;
  StorageOptions o;
  o.max_file_bytes = 10;
  auto s = w.Make(o);
  w.fake.Script({converge::test::Answer(206, "0123456789"), converge::test::Answer(200, "0123456789ABC"),
                 converge::test::Answer(404, "")});
  EXPECT_EQ(Text(s->Read("http://files.example/m.avro")), "0123456789");
  EXPECT_EQ(Header(w.fake.request(0), "range"), "bytes=0-10");
  EXPECT_EQ(w.fake.request(0).url, "http://files.example/m.avro");
  EXPECT_EQ(Header(w.fake.request(0), "authorization"), "");  // http(s) is not signed
  auto big = s->Read("https://files.example/big.avro");
  EXPECT_EQ(big.status().code(), Code::kInvalid);
  EXPECT_THAT(big.status().message(), HasSubstr("https://files.example/big.avro"));
  EXPECT_EQ(s->Read("http://files.example/gone").status().code(), Code::kNotFound);
}

TEST(StorageTest, OtherSchemesCannotBeRead) {
  StorageWorld w;
  auto r = w.Make({})->Read("gs://bucket/m.avro");
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_THAT(r.status().message(), HasSubstr("cannot read gs://bucket/m.avro"));
  EXPECT_FALSE(ParseS3Uri("s3://bucket").has_value());
  EXPECT_EQ(ParseS3Uri("s3a://b/k/x")->key, "k/x");
}

TEST(StorageTest, S3VirtualHostedGetIsSignedAsBotocoreSignsIt) {
  StorageWorld w;
  StorageOptions o;
  o.s3_region = "us-east-1";
  o.s3_endpoint = "https://s3.amazonaws.com";
  o.max_file_bytes = 9;  // Range: bytes=0-9, the AWS documentation's GET Object example
  auto s = w.Make(o);
  w.fake.Script({converge::test::Answer(206, "012345678")});
  auto r = s->Read("s3://examplebucket/test.txt");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  http::Request sent = w.fake.request(0);
  EXPECT_EQ(sent.url, "https://examplebucket.s3.amazonaws.com/test.txt");
  EXPECT_EQ(Header(sent, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(StorageTest, S3PathStyleEndpointEncodesTheKeyOnce) {
  StorageWorld w;
  StorageOptions o;
  o.s3_region = "eu-west-1";
  o.s3_endpoint = "http://127.0.0.1:9000";
  o.s3_path_style = true;
  o.max_file_bytes = 9;
  auto s = w.Make(o);
  w.fake.Script({converge::test::Answer(200, "x")});
  ASSERT_TRUE(s->Read("s3://lake/warehouse/events/data/day=2026-11-30/a b.avro").ok());
  http::Request sent = w.fake.request(0);
  EXPECT_EQ(sent.url, "http://127.0.0.1:9000/lake/warehouse/events/data/day%3D2026-11-30/a%20b.avro");
  EXPECT_THAT(Header(sent, "authorization"),
              HasSubstr("Signature=7fa6b19cec4d3a30586b82c85ab4a2daf135e91bcbcf5bb290c2e7e28d65e579"));
}

TEST(StorageTest, S3ExpiredCredentialsAreResolvedAgainOnceAndNeverShown) {
  StorageWorld w;
  w.env["AWS_SESSION_TOKEN"] = "old-session-token";
  StorageOptions o;
  o.s3_region = "us-east-1";
  auto s = w.Make(o);
  w.fake.SetHandler([&](const http::Request& r) -> Result<http::Response> {
    if (Header(r, "x-amz-security-token") == "old-session-token") {
      w.env["AWS_SESSION_TOKEN"] = "new-session-token";
      return converge::test::Answer(400, "<Error><Code>ExpiredToken</Code></Error>");
    }
    return converge::test::Answer(403, "<Error><Code>AccessDenied</Code></Error>");
  });
  auto r = s->Read("s3://bucket/metadata/snap-1.avro");
  EXPECT_EQ(r.status().code(), Code::kPermission);
  ASSERT_EQ(w.fake.request_count(), 2u);
  EXPECT_EQ(Header(w.fake.request(1), "x-amz-security-token"), "new-session-token");
  EXPECT_EQ(w.fake.request(1).url, "https://bucket.s3.us-east-1.amazonaws.com/metadata/snap-1.avro");
  for (const char* secret : {kSecret, "new-session-token", "old-session-token", "Signature="})
    EXPECT_THAT(r.status().message(), Not(HasSubstr(secret)));
  EXPECT_THAT(r.status().message(), HasSubstr("s3://bucket/metadata/snap-1.avro"));
  EXPECT_THAT(r.status().message(), HasSubstr("AccessDenied"));
}

TEST(StorageTest, MissingCredentialsAreAnErrorBeforeAnyRequest) {
  StorageWorld w;
  w.env.clear();
  w.env["HOME"] = "/nonexistent";
  auto r = w.Make({})->Read("s3://bucket/m.avro");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(w.fake.request_count(), 0u);
}

TEST(StorageTest, BackendMemberIsValidatedWithItsPath) {
  std::vector<PathDiagnostic> out;
  ValidateStorage(json::parse(R"({"storage": {"s3": {"endpoint": "minio:9000"}}})"), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].path, "/spec/storage/s3/endpoint");
  out.clear();
  ValidateStorage(json::parse(R"({"storage": {"s3": {"endpoint": "http://minio:9000"}}})"), out);
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(StorageOptionsOf(json::object()).has_value());
  auto o = StorageOptionsOf(json::parse(
      R"({"storage": {"s3": {"endpoint": "http://minio:9000/", "pathStyle": true, "region": "r"}}})"));
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->s3_endpoint, "http://minio:9000");
  EXPECT_TRUE(o->s3_path_style);
  EXPECT_EQ(o->s3_region, "r");
}

}  // namespace
}  // namespace converge::iceberg
