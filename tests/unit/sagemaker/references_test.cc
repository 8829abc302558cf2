// The SageMaker kinds' references to other specs (kinds.h SpecReferencesOf), which `converge
// validate` checks offline and the reconciler resolves to live names: each at its member's JSON
// pointer, and the same keys the reconciler's References() gives.
#include <gtest/gtest.h>

#include "reconcilers/sagemaker/kinds.h"

namespace converge::sagemaker {
namespace {

std::vector<std::string> Refs(const std::string& kind, const json& spec) {
  std::vector<std::string> out;
  for (const SpecReference& r : SpecReferencesOf(kind, spec))
    out.push_back(r.kind + "/" + r.name + " at " + r.pointer);
  return out;
}

TEST(SageMakerReferences, EachKindNamesItsReferencedSpecsAtTheirMembers) {
  json config = {{"ProductionVariants",
                  {{{"VariantName", "blue"}, {"ModelName", "m-blue"}},
                   {{"VariantName", "green"}, {"ModelName", "m-green"}}}}};
  EXPECT_EQ(Refs("EndpointConfig", config),
            (std::vector<std::string>{"Model/m-blue at /spec/ProductionVariants/0/ModelName",
                                      "Model/m-green at /spec/ProductionVariants/1/ModelName"}));
  EXPECT_EQ(Refs("Endpoint", {{"EndpointConfigName", "c"}}),
            (std::vector<std::string>{"EndpointConfig/c at /spec/EndpointConfigName"}));
  EXPECT_EQ(Refs("TransformJob", {{"ModelName", "m"}}),
            (std::vector<std::string>{"Model/m at /spec/ModelName"}));
  EXPECT_TRUE(Refs("Model", {{"PrimaryContainer", {{"Image", "x"}}}}).empty());
  EXPECT_TRUE(Refs("Endpoint", {{"EndpointConfigName", 3}}).empty());  // not a name
  EXPECT_TRUE(Refs("EndpointConfig", {{"ProductionVariants", "x"}}).empty());
}

TEST(SageMakerReferences, TheLoaderHookIsRegisteredForEveryKind) {
  KindRegistry kinds;
  RegisterKinds(kinds);
  for (const KindSpec& k : Kinds()) {
    const KindInfo* info = kinds.Find(k.kind);
    ASSERT_NE(info, nullptr) << k.kind;
    EXPECT_TRUE(static_cast<bool>(info->references)) << k.kind;
  }
  Document d;
  d.kind = "Endpoint";
  d.spec = json{{"EndpointConfigName", "c"}};
  ASSERT_EQ(kinds.Find("Endpoint")->references(d).size(), 1u);
}

}  // namespace
}  // namespace converge::sagemaker
