// Hand-built table metadata for the iceberg unit tests: snapshots with parents and times, refs
// with their retention, properties. Goes through ParseMetadata, so the tests also check that what
// they build is valid metadata.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "reconcilers/iceberg/metadata.h"

namespace converge::iceberg::test {

constexpr int64_t kDay = 24LL * 3600 * 1000;
constexpr int64_t kHour = 3600LL * 1000;
constexpr int64_t kMiB = 1 << 20;
constexpr int32_t kNov30 = 20787;  // 2026-11-30 in days since the epoch
constexpr char kUuid[] = "9c12d441-03fe-4693-9a96-a0705ddf69c1";

class TableBuilder {
 public:
  TableBuilder() {
    j_ = {{"format-version", 2},
          {"table-uuid", kUuid},
          {"location", "s3://bucket/events"},
          {"last-sequence-number", 0},
          {"last-updated-ms", 0},
          {"last-column-id", 1},
          {"current-schema-id", 0},
          {"schemas", json::array({{{"type", "struct"},
                                    {"schema-id", 0},
                                    {"fields", json::array({{{"id", 1},
                                                             {"name", "ts"},
                                                             {"required", true},
                                                             {"type", "timestamptz"}}})}}})},
          {"default-spec-id", 0},
          {"partition-specs", json::array({{{"spec-id", 0},
                                            {"fields", json::array({{{"name", "day"},
                                                                     {"transform", "day"},
                                                                     {"source-id", 1},
                                                                     {"field-id", 1000}}})}}})},
          {"last-partition-id", 1000},
          {"default-sort-order-id", 0},
          {"sort-orders", json::array({{{"order-id", 0}, {"fields", json::array()}}})},
          {"properties", json::object()},
          {"snapshots", json::array()},
          {"refs", json::object()}};
  }
  // A snapshot at `ts`; its parent is `parent` (0 = none). Summary members are added as strings.
  TableBuilder& Snap(int64_t id, int64_t parent, int64_t ts, const std::string& op = "append",
                     json summary = json::object()) {
    json s = {
        {"snapshot-id", id},
        {"timestamp-ms", ts},
        {"sequence-number", ++seq_},
        {"manifest-list", "s3://bucket/events/metadata/snap-" + std::to_string(id) + ".avro"}};
    if (parent != 0) s["parent-snapshot-id"] = parent;
    summary["operation"] = op;
    s["summary"] = summary;
    j_["snapshots"].push_back(s);
    j_["last-sequence-number"] = seq_;
    return *this;
  }
  TableBuilder& Branch(const std::string& name, int64_t id, std::optional<int> min_keep = {},
                       std::optional<int64_t> max_age = {}, std::optional<int64_t> ref_age = {}) {
    json r = {{"type", "branch"}, {"snapshot-id", id}};
    if (min_keep) r["min-snapshots-to-keep"] = *min_keep;
    if (max_age) r["max-snapshot-age-ms"] = *max_age;
    if (ref_age) r["max-ref-age-ms"] = *ref_age;
    j_["refs"][name] = r;
    if (name == "main") j_["current-snapshot-id"] = id;
    return *this;
  }
  TableBuilder& Tag(const std::string& name, int64_t id, std::optional<int64_t> ref_age = {}) {
    json r = {{"type", "tag"}, {"snapshot-id", id}};
    if (ref_age) r["max-ref-age-ms"] = *ref_age;
    j_["refs"][name] = r;
    return *this;
  }
  TableBuilder& Prop(const std::string& k, const std::string& v) {
    j_["properties"][k] = v;
    return *this;
  }
  json& raw() { return j_; }
  TableMetadata Build() const {
    auto md = ParseMetadata(j_);
    EXPECT_TRUE(md.ok()) << md.status().ToString();
    return md.ok() ? *md : TableMetadata{};
  }

 private:
  json j_;
  int64_t seq_ = 0;
};

}  // namespace converge::iceberg::test
