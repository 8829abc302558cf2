// The YARN kinds' schemas for `converge schema` (schema_export.cc) give the answers of the
// validators they mirror: ValidateServiceSpec (YarnService) and ApplicationKind (YarnApplication,
// whose checks are code). Both schemas use only keywords draft-04 and draft-07 share, so
// converge's own validator runs them here; tests/compat/test_schema.py runs the whole document
// schema under python3-jsonschema.
#include <gtest/gtest.h>

#include "reconcilers/common/json_schema.h"
#include "reconcilers/yarn/applications.h"
#include "reconcilers/yarn/validate.h"

namespace converge::yarn {
namespace {

bool ValidatorAccepts(bool service, json spec) {
  std::vector<PathDiagnostic> out;
  if (service) {
    ValidateServiceSpec(spec, "/spec", out);
  } else {
    Document d;
    d.spec = spec;
    ApplicationKind().validate(d, out);
  }
  for (const auto& d : out)
    if (d.severity == Severity::kError) return false;
  return true;
}

bool SchemaAccepts(bool service, const json& spec) {
  Result<JsonSchema> s = JsonSchema::Compile(service ? ServiceSpecSchema() : ApplicationSpecSchema());
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() && s->IsValid(spec);
}

constexpr const char* kComponent =
    R"({"name":"web","number_of_containers":1,"launch_command":"sleep 1","resource":{"cpus":1,"memory":"256"}})";

json ServiceJson(const std::string& extra = "", const char* component = kComponent) {
  return json::parse(std::string(R"({"version":"1","components":[)") + component + "]" + extra + "}");
}

TEST(YarnSchemaExportTest, ServiceAgreesWithTheValidator) {
  struct C {
    const char* name;
    json spec;
    bool ok;
  };
  const C cases[] = {
      {"plain", ServiceJson(), true},
      {"memory as a number", ServiceJson("", R"({"name":"web","number_of_containers":1,"launch_command":"x","resource":{"cpus":1,"memory":256}})"), true},
      {"id is dropped", ServiceJson(R"(,"id":"application_1_0001")"), true},
      {"state STOPPED", ServiceJson(R"(,"state":"STOPPED")"), true},
      {"state FLEXING", ServiceJson(R"(,"state":"FLEXING")"), false},
      {"launch_time", ServiceJson(R"(,"launch_time":1)"), false},
      {"number_of_running_containers", ServiceJson(R"(,"number_of_running_containers":1)"), false},
      {"unknown member", ServiceJson(R"(,"replicas":1)"), false},
      {"component state", ServiceJson("", R"({"name":"web","state":"STABLE","launch_command":"x"})"), false},
      {"component containers", ServiceJson("", R"({"name":"web","containers":[],"launch_command":"x"})"), false},
      {"component name", ServiceJson("", R"({"name":"Web_1","launch_command":"x"})"), false},
      {"component name ends with -", ServiceJson("", R"({"name":"web-","launch_command":"x"})"), false},
      {"negative containers", ServiceJson("", R"({"name":"web","number_of_containers":-1,"launch_command":"x"})"), false},
      {"memory not whole", ServiceJson("", R"({"name":"web","launch_command":"x","resource":{"memory":2.5}})"), false},
  };
  for (const C& c : cases) {
    EXPECT_EQ(ValidatorAccepts(true, c.spec), c.ok) << c.name;
    EXPECT_EQ(SchemaAccepts(true, c.spec), c.ok) << c.name;
  }
}

TEST(YarnSchemaExportTest, ApplicationAgreesWithTheValidator) {
  const std::string am = R"("am-container-spec":{"commands":{"command":"sleep 1"}})";
  struct C {
    const char* name;
    std::string spec;
    bool ok;
  };
  const C cases[] = {
      {"plain", "{" + am + "}", true},
      {"other members pass through", "{" + am + R"(,"unmanaged-AM":false,"priority":1})", true},
      {"resource", "{" + am + R"(,"resource":{"memory":512,"vCores":1}})", true},
      {"tags as a list", "{" + am + R"(,"application-tags":["a"]})", true},
      {"no command", R"({"am-container-spec":{"commands":{}}})", false},
      {"no am", R"({"queue":"default"})", false},
      {"application-id", "{" + am + R"(,"application-id":"application_1_1"})", false},
      {"application-name", "{" + am + R"(,"application-name":"n"})", false},
      {"memory 0", "{" + am + R"(,"resource":{"memory":0}})", false},
      {"vCores beyond int32", "{" + am + R"(,"resource":{"vCores":2147483648}})", false},
      {"resource not an object", "{" + am + R"(,"resource":512})", false},
      {"queue", "{" + am + R"(,"queue":1})", false},
      {"max-app-attempts", "{" + am + R"(,"max-app-attempts":"2"})", false},
      {"tags", "{" + am + R"(,"application-tags":"a"})", false},
  };
  for (const C& c : cases) {
    json spec = json::parse(c.spec);
    EXPECT_EQ(ValidatorAccepts(false, spec), c.ok) << c.name;
    EXPECT_EQ(SchemaAccepts(false, spec), c.ok) << c.name;
  }
}

}  // namespace
}  // namespace converge::yarn
