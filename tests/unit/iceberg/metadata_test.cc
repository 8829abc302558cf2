// Table metadata parsing: every valid upstream example loads, the invalid ones are rejected with
// the member named, v1 tables get `main`, hostile values are errors and never crashes.
#include "reconcilers/iceberg/metadata.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace converge::iceberg {
namespace {

using ::testing::HasSubstr;

std::string Example(const std::string& name) {
  std::ifstream in(std::string(CONVERGE_SOURCE_DIR) +
                   "/reconcilers/iceberg/upstream/table-metadata/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(MetadataTest, EveryValidUpstreamExampleLoads) {
  for (const char* f :
       {"TableMetadataV1Valid.json", "TableMetadataV2Valid.json",
        "TableMetadataV2ValidMinimal.json", "TableMetadataV3ValidMinimal.json",
        "TableMetadataStatisticsFiles.json", "TableMetadataPartitionStatisticsFiles.json"}) {
    std::string text = Example(f);
    ASSERT_FALSE(text.empty()) << f;
    auto md = ParseMetadataText(text);
    EXPECT_TRUE(md.ok()) << f << ": " << md.status().ToString();
  }
}

TEST(MetadataTest, InvalidUpstreamExamplesNameTheMember) {
  struct Case {
    const char* file;
    const char* words;
  } cases[] = {
      {"TableMetadataUnsupportedVersion.json", "unsupported /format-version 42"},
      {"TableMetadataV2MissingSortOrder.json", "/sort-orders must exist in format v2"},
      {"TableMetadataV2CurrentSchemaNotFound.json", "current-schema-id=2"},
      {"TableMetadataV1MissingSchemaType.json", "cannot parse type"},
  };
  for (const Case& c : cases) {
    auto md = ParseMetadataText(Example(c.file));
    ASSERT_FALSE(md.ok()) << c.file;
    EXPECT_EQ(md.status().code(), Code::kInvalid);
    EXPECT_THAT(md.status().message(), HasSubstr(c.words)) << c.file;
  }
}

TEST(MetadataTest, V2ValidHasSnapshotsMainAndSpecs) {
  auto md = ParseMetadataText(Example("TableMetadataV2Valid.json"));
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->format_version, 2);
  EXPECT_EQ(md->table_uuid, "9c12d441-03fe-4693-9a96-a0705ddf69c1");
  EXPECT_EQ(md->last_sequence_number, 34);
  ASSERT_EQ(md->snapshots.size(), 2u);
  EXPECT_EQ(*md->current_snapshot_id, 3055729675574597004);
  EXPECT_EQ(md->snapshots[1].parent_id, 3051729675574597004);
  EXPECT_EQ(md->snapshots[1].operation, "append");
  EXPECT_EQ(md->snapshots[1].schema_id, 1);
  ASSERT_TRUE(md->refs.count("main"));  // no refs map: main from current-snapshot-id
  EXPECT_EQ(md->refs["main"].snapshot_id, 3055729675574597004);
  EXPECT_EQ(md->Ancestry(3055729675574597004).size(), 2u);
  EXPECT_EQ(md->current_schema_id, 1);
  EXPECT_EQ(md->schema_ids, (std::vector<int>{0, 1}));
  ASSERT_EQ(md->partition_specs.size(), 1u);
  EXPECT_EQ(md->partition_specs[0].fields[0].transform, "identity");
  EXPECT_EQ(md->partition_specs[0].fields[0].field_id, 1000);
  ASSERT_EQ(md->sort_orders.size(), 1u);
  EXPECT_EQ(md->default_sort_order_id, 3);
  EXPECT_EQ(md->sort_orders[0].fields[1].transform, "bucket[4]");
}

TEST(MetadataTest, V1WithoutSnapshotHasNoMain) {
  auto md = ParseMetadataText(Example("TableMetadataV1Valid.json"));
  ASSERT_TRUE(md.ok());
  EXPECT_FALSE(md->current_snapshot_id.has_value());  // -1 = none
  EXPECT_TRUE(md->refs.empty());
  EXPECT_EQ(md->partition_specs.size(), 1u);  // from the v1 partition-spec
}

json Minimal() {
  return json::parse(Example("TableMetadataV2ValidMinimal.json"));
}

TEST(MetadataTest, RefsAndRetentionAreRead) {
  json j = Minimal();
  j["snapshots"] = json::array({
      {{"snapshot-id", 1},
       {"timestamp-ms", 10},
       {"sequence-number", 1},
       {"manifest-list", "s3://b/1.avro"},
       {"summary", {{"operation", "append"}, {"added-data-files", "3"}}}},
      {{"snapshot-id", 2},
       {"parent-snapshot-id", 1},
       {"timestamp-ms", 20},
       {"sequence-number", 2},
       {"manifest-list", "s3://b/2.avro"},
       {"summary", {{"operation", "replace"}}}},
  });
  j["current-snapshot-id"] = 2;
  j["refs"] = {{"main", {{"snapshot-id", 2}, {"type", "branch"}, {"min-snapshots-to-keep", 3}}},
               {"audit", {{"snapshot-id", 1}, {"type", "tag"}, {"max-ref-age-ms", 1000}}}};
  j["properties"] = {{"history.expire.min-snapshots-to-keep", "4"}};
  auto md = ParseMetadata(j);
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->refs["main"].min_snapshots_to_keep, 3);
  EXPECT_FALSE(md->refs["audit"].is_branch());
  EXPECT_EQ(md->refs["audit"].max_ref_age_ms, 1000);
  EXPECT_EQ(md->snapshots[0].SummaryInt("added-data-files"), 3);
  EXPECT_EQ(md->snapshots[0].SummaryInt("missing"), 0);
  EXPECT_EQ(md->PropertyInt("history.expire.min-snapshots-to-keep", 1), 4);
  EXPECT_EQ(md->RefHead("audit")->id, 1);
}

TEST(MetadataTest, InconsistentOrHostileValuesAreErrors) {
  struct Case {
    std::function<void(json&)> edit;
    const char* words;
  } cases[] = {
      {[](json& j) { j["current-snapshot-id"] = 99; }, "/current-snapshot-id 99 names no snapshot"},
      {[](json& j) { j["format-version"] = "2"; }, "/format-version must be an integer"},
      {[](json& j) { j.erase("table-uuid"); }, "/table-uuid is required"},
      {[](json& j) {
         j["properties"] = {{"a", 1}};
       },
       "/properties/a must be a string"},
      {[](json& j) { j["snapshots"] = json::array({1}); }, "/snapshots/0 must be an object"},
      {[](json& j) {
         j["snapshots"] = json::array({{{"snapshot-id", 1},
                                        {"timestamp-ms", 1},
                                        {"manifest-list", "x"},
                                        {"summary", json::object()}}});
       },
       "/snapshots/0/summary/operation is required"},
      {[](json& j) {
         j["refs"] = {{"t", {{"snapshot-id", 5}, {"type", "tag"}}}};
       },
       "/refs/t points at snapshot 5"},
      {[](json& j) {
         j["refs"] = {{"t", {{"snapshot-id", 5}, {"type", "leaf"}}}};
       },
       "/refs/t/type must be branch or tag"},
      {[](json& j) { j["schemas"][0]["fields"][0]["type"] = "lnog"; }, "cannot parse type"},
      {[](json& j) { j["default-spec-id"] = 7; }, "default-spec-id=7"},
  };
  for (const Case& c : cases) {
    json j = Minimal();
    c.edit(j);
    auto md = ParseMetadata(j);
    ASSERT_FALSE(md.ok()) << c.words;
    EXPECT_THAT(md.status().message(), HasSubstr(c.words));
  }
  EXPECT_FALSE(ParseMetadataText("{not json").ok());
  EXPECT_FALSE(ParseMetadata(json::array()).ok());
}

TEST(MetadataTest, AncestryStopsAtCyclesAndExpiredParents) {
  json j = Minimal();
  auto snap = [](int64_t id, int64_t parent) {
    return json{{"snapshot-id", id},
                {"parent-snapshot-id", parent},
                {"timestamp-ms", id},
                {"manifest-list", "m"},
                {"summary", {{"operation", "append"}}}};
  };
  j["snapshots"] = json::array({snap(1, 2), snap(2, 1), snap(3, 42)});
  auto md = ParseMetadata(j);
  ASSERT_TRUE(md.ok());
  EXPECT_EQ(md->Ancestry(1).size(), 2u);
  EXPECT_EQ(md->Ancestry(3).size(), 1u);
  EXPECT_EQ(md->Ancestry(1, 1).size(), 1u);
}

}  // namespace
}  // namespace converge::iceberg
