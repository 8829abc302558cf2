// The shared three-way JSON diff (reconcilers/common/json_diff.h), independent of any backend.
#include "reconcilers/common/json_diff.h"

#include <gtest/gtest.h>

namespace converge::json_diff {
namespace {

json J(const char* text) {
  return json::parse(text);
}

// "path: before -> after" per change, in order.
std::vector<std::string> Show(const std::vector<FieldChange>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes)
    out.push_back(c.path + ": " + c.before.dump() + " -> " + c.after.dump());
  return out;
}

using Lines = std::vector<std::string>;

TEST(JsonDiffTest, SubsetSemanticsIgnoreWhatDesiredDoesNotSet) {
  Options o;
  EXPECT_EQ(Show(Diff(J(R"({"a": 1, "b": {"c": "x"}})"),
                      J(R"({"a": 1.0, "b": {"c": "x", "d": 2}, "status": "up"})"), json(), o)),
            Lines{});
  EXPECT_EQ(
      Show(Diff(J(R"({"a": 2, "b": {"c": "y"}})"), J(R"({"a": 1, "b": {"c": "x"}})"), json(), o)),
      (Lines{"a: 1 -> 2", "b.c: \"x\" -> \"y\""}));
  // A member live lacks entirely: before is null.
  EXPECT_EQ(Show(Diff(J(R"({"n": {"m": 1}})"), J("{}"), json(), o)), Lines{"n.m: null -> 1"});
}

TEST(JsonDiffTest, FullModeShowsMembersOnlyLiveHas) {
  Options o;
  o.subset = false;
  EXPECT_EQ(Show(Diff(J(R"({"a": 1})"), J(R"({"a": 1, "gone": true})"), json(), o)),
            Lines{"gone: true -> null"});
  o.ignored = {"gone"};
  EXPECT_EQ(Show(Diff(J(R"({"a": 1})"), J(R"({"a": 1, "gone": true})"), json(), o)), Lines{});
}

TEST(JsonDiffTest, ServerDefaultsAndResetsSinceLastApplied) {
  Options o;
  o.defaults = J(R"({"cpus": 1, "strategy": {"max": 1, "min": 1}})");
  // Live leaving a member out means the default: desired = default is no change.
  EXPECT_EQ(Show(Diff(J(R"({"cpus": 1})"), J("{}"), json(), o)), Lines{});
  EXPECT_EQ(Show(Diff(J(R"({"cpus": 2})"), J("{}"), json(), o)), Lines{"cpus: null -> 2"});
  // Removed from the spec since the last apply: back to the default, shown live -> default.
  EXPECT_EQ(Show(Diff(J("{}"), J(R"({"cpus": 3})"), J(R"({"cpus": 3})"), o)),
            Lines{"cpus: 3 -> 1"});
  // Nested defaults, and members without one go away (null).
  EXPECT_EQ(Show(Diff(J(R"({"strategy": {"min": 0.5}, "x": {}})"),
                      J(R"({"strategy": {"min": 0.5, "max": 0.2}, "x": {"y": 5}})"),
                      J(R"({"strategy": {"min": 0.5, "max": 0.2}, "x": {"y": 5}})"), o)),
            (Lines{"strategy.max: 0.2 -> 1", "x.y: 5 -> null"}));
  // Already at the default: nothing to show.
  EXPECT_EQ(Show(Diff(J("{}"), J(R"({"cpus": 1})"), J(R"({"cpus": 3})"), o)), Lines{});
}

TEST(JsonDiffTest, EmptyCollectionsEqualAbsentOnlyWhenTheBackendSaysSo) {
  Options o;
  const json desired = J(R"({"env": {}, "uris": []})");
  EXPECT_EQ(Show(Diff(desired, J("{}"), json(), o)), Lines{"uris: null -> []"});
  o.empty_is_absent = true;
  EXPECT_EQ(Show(Diff(desired, J("{}"), json(), o)), Lines{});
}

TEST(JsonDiffTest, ArraysOfObjectsMatchByKeyWhereNamedElseByIndex) {
  Options o;
  const json desired = J(R"({"Variants": [{"Name": "blue", "N": 2}, {"Name": "green", "N": 1}]})");
  const json live = J(R"({"Variants": [{"Name": "green", "N": 1}, {"Name": "blue", "N": 3}]})");
  // By index, a reordering looks like two changes of every member.
  EXPECT_EQ(Show(Diff(desired, live, json(), o)).size(), 4u);
  o.array_key = [](const std::string& member) {
    return member == "Variants" ? std::string("Name") : std::string();
  };
  EXPECT_EQ(Show(Diff(desired, live, json(), o)), Lines{"Variants[blue].N: 3 -> 2"});
  // An element added or removed is one change of that element.
  EXPECT_EQ(
      Show(Diff(J(R"({"Variants": [{"Name": "blue", "N": 2}]})"), live, json(), o)),
      (Lines{"Variants[blue].N: 3 -> 2", "Variants[green]: {\"N\":1,\"Name\":\"green\"} -> null"}));
  // Elements without the key (or with duplicates) fall back to index matching.
  EXPECT_EQ(
      Show(Diff(J(R"({"Variants": [{"N": 2}]})"), J(R"({"Variants": [{"N": 1}]})"), json(), o)),
      Lines{"Variants[0].N: 1 -> 2"});
}

TEST(JsonDiffTest, ChangedScalarArraysAndLengthChangesAreOneField) {
  Options o;
  EXPECT_EQ(Show(Diff(J(R"({"args": ["a", "c"]})"), J(R"({"args": ["a", "b"]})"), json(), o)),
            Lines{"args: [\"a\",\"b\"] -> [\"a\",\"c\"]"});
  EXPECT_EQ(Show(Diff(J(R"({"hc": [{"p": 1}, {"p": 2}]})"), J(R"({"hc": [{"p": 1}]})"), json(), o)),
            Lines{"hc: [{\"p\":1}] -> [{\"p\":1},{\"p\":2}]"});
}

TEST(JsonDiffTest, WholeMembersAndMatchesAny) {
  Options o;
  o.whole = {"Tags"};
  o.matches_any = [](const std::string& member, const json& d) {
    return member == "port" && d == 0;
  };
  EXPECT_EQ(Show(Diff(J(R"({"Tags": [{"K": "a"}], "port": 0})"),
                      J(R"({"Tags": [{"K": "b"}], "port": 31000})"), json(), o)),
            Lines{"Tags: [{\"K\":\"b\"}] -> [{\"K\":\"a\"}]"});
  // Whole means equal as a whole: a live extra inside counts, unlike subset semantics.
  EXPECT_EQ(Show(Diff(J(R"({"Tags": {"a": 1}})"), J(R"({"Tags": {"a": 1, "b": 2}})"), json(), o)),
            Lines{"Tags: {\"a\":1,\"b\":2} -> {\"a\":1}"});
}

TEST(JsonDiffTest, DisplayPathsAndOrder) {
  Options o;
  auto got = Diff(J(R"({"labels": {"a.b/c": "1", "plain": "2"}, "hc": [{"p": 1}], "z": 1})"),
                  J(R"({"labels": {}, "hc": [{"p": 0}], "z": 0})"), json(), o);
  EXPECT_EQ(Show(got), (Lines{"hc[0].p: 0 -> 1", "labels[\"a.b/c\"]: null -> \"1\"",
                              "labels.plain: null -> \"2\"", "z: 0 -> 1"}));
}

TEST(JsonDiffTest, LeavesOfACreate) {
  Options o;
  EXPECT_EQ(Show(Leaves(J(R"({"a": {"b": 1}, "c": [1, 2], "d": [{"e": 1}]})"), o)),
            (Lines{"a.b: null -> 1", "c: null -> [1,2]", "d[0].e: null -> 1"}));
}

TEST(JsonDiffTest, DeeplyNestedValuesDoNotOverflow) {
  json deep = 1;
  for (int i = 0; i < 2000; ++i) deep = json{{"x", deep}};
  json other = 2;
  for (int i = 0; i < 2000; ++i) other = json{{"x", other}};
  auto got = Diff(deep, other, json(), Options{});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(DeepEqual(deep, deep));
  EXPECT_FALSE(DeepEqual(deep, other));
}

}  // namespace
}  // namespace converge::json_diff
