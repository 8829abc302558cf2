// Loader errors: every one names file:line:column, the document and what was expected; hostile
// input gives a bounded error, never a crash, a hang or unbounded memory.
#include "specs/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "specs/backend.h"

namespace converge {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

KindRegistry TestRegistry() {
  KindRegistry r;
  KindInfo app;
  app.backend_type = "marathon";
  app.validate = [](Document& doc, std::vector<PathDiagnostic>& out) {
    const json& spec = doc.spec.Edit();
    if (spec.contains("cpus") && !spec["cpus"].is_number())
      out.push_back({"/spec/cpus", "expected number"});
  };
  r.Register("App", app);
  KindInfo backend;
  backend.validate = [](Document& doc, std::vector<PathDiagnostic>& out) {
    ValidateBackend(doc, {{"marathon", BackendMembers{{"none", "basic", "dcos-token"}, {}}}}, out);
  };
  r.Register("Backend", backend);
  return r;
}

const char* kBackend =
    "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: m}\n"
    "spec: {type: marathon, url: http://x/marathon}\n";

LoadResult Load(const std::string& content, bool with_backend = true) {
  LoadResult r;
  KindRegistry reg = TestRegistry();
  if (with_backend) LoadContent("backend.yaml", kBackend, reg, LoadLimits{}, r);
  LoadContent("apps.yaml", content, reg, LoadLimits{}, r);
  CheckDocumentSet(reg, r);
  return r;
}

std::string Errors(const LoadResult& r) {
  std::string s;
  for (const auto& d : r.diagnostics) s += d.ToString() + "\n";
  return s;
}

TEST(Loader, LoadsMultiDocumentFileAndResolvesTheOnlyBackend) {
  auto r = Load(
      "apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\nspec: {cpus: 1}\n---\n"
      "apiVersion: converge/v1\nkind: App\nmetadata: {name: /b, labels: {team: x}}\nspec: {}\n");
  ASSERT_FALSE(r.HasErrors()) << Errors(r);
  ASSERT_EQ(r.documents.size(), 3u);
  EXPECT_EQ(r.documents[1].name, "/a");
  EXPECT_EQ(r.documents[1].backend, "m");
  EXPECT_EQ(r.documents[2].labels.at("team"), "x");
  EXPECT_EQ(r.documents[2].pos.line, 6);
  EXPECT_FALSE(r.documents[1].revision.empty());
}

// A loaded document keeps its spec packed (a fifth of the memory of the tree) and reads back
// as the document the validators checked and the revision hashed.
TEST(Loader, LoadedSpecsArePackedAndReadBackAsValidated) {
  auto r = Load(
      "apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\n"
      "spec: {cpus: 0.5, env: {A: 'x'}, args: [1, two]}\n");
  ASSERT_FALSE(r.HasErrors()) << Errors(r);
  const Document& d = r.documents[1];
  EXPECT_TRUE(d.spec.packed());
  EXPECT_EQ(d.spec.Get(), (json{{"cpus", 0.5}, {"env", {{"A", "x"}}}, {"args", {1, "two"}}}));
  auto again = Load(
      "apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\n"
      "spec: {args: [1, two], env: {A: 'x'}, cpus: 0.5}\n");
  EXPECT_EQ(again.documents[1].revision, d.revision);
}

TEST(Loader, TypeErrorPointsAtTheValue) {
  auto r = Load("apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\nspec:\n  cpus: lots\n");
  ASSERT_EQ(r.ErrorCount(), 1u) << Errors(r);
  EXPECT_THAT(Errors(r), HasSubstr("apps.yaml:5:9: error: App /a (document 1): spec.cpus: expected number"));
  EXPECT_TRUE(r.failed_files.count("apps.yaml"));
}

TEST(Loader, UnknownKindAndApiVersion) {
  auto r = Load("apiVersion: v2\nkind: Pod\nmetadata: {name: x}\nspec: {}\n");
  std::string e = Errors(r);
  EXPECT_THAT(e, HasSubstr("apps.yaml:1:13"));
  EXPECT_THAT(e, HasSubstr("expected converge/v1"));
  EXPECT_THAT(e, HasSubstr("unknown kind \"Pod\" (expected one of: App, Backend)"));
}

TEST(Loader, DuplicateNamesAcrossFilesNameBothPlaces) {
  LoadResult r;
  KindRegistry reg = TestRegistry();
  LoadContent("backend.yaml", kBackend, reg, {}, r);
  LoadContent("a.yaml", "apiVersion: converge/v1\nkind: App\nmetadata: {name: /x}\nspec: {}\n", reg,
              {}, r);
  LoadContent("b.yaml", "\n\napiVersion: converge/v1\nkind: App\nmetadata: {name: /x}\nspec: {}\n",
              reg, {}, r);
  CheckDocumentSet(reg, r);
  std::string e = Errors(r);
  // Both documents' metadata.name, each naming the other.
  EXPECT_THAT(e, HasSubstr("b.yaml:5:18: error: App /x (document 1): duplicate App \"/x\": also "
                           "defined at a.yaml:3:18"));
  EXPECT_THAT(e, HasSubstr("a.yaml:3:18: error: App /x (document 1): duplicate App \"/x\": "
                           "defined again at b.yaml:5:18"));
  EXPECT_EQ(r.documents.size(), 1u);  // only the backend survives
}

TEST(Loader, DuplicateKeysAreErrors) {
  auto r = Load("apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\nspec:\n  cpus: 1\n  cpus: 2\n");
  EXPECT_THAT(Errors(r), HasSubstr("apps.yaml:6:3: error: document 1: duplicate key \"cpus\" (first defined at line 5)"));
}

TEST(Loader, SyntaxErrorHasPosition) {
  auto r = Load("apiVersion: converge/v1\nkind: App\nmetadata: {name: /a\nspec: {}\n");
  EXPECT_EQ(r.ErrorCount(), 1u);
  EXPECT_THAT(Errors(r), HasSubstr("apps.yaml:"));
  EXPECT_THAT(Errors(r), HasSubstr("invalid YAML"));
}

TEST(Loader, AllErrorsAreReportedNotOnlyTheFirst) {
  auto r = Load(
      "apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\nspec: {cpus: x}\n---\n"
      "apiVersion: converge/v1\nkind: App\nmetadata: {name: /b}\nspec: {cpus: y}\n---\n"
      "apiVersion: converge/v1\nkind: Nope\nmetadata: {name: /c}\nspec: {}\n");
  EXPECT_EQ(r.ErrorCount(), 3u) << Errors(r);
}

TEST(Loader, LiteralSecretIsRejected) {
  LoadResult r;
  KindRegistry reg = TestRegistry();
  LoadContent("b.yaml",
              "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: m}\nspec:\n  type: marathon\n"
              "  url: https://m\n  auth: {type: basic, username: u, password: hunter2}\n",
              reg, {}, r);
  std::string e = Errors(r);
  EXPECT_THAT(e, HasSubstr("b.yaml:7:"));
  EXPECT_THAT(e, HasSubstr("literal secret is not allowed"));
  EXPECT_THAT(e, ::testing::Not(HasSubstr("hunter2")));
}

TEST(Loader, MissingOrAmbiguousBackend) {
  auto r = Load("apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\nspec: {}\n", false);
  EXPECT_THAT(Errors(r), HasSubstr("no Backend of type marathon is defined"));
  auto r2 = Load("apiVersion: converge/v1\nkind: App\nmetadata: {name: /a, backend: zz}\nspec: {}\n");
  EXPECT_THAT(Errors(r2), HasSubstr("apps.yaml:3:31: error: App /a (document 1): metadata.backend "
                                    "\"zz\" does not name a Backend document"));
  auto r3 = Load("apiVersion: converge/v1\nkind: App\nmetadata:\n  name: /a\n  backend: m2\nspec: {}\n");
  EXPECT_THAT(Errors(r3), HasSubstr("apps.yaml:5:12: error"));
}

// --- hostile input -------------------------------------------------------------------------

TEST(Loader, AValidatorThatThrowsIsAnInternalErrorOfThatDocumentOnly) {
  KindRegistry reg = TestRegistry();
  KindInfo bad;
  bad.validate = [](Document&, std::vector<PathDiagnostic>&) {
    throw std::runtime_error("boom");
  };
  reg.Register("Bad", bad);
  LoadResult r;
  LoadContent("bad.yaml",
              "apiVersion: converge/v1\nkind: Bad\nmetadata: {name: b}\nspec: {}\n---\n"
              "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: m}\n"
              "spec: {type: marathon, url: http://x/marathon}\n",
              reg, LoadLimits{}, r);
  CheckDocumentSet(reg, r);
  ASSERT_EQ(r.diagnostics.size(), 1u) << Errors(r);
  EXPECT_EQ(r.diagnostics[0].kind, kValidatorFailedKind);
  EXPECT_THAT(r.diagnostics[0].ToString(), HasSubstr("bad.yaml:1:1: error: Bad b (document 1): internal error"));
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("boom"));
  ASSERT_EQ(r.documents.size(), 1u);  // the other document of the file still loads
  EXPECT_EQ(r.documents[0].kind, "Backend");
}

TEST(Loader, TheInternalErrorTextInAKeyIsAnOrdinaryError) {
  // The fuzzer wrote the message's own text into a key; only the kind marks a validator bug.
  auto r = Load(std::string("apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\n") + "\"" +
                kValidatorFailed + "\": 1\nspec: {}\n");
  ASSERT_EQ(r.diagnostics.size(), 1u) << Errors(r);
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("unknown field"));
  EXPECT_NE(r.diagnostics[0].kind, kValidatorFailedKind);
}

TEST(LoaderHostile, DeepNestingIsBounded) {
  std::string deep = "apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\nspec: {x: " +
                     std::string(5000, '[') + std::string(5000, ']') + "}\n";
  auto r = Load(deep);
  EXPECT_GE(r.ErrorCount(), 1u);
  EXPECT_THAT(Errors(r), HasSubstr("apps.yaml:"));
  std::string deep_block = "a:\n";
  for (int i = 1; i < 200; ++i) deep_block += std::string(i * 2, ' ') + "b:\n";
  auto r2 = Load(deep_block);
  EXPECT_THAT(Errors(r2), HasSubstr("nesting deeper than 64 levels"));
}

// Found by fuzz/loader: an alias inside the sequence it names is nested without end on every
// path through it; that was one error per path (99,809 for 111 bytes), now one per document.
TEST(LoaderHostile, AnAliasInsideItsOwnNodeIsOneError) {
  auto r = Load("a: &a [x, *a, *a, *a]\nc: &c [*c, *c]\n");
  EXPECT_EQ(r.ErrorCount(), 1u) << Errors(r);
  EXPECT_THAT(Errors(r), HasSubstr("nesting deeper than 64 levels (or an alias inside the node "
                                   "it names)"));
}

TEST(LoaderHostile, AliasBombIsBounded) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'k'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", " : "") + "*" + prev;
    bomb += "]\n";
    prev = c;
  }
  auto r = Load(bomb);
  EXPECT_THAT(Errors(r), HasSubstr("alias bomb"));
}

TEST(LoaderHostile, InvalidUtf8AndNul) {
  auto r = Load(std::string("apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\nspec: {x: \"\xff\"}\n"));
  EXPECT_THAT(Errors(r), HasSubstr("apps.yaml:4:12: error: invalid UTF-8"));
  auto r2 = Load(std::string("kind: App\nx: a\0b\n", 17));
  EXPECT_THAT(Errors(r2), HasSubstr("apps.yaml:2:5: error: NUL byte"));
}

TEST(LoaderHostile, NumbersThatOverflow) {
  auto r = Load("apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\nspec: {x: 99999999999999999999999}\n");
  EXPECT_THAT(Errors(r), HasSubstr("apps.yaml:4:11: error: document 1: integer 99999999999999999999999 is out of range"));
  auto r2 = Load("apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\nspec: {x: 1e999}\n");
  EXPECT_THAT(Errors(r2), HasSubstr("out of range"));
}

TEST(LoaderHostile, OversizedFile) {
  LoadResult r;
  LoadLimits limits;
  limits.max_file_bytes = 1000;
  LoadContent("big.yaml", std::string(2000, '#'), TestRegistry(), limits, r);
  EXPECT_THAT(Errors(r), HasSubstr("big.yaml: error: file is 2000 bytes; the limit is 1000 bytes"));
}

TEST(LoaderHostile, ScalarsFollowYamlCoreSchema) {
  auto r = Load(
      "apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\n"
      "spec: {a: yes, b: \"1\", c: 0x1F, d: 1.5, e: ~, f: true, g: 012}\n");
  ASSERT_FALSE(r.HasErrors()) << Errors(r);
  const json s = r.documents[1].spec.Get();
  EXPECT_EQ(s["a"], "yes");  // YAML 1.2: not a boolean
  EXPECT_EQ(s["b"], "1");
  EXPECT_EQ(s["c"], 31);
  EXPECT_EQ(s["d"], 1.5);
  EXPECT_TRUE(s["e"].is_null());
  EXPECT_EQ(s["f"], true);
  EXPECT_EQ(s["g"], 12);
}

TEST(LoaderDirectory, SkipsHiddenAndGitAndSurvivesSymlinkLoops) {
  fs::path dir = fs::temp_directory_path() / ("converge-loader-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / ".git");
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "backend.yaml") << kBackend;
  std::ofstream(dir / ".git" / "x.yaml") << "garbage: [";
  std::ofstream(dir / ".hidden.yaml") << "garbage: [";
  std::ofstream(dir / "sub" / "a.yml") << "apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\nspec: {}\n";
  std::ofstream(dir / "README.md") << "not yaml";
  fs::create_directory_symlink(dir, dir / "sub" / "loop");
  fs::create_symlink(dir / "sub" / "self.yaml", dir / "sub" / "self.yaml");
  auto r = LoadSpecs(dir.string(), TestRegistry());
  EXPECT_EQ(r.documents.size(), 2u);
  EXPECT_EQ(r.ErrorCount(), 1u) << Errors(r);  // the self-referencing symlink
  EXPECT_THAT(Errors(r), HasSubstr("self.yaml"));
  fs::remove_all(dir);
}

TEST(Duration, Parses) {
  std::chrono::seconds d;
  ASSERT_TRUE(ParseDuration("1h30m", &d));
  EXPECT_EQ(d.count(), 5400);
  ASSERT_TRUE(ParseDuration("90", &d));
  EXPECT_EQ(d.count(), 90);
  EXPECT_FALSE(ParseDuration("5x", &d));
  EXPECT_FALSE(ParseDuration("", &d));
}

}  // namespace
}  // namespace converge

namespace converge {
namespace {

TEST(Backend, SecretReferencesAreAccepted) {
  for (const char* auth : {"{type: basic, username: u, password: {fromEnv: P}}",
                           "{type: basic, username: u, password: {fromFile: /run/p}}",
                           "{type: dcos-token, token: {fromEnv: T}}"}) {
    LoadResult r;
    LoadContent("b.yaml",
                std::string("apiVersion: converge/v1\nkind: Backend\nmetadata: {name: m}\nspec:\n"
                            "  type: marathon\n  url: https://m\n  auth: ") + auth + "\n",
                TestRegistry(), {}, r);
    EXPECT_FALSE(r.HasErrors()) << Errors(r);
  }
}

TEST(Backend, ResolveSecretNeverEchoesTheValue) {
  setenv("CONVERGE_TEST_SECRET", "s3cr3t", 1);
  auto v = ResolveSecret(SecretRef{"CONVERGE_TEST_SECRET", ""});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "s3cr3t");
  auto missing = ResolveSecret(SecretRef{"CONVERGE_TEST_UNSET_X", ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("CONVERGE_TEST_UNSET_X"));
}

}  // namespace
}  // namespace converge

namespace converge {
namespace {

// LoadSpecs' OnBackendsLoaded: called once, before the other files load, with the Backend
// documents of the files that mention them; the result is the load without the hook.
TEST(Loader, BackendsAreHandedOverFirstAndTheLoadIsTheSame) {
  fs::path dir = fs::temp_directory_path() / ("converge-early-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "apps");
  std::ofstream(dir / "z-backend.yaml") << kBackend;
  for (int i = 0; i < 150; ++i)  // enough files for several threads
    std::ofstream(dir / "apps" / ("a" + std::to_string(i) + ".yaml"))
        << "apiVersion: converge/v1\nkind: App\nmetadata: {name: /a" << i << "}\nspec: {cpus: 1}\n";
  std::ofstream(dir / "apps" / "broken.yaml") << "kind: [\n";
  KindRegistry reg = TestRegistry();
  int calls = 0;
  std::vector<std::string> handed;
  LoadResult with = LoadSpecs(dir.string(), reg, LoadLimits{}, [&](const DocumentList& backends) {
    ++calls;
    for (const Document& d : backends) handed.push_back(d.Key());
  });
  LoadResult without = LoadSpecs(dir.string(), reg);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(handed, std::vector<std::string>{"Backend/m"});
  ASSERT_EQ(with.documents.size(), without.documents.size());
  for (size_t i = 0; i < with.documents.size(); ++i) {
    EXPECT_EQ(with.documents[i].Key(), without.documents[i].Key());
    EXPECT_EQ(with.documents[i].revision, without.documents[i].revision);
    if (with.documents[i].kind == "App") EXPECT_EQ(with.documents[i].backend, "m");
  }
  EXPECT_EQ(Errors(with), Errors(without));
  EXPECT_EQ(with.files, without.files);
  EXPECT_EQ(with.failed_files, without.failed_files);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace converge
