// The Iceberg catalog emulator's REST surface: config, namespaces, tables, ETag / 304, auth
// (bearer, OAuth2 client credentials with expiry) and Idempotency-Key.
#include <filesystem>
#include <fstream>

#include "tests/unit/emulator/iceberg_emulator_fixture.h"

namespace converge::iceberg {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

const json kSchema = json::parse(R"({"type": "struct", "schema-id": 0, "fields": [
  {"id": 1, "name": "id", "required": true, "type": "long"},
  {"id": 2, "name": "region", "required": false, "type": "string"}]})");

TEST_F(IcebergEmulatorTest, ConfigAdvertisesEndpointsIdempotencyAndThePrefix) {
  StartServer();
  IceResp r = Call("GET", "/iceberg/v1/config?warehouse=anything");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["overrides"], json::object());
  EXPECT_EQ(r.body["defaults"], json::object());
  EXPECT_EQ(r.body["idempotency-key-lifetime"], "PT30M");
  std::vector<std::string> endpoints = r.body["endpoints"];
  EXPECT_NE(std::find(endpoints.begin(), endpoints.end(),
                      "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}"),
            endpoints.end());
  EXPECT_NE(std::find(endpoints.begin(), endpoints.end(), "POST /v1/{prefix}/transactions/commit"),
            endpoints.end());
  StopServer();

  EmulatorOptions o;
  o.prefix = "main-wh";
  StartServer(o);
  EXPECT_EQ(Call("GET", "/iceberg/v1/config").body["overrides"], json({{"prefix", "main-wh"}}));
  EXPECT_EQ(Call("GET", "/iceberg/v1/main-wh/namespaces").status, 200);
  IceResp bare = Call("GET", "/iceberg/v1/namespaces");
  EXPECT_EQ(bare.status, 404);
  EXPECT_EQ(bare.body["error"]["code"], 404);
}

TEST_F(IcebergEmulatorTest, NamespacesMultiLevelPagingAndDrop) {
  StartServer();
  EXPECT_EQ(
      Call("POST", "/iceberg/v1/namespaces", R"({"namespace":["a"],"properties":{"owner":"x"}})")
          .status,
      200);
  IceResp dup = Call("POST", "/iceberg/v1/namespaces", R"({"namespace":["a"]})");
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.ErrorType(), "AlreadyExistsException");
  EXPECT_EQ(Call("POST", "/iceberg/v1/namespaces", R"({"namespace":["a","b"]})").status, 200);
  EXPECT_EQ(Call("POST", "/iceberg/v1/namespaces", R"({"namespace":["c"]})").status, 200);
  EXPECT_EQ(Call("POST", "/iceberg/v1/namespaces", R"({"namespace":["../x"]})").status, 400);

  EXPECT_EQ(Call("GET", "/iceberg/v1/namespaces").body["namespaces"], json({{"a"}, {"c"}}));
  EXPECT_EQ(Call("GET", "/iceberg/v1/namespaces?parent=a").body["namespaces"],
            json::array({json::array({"a", "b"})}));
  IceResp page = Call("GET", "/iceberg/v1/namespaces?pageSize=1");
  EXPECT_EQ(page.body["namespaces"], json({{"a"}}));
  ASSERT_TRUE(page.body.contains("next-page-token"));
  IceResp next = Call("GET", "/iceberg/v1/namespaces?pageSize=1&pageToken=" +
                                 page.body["next-page-token"].get<std::string>());
  EXPECT_EQ(next.body["namespaces"], json({{"c"}}));
  EXPECT_FALSE(next.body.contains("next-page-token"));

  IceResp load = Call("GET", "/iceberg/v1/namespaces/a%1Fb");
  EXPECT_EQ(load.status, 200);
  EXPECT_EQ(load.body["namespace"], json({"a", "b"}));
  EXPECT_EQ(Call("GET", "/iceberg/v1/namespaces/a").body["properties"], json({{"owner", "x"}}));
  EXPECT_EQ(Call("HEAD", "/iceberg/v1/namespaces/a").status, 204);
  EXPECT_EQ(Call("HEAD", "/iceberg/v1/namespaces/zz").status, 404);
  IceResp missing = Call("GET", "/iceberg/v1/namespaces/zz");
  EXPECT_EQ(missing.ErrorType(), "NoSuchNamespaceException");
  EXPECT_EQ(Call("GET", "/iceberg/v1/namespaces?parent=zz").status, 404);

  IceResp busy = Call("DELETE", "/iceberg/v1/namespaces/a");
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(busy.ErrorType(), "NamespaceNotEmptyException");
  EXPECT_EQ(Call("DELETE", "/iceberg/v1/namespaces/a%1Fb").status, 204);
  EXPECT_EQ(Call("DELETE", "/iceberg/v1/namespaces/a").status, 204);
  EXPECT_EQ(Call("GET", "/iceberg/v1/namespaces").body["namespaces"], json({{"c"}}));
}

TEST_F(IcebergEmulatorTest, TablesCreateLoadWithEtagHeadDrop) {
  StartServer();
  Call("POST", "/iceberg/v1/namespaces", R"({"namespace":["db"]})");
  json create = {
      {"name", "t"},
      {"schema", kSchema},
      {"partition-spec",
       {{"fields", {{{"source-id", 2}, {"transform", "identity"}, {"name", "region"}}}}}},
      {"properties", {{"write.format.default", "parquet"}}}};
  IceResp c = Call("POST", "/iceberg/v1/namespaces/db/tables", create.dump());
  ASSERT_EQ(c.status, 200) << c.raw;
  const json& m = c.body["metadata"];
  EXPECT_EQ(m["format-version"], 2);
  EXPECT_EQ(m["location"], "file://" + (dir_ / "warehouse" / "db" / "t").string());
  EXPECT_EQ(m["last-column-id"], 2);
  EXPECT_EQ(m["partition-specs"][0]["fields"][0]["field-id"], 1000);
  EXPECT_EQ(m["last-partition-id"], 1000);
  EXPECT_EQ(m["properties"]["write.format.default"], "parquet");
  const std::string loc = c.body["metadata-location"];
  EXPECT_EQ(fs::path(loc).filename().string().substr(0, 6), "00000-");
  ASSERT_TRUE(fs::exists(loc.substr(7)));
  std::ifstream in(loc.substr(7));
  EXPECT_EQ(json::parse(in)["table-uuid"], m["table-uuid"]);

  IceResp dup = Call("POST", "/iceberg/v1/namespaces/db/tables", create.dump());
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.ErrorType(), "AlreadyExistsException");
  EXPECT_EQ(Call("POST", "/iceberg/v1/namespaces/nope/tables", create.dump()).ErrorType(),
            "NoSuchNamespaceException");
  EXPECT_EQ(Call("GET", "/iceberg/v1/namespaces/db/tables").body["identifiers"],
            json({{{"namespace", {"db"}}, {"name", "t"}}}));

  IceResp load = Call("GET", "/iceberg/v1/namespaces/db/tables/t");
  ASSERT_EQ(load.status, 200);
  EXPECT_EQ(load.body["metadata-location"], loc);
  const std::string etag = load.Header("ETag");
  ASSERT_FALSE(etag.empty());
  IceResp same = Call("GET", "/iceberg/v1/namespaces/db/tables/t", "", {{"If-None-Match", etag}});
  EXPECT_EQ(same.status, 304);
  EXPECT_TRUE(same.raw.empty());
  IceResp commit =
      Commit("db", "t",
             {{"requirements", json::array()},
              {"updates", {{{"action", "set-properties"}, {"updates", {{"k", "v"}}}}}}});
  ASSERT_EQ(commit.status, 200) << commit.raw;
  EXPECT_NE(commit.Header("ETag"), etag);
  EXPECT_EQ(Call("GET", "/iceberg/v1/namespaces/db/tables/t", "", {{"If-None-Match", etag}}).status,
            200);

  EXPECT_EQ(Call("HEAD", "/iceberg/v1/namespaces/db/tables/t").status, 204);
  EXPECT_EQ(Call("DELETE", "/iceberg/v1/namespaces/db/tables/t").status, 204);
  IceResp gone = Call("GET", "/iceberg/v1/namespaces/db/tables/t");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.ErrorType(), "NoSuchTableException");
  EXPECT_EQ(Call("HEAD", "/iceberg/v1/namespaces/db/tables/t").status, 404);
}

TEST_F(IcebergEmulatorTest, BearerAuthRefusesMissingAndWrongTokens) {
  EmulatorOptions o;
  o.auth = "bearer";
  o.bearer_token = "s3cret";
  StartServer(o);
  IceResp none = Call("GET", "/iceberg/v1/config");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.ErrorType(), "NotAuthorizedException");
  EXPECT_EQ(Call("GET", "/iceberg/v1/config", "", {{"Authorization", "Bearer nope"}}).status, 401);
  EXPECT_EQ(Call("GET", "/iceberg/v1/config", "", {{"Authorization", "Bearer s3cret"}}).status,
            200);
}

TEST_F(IcebergEmulatorTest, OAuth2ClientCredentialsTokensExpire) {
  EmulatorOptions o;
  o.auth = "oauth2";
  o.client_id = "me";
  o.client_secret = "pw";
  o.token_expires_in_s = 60;
  StartServer(o);
  auto token = [&](const std::string& form) {
    auto r = client_->Post("/iceberg/v1/oauth/tokens", form, "application/x-www-form-urlencoded");
    return IceResp{r->status, json::parse(r->body, nullptr, false), r->body, r->headers};
  };
  IceResp bad = token("grant_type=client_credentials&client_id=me&client_secret=wrong");
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.body["error"], "invalid_client");
  EXPECT_EQ(token("grant_type=password&client_id=me&client_secret=pw").body["error"],
            "unsupported_grant_type");
  IceResp ok = token("grant_type=client_credentials&client_id=me&client_secret=pw&scope=catalog");
  ASSERT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(ok.body["token_type"], "bearer");
  EXPECT_EQ(ok.body["expires_in"], 60);
  const httplib::Headers auth = {
      {"Authorization", "Bearer " + ok.body["access_token"].get<std::string>()}};
  EXPECT_EQ(Call("GET", "/iceberg/v1/namespaces", "", auth).status, 200);
  EXPECT_EQ(Call("GET", "/iceberg/v1/namespaces").status, 401);
  now_ += 61000;
  IceResp expired = Call("GET", "/iceberg/v1/namespaces", "", auth);
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.ErrorType(), "NotAuthorizedException");
  EXPECT_NE(expired.body["error"]["message"].get<std::string>().find("expired"), std::string::npos);
}

TEST_F(IcebergEmulatorTest, IdempotencyKeyReplaysTheFirstAnswerWithoutCommittingTwice) {
  StartServer();
  Append("db.t", 1, 1);
  const json before = Load("db", "t");
  json body = {{"requirements", json::array()},
               {"updates", {{{"action", "set-properties"}, {"updates", {{"n", "1"}}}}}}};
  const httplib::Headers key = {{"Idempotency-Key", "017f22e2-79b0-7cc3-98c4-dc0c0c07398f"}};
  IceResp first = Call("POST", "/iceberg/v1/namespaces/db/tables/t", body.dump(), key);
  ASSERT_EQ(first.status, 200) << first.raw;
  IceResp again = Call("POST", "/iceberg/v1/namespaces/db/tables/t", body.dump(), key);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body["metadata-location"], first.body["metadata-location"]);
  const json after = Load("db", "t");
  EXPECT_EQ(after["metadata-location"], first.body["metadata-location"]);
  EXPECT_EQ(after["metadata"]["metadata-log"].size(),
            before["metadata"]["metadata-log"].size() + 1);
  // Without a key the same body commits again.
  IceResp unkeyed = Call("POST", "/iceberg/v1/namespaces/db/tables/t", body.dump());
  EXPECT_NE(unkeyed.body["metadata-location"], first.body["metadata-location"]);
  // A keyed create that failed (409) is final too.
  const httplib::Headers key2 = {{"Idempotency-Key", "017f22e2-79b0-7cc3-98c4-dc0c0c073990"}};
  EXPECT_EQ(Call("POST", "/iceberg/v1/namespaces", R"({"namespace":["db"]})", key2).status, 409);
  Call("DELETE", "/iceberg/v1/namespaces/db/tables/t");
  Call("DELETE", "/iceberg/v1/namespaces/db");
  EXPECT_EQ(Call("POST", "/iceberg/v1/namespaces", R"({"namespace":["db"]})", key2).status, 409);
}

TEST_F(IcebergEmulatorTest, InjectedFaultsAnswerIcebergErrors) {
  StartServer();
  IceResp add = Call("POST", "/_admin/faults",
                     R"({"backend":"iceberg","method":"POST","status":503,"count":1})");
  ASSERT_EQ(add.status, 201) << add.raw;
  IceResp r = Call("POST", "/iceberg/v1/namespaces", R"({"namespace":["db"]})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.ErrorType(), "ServiceUnavailableException");
  EXPECT_EQ(r.body["error"]["code"], 503);
}

}  // namespace
}  // namespace converge::iceberg
