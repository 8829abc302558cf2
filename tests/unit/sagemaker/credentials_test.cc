// Credential and region resolution with a fake environment and files in a temporary HOME.
#include "reconcilers/sagemaker/credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace converge::sagemaker {
namespace {

namespace fs = std::filesystem;

class AwsCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/creds-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    home_ = tmpl;
    vars_["HOME"] = home_;
    fs::create_directories(home_ + "/.aws");
  }
  void TearDown() override { fs::remove_all(home_); }

  Environment Env() {
    return Environment{[this](const char* name) -> const char* {
      auto it = vars_.find(name);
      return it == vars_.end() ? nullptr : it->second.c_str();
    }};
  }
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(home_ + "/" + rel) << text;
  }

  std::string home_;
  std::map<std::string, std::string> vars_;
};

TEST_F(AwsCredentialsTest, EnvironmentFirst) {
  vars_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  vars_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  vars_["AWS_SESSION_TOKEN"] = "envtoken";
  Write(".aws/credentials", "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n");
  std::string source;
  auto c = ResolveCredentials("", Env(), &source);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIAENV");
  EXPECT_EQ(c->secret_access_key, "envsecret");
  EXPECT_EQ(c->session_token, "envtoken");
  EXPECT_EQ(source, "environment");
}

TEST_F(AwsCredentialsTest, DefaultProfileOfSharedFile) {
  Write(".aws/credentials",
        "# comment\n[other]\naws_access_key_id=AKIAOTHER\naws_secret_access_key=o\n\n"
        "[default]\r\nAWS_Access_Key_ID = AKIADEF \r\naws_secret_access_key = s/e+cret= \r\n"
        "s3 =\n  max_concurrent_requests = 10\n");
  std::string source;
  auto c = ResolveCredentials("", Env(), &source);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIADEF");
  EXPECT_EQ(c->secret_access_key, "s/e+cret=");
  EXPECT_EQ(c->session_token, "");
  EXPECT_EQ(source, "profile default of " + home_ + "/.aws/credentials");
}

TEST_F(AwsCredentialsTest, AwsProfileAndExplicitProfile) {
  Write(".aws/credentials",
        "[default]\naws_access_key_id=AKIADEF\naws_secret_access_key=d\n"
        "[dev]\naws_access_key_id=AKIADEV\naws_secret_access_key=v\naws_session_token=t\n"
        "[ml-deploy]\naws_access_key_id=AKIAML\naws_secret_access_key=m\n");
  vars_["AWS_PROFILE"] = "dev";
  auto c = ResolveCredentials("", Env());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "AKIADEV");
  EXPECT_EQ(c->session_token, "t");
  // An explicit profile beats AWS_PROFILE and, as with `aws --profile`, environment keys.
  vars_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  vars_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  c = ResolveCredentials("ml-deploy", Env());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "AKIAML");
}

TEST_F(AwsCredentialsTest, CredentialsFileFromEnvironmentAndConfigFileProfiles) {
  Write("elsewhere", "[default]\naws_access_key_id=AKIAELSE\naws_secret_access_key=x\n");
  vars_["AWS_SHARED_CREDENTIALS_FILE"] = "~/elsewhere";
  auto c = ResolveCredentials("", Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIAELSE");

  // Keys in the config file's [profile x] are used too (the CLI writes them there sometimes).
  Write(".aws/config", "[profile cfg]\naws_access_key_id=AKIACFG\naws_secret_access_key=y\n");
  std::string source;
  c = ResolveCredentials("cfg", Env(), &source);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIACFG");
  EXPECT_EQ(source, "profile cfg of " + home_ + "/.aws/config");
}

TEST_F(AwsCredentialsTest, NoCredentialsIsAClearPermissionError) {
  auto c = ResolveCredentials("", Env());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kPermission);
  EXPECT_TRUE(c.status().message().starts_with(
      "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a profile in "
      "~/.aws/credentials (AWS_PROFILE)"))
      << c.status().message();
}

TEST_F(AwsCredentialsTest, MissingNamedProfile) {
  Write(".aws/credentials", "[default]\naws_access_key_id=AKIADEF\naws_secret_access_key=d\n");
  vars_["AWS_PROFILE"] = "nope";
  auto c = ResolveCredentials("", Env());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalid);
  EXPECT_EQ(c.status().message(), "AWS profile \"nope\" not found in " + home_ +
                                      "/.aws/credentials or " + home_ + "/.aws/config");
}

TEST_F(AwsCredentialsTest, PartialCredentialsNeverShowValues) {
  vars_["AWS_ACCESS_KEY_ID"] = "AKIAPARTIAL";
  auto c = ResolveCredentials("", Env());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "partial AWS credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");

  vars_.erase("AWS_ACCESS_KEY_ID");
  Write(".aws/credentials", "[default]\naws_access_key_id=AKIAFILEKEY\naws_session_token=tok\n");
  c = ResolveCredentials("", Env());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("has aws_access_key_id but no aws_secret_access_key"),
            std::string::npos);
  EXPECT_EQ(c.status().message().find("AKIAFILEKEY"), std::string::npos);
  EXPECT_EQ(c.status().message().find("tok\""), std::string::npos);
}

TEST_F(AwsCredentialsTest, UnsupportedProfileKindsAreExplained) {
  Write(".aws/config", "[profile sso]\nsso_session = corp\nregion = eu-west-1\n");
  auto c = ResolveCredentials("sso", Env());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalid);
  EXPECT_NE(c.status().message().find("uses sso_session, which converge does not support"),
            std::string::npos);
}

TEST_F(AwsCredentialsTest, RegionPrecedence) {
  Write(".aws/config",
        "[default]\nregion = us-west-2\n[profile dev]\nregion = ap-south-1\n"
        "[profile other]\nregion = sa-east-1\n");
  auto r = ResolveRegion("", "", Env());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "us-west-2");
  vars_["AWS_PROFILE"] = "dev";
  EXPECT_EQ(*ResolveRegion("", "", Env()), "ap-south-1");
  EXPECT_EQ(*ResolveRegion("", "other", Env()), "sa-east-1");
  vars_["AWS_DEFAULT_REGION"] = "eu-central-1";
  EXPECT_EQ(*ResolveRegion("", "other", Env()), "eu-central-1");
  vars_["AWS_REGION"] = "eu-north-1";
  EXPECT_EQ(*ResolveRegion("", "other", Env()), "eu-north-1");
  EXPECT_EQ(*ResolveRegion("eu-west-1", "other", Env()), "eu-west-1");
}

TEST_F(AwsCredentialsTest, ConfigFileFromEnvironmentAndNoRegion) {
  Write("cfg", "[profile x]\nregion = ca-central-1\n");
  vars_["AWS_CONFIG_FILE"] = home_ + "/cfg";
  EXPECT_EQ(*ResolveRegion("", "x", Env()), "ca-central-1");
  auto r = ResolveRegion("", "y", Env());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_TRUE(r.status().message().starts_with(
      "no AWS region: set spec.region of the Backend, AWS_REGION or AWS_DEFAULT_REGION"));
}

}  // namespace
}  // namespace converge::sagemaker
