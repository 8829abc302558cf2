#include "reconcilers/yarn/applications.h"
#include "reconcilers/yarn/validate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "reconcilers/registry.h"
#include "specs/loader.h"

namespace converge::yarn {
void RegisterBackend(BackendRegistry& registry);  // register.cc
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kBackend =
    "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: hadoop}\nspec:\n  type: yarn\n"
    "  urls: [\"http://rm1:8088\", \"http://rm2:8088\"]\n  auth: {type: simple, user: deploy}\n";

LoadResult Load(const std::string& content, const std::string& backend = kBackend) {
  BackendRegistry reg;
  RegisterBackend(reg);
  KindRegistry kinds = reg.LoaderKinds();
  LoadResult r;
  LoadContent("backend.yaml", backend, kinds, LoadLimits{}, r);
  LoadContent("svc.yaml", content, kinds, LoadLimits{}, r);
  CheckDocumentSet(kinds, r);
  return r;
}

std::string Diags(const LoadResult& r) {
  std::string s;
  for (const auto& d : r.diagnostics) s += d.ToString() + "\n";
  return s;
}

std::string Service(const std::string& name, const std::string& spec_yaml) {
  return "apiVersion: converge/v1\nkind: YarnService\nmetadata: {name: " + name + "}\nspec:\n" +
         spec_yaml;
}

TEST(YarnSchemaTest, EmbeddedSchemaMatchesTheGeneratedFile) {
  std::string on_disk =
      ReadFile(std::string(CONVERGE_SOURCE_DIR) + "/reconcilers/yarn/schema/service.schema.json");
  ASSERT_FALSE(on_disk.empty());
  EXPECT_EQ(std::string(kServiceSchemaText), on_disk);
  EXPECT_TRUE(ServiceSchema().schema().contains("definitions"));
}

// Every upstream file that is a service spec (a create request or a Yarnfile; not the GET
// answers, not the partial PUT bodies) loads as a YarnService spec.
TEST(YarnSchemaTest, EveryUpstreamServiceSpecLoads) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(CONVERGE_SOURCE_DIR) / "reconcilers/yarn/upstream/services-examples";
  int loaded = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".json" || file.find(".response.") != std::string::npos)
      continue;
    json spec = json::parse(ReadFile(entry.path()));
    if (!spec.contains("name") || !spec.contains("version")) continue;  // a PUT body
    auto r = Load(Service(spec["name"], "  " + spec.dump()));
    EXPECT_FALSE(r.HasErrors()) << file << "\n" << Diags(r);
    ASSERT_EQ(r.documents.size(), 2u) << file;
    ++loaded;
  }
  EXPECT_GE(loaded, 15);
}

TEST(YarnSchemaTest, LifetimeStringIsConvertedWithAWarningAndMemoryNumberBecomesAString) {
  auto r = Load(Service("sleeper",
                        "  version: \"1\"\n  lifetime: \"3600\"\n  components:\n"
                        "    - name: sleeper\n      number_of_containers: 2\n"
                        "      launch_command: sleep 900\n"
                        "      resource: {cpus: 1, memory: 256}\n"));
  ASSERT_FALSE(r.HasErrors()) << Diags(r);
  EXPECT_THAT(Diags(r), HasSubstr("svc.yaml:6:13: warning: "));
  EXPECT_THAT(Diags(r), HasSubstr("spec.lifetime: numeric string \"3600\" converted to integer"));
  const Document* svc = nullptr;
  for (const auto& d : r.documents)
    if (d.kind == "YarnService") svc = &d;
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->spec.Get()["lifetime"], 3600);
  EXPECT_EQ(svc->spec.Get()["components"][0]["resource"]["memory"], "256");
}

// Found by fuzz/yarn_specs: a huge float was converted to long long before being checked.
TEST(YarnSchemaTest, HugeOrFractionalMemoryIsAnErrorAtTheMember) {
  for (const char* memory : {"1e300", "-1e300", "9.5e15", "256.5"}) {
    auto r = Load(Service("sleeper", std::string("  version: \"1\"\n  components:\n"
                                                 "    - name: sleeper\n"
                                                 "      number_of_containers: 1\n"
                                                 "      launch_command: sleep 900\n"
                                                 "      resource: {cpus: 1, memory: ") +
                                         memory + "}\n"));
    EXPECT_THAT(Diags(r), HasSubstr("svc.yaml:10:35: error: YarnService sleeper (document 1): "
                                    "spec.components.0.resource.memory: memory is a whole number"))
        << memory;
  }
}

TEST(YarnSchemaTest, ErrorsCarryFileLineAndColumn) {
  auto r = Load(Service("web",
                        "  version: \"1\"\n  components:\n    - name: web\n"
                        "      numbr_of_containers: 2\n"
                        "      artifact: {id: nginx, type: DOKCER}\n"));
  std::string d = Diags(r);
  EXPECT_THAT(d, HasSubstr("svc.yaml:8:28: error"));
  EXPECT_THAT(d, HasSubstr("did you mean \"number_of_containers\"?"));
  EXPECT_THAT(d, HasSubstr("svc.yaml:9:35: error"));
  EXPECT_THAT(d, HasSubstr("DOKCER"));
}

TEST(YarnSchemaTest, SpecRulesBeyondTheSchema) {
  std::string d =
      Diags(Load(Service("web",
                         "  name: other\n  version: \"1\"\n  state: STABLE\n  id: application_1_2\n"
                         "  components:\n    - {name: Web_1, number_of_containers: -1}\n"
                         "    - {name: Web_1, containers: []}\n")));
  EXPECT_THAT(d, HasSubstr("spec.name must be left out or equal metadata.name (web)"));
  EXPECT_THAT(d, HasSubstr("state may only be STARTED or STOPPED"));
  EXPECT_THAT(d, HasSubstr("svc.yaml:8:7: warning: "));
  EXPECT_THAT(d, HasSubstr("spec.id: \"id\" is the application id YARN assigns"));
  EXPECT_THAT(d, HasSubstr("component name \"Web_1\" is invalid"));
  EXPECT_THAT(d, HasSubstr("number_of_containers must not be negative"));
  EXPECT_THAT(d, HasSubstr("component Web_1 is defined twice"));
  EXPECT_THAT(d, HasSubstr("\"containers\" of a component is set by YARN"));
  EXPECT_THAT(Diags(Load(Service("Bad_Name", "  version: \"1\"\n"))),
              HasSubstr("service name \"Bad_Name\" is invalid"));
  EXPECT_THAT(Diags(Load(Service("web", "  components: []\n"))), HasSubstr("version"));
}

TEST(YarnExamplesTest, ExamplesLoadWithoutDiagnostics) {
  BackendRegistry reg;
  RegisterBackend(reg);
  LoadResult r = LoadSpecs(std::string(CONVERGE_SOURCE_DIR) + "/examples/yarn", reg.LoaderKinds());
  EXPECT_TRUE(r.diagnostics.empty()) << Diags(r);
  ASSERT_EQ(r.documents.size(), 3u);  // the Backend, a service, a distributed-shell application
}

std::string Application(const std::string& spec_yaml) {
  return "apiVersion: converge/v1\nkind: YarnApplication\nmetadata: {name: report}\nspec:\n" +
         spec_yaml;
}

TEST(YarnApplicationTest, TheSubmissionContextIsCheckedAtItsMembers) {
  const std::string am = "  am-container-spec: {commands: {command: \"sleep 1\"}}\n";
  auto ok = Load(Application(am + "  resource: {memory: 256, vCores: 1}\n"));
  EXPECT_FALSE(ok.HasErrors()) << Diags(ok);
  std::string d = Diags(Load(Application("  application-id: application_1_0001\n"
                                          "  resource: {memory: 2147483648}\n")));
  EXPECT_THAT(d, HasSubstr("svc.yaml:5:"));  // at the member, file:line:column
  EXPECT_THAT(d, HasSubstr("the ResourceManager assigns one"));
  EXPECT_THAT(d, HasSubstr("needs am-container-spec.commands.command"));
  EXPECT_THAT(d, HasSubstr("from 1 to 2147483647"));  // the RM's int32, not a silent wrap
}

TEST(YarnApplicationTest, TheRunNameCarriesTheSpecHashAndTagsAreLowercase) {
  auto r = Load(Application("  am-container-spec: {commands: {command: \"sleep 1\"}}\n"));
  ASSERT_FALSE(r.HasErrors()) << Diags(r);
  const Document* doc = nullptr;
  for (const auto& d : r.documents)
    if (d.kind == "YarnApplication") doc = &d;
  ASSERT_NE(doc, nullptr);
  json a = ApplicationDesired(*doc, "Prod-Converge");
  const std::string name = a["application-name"];
  EXPECT_EQ(name.rfind("report-", 0), 0u);
  EXPECT_EQ(name.size(), std::string("report-").size() + 8);
  EXPECT_EQ(a["application-tags"]["tag"].back(), "converge.io/managed-by=prod-converge");
  Document changed = *doc;
  changed.spec.Edit()["queue"] = "batch";
  EXPECT_NE(ApplicationDesired(changed, "x")["application-name"], name);
}

TEST(YarnBackendTest, MembersAreValidated) {
  auto ok = Load(Service("web", "  version: \"1\"\n"),
                 "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: h}\nspec:\n"
                 "  type: yarn\n  url: http://127.0.0.1:8480/yarn\n  upgrade: disabled\n");
  EXPECT_FALSE(ok.HasErrors()) << Diags(ok);
  std::string d =
      Diags(Load(Service("web", "  version: \"1\"\n"),
                 "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: h}\n"
                 "spec:\n  type: yarn\n  upgrade: sometimes\n  auth: {type: simple}\n"));
  EXPECT_THAT(d, HasSubstr("needs urls"));
  EXPECT_THAT(d, HasSubstr("simple auth needs user"));
  EXPECT_THAT(d, HasSubstr("sometimes"));
}

}  // namespace
}  // namespace converge::yarn
