#include "reconcilers/marathon/validate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "reconcilers/common/json_schema.h"

namespace converge::marathon {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json Upstream(const std::string& relative) {
  return json::parse(ReadFile(std::string(CONVERGE_MARATHON_UPSTREAM_DIR) + "/" + relative));
}

std::vector<PathDiagnostic> ValidateAppJson(const json& spec) {
  std::vector<PathDiagnostic> out;
  ValidateApp(spec, "/spec", out);
  return out;
}

std::string DescribeDiagnostics(const std::vector<PathDiagnostic>& diags) {
  std::string out;
  for (const auto& d : diags) out += d.path + ": " + d.message + "\n";
  return out;
}

// Expects exactly one error, at `path`, with `message`.
void ExpectOneError(const json& spec, const std::string& path, const std::string& message) {
  auto diags = ValidateAppJson(spec);
  ASSERT_EQ(diags.size(), 1u) << spec.dump() << "\n" << DescribeDiagnostics(diags);
  EXPECT_EQ(diags[0].path, path);
  EXPECT_EQ(diags[0].message, message);
  EXPECT_EQ(diags[0].severity, Severity::kError);
}

json MinimalApp() {
  return {{"cmd", "sleep 100"}, {"cpus", 0.1}, {"mem", 32}, {"instances", 1}};
}

// ----- the embedded schema ---------------------------------------------------------------------

TEST(EmbeddedSchemaTest, MatchesUpstreamFile) {
  std::string on_disk =
      ReadFile(std::string(CONVERGE_MARATHON_UPSTREAM_DIR) + "/jsonschema-1.7/AppDefinition.json");
  ASSERT_FALSE(on_disk.empty());
  EXPECT_EQ(UpstreamAppSchemaText(), on_disk)
      << "app_schema.cc is out of date: regenerate it from the upstream file";
}

// Every keyword the upstream schema uses is one the validator implements (or an annotation).
TEST(EmbeddedSchemaTest, UsesOnlySupportedKeywords) {
  const std::set<std::string> kSupported = {"$ref",
                                            "additionalItems",
                                            "additionalProperties",
                                            "allOf",
                                            "anyOf",
                                            "definitions",
                                            "dependencies",
                                            "enum",
                                            "exclusiveMaximum",
                                            "exclusiveMinimum",
                                            "items",
                                            "maxItems",
                                            "maxLength",
                                            "maxProperties",
                                            "maximum",
                                            "minItems",
                                            "minLength",
                                            "minProperties",
                                            "minimum",
                                            "multipleOf",
                                            "not",
                                            "oneOf",
                                            "pattern",
                                            "patternProperties",
                                            "properties",
                                            "required",
                                            "type",
                                            "uniqueItems"};
  const std::set<std::string> kAnnotations = {"$schema", "description", "default", "format",
                                              "title"};
  // Upstream slip: executorResources lists cpus/mem/disk beside "type" instead of under
  // "properties"; draft-04 ignores unknown keywords, and so does the validator.
  const std::set<std::string> kIgnoredSlips = {"cpus", "mem", "disk"};
  std::set<std::string> unsupported;
  std::function<void(const json&)> walk = [&](const json& s) {
    if (!s.is_object()) return;
    for (const auto& [k, v] : s.items()) {
      if (!kSupported.count(k) && !kAnnotations.count(k) && !kIgnoredSlips.count(k)) {
        unsupported.insert(k);
      }
      if (k == "properties" || k == "patternProperties" || k == "definitions") {
        for (const auto& [_, sub] : v.items()) walk(sub);
      } else if (k == "items" || k == "allOf" || k == "anyOf" || k == "oneOf") {
        if (v.is_array()) {
          for (const json& sub : v) walk(sub);
        } else {
          walk(v);
        }
      } else if (k == "not" || k == "additionalProperties" || k == "additionalItems") {
        walk(v);
      }
    }
  };
  walk(json::parse(UpstreamAppSchemaText()));
  EXPECT_TRUE(unsupported.empty()) << *unsupported.begin();
}

TEST(EmbeddedSchemaTest, EffectiveSchemaKeepsUpstreamAndAddsNewerMembers) {
  const json& s = AppSchema().schema();
  EXPECT_FALSE(s.contains("required"));  // the id comes from metadata.name
  for (const char* m : {"check", "tty", "role", "resourceLimits", "cmd", "container"}) {
    EXPECT_TRUE(s["properties"].contains(m)) << m;
  }
  EXPECT_EQ(s["not"], json::parse(UpstreamAppSchemaText())["not"]);
}

// ----- upstream examples -----------------------------------------------------------------------

TEST(ValidateAppTest, UpstreamAppsCreateExamplesAreValid) {
  json apps = Upstream("raml/v2/examples/apps_create.json");
  ASSERT_EQ(apps.size(), 2u);
  for (const json& app : apps) EXPECT_EQ(DescribeDiagnostics(ValidateAppJson(app)), "") << app.dump();
}

TEST(ValidateAppTest, UpstreamCheckExampleIsValid) {
  EXPECT_EQ(DescribeDiagnostics(ValidateAppJson(Upstream("raml/v2/examples/app-check-http-example.json"))), "");
}

TEST(ValidateAppTest, UpstreamPatchExampleIsValid) {
  EXPECT_EQ(DescribeDiagnostics(ValidateAppJson(Upstream("raml/v2/examples/app_patch.json"))), "");
}

TEST(ValidateAppTest, UpstreamAppExampleIsRejectedForCmdAndArgs) {
  ExpectOneError(Upstream("raml/v2/examples/app.json"), "/spec/args",
                 "\"cmd\" and \"args\" cannot both be set");
}

TEST(ValidateAppTest, MinimalAppWithoutIdIsValid) {
  EXPECT_EQ(DescribeDiagnostics(ValidateAppJson(MinimalApp())), "");
}

// ----- error messages --------------------------------------------------------------------------

TEST(ValidateAppTest, WrongTypes) {
  json app = MinimalApp();
  app["instances"] = "three";
  ExpectOneError(app, "/spec/instances", "expected integer, found string \"three\"");
  app = MinimalApp();
  app["instances"] = 2.5;
  ExpectOneError(app, "/spec/instances", "expected integer, found number 2.5");
  app = MinimalApp();
  app["cpus"] = true;
  ExpectOneError(app, "/spec/cpus", "expected number, found boolean true");
  app = MinimalApp();
  app["labels"] = {{"team", 7}};
  ExpectOneError(app, "/spec/labels/team", "expected string, found integer 7");
  app = MinimalApp();
  app["container"] = {{"docker", {{"image", "nginx"}, {"privileged", "yes"}}}};
  ExpectOneError(app, "/spec/container/docker/privileged",
                 "expected boolean, found string \"yes\"");
}

TEST(ValidateAppTest, IntegralFloatIsAnInteger) {
  json app = MinimalApp();
  app["instances"] = 3.0;
  EXPECT_EQ(DescribeDiagnostics(ValidateAppJson(app)), "");
}

TEST(ValidateAppTest, NotAnObject) {
  auto diags = ValidateAppJson(json::array({1, 2}));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].path, "/spec");
  EXPECT_EQ(diags[0].message, "expected object, found array");
}

TEST(ValidateAppTest, UnknownFields) {
  json app = MinimalApp();
  app["instanses"] = 2;
  ExpectOneError(app, "/spec/instanses",
                 "unknown field \"instanses\"; did you mean \"instances\"?");
  app = MinimalApp();
  app["frobnicate"] = 1;
  auto diags = ValidateAppJson(app);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].path, "/spec/frobnicate");
  EXPECT_EQ(diags[0].message.rfind("unknown field \"frobnicate\" (allowed: acceptedResourceRoles, "
                                   "args, backoffFactor, backoffSeconds, check, cmd, constraints, "
                                   "container, … ",
                                   0),
            0u)
      << diags[0].message;
  app = MinimalApp();
  app["container"] = {{"docker", {{"image", "nginx"}, {"imagePullPolicy", "Always"}}}};
  diags = ValidateAppJson(app);
  ASSERT_EQ(diags.size(), 1u) << DescribeDiagnostics(diags);
  EXPECT_EQ(diags[0].path, "/spec/container/docker/imagePullPolicy");
  EXPECT_EQ(diags[0].message.rfind("unknown field \"imagePullPolicy\" (allowed: credential, ", 0),
            0u)
      << diags[0].message;
}

TEST(ValidateAppTest, StatusMembersAreUnknownAndVersionIsRefused) {
  json app = MinimalApp();
  app["tasksRunning"] = 1;
  auto diags = ValidateAppJson(app);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message.rfind("unknown field \"tasksRunning\"", 0), 0u);
  app = MinimalApp();
  app["version"] = "2015-09-25T15:13:48.343Z";
  ExpectOneError(app, "/spec/version",
                 "\"version\" is set by Marathon and cannot be part of a spec; remove it");
}

TEST(ValidateAppTest, EnumViolations) {
  json app = MinimalApp();
  app["container"] = {{"type", "DOCKER"},
                      {"docker", {{"image", "nginx"}}},
                      {"portMappings", {{{"containerPort", 80}, {"protocol", "sctp"}}}}};
  ExpectOneError(app, "/spec/container/portMappings/0/protocol",
                 "must be one of \"tcp\", \"udp\", \"udp,tcp\" (found \"sctp\")");
  app = MinimalApp();
  app["constraints"] = {{"hostname", "EQUALS", "x"}};
  ExpectOneError(app, "/spec/constraints/0/1",
                 "must be one of \"UNIQUE\", \"CLUSTER\", \"GROUP_BY\", \"LIKE\", \"UNLIKE\", "
                 "\"MAX_PER\" (found \"EQUALS\")");
  app = MinimalApp();
  app["networks"] = {{{"mode", 3}}};
  ExpectOneError(app, "/spec/networks/0/mode",
                 "must be one of \"container\", \"container/bridge\", \"host\" (found integer 3)");
}

TEST(ValidateAppTest, UpgradeStrategyOutOfRange) {
  json app = MinimalApp();
  app["upgradeStrategy"] = {{"minimumHealthCapacity", 1.5}, {"maximumOverCapacity", 0.2}};
  ExpectOneError(app, "/spec/upgradeStrategy/minimumHealthCapacity",
                 "must be at most 1.0, found 1.5");
  app["upgradeStrategy"] = {{"minimumHealthCapacity", 0.5}, {"maximumOverCapacity", -1}};
  ExpectOneError(app, "/spec/upgradeStrategy/maximumOverCapacity",
                 "must be at least 0.0, found -1");
}

TEST(ValidateAppTest, MinimaAndLengths) {
  json app = MinimalApp();
  app["instances"] = -1;
  ExpectOneError(app, "/spec/instances", "must be at least 0, found -1");
  app = MinimalApp();
  app["cmd"] = "";
  ExpectOneError(app, "/spec/cmd", "must not be empty");
  app = MinimalApp();
  app["container"] = {{"appc", {{"image", "x"}, {"id", "sha512"}}}};
  ExpectOneError(app, "/spec/container/appc/id", "must be at least 7 characters long, found 6");
  app = MinimalApp();
  app["container"] = {{"portMappings", {{{"networkNames", {std::string(64, 'a')}}}}}};
  ExpectOneError(app, "/spec/container/portMappings/0/networkNames/0",
                 "must be at most 63 characters long, found 64");
}

TEST(ValidateAppTest, RequiredMembers) {
  json app = MinimalApp();
  app["container"] = {{"docker", {{"forcePullImage", true}}}};
  ExpectOneError(app, "/spec/container/docker", "missing required field \"image\"");
  app = MinimalApp();
  app["fetch"] = {{{"executable", true}}};
  ExpectOneError(app, "/spec/fetch/0", "missing required field \"uri\"");
}

TEST(ValidateAppTest, ArrayItemRules) {
  json app = MinimalApp();
  app["constraints"] = {{"hostname"}};
  ExpectOneError(app, "/spec/constraints/0", "must have at least 2 items, found 1");
  app["constraints"] = {{"hostname", "LIKE", "a", "b"}};
  ExpectOneError(app, "/spec/constraints/0/3", "unexpected item: at most 3 items allowed, found 4");
}

TEST(ValidateAppTest, Patterns) {
  json app = MinimalApp();
  app["portDefinitions"] = {{{"port", 0}, {"name", "Http"}}};
  ExpectOneError(app, "/spec/portDefinitions/0/name",
                 "must match pattern \"^[a-z][a-z0-9-]*$\", found \"Http\"");
  app = MinimalApp();
  app["id"] = "/Payments";
  auto diags = ValidateAppJson(app);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].path, "/spec/id");
  EXPECT_EQ(diags[0].message.rfind("must match pattern ", 0), 0u);
  app = MinimalApp();
  app["dependencies"] = {"/ok/one", "/Bad"};
  diags = ValidateAppJson(app);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].path, "/spec/dependencies/1");
  app = MinimalApp();
  app["executor"] = "//cmd";
  EXPECT_EQ(DescribeDiagnostics(ValidateAppJson(app)), "");
}

TEST(ValidateAppTest, OneOfReportsTheRelevantBranch) {
  json app = MinimalApp();
  app["env"] = {{"A", 5}};
  ExpectOneError(app, "/spec/env/A", "expected string or object, found integer 5");
  app["env"] = {{"A", {{"secret", ""}}}};
  ExpectOneError(app, "/spec/env/A/secret", "must not be empty");
  app["env"] = {{"A", {{"secrte", "x"}}}};
  auto diags = ValidateAppJson(app);
  ASSERT_EQ(diags.size(), 2u) << DescribeDiagnostics(diags);
  EXPECT_EQ(diags[0].message, "missing required field \"secret\"");
  EXPECT_EQ(diags[1].message, "unknown field \"secrte\"; did you mean \"secret\"?");
  app = MinimalApp();
  app["unreachableStrategy"] = "enabled";
  ExpectOneError(app, "/spec/unreachableStrategy",
                 "must be one of \"disabled\" (found \"enabled\")");
  app["unreachableStrategy"] = {{"inactiveAfterSeconds", -5}};
  ExpectOneError(app, "/spec/unreachableStrategy/inactiveAfterSeconds",
                 "must be at least 0, found -5");
  app["unreachableStrategy"] = {{"inactiveAfterSeconds", 60}, {"expungeAfterSeconds", 120}};
  EXPECT_EQ(DescribeDiagnostics(ValidateAppJson(app)), "");
}

TEST(ValidateAppTest, NewerMembers) {
  json app = MinimalApp();
  app["tty"] = true;
  app["role"] = "slave_public";
  app["resourceLimits"] = {{"cpus", "unlimited"}, {"mem", 1024}};
  app["check"] = {{"exec", {{"command", {{"shell", "true"}}}}}, {"intervalSeconds", 10}};
  EXPECT_EQ(DescribeDiagnostics(ValidateAppJson(app)), "");
  app["resourceLimits"] = {{"cpus", "lots"}};
  ExpectOneError(app, "/spec/resourceLimits/cpus", "must be one of \"unlimited\" (found \"lots\")");
}

TEST(ValidateAppTest, ErrorsAreCollectedNotFirstOnly) {
  json app = MinimalApp();
  app["instances"] = "x";
  app["cpus"] = "y";
  app["bogus"] = 1;
  EXPECT_EQ(ValidateAppJson(app).size(), 3u);
}

// ----- app ids ---------------------------------------------------------------------------------

TEST(ValidateAppIdTest, GoodIds) {
  for (const char* id : {"/a", "/payments/api", "/a.b-c/d1", "/0/9x", "/team/app.v2"}) {
    EXPECT_EQ(AppIdError(id), "") << id;
    std::vector<PathDiagnostic> out;
    ValidateAppId(id, out);
    EXPECT_TRUE(out.empty()) << id;
  }
}

TEST(ValidateAppIdTest, BadIds) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "app id must not be empty"},
      {"payments/api", "app id \"payments/api\" must be absolute (start with \"/\")"},
      {"/", "app id \"/\" names the root group, not an app"},
      {"/payments/", "app id \"/payments/\" must not end with \"/\""},
      {"/a//b", "app id \"/a//b\" has an empty path segment (\"//\")"},
      {"/a/../b", "app id \"/a/../b\" must not contain \".\" or \"..\" segments"},
      {"/a/./b", "app id \"/a/./b\" must not contain \".\" or \"..\" segments"},
      {"/Payments",
       "app id \"/Payments\" is invalid: segment \"Payments\" may only contain "
       "lowercase letters, digits, \"-\" and \".\", and must start and end with a "
       "letter or digit"},
  };
  for (const auto& [id, message] : cases) {
    std::vector<PathDiagnostic> out;
    ValidateAppId(id, out);
    ASSERT_EQ(out.size(), 1u) << id;
    EXPECT_EQ(out[0].path, "/metadata/name");
    EXPECT_EQ(out[0].message, message);
  }
  for (const char* id : {"/-a", "/a-", "/a_b", "/a b", "/a.", "/é"}) {
    EXPECT_NE(AppIdError(id), "") << id;
  }
}

TEST(ValidateAppIdTest, AgreesWithSchemaPatternOnAbsoluteIds) {
  // Every id AppIdError accepts also matches the upstream pathType pattern.
  auto pattern = SchemaPattern::Compile(
      AppSchema().schema()["definitions"]["pathType"]["pattern"].get<std::string>());
  ASSERT_TRUE(pattern.ok());
  for (const char* id : {"/a", "/payments/api", "/a.b-c/d1", "/0/9x", "/x-1.y"}) {
    EXPECT_TRUE(pattern->Search(id)) << id;
  }
  for (const char* id : {"/-a", "/a_b", "/A"}) EXPECT_FALSE(pattern->Search(id)) << id;
}

// ----- numeric strings -------------------------------------------------------------------------

TEST(CoerceAppNumbersTest, ConvertsOnlyWhereTheSchemaWantsNumbers) {
  json app = {{"cmd", "5"},
              {"instances", "3"},
              {"cpus", "0.5"},
              {"mem", "512"},
              {"env", {{"N", "3"}}},
              {"labels", {{"x", "1"}}},
              {"portDefinitions", {{{"port", "8080"}, {"name", "http"}}}},
              {"unreachableStrategy", {{"inactiveAfterSeconds", "30"}}},
              {"args_like", "7"}};
  std::vector<PathDiagnostic> out;
  CoerceAppNumbers(app, "/spec", out);
  EXPECT_EQ(app["cmd"], "5");
  EXPECT_EQ(app["instances"], 3);
  EXPECT_TRUE(app["instances"].is_number_integer());
  EXPECT_EQ(app["cpus"], 0.5);
  EXPECT_EQ(app["mem"], 512);
  EXPECT_EQ(app["env"]["N"], "3");
  EXPECT_EQ(app["labels"]["x"], "1");
  EXPECT_EQ(app["portDefinitions"][0]["port"], 8080);
  EXPECT_EQ(app["unreachableStrategy"]["inactiveAfterSeconds"], 30);
  EXPECT_EQ(app["args_like"], "7");  // unknown member: left for validation to report
  ASSERT_EQ(out.size(), 5u) << DescribeDiagnostics(out);
  std::set<std::string> paths;
  for (const auto& d : out) {
    EXPECT_EQ(d.severity, Severity::kWarning);
    paths.insert(d.path);
  }
  EXPECT_EQ(paths, (std::set<std::string>{"/spec/instances", "/spec/cpus", "/spec/mem",
                                          "/spec/portDefinitions/0/port",
                                          "/spec/unreachableStrategy/inactiveAfterSeconds"}));
  for (const auto& d : out) {
    if (d.path == "/spec/instances") {
      EXPECT_EQ(d.message, "numeric string \"3\" converted to integer");
    }
    if (d.path == "/spec/cpus") {
      EXPECT_EQ(d.message, "numeric string \"0.5\" converted to number");
    }
  }
}

TEST(CoerceAppNumbersTest, LeavesNonNumbersForValidation) {
  json app = {{"cmd", "x"},
              {"instances", "3x"},
              {"backoffSeconds", "007"},
              {"maxLaunchDelaySeconds", "1e3"},
              {"gpus", "99999999999999999999999"}};
  std::vector<PathDiagnostic> out;
  CoerceAppNumbers(app, out);
  EXPECT_TRUE(out.empty()) << DescribeDiagnostics(out);
  EXPECT_EQ(ValidateAppJson(app).size(), 4u);
}

TEST(CoerceAppNumbersTest, ThenValidationPasses) {
  json app = {{"cmd", "sleep 1"}, {"instances", "2"}, {"cpus", "0.25"}};
  std::vector<PathDiagnostic> out;
  NormalizeAndValidateApp(app, "/spec", out);
  ASSERT_EQ(out.size(), 2u) << DescribeDiagnostics(out);
  EXPECT_EQ(out[0].severity, Severity::kWarning);
  EXPECT_EQ(out[1].severity, Severity::kWarning);
}

// ----- hostile input ---------------------------------------------------------------------------

// Built bottom-up with moves only: copying (or dumping) such a value would recurse per level.
json DeepObject(int depth) {
  json v = "leaf";
  for (int i = 0; i < depth; ++i) {
    json o = json::object();
    o["x"] = std::move(v);
    v = std::move(o);
  }
  return v;
}

json DeepArray(int depth) {
  json v = json::array();
  for (int i = 0; i < depth; ++i) {
    json a = json::array();
    a.push_back(std::move(v));
    v = std::move(a);
  }
  return v;
}

TEST(HostileInputTest, DeeplyNestedAppStaysBounded) {
  json app = MinimalApp();
  app["env"]["A"] = DeepObject(100000);
  app["labels"]["b"] = DeepArray(100000);
  app["container"] = {{"volumes", {{{"containerPath", "/d"}, {"external", json::object()}}}}};
  app["container"]["volumes"][0]["external"]["options"] = DeepObject(100000);
  std::vector<PathDiagnostic> out;
  CoerceAppNumbers(app, "/spec", out);
  EXPECT_TRUE(out.empty());
  auto diags = ValidateAppJson(app);
  EXPECT_EQ(diags.size(), 3u) << DescribeDiagnostics(diags);
}

TEST(HostileInputTest, RecursiveSchemaIsDepthCapped) {
  auto schema = JsonSchema::Compile(json::parse(
      R"({"definitions": {"n": {"type": "array", "items": {"$ref": "#/definitions/n"}}},
          "$ref": "#/definitions/n"})"));
  ASSERT_TRUE(schema.ok()) << schema.status().message();
  auto v = schema->Validate(DeepArray(100000));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].message, "nesting too deep (more than 256 levels)");
  EXPECT_EQ(std::count(v[0].path.begin(), v[0].path.end(), '/'), 128);  // every other level
  EXPECT_TRUE(schema->Validate(DeepArray(100)).empty());

  auto self = JsonSchema::Compile(json::parse(R"({"$ref": "#"})"));
  ASSERT_TRUE(self.ok());
  auto loop = self->Validate(json::object());
  ASSERT_EQ(loop.size(), 1u);
  EXPECT_EQ(loop[0].message, "nesting too deep (more than 256 levels)");
}

TEST(HostileInputTest, ViolationCountIsCapped) {
  json app = MinimalApp();
  for (int i = 0; i < 100000; ++i) app["f" + std::to_string(i)] = i;
  auto diags = ValidateAppJson(app);
  ASSERT_EQ(diags.size(), JsonSchema::kMaxViolations);
  EXPECT_EQ(diags.back().message, "too many errors; only the first 99 are shown");
}

TEST(HostileInputTest, LongStringsAgainstPatternsAreLinear) {
  auto start = std::chrono::steady_clock::now();
  json app = MinimalApp();
  app["id"] = "/" + std::string(60000, 'a') + "-";  // backtracking blows up on this one
  app["dependencies"] = {std::string(60000, 'a') + "!", "/" + std::string(60000, 'b')};
  auto diags = ValidateAppJson(app);
  ASSERT_EQ(diags.size(), 2u) << DescribeDiagnostics(diags);
  EXPECT_EQ(diags[0].path, "/spec/dependencies/0");
  EXPECT_EQ(diags[1].path, "/spec/id");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  app["id"] = "/" + std::string(70000, 'a');
  diags = ValidateAppJson(app);
  ASSERT_EQ(diags.size(), 2u) << DescribeDiagnostics(diags);
  EXPECT_EQ(diags[1].path, "/spec/id");
  EXPECT_NE(diags[1].message.find("too long to check against pattern"), std::string::npos);
  EXPECT_NE(diags[1].message.find("70001 bytes; limit 65536"), std::string::npos);
}

// A 20,000-character id against Marathon's id pattern: ~20 s each with a backtracking engine
// (std::regex), microseconds with RE2. A thousand rounds would outlast any ctest timeout with the
// former; the assertions are on the results.
TEST(HostileInputTest, TwentyThousandCharacterIdsThousandTimes) {
  json bad = MinimalApp(), good = MinimalApp();
  bad["id"] = "/" + std::string(20000, 'a') + "-";
  good["id"] = "/" + std::string(20000, 'a');
  for (int i = 0; i < 1000; ++i) {
    auto diags = ValidateAppJson(bad);
    ASSERT_EQ(diags.size(), 1u) << DescribeDiagnostics(diags);
    ASSERT_EQ(diags[0].path, "/spec/id");
    ASSERT_EQ(diags[0].message.rfind("must match pattern ", 0), 0u);
    ASSERT_TRUE(ValidateAppJson(good).empty());
  }
}

TEST(HostileInputTest, LongIdsInMessagesAreCut) {
  std::string id = "/" + std::string(5000, 'A');
  std::string error = AppIdError(id);
  EXPECT_LT(error.size(), 400u);
}

// ----- SchemaPattern ---------------------------------------------------------------------------

bool Matches(const std::string& pattern, const std::string& text) {
  auto p = SchemaPattern::Compile(pattern);
  EXPECT_TRUE(p.ok()) << pattern << ": " << p.status().message();
  return p.ok() && p->Search(text);
}

TEST(SchemaPatternTest, Basics) {
  EXPECT_TRUE(Matches("abc", "xxabcxx"));  // unanchored
  EXPECT_FALSE(Matches("^abc$", "xabc"));
  EXPECT_TRUE(Matches("^abc$", "abc"));
  EXPECT_FALSE(Matches("^abc$", "abc\n"));  // ECMAScript $ is the end of input
  EXPECT_TRUE(Matches("^(a|bc)+$", "abcbca"));
  EXPECT_FALSE(Matches("^(a|bc)+$", "abcb"));
  EXPECT_TRUE(Matches("^(?:ab){2,3}$", "ababab"));
  EXPECT_FALSE(Matches("^(?:ab){2,3}$", "ab"));
  EXPECT_FALSE(Matches("^(?:ab){2,3}$", "abababab"));
  EXPECT_TRUE(Matches("^a{2,}$", "aaaa"));
  EXPECT_TRUE(Matches("^a{3}$", "aaa"));
  EXPECT_TRUE(Matches("^x*?y+?z??$", "xxyy"));
  EXPECT_TRUE(Matches("^[a-z0-9\\-.]+$", "a-b.c9"));
  EXPECT_FALSE(Matches("^[a-z0-9\\-.]+$", "a_b"));
  EXPECT_TRUE(Matches("^[^\\/]+$", "abc"));
  EXPECT_FALSE(Matches("^[^\\/]+$", "a/c"));
  EXPECT_TRUE(Matches("^\\d\\w\\s\\D$", "1_ x"));
  EXPECT_TRUE(Matches("^[\\d-]+$", "1-2"));
  EXPECT_TRUE(Matches("^.$", "é"));  // code points, not bytes
  EXPECT_FALSE(Matches("^.$", "\n"));
  EXPECT_TRUE(Matches("^\\u00e9$", "é"));
  EXPECT_TRUE(Matches("^a{$", "a{"));      // a lone brace is a literal
  EXPECT_TRUE(Matches("^(a*)*$", "aaa"));  // empty loops terminate
  EXPECT_FALSE(Matches("[]", "a"));
  EXPECT_TRUE(Matches("^[^]$", "\n"));
  EXPECT_TRUE(Matches("", "anything"));
  EXPECT_TRUE(Matches(".*", ""));
}

TEST(SchemaPatternTest, UnsupportedSyntaxIsRefused) {
  for (const char* p : {"(a)\\1", "(?=a)", "(?!a)", "(?<=a)b", "(?<!a)b", "a**", "*a", "(a", "a)",
                        "[a", "[z-a]", "a{1001}", "\\q", "a\\", "\\p{NoSuchClass}", "\\k<x>"}) {
    auto compiled = SchemaPattern::Compile(p);
    EXPECT_FALSE(compiled.ok()) << p;
    // The refusal names the pattern, so a schema that uses one fails to load with a reason.
    if (!compiled.ok()) EXPECT_EQ(compiled.status().message().rfind("pattern \"", 0), 0u) << p;
  }
  EXPECT_NE(SchemaPattern::Compile("(?<!-)$").status().message().find("lookbehind"),
            std::string::npos);
}

// What RE2 supports beyond the old engine, keeping ECMAScript's meaning.
TEST(SchemaPatternTest, EcmaScriptMeaningOnRe2) {
  EXPECT_TRUE(Matches("\\bword\\b", "a word here"));
  EXPECT_FALSE(Matches("\\bword\\b", "swordfish"));
  EXPECT_TRUE(Matches("^\\s$", "\u00a0"));  // ECMAScript \s includes no-break space
  EXPECT_TRUE(Matches("^\\S$", "x"));
  EXPECT_FALSE(Matches("^\\S$", "\u2028"));
  EXPECT_TRUE(Matches("^[\\S\\s]+$", "a\nb"));  // botocore's "anything" class
  EXPECT_FALSE(Matches("^.$", "\r"));
  EXPECT_FALSE(Matches("^.$", "\u2029"));
  EXPECT_TRUE(Matches("^[^a]$", "\n"));
  EXPECT_TRUE(Matches("^[\\p{L}\\p{N}_]+$", "caf\u00e9_42"));  // Java/ES2018 classes, as botocore
  EXPECT_FALSE(Matches("^[\\p{L}]+$", "a-b"));
  EXPECT_TRUE(Matches("^[^\\p{L}]+$", "1-2"));
  EXPECT_TRUE(Matches("^\\uD83D\\uDE00$", "\U0001F600"));  // a surrogate pair is one code point
  EXPECT_TRUE(Matches("^[\\uD800\\uDC00-\\uDBFF\\uDFFF]$", "\U0001F600"));
  EXPECT_TRUE(Matches("^\\x41\\cJ$", "A\n"));
  EXPECT_TRUE(Matches("^(?<word>[a-z]+)$", "abc"));  // named groups: the name is dropped
  EXPECT_TRUE(Matches("^[a-\\d]+$", "a-1"));         // "-" after a class escape is literal
  EXPECT_TRUE(Matches("^a}$", "a}"));
  EXPECT_TRUE(Matches("^a{1,x}$", "a{1,x}"));
  EXPECT_TRUE(Matches("^[^/]$", std::string("\xff")));  // an invalid byte is one U+FFFD
  EXPECT_TRUE(Matches("^.$", std::string("\xc3")));
}

// Every pattern of the effective Marathon schema and of the SageMaker service model compiles on
// RE2 or is refused for a reason RE2 cannot do linear-time (lookaround, repetition above 1000).
TEST(SchemaPatternTest, UpstreamPatternsCompile) {
  std::vector<std::string> marathon, botocore;
  std::function<void(const json&, std::vector<std::string>&)> collect =
      [&](const json& j, std::vector<std::string>& out) {
        if (j.is_object()) {
          for (const auto& [k, v] : j.items()) {
            if (k == "pattern" && v.is_string()) out.push_back(v.get<std::string>());
            if (k == "patternProperties" && v.is_object()) {
              for (const auto& [name, _] : v.items()) out.push_back(name);
            }
            collect(v, out);
          }
        } else if (j.is_array()) {
          for (const json& v : j) collect(v, out);
        }
      };
  collect(AppSchema().schema(), marathon);
  collect(json::parse(ReadFile(std::string(CONVERGE_SOURCE_DIR) +
                               "/reconcilers/sagemaker/model/service-subset.json")),
          botocore);
  ASSERT_GE(marathon.size(), 8u);
  ASSERT_GE(botocore.size(), 30u);
  for (const std::string& p : marathon) EXPECT_TRUE(SchemaPattern::Compile(p).ok()) << p;
  size_t refused = 0;
  for (const std::string& p : botocore) {
    auto compiled = SchemaPattern::Compile("^(?:" + p + ")$");
    if (compiled.ok()) continue;
    ++refused;
    const std::string& why = compiled.status().message();
    EXPECT_TRUE(why.find("lookahead and lookbehind") != std::string::npos ||
                why.find("repetition") != std::string::npos)
        << p << ": " << why;
  }
  EXPECT_LE(refused, 4u);  // two "(?<!-)", one "(?!\s*$)", one "{0,1023}"
}

TEST(SchemaPatternTest, UpstreamPathPatternIsLinear) {
  auto p = SchemaPattern::Compile(
      R"(^(\/?((\.{2})|([a-z0-9][a-z0-9\-.]*[a-z0-9]+)|([a-z0-9]*))($|\/))+$)");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Search("/payments/api"));
  EXPECT_TRUE(p->Search("relative/app"));
  EXPECT_TRUE(p->Search("/../a"));
  EXPECT_FALSE(p->Search("/Payments"));
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(p->Search(std::string(65536, 'a') + "-"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// ----- generic keywords ------------------------------------------------------------------------

std::vector<SchemaViolation> Check(const char* schema, const json& instance) {
  auto s = JsonSchema::Compile(json::parse(schema));
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? s->Validate(instance) : std::vector<SchemaViolation>{};
}

std::string Messages(const std::vector<SchemaViolation>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : "; ") + x.path + " " + x.message;
  return out;
}

TEST(JsonSchemaTest, TypesAndNumbers) {
  EXPECT_EQ(Messages(Check(R"({"type": ["string", "null"]})", 3)),
            " expected string or null, found integer 3");
  EXPECT_EQ(Messages(Check(R"({"type": "number"})", 3)), "");
  EXPECT_EQ(Messages(Check(R"({"type": "integer"})", 3.5)), " expected integer, found number 3.5");
  EXPECT_EQ(Messages(Check(R"({"minimum": 0, "exclusiveMinimum": true})", 0)),
            " must be greater than 0, found 0");
  EXPECT_EQ(Messages(Check(R"({"maximum": 10, "exclusiveMaximum": true})", 10)),
            " must be less than 10, found 10");
  EXPECT_EQ(Messages(Check(R"({"maximum": 18446744073709551615})", json(18446744073709551615u))),
            "");
  EXPECT_EQ(Messages(Check(R"({"multipleOf": 5})", 7)), " must be a multiple of 5, found 7");
  EXPECT_EQ(Messages(Check(R"({"multipleOf": 0.5})", 2.5)), "");
}

TEST(JsonSchemaTest, ArraysAndObjects) {
  EXPECT_EQ(Messages(Check(R"({"uniqueItems": true})", json::array({1, "a", 1.0}))),
            " items must be unique: items 0 and 2 are equal");
  EXPECT_EQ(Messages(Check(R"({"uniqueItems": true})", json::parse(R"([{"a":1},{"a":2}])"))), "");
  EXPECT_EQ(Messages(Check(R"({"maxItems": 1})", json::array({1, 2}))),
            " must have at most 1 items, found 2");
  EXPECT_EQ(
      Messages(Check(R"({"items": [{"type": "string"}], "additionalItems": {"type": "integer"}})",
                     json::array({"a", 1, "b"}))),
      "/2 expected integer, found string \"b\"");
  EXPECT_EQ(Messages(Check(R"({"patternProperties": {"^x-": {"type": "integer"}},
                               "additionalProperties": {"type": "string"}})",
                           json{{"x-a", "s"}, {"b", 1}})),
            "/b expected string, found integer 1; /x-a expected integer, found string \"s\"");
  EXPECT_EQ(Messages(Check(R"({"minProperties": 1, "maxProperties": 1})", json::object())),
            " must have at least 1 fields");
  EXPECT_EQ(Messages(Check(R"({"dependencies": {"a": ["b"], "c": {"required": ["d"]}}})",
                           json{{"a", 1}, {"c", 2}})),
            " \"a\" requires \"b\" to be set;  missing required field \"d\"");
  EXPECT_EQ(Messages(Check(R"({"properties": {"a~b/c": {"type": "string"}}})", json{{"a~b/c", 1}})),
            "/a~0b~1c expected string, found integer 1");
}

TEST(JsonSchemaTest, Combinators) {
  EXPECT_EQ(Messages(Check(R"({"anyOf": [{"type": "string"}, {"minimum": 5}]})", 3)),
            " must be at least 5, found 3");
  EXPECT_EQ(Messages(Check(R"({"anyOf": [{"type": "string"}, {"type": "integer"}]})", 3)), "");
  EXPECT_EQ(Messages(Check(R"({"oneOf": [{"type": "integer"}, {"minimum": 0}]})", 3)),
            " matches more than one of the allowed forms (1 and 2); exactly one must match");
  EXPECT_EQ(Messages(Check(R"({"allOf": [{"minimum": 5}, {"maximum": 1}]})", 3)),
            " must be at least 5, found 3;  must be at most 1, found 3");
  EXPECT_EQ(Messages(Check(R"({"not": {"type": "string"}})", "x")),
            " matches a form that is not allowed");
  EXPECT_EQ(Messages(Check(R"({"not": {"required": ["a", "b", "c"]}})",
                           json{{"a", 1}, {"b", 1}, {"c", 1}})),
            "/c \"a\", \"b\" and \"c\" cannot all be set");
  EXPECT_EQ(Messages(Check(R"({"enum": [1, "a", null]})", 1.0)), "");
}

TEST(JsonSchemaTest, BadSchemasAreRefused) {
  for (const char* s :
       {R"({"$ref": "#/definitions/missing"})", R"({"$ref": "other.json#/a"})",
        R"({"type": "int"})", R"js({"pattern": "(?=x)"})js", R"({"properties": {"a": 3}})",
        R"({"minLength": -1})", R"({"oneOf": []})", R"({"required": [1]})", R"([])"}) {
    EXPECT_FALSE(JsonSchema::Compile(json::parse(s)).ok()) << s;
  }
}

}  // namespace
}  // namespace converge::marathon
