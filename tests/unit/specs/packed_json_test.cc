// PackedJson: a loaded spec is kept as CBOR and reads back as the very document that was packed.
#include "specs/packed_json.h"

#include <gtest/gtest.h>

#include <limits>

namespace converge {
namespace {

using json = nlohmann::json;

json Sample() {
  return json{{"id", "/shop/web"},
              {"cpus", 0.25},
              {"mem", 256},
              {"negative", -3},
              {"big", std::numeric_limits<std::uint64_t>::max()},
              {"ratio", 0.1},  // not exact in binary: must survive as the same double
              {"flag", true},
              {"none", nullptr},
              {"env", {{"LOG_LEVEL", "info"}, {"UTF8", "caf\u00e9 \u2603"}}},
              {"ports", json::array({8080, 0, json::object()})},
              {"empty", json::object()}};
}

TEST(PackedJson, PackedValueReadsBackEqualAndDumpsTheSame) {
  PackedJson p = Sample();
  EXPECT_FALSE(p.packed());
  p.Pack();
  ASSERT_TRUE(p.packed());
  EXPECT_EQ(p.Get(), Sample());
  // The revision hash and the Desired documents are computed from dump(): identical text.
  EXPECT_EQ(p.Get().dump(), Sample().dump());
  EXPECT_EQ(p.Get()["ratio"].get<double>(), 0.1);
  EXPECT_TRUE(p.Get()["mem"].is_number_integer());
  EXPECT_TRUE(p.Get()["cpus"].is_number_float());
}

TEST(PackedJson, PackedIsSmallerThanTheTreeItReplaces) {
  PackedJson p = Sample();
  p.Pack();
  EXPECT_LT(p.packed_size(), Sample().dump().size());
}

TEST(PackedJson, EditUnpacksAndTheNextPackKeepsTheChange) {
  PackedJson p = Sample();
  p.Pack();
  p.Edit()["mem"] = 512;
  EXPECT_FALSE(p.packed());
  p.Pack();
  EXPECT_EQ(p.Get()["mem"], 512);
  EXPECT_EQ(p.Get()["id"], "/shop/web");
}

TEST(PackedJson, ReadSeesTheValueInEitherState) {
  PackedJson p = Sample();
  auto cpus = [](const json& j) { return j["cpus"].get<double>(); };
  EXPECT_EQ(p.Read(cpus), 0.25);
  p.Pack();
  EXPECT_EQ(p.Read(cpus), 0.25);
}

TEST(PackedJson, DefaultIsNullAndAssignmentReplacesAPackedValue) {
  PackedJson p;
  EXPECT_TRUE(p.Get().is_null());
  p = Sample();
  p.Pack();
  p = json{{"a", 1}};
  EXPECT_FALSE(p.packed());
  EXPECT_EQ(p.Get(), (json{{"a", 1}}));
}

}  // namespace
}  // namespace converge
