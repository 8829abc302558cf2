// The Iceberg REST catalog client against a scripted catalog: config and prefix, ETag loads,
// commit outcomes as codes, OAuth2 client credentials with refresh, multi-level namespaces.
#include "reconcilers/iceberg/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/common/fake_clock.h"
#include "tests/common/fake_transport.h"

namespace converge::iceberg {
namespace {

using converge::test::Answer;
using ::testing::HasSubstr;

constexpr char kBase[] = "http://catalog.example/api/catalog";

json Metadata() {
  return {{"format-version", 2},
          {"table-uuid", "9c12d441-03fe-4693-9a96-a0705ddf69c1"},
          {"location", "s3://bucket/events"},
          {"current-snapshot-id", 7}};
}

struct World {
  converge::test::FakeClock clock;
  converge::test::FakeTransport fake;
  std::unique_ptr<Client> client;
  World() {
    ClientOptions o;
    o.retry.max_attempts = 1;
    client = std::make_unique<Client>(kBase, fake.Borrow(), o, clock);
  }
  std::string Config(json overrides = {{"prefix", "wh1"}}, bool idempotency = false) {
    json c = {{"defaults", json::object()}, {"overrides", overrides}};
    if (idempotency) c["idempotency-key-lifetime"] = "PT30M";
    return c.dump();
  }
  std::string Loaded() {
    return json{{"metadata-location", "s3://bucket/events/metadata/v3.metadata.json"},
                {"metadata", Metadata()},
                {"config",
                 {{"s3.access-key-id", "AKID"},
                  {"s3.secret-access-key", "shh"},
                  {"client.region", "eu-west-1"}}}}
        .dump();
  }
};

TEST(IcebergTableIdentTest, ParsesDottedNamesWithMultiLevelNamespaces) {
  auto t = TableIdent::Parse("lake.analytics.events");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ns, (std::vector<std::string>{"lake", "analytics"}));
  EXPECT_EQ(t->name, "events");
  EXPECT_EQ(t->Dotted(), "lake.analytics.events");
  EXPECT_FALSE(TableIdent::Parse("events").ok());
  EXPECT_FALSE(TableIdent::Parse("a..b").ok());
  EXPECT_FALSE(TableIdent::Parse(".a.b").ok());
}

TEST(IcebergClientTest, ConfigGivesThePrefixAndTablesUseUnitSeparatedNamespaces) {
  World w;
  w.client->SetWarehouse("s3://warehouse one");
  w.fake.Script({Answer(200, w.Config()), Answer(200, w.Loaded(), {{"etag", "\"e1\""}})});
  auto t = w.client->LoadTable(*TableIdent::Parse("lake.analytics.events"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_TRUE(t->has_value());
  EXPECT_EQ((*t)->etag, "\"e1\"");
  EXPECT_EQ((*t)->metadata["current-snapshot-id"], 7);
  EXPECT_EQ(w.fake.request(0).url,
            std::string(kBase) + "/v1/config?warehouse=s3%3A%2F%2Fwarehouse%20one");
  EXPECT_EQ(w.fake.request(1).url,
            std::string(kBase) + "/v1/wh1/namespaces/lake%1Fanalytics/tables/events");
  // Storage credentials the catalog vends are never kept.
  EXPECT_FALSE((*t)->config.contains("s3.secret-access-key"));
  EXPECT_FALSE((*t)->config.contains("s3.access-key-id"));
  EXPECT_EQ((*t)->config["client.region"], "eu-west-1");
}

TEST(IcebergClientTest, AnUnchangedTableIsA304WithoutBody) {
  World w;
  w.fake.Script({Answer(200, w.Config(json::object())), Answer(304)});
  auto t = w.client->LoadTable(*TableIdent::Parse("db.events"), "\"e1\"");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->has_value());
  bool sent = false;
  for (const auto& [k, v] : w.fake.request(1).headers)
    sent |= k == "If-None-Match" && v == "\"e1\"";
  EXPECT_TRUE(sent);
  EXPECT_EQ(w.fake.request(1).url, std::string(kBase) + "/v1/namespaces/db/tables/events");
}

TEST(IcebergClientTest, CommitOutcomesBecomeCodes) {
  const json req = {{"requirements", json::array()}, {"updates", json::array()}};
  struct Case {
    int status;
    Code code;
    const char* type;
  };
  for (const Case& c : {Case{409, Code::kConflict, "CommitFailedException"},
                        Case{500, Code::kUnknownOutcome, "CommitStateUnknownException"},
                        Case{502, Code::kUnknownOutcome, "CommitStateUnknownException"},
                        Case{504, Code::kUnknownOutcome, "CommitStateUnknownException"},
                        Case{404, Code::kNotFound, "NoSuchTableException"},
                        Case{400, Code::kInvalid, "BadRequestException"},
                        Case{403, Code::kPermission, "ForbiddenException"}}) {
    World w;
    json err = {{"error", {{"message", "nope"}, {"type", c.type}, {"code", c.status}}}};
    w.fake.Script({Answer(200, w.Config()), Answer(c.status, err.dump())});
    auto r = w.client->Commit(*TableIdent::Parse("db.events"), req, "key-1");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code) << c.status << " " << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr(c.type));
    EXPECT_THAT(r.status().message(), HasSubstr("nope"));
    EXPECT_EQ(w.fake.request_count(), 2u) << "a commit is never retried blindly";
    // No Idempotency-Key unless the catalog advertises it.
    for (const auto& [k, v] : w.fake.request(1).headers) EXPECT_NE(k, "Idempotency-Key");
  }
}

TEST(IcebergClientTest, TheIdempotencyKeyIsSentWhenAdvertised) {
  World w;
  json ok = {{"metadata-location", "m2"}, {"metadata", Metadata()}};
  w.fake.Script({Answer(200, w.Config({{"prefix", "p"}}, true)), Answer(200, ok.dump())});
  auto r = w.client->Commit(*TableIdent::Parse("db.events"), json::object(), "key-1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->metadata_location, "m2");
  bool keyed = false;
  for (const auto& [k, v] : w.fake.request(1).headers)
    keyed |= k == "Idempotency-Key" && v == "key-1";
  EXPECT_TRUE(keyed);
}

TEST(IcebergClientTest, AKeyedCommitAnswered502IsNotRepeatedButUnknown) {
  World w;
  ClientOptions o;  // retries allowed: a GET answered 502 would be sent again
  o.retry.max_attempts = 3;
  o.retry.base_delay = std::chrono::milliseconds(1);
  Client client(kBase, w.fake.Borrow(), o, w.clock);
  w.fake.Script({Answer(200, w.Config({{"prefix", "p"}}, true)),
                 Answer(502, R"({"error": {"message": "gateway", "type": "x", "code": 502}})"),
                 Answer(200, json{{"metadata-location", "m2"}, {"metadata", Metadata()}}.dump())});
  auto r = client.Commit(*TableIdent::Parse("db.events"), json::object(), "key-1");
  EXPECT_EQ(r.status().code(), Code::kUnknownOutcome);
  EXPECT_EQ(w.fake.request_count(), 2u);  // config + one commit: never sent again blindly
}

TEST(IcebergClientTest, OAuth2ClientCredentialsAreRefreshedBeforeExpiryAndOnA401) {
  World w;
  w.client->SetClientCredentials("converge", "s3cr3t", "", "catalog");
  auto token = [](const std::string& t, int expires) {
    return Answer(
        200, json{{"access_token", t}, {"token_type", "bearer"}, {"expires_in", expires}}.dump());
  };
  w.fake.Script(
      {token("t1", 600), Answer(200, w.Config()), Answer(200, w.Loaded()),
       // 10 minutes later: refreshed before use.
       token("t2", 600), Answer(200, w.Loaded()),
       // The server revokes it: a 401, one refresh, one retry.
       Answer(401, R"({"error":{"message":"expired","type":"NotAuthorizedException","code":401}})"),
       token("t3", 600), Answer(200, w.Loaded())});
  auto table = *TableIdent::Parse("db.events");
  ASSERT_TRUE(w.client->LoadTable(table).ok());
  const http::Request first = w.fake.request(0);
  EXPECT_EQ(first.url, std::string(kBase) + "/v1/oauth/tokens");
  EXPECT_EQ(first.body,
            "grant_type=client_credentials&client_id=converge&client_secret=s3cr3t&scope=catalog");
  auto bearer = [&](size_t i) {
    for (const auto& [k, v] : w.fake.request(i).headers)
      if (k == "Authorization") return v;
    return std::string();
  };
  EXPECT_EQ(bearer(1), "Bearer t1");
  w.clock.Advance(std::chrono::minutes(10));
  ASSERT_TRUE(w.client->LoadTable(table).ok());
  EXPECT_EQ(w.fake.request(3).url, std::string(kBase) + "/v1/oauth/tokens");
  EXPECT_EQ(bearer(4), "Bearer t2");
  auto again = w.client->LoadTable(table);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(bearer(7), "Bearer t3");
}

TEST(IcebergClientTest, ARefusedTokenRequestIsAPermissionErrorWithoutTheSecret) {
  World w;
  w.client->SetClientCredentials("converge", "s3cr3t", "https://idp.example/token", "catalog");
  w.fake.Script({Answer(401, R"({"error":"invalid_client","error_description":"bad secret"})")});
  auto r = w.client->LoadTable(*TableIdent::Parse("db.events"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermission);
  EXPECT_THAT(r.status().message(), HasSubstr("bad secret"));
  EXPECT_THAT(r.status().message(), ::testing::Not(HasSubstr("s3cr3t")));
}

}  // namespace
}  // namespace converge::iceberg
