// Integer members carry Marathon's upstream ranges (int32 unless the RAML says int64): a number
// Marathon cannot hold is an error at its file:line:column, never a silently different value.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reconcilers/marathon/validate.h"
#include "reconcilers/registry.h"
#include "specs/loader.h"

namespace converge::marathon {
void RegisterBackend(BackendRegistry& registry);  // register.cc
namespace {

using ::testing::HasSubstr;

std::vector<PathDiagnostic> Validate(const json& spec) {
  std::vector<PathDiagnostic> out;
  ValidateApp(spec, "/spec", out);
  return out;
}

std::string Describe(const std::vector<PathDiagnostic>& diags) {
  std::string out;
  for (const auto& d : diags) out += d.path + ": " + d.message + "\n";
  return out;
}

json App() {
  return {{"cmd", "sleep 100"}, {"cpus", 0.1}, {"mem", 32}, {"instances", 1}};
}

TEST(IntegerRangesTest, Int32MembersStopAt2147483647) {
  json app = App();
  app["instances"] = 2147483647;
  EXPECT_EQ(Describe(Validate(app)), "");
  app["instances"] = 2147483648LL;
  EXPECT_EQ(Describe(Validate(app)),
            "/spec/instances: must be at most 2147483647, found 2147483648\n");
  app = App();
  app["instances"] = 1e10;  // integral, but not an int32
  EXPECT_THAT(Describe(Validate(app)), HasSubstr("/spec/instances: must be at most 2147483647"));
  app = App();
  app["healthChecks"] = {{{"protocol", "HTTP"}, {"gracePeriodSeconds", 4294967296LL}}};
  EXPECT_THAT(Describe(Validate(app)),
              HasSubstr("/spec/healthChecks/0/gracePeriodSeconds: must be at most 2147483647"));
  app = App();
  app["taskKillGracePeriodSeconds"] = 3000000000LL;
  EXPECT_THAT(Describe(Validate(app)), HasSubstr("must be at most 2147483647"));
}

TEST(IntegerRangesTest, Int64MembersTakeInt64) {
  json app = App();
  app["residency"] = {{"relaunchEscalationTimeoutSeconds", 9000000000LL}};
  EXPECT_EQ(Describe(Validate(app)), "");
  app["residency"] = {{"relaunchEscalationTimeoutSeconds", 18446744073709551615ULL}};
  EXPECT_THAT(Describe(Validate(app)), HasSubstr("must be at most 9223372036854775807"));
}

TEST(IntegerRangesTest, TheSchemaCarriesTheUpstreamFormats) {
  const json& s = AppSchema().schema();
  EXPECT_EQ(s["properties"]["instances"]["format"], "int32");
  EXPECT_EQ(s["properties"]["instances"]["minimum"], 0);  // upstream's own bound is kept
  EXPECT_EQ(
      s["properties"]["residency"]["properties"]["relaunchEscalationTimeoutSeconds"]["format"],
      "int64");
}

LoadResult Load(const std::string& content) {
  BackendRegistry reg;
  RegisterBackend(reg);
  KindRegistry kinds = reg.LoaderKinds();
  LoadResult r;
  LoadContent("backend.yaml",
              "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: m}\n"
              "spec: {type: marathon, url: http://m:8080}\n",
              kinds, LoadLimits{}, r);
  LoadContent("app.yaml", content, kinds, LoadLimits{}, r);
  CheckDocumentSet(kinds, r);
  return r;
}

std::string Diags(const LoadResult& r) {
  std::string s;
  for (const auto& d : r.diagnostics) s += d.ToString() + "\n";
  return s;
}

TEST(IntegerRangesTest, OutOfRangeIsAnErrorAtItsPosition) {
  const std::string head =
      "apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\nspec:\n  cmd: sleep 1\n";
  auto r = Load(head + "  instances: 2147483648\n");
  EXPECT_THAT(Diags(r), HasSubstr("app.yaml:6:14: error: App /a (document 1): spec.instances: must "
                                  "be at most 2147483647"));
  EXPECT_EQ(r.documents.size(), 1u);  // only the Backend
  // Beyond int64: a bounded error from the loader, never a wrapped value.
  auto big = Load(head + "  instances: 99999999999999999999\n");
  EXPECT_THAT(Diags(big), HasSubstr("app.yaml:6:14: error"));
  EXPECT_THAT(Diags(big), HasSubstr("out of range"));
  auto quoted = Load(head + "  instances: \"2147483648\"\n");
  EXPECT_THAT(Diags(quoted), HasSubstr("app.yaml:6:14: error"));
}

}  // namespace
}  // namespace converge::marathon
