// The Avro writer-schema check that runs before Avro C parses a schema (Avro C leaks on the
// invalid nested schemas fuzz/iceberg_manifests found): real Iceberg schemas pass, invalid ones
// are kInvalid with the place named.
#include "reconcilers/iceberg/avro_schema_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reconcilers/iceberg/avro_manifest.h"
#include "tests/unit/iceberg/avro_files.h"

namespace converge::iceberg {
namespace {

using ::testing::HasSubstr;

std::string Error(const std::string& schema) {
  Status s = CheckAvroSchemaJson(schema);
  EXPECT_FALSE(s.ok()) << schema;
  if (!s.ok()) EXPECT_EQ(s.code(), Code::kInvalid);
  return s.message();
}

TEST(AvroSchemaCheckTest, IcebergManifestSchemasPass) {
  EXPECT_TRUE(CheckAvroSchemaJson(test::kManifestListSchema).ok());
  EXPECT_TRUE(CheckAvroSchemaJson(test::kManifestSchema).ok());
  // What the sandbox catalog writes (a partitioned and an unpartitioned table).
  EXPECT_TRUE(CheckAvroSchemaJson(avro::ManifestListSchema()).ok());
  EXPECT_TRUE(CheckAvroSchemaJson(avro::ManifestEntrySchema({})).ok());
  EXPECT_TRUE(CheckAvroSchemaJson(
                  avro::ManifestEntrySchema({{"day", 1000, "int"}, {"region", 1001, "string"}}))
                  .ok());
  EXPECT_TRUE(CheckAvroSchemaJson(R"({"type": "record", "name": "r", "namespace": "a.b",
    "fields": [{"name": "x", "type": {"type": "fixed", "name": "f", "size": 16}},
               {"name": "y", "type": ["null", "f", "a.b.f"]},
               {"name": "m", "type": {"type": "map", "values": {"type": "array", "items":
                 {"type": "enum", "name": "e", "symbols": ["A", "B"]}}}},
               {"name": "d", "type": {"type": "int", "logicalType": "date"}}]})")
                  .ok());
}

TEST(AvroSchemaCheckTest, WhatFuzzingFoundIsRefused) {
  // A field with no name and a record defined twice, inside data_file (the leak's reproducer).
  EXPECT_THAT(Error(R"({"type": "record", "name": "manifest_entry", "fields": [
      {"name": "data_file", "type": {"type": "record", "name": "r2", "fields": [
        {"nameid": 1000}]}}]})"),
              HasSubstr("fields[0].type.fields[0] has no valid \"name\""));
  EXPECT_THAT(Error(R"({"type": "record", "name": "e", "fields": [
      {"name": "a", "type": {"type": "record", "name": "r2", "fields": []}},
      {"name": "b", "type": {"type": "record", "name": "r2", "fields": []}}]})"),
              HasSubstr("defines the type \"r2\" twice"));
}

TEST(AvroSchemaCheckTest, InvalidSchemasSayWhere) {
  EXPECT_THAT(Error("{"), HasSubstr("not valid JSON"));
  EXPECT_THAT(Error(R"({"type": "record", "name": "1r", "fields": []})"),
              HasSubstr("no valid \"name\""));
  EXPECT_THAT(Error(R"({"type": "record", "name": "r", "fields": [{"name": "a", "type": "int"},
                      {"name": "a", "type": "long"}]})"),
              HasSubstr("repeats the field name \"a\""));
  EXPECT_THAT(Error(R"({"type": "record", "name": "r", "fields": [{"name": "a",
                      "type": ["null", ["int"]]}]})"),
              HasSubstr("union directly inside a union"));
  EXPECT_THAT(Error(R"({"type": "record", "name": "r", "fields": [{"name": "a",
                      "type": ["int", "int"]}]})"),
              HasSubstr("repeats a branch"));
  EXPECT_THAT(Error(R"({"type": "record", "name": "r", "fields": [{"name": "a", "type": "x"}]})"),
              HasSubstr("\"x\", which is not defined"));
  EXPECT_THAT(Error(R"({"type": "enum", "name": "e", "symbols": ["A", "A"]})"),
              HasSubstr("enum symbol"));
  EXPECT_THAT(Error(R"({"type": "fixed", "name": "f"})"), HasSubstr("\"size\""));
  EXPECT_THAT(Error(R"({"type": "array"})"), HasSubstr("without \"items\""));
  std::string deep = R"("int")";
  for (int i = 0; i < 100; ++i) deep = R"({"type": "array", "items": )" + deep + "}";
  EXPECT_THAT(Error(deep), HasSubstr("nests deeper than 64"));
}

}  // namespace
}  // namespace converge::iceberg
