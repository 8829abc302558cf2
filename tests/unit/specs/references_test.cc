// References between specs: the loader records each member a kind's `references` hook names, at
// that member's file:line:column; CheckReferences warns about those no spec of the same Backend
// answers; PromoteWarnings (validate --strict) makes every warning an error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "specs/backend.h"
#include "specs/loader.h"

namespace converge {
namespace {

using ::testing::HasSubstr;

// Two kinds of one backend type: a Pipe names a Source by spec.from.
KindRegistry RefsTestRegistry() {
  KindRegistry r;
  KindInfo source;
  source.backend_type = "flow";
  r.Register("Source", source);
  KindInfo pipe;
  pipe.backend_type = "flow";
  pipe.validate = [](Document& doc, std::vector<PathDiagnostic>& out) {
    json& spec = doc.spec.Edit();
    if (spec.contains("size") && spec["size"].is_string()) {
      spec["size"] = std::stoi(spec["size"].get<std::string>());
      out.push_back(
          {"/spec/size", "numeric string converted", Severity::kWarning, "numeric-string"});
    }
  };
  pipe.references = [](const Document& doc) {
    std::vector<SpecReference> out;
    const json spec = doc.spec.Get();
    if (spec.contains("from") && spec["from"].is_string())
      out.push_back({"Source", spec["from"].get<std::string>(), "/spec/from", {}});
    // spec.via names a Backend of type flow, spec.pond one of type pond: they exist only as specs.
    for (const auto& [member, type] : {std::pair{"via", "flow"}, std::pair{"pond", "pond"}}) {
      if (!spec.contains(member)) continue;
      SpecReference r{"Backend", spec[member].get<std::string>(),
                      std::string("/spec/") + member, {}};
      r.spec_only = true;
      r.backend_type = type;
      out.push_back(std::move(r));
    }
    return out;
  };
  r.Register("Pipe", pipe);
  KindInfo backend;
  backend.validate = [](Document& doc, std::vector<PathDiagnostic>& out) {
    ValidateBackend(doc, {{"flow", BackendMembers{{"none"}, {}}}}, out);
  };
  r.Register("Backend", backend);
  return r;
}

const char* kBackends =
    "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: a}\n"
    "spec: {type: flow, url: http://a/}\n---\n"
    "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: b}\n"
    "spec: {type: flow, url: http://b/}\n";

LoadResult LoadRefs(const std::string& content) {
  LoadResult r;
  KindRegistry reg = RefsTestRegistry();
  LoadContent("backends.yaml", kBackends, reg, LoadLimits{}, r);
  LoadContent("specs.yaml", content, reg, LoadLimits{}, r);
  CheckDocumentSet(reg, r);
  return r;
}

std::string Pipe(const std::string& name, const std::string& backend, const std::string& from) {
  return "apiVersion: converge/v1\nkind: Pipe\nmetadata:\n  name: " + name +
         "\n  backend: " + backend + "\nspec:\n  size: 1\n  from: " + from + "\n";
}

std::string Source(const std::string& name, const std::string& backend) {
  return "apiVersion: converge/v1\nkind: Source\nmetadata: {name: " + name +
         ", backend: " + backend + "}\nspec: {}\n";
}

TEST(References, TheLoaderRecordsEachReferenceAtItsMember) {
  LoadResult r = LoadRefs(Pipe("p", "a", "s1"));
  ASSERT_FALSE(r.HasErrors());
  const Document* p = nullptr;
  for (const Document& d : r.documents)
    if (d.kind == "Pipe") p = &d;
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->references.size(), 1u);
  EXPECT_EQ(p->references[0].kind, "Source");
  EXPECT_EQ(p->references[0].name, "s1");
  EXPECT_EQ(p->references[0].pos.ToString(), "specs.yaml:8:9");
}

TEST(References, AReferenceToASpecOfTheSameBackendIsResolved) {
  LoadResult r = LoadRefs(Source("s1", "a") + "---\n" + Pipe("p", "a", "s1"));
  ASSERT_FALSE(r.HasErrors());
  EXPECT_TRUE(CheckReferences(r).empty());
}

TEST(References, AReferenceToNoSpecIsAWarningAtTheMember) {
  LoadResult r = LoadRefs(Pipe("p", "a", "s1"));
  std::vector<Diagnostic> w = CheckReferences(r);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].severity, Severity::kWarning);
  EXPECT_EQ(w[0].kind, "unresolved-reference");
  EXPECT_EQ(w[0].ToString(),
            "specs.yaml:8:9: warning: Pipe p (document 1): spec.from: Source \"s1\" is not a spec "
            "here: it must already exist in backend \"a\"");
}

TEST(References, ASpecOfAnotherBackendDoesNotResolve) {
  LoadResult r = LoadRefs(Source("s1", "b") + "---\n" + Pipe("p", "a", "s1"));
  std::vector<Diagnostic> w = CheckReferences(r);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0].message, HasSubstr("Source \"s1\" is a spec of backend \"b\", not of \"a\""));
  EXPECT_EQ(w[0].pos.line, 13);  // spec.from of the second document
}

TEST(References, AReferenceToAKindThatExistsOnlyAsASpecIsAnError) {
  LoadResult r = LoadRefs(Source("s1", "a") + "---\n" + Pipe("p", "a", "s1") + "  via: a\n");
  EXPECT_TRUE(CheckReferences(r).empty());
  r = LoadRefs(Source("s1", "a") + "---\n" + Pipe("p", "a", "s1") + "  via: c\n");
  std::vector<Diagnostic> w = CheckReferences(r);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].severity, Severity::kError);
  EXPECT_EQ(w[0].ToString(),
            "specs.yaml:14:8: error: Pipe p (document 2): spec.via: Backend \"c\" is not a spec "
            "here (Backends exist only as specs)");
  r = LoadRefs(Source("s1", "a") + "---\n" + Pipe("p", "a", "s1") + "  pond: a\n");
  w = CheckReferences(r);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0].message, HasSubstr("spec.pond: Backend \"a\" is of type flow, not pond"));
}

TEST(References, KindsWithoutAHookNameNothing) {
  LoadResult r = LoadRefs(Source("s1", "a"));
  for (const Document& d : r.documents) EXPECT_TRUE(d.references.empty()) << d.Key();
  EXPECT_TRUE(CheckReferences(r).empty());
}

TEST(References, StrictMakesEveryWarningAnErrorOfItsFile) {
  LoadResult r = LoadRefs(
      "apiVersion: converge/v1\nkind: Pipe\nmetadata: {name: p, backend: a}\n"
      "spec: {size: \"3\"}\n");
  ASSERT_FALSE(r.HasErrors());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].kind, "numeric-string");  // a validator's kind reaches the output
  PromoteWarnings(r);
  EXPECT_TRUE(r.HasErrors());
  EXPECT_EQ(r.diagnostics[0].severity, Severity::kError);
  EXPECT_EQ(r.failed_files.count("specs.yaml"), 1u);
}

}  // namespace
}  // namespace converge
