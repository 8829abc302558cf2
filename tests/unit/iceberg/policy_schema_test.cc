// The TablePolicy / Executor schemas (policy_schema.cc, for `converge schema`) give the same
// answer as ValidatePolicy / ValidateExecutor: every example under examples/iceberg validates
// under both, and each wrong spec below is refused by both. The schemas use only keywords
// draft-04 and draft-07 share, so converge's own validator (json_schema.h) runs them here.
#include <gtest/gtest.h>

#include "reconcilers/common/json_schema.h"
#include "reconcilers/iceberg/policy.h"

namespace converge::iceberg {
namespace {

struct Case {
  const char* name;
  const char* spec;  // JSON
};

bool ValidatorAccepts(const std::string& kind, const json& spec) {
  std::vector<PathDiagnostic> out;
  if (kind == kTablePolicyKind) ValidatePolicy(spec, {}, "/spec", out);
  else ValidateExecutor(spec, "/spec", out);
  for (const auto& d : out)
    if (d.severity == Severity::kError) return false;
  return true;
}

bool SchemaAccepts(const std::string& kind, const json& spec) {
  Result<JsonSchema> s =
      JsonSchema::Compile(kind == kTablePolicyKind ? TablePolicySpecSchema() : ExecutorSpecSchema());
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() && s->IsValid(spec);
}

TEST(PolicySchemaTest, ExamplesValidateUnderBoth) {
  KindRegistry kinds;
  kinds.Register(kTablePolicyKind, TablePolicyKind());
  kinds.Register(kExecutorKind, ExecutorKind());
  KindInfo any;
  any.validate = [](Document&, std::vector<PathDiagnostic>&) {};
  kinds.Register("Backend", any);
  LoadResult r = LoadSpecs(std::string(CONVERGE_SOURCE_DIR) + "/examples/iceberg", kinds);
  ASSERT_FALSE(r.HasErrors()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].ToString());
  int checked = 0;
  for (const Document& d : r.documents) {
    if (d.kind == "Backend") continue;
    const json spec = d.spec.Get();
    EXPECT_TRUE(ValidatorAccepts(d.kind, spec)) << d.Describe();
    EXPECT_TRUE(SchemaAccepts(d.kind, spec)) << d.Describe() << ": " << spec.dump();
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

TEST(PolicySchemaTest, WrongPoliciesAreRefusedByBoth) {
  const Case cases[] = {
      {"unknown member", R"({"table":"a.b","triggers":{"commitCount":1},"expireSnapshots":{},"x":1})"},
      {"no namespace", R"({"table":"b","triggers":{"commitCount":1},"expireSnapshots":{}})"},
      {"empty part", R"({"table":"a..b","triggers":{"commitCount":1},"expireSnapshots":{}})"},
      {"no triggers", R"({"table":"a.b","expireSnapshots":{}})"},
      {"empty triggers", R"({"table":"a.b","triggers":{},"expireSnapshots":{}})"},
      {"no task", R"({"table":"a.b","triggers":{"commitCount":1}})"},
      {"count zero", R"({"table":"a.b","triggers":{"commitCount":0},"expireSnapshots":{}})"},
      {"count a string", R"({"table":"a.b","triggers":{"commitCount":"1"},"expireSnapshots":{}})"},
      {"bad size unit", R"({"table":"a.b","triggers":{"dataFileSizeBytes":"1 parsec"},"expireSnapshots":{}})"},
      {"negative size", R"({"table":"a.b","triggers":{"dataFileSizeBytes":-1},"expireSnapshots":{}})"},
      {"bare duration", R"({"table":"a.b","triggers":{"interval":"10"},"expireSnapshots":{}})"},
      {"duration unit", R"({"table":"a.b","triggers":{"interval":"10w"},"expireSnapshots":{}})"},
      {"retainLast int32", R"({"table":"a.b","triggers":{"commitCount":1},"expireSnapshots":{"retainLast":2147483648}})"},
      {"compaction without executor", R"({"table":"a.b","triggers":{"commitCount":1},"compaction":{}})"},
      {"orphans without executor", R"({"table":"a.b","triggers":{"commitCount":1},"removeOrphanFiles":{"olderThan":"5d"}})"},
      {"lock", R"({"table":"a.b","triggers":{"commitCount":1},"expireSnapshots":{},"lock":"row"})"},
      {"not a mapping", R"([1])"},
  };
  for (const Case& c : cases) {
    json spec = json::parse(c.spec);
    EXPECT_FALSE(ValidatorAccepts(kTablePolicyKind, spec)) << c.name;
    EXPECT_FALSE(SchemaAccepts(kTablePolicyKind, spec)) << c.name;
  }
}

TEST(PolicySchemaTest, WrongExecutorsAreRefusedByBoth) {
  const Case cases[] = {
      {"no type", R"({"command":["x"]})"},
      {"unknown type", R"({"type":"k8s","command":["x"]})"},
      {"yarn without backend", R"({"type":"yarn"})"},
      {"command without command", R"({"type":"command"})"},
      {"yarn member on a command executor", R"({"type":"command","command":["x"],"queue":"q"})"},
      {"unknown placeholder", R"({"type":"command","command":["{tabel}"]})"},
      {"unbalanced brace", R"({"type":"command","command":["a}"]})"},
      {"unterminated placeholder", R"({"type":"command","command":["{table"]})"},
      {"empty command", R"({"type":"command","command":[]})"},
      {"catalog not an identifier", R"({"type":"yarn","backend":"y","catalog":"a-b"})"},
      {"vcores", R"({"type":"yarn","backend":"y","resources":{"vcores":2000}})"},
      {"memory unit", R"({"type":"yarn","backend":"y","resources":{"memory":"2 G"}})"},
      {"env value", R"({"type":"command","command":["x"],"env":{"A":1}})"},
      {"timeout", R"({"type":"command","command":["x"],"timeout":60})"},
  };
  for (const Case& c : cases) {
    json spec = json::parse(c.spec);
    EXPECT_FALSE(ValidatorAccepts(kExecutorKind, spec)) << c.name;
    EXPECT_FALSE(SchemaAccepts(kExecutorKind, spec)) << c.name;
  }
}

TEST(PolicySchemaTest, RightSpecsAreAcceptedByBoth) {
  const std::pair<const char*, const char*> cases[] = {
      {kTablePolicyKind, R"({"table":"a.b.c","triggers":{"dataFileSizeBytes":"1.5 GiB","interval":"1h30m"},"compaction":{"targetFileSizeBytes":536870912,"executor":"e"},"lock":"none"})"},
      {kTablePolicyKind, R"({"table":"a.b","triggers":{"smallFileCount":3},"removeOrphanFiles":{"olderThan":"3d","executor":"e"}})"},
      {kExecutorKind, R"({"type":"command","command":["{{literal}}","{table}}}","{sql}"],"env":{"A":"1"},"timeout":"30m"})"},
      {kExecutorKind, R"({"type":"yarn","backend":"y","sparkConf":{"a":1,"b":true},"resources":{"memory":"4GiB","vcores":2}})"},
  };
  for (const auto& [kind, text] : cases) {
    json spec = json::parse(text);
    EXPECT_TRUE(ValidatorAccepts(kind, spec)) << text;
    EXPECT_TRUE(SchemaAccepts(kind, spec)) << text;
  }
}

}  // namespace
}  // namespace converge::iceberg
