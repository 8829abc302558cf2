// What yaml-cpp 0.7 accepts but a spec must not: an unterminated quote swallowing the rest of the
// file, a document that starts without `---`. Each is an error at the place to fix; quotes in
// comments, block scalars and plain scalars are never mistaken for one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <random>
#include <sstream>

#include "specs/loader.h"
#include "specs/yaml_strict.h"

namespace converge {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

KindRegistry Registry() {
  KindRegistry r;
  KindInfo app;
  app.backend_type = "marathon";
  r.Register("App", app);
  KindInfo backend;
  r.Register("Backend", backend);
  return r;
}

LoadResult LoadOne(const std::string& content) {
  LoadResult r;
  LoadContent("apps.yaml", content, Registry(), LoadLimits{}, r);
  return r;
}

std::string StrictErrors(const LoadResult& r) {
  std::string s;
  for (const auto& d : r.diagnostics) s += d.ToString() + "\n";
  return s;
}

// Loads `text` in a child process with a 10 s alarm. A hang used to eat memory until the
// allocator gave up; this way it is a failure, and the caller stops before loading it itself.
bool LoadsWithoutHanging(const std::string& text) {
  EXPECT_EXIT(
      {
        alarm(10);
        LoadOne(text);
        _exit(0);
      },
      ::testing::ExitedWithCode(0), "")
      << text;
  return !::testing::Test::HasFailure();
}

const std::string kHead = "apiVersion: converge/v1\nkind: App\nmetadata: {name: /a}\nspec:\n";

TEST(YamlStrict, UnterminatedDoubleQuoteIsAnErrorAtTheOpeningQuote) {
  auto r = LoadOne(kHead + "  cmd: \"sleep 3600\n  cpus: 1\n  instances: 2\n");
  ASSERT_EQ(r.ErrorCount(), 1u) << StrictErrors(r);
  EXPECT_THAT(StrictErrors(r), HasSubstr("apps.yaml:5:8: error: unterminated quoted scalar"));
  EXPECT_TRUE(r.documents.empty());
  EXPECT_TRUE(r.failed_files.count("apps.yaml"));
}

TEST(YamlStrict, UnterminatedSingleQuoteIsAnErrorAtTheOpeningQuote) {
  auto r = LoadOne(kHead + "  cpus: 1\n  cmd: 'sleep 3600\n  instances: 2");
  ASSERT_EQ(r.ErrorCount(), 1u) << StrictErrors(r);
  EXPECT_THAT(StrictErrors(r), HasSubstr("apps.yaml:6:8: error: unterminated quoted scalar"));
}

TEST(YamlStrict, UnterminatedQuoteInAnEarlierDocumentOfTheFile) {
  auto r = LoadOne(kHead + "  cmd: 'it''s 3600\n  cpus: 1\n---\n" + kHead + "  cpus: 2\n");
  ASSERT_EQ(r.ErrorCount(), 1u) << StrictErrors(r);
  EXPECT_THAT(StrictErrors(r), HasSubstr("apps.yaml:5:8: error: unterminated quoted scalar"));
  auto d = LoadOne(kHead + "  cpus: 2\n---\n" + kHead + "  cmd: \"a \\\" b\n...\n");
  EXPECT_THAT(StrictErrors(d), HasSubstr("apps.yaml:11:8: error: unterminated quoted scalar"));
}

TEST(YamlStrict, UnterminatedQuotedKeyOrTaggedValue) {
  EXPECT_THAT(StrictErrors(LoadOne(kHead + "  cpus: 1\n  \"mem: 2\n")),
              HasSubstr("apps.yaml:6:3: error: unterminated"));
  EXPECT_THAT(StrictErrors(LoadOne(kHead + "  cmd: !!str \"x\n  cpus: 1\n")),
              HasSubstr("apps.yaml:5:14: error: unterminated"));
  EXPECT_THAT(StrictErrors(LoadOne(kHead + "  args: [a, b]\n  env:\n    - &x 'y\n")),
              HasSubstr("apps.yaml:7:10: error: unterminated"));
}

TEST(YamlStrict, QuotesInCommentsBlockScalarsAndPlainScalarsAreFine) {
  auto r = LoadOne(kHead +
                   "  # it's a \"comment\n"
                   "  cmd: it's 'plain\n"
                   "  a: \"closed \\\" quote\"\n"
                   "  b: 'it''s closed'\n"
                   "  c: |\n    echo \"unclosed\n    it's\n"
                   "  d: >\n    more 'text\n"
                   "  e: x # trailing 'comment\n"
                   "  f: don't\n");
  EXPECT_FALSE(r.HasErrors()) << StrictErrors(r);
  ASSERT_EQ(r.documents.size(), 1u);
  EXPECT_EQ(r.documents[0].spec.Get()["cmd"], "it's 'plain");
  EXPECT_EQ(r.documents[0].spec.Get()["c"], "echo \"unclosed\nit's\n");
  EXPECT_EQ(r.documents[0].spec.Get()["f"], "don't");
}

TEST(YamlStrict, ContentAfterAFlowCollectionIsNotANewDocument) {
  auto r = LoadOne(
      "{apiVersion: converge/v1, kind: App, metadata: {name: /a}, spec: {}}\n"
      "{apiVersion: converge/v1, kind: App, metadata: {name: /b}, spec: {}}\n");
  ASSERT_EQ(r.ErrorCount(), 1u) << StrictErrors(r);
  EXPECT_THAT(StrictErrors(r), HasSubstr("apps.yaml:2:1: error: unexpected content after the end"));
  EXPECT_TRUE(r.documents.empty());
  auto s = LoadOne("{apiVersion: converge/v1, kind: App, metadata: {name: /a}, spec: {}} x\n");
  EXPECT_THAT(StrictErrors(s), HasSubstr("apps.yaml:1:70: error: unexpected content"));
  // With a marker both documents load.
  auto ok = LoadOne(
      "{apiVersion: converge/v1, kind: App, metadata: {name: /a}, spec: {}}\n---\n"
      "{apiVersion: converge/v1, kind: App, metadata: {name: /b}, spec: {}}\n...\n"
      "{apiVersion: converge/v1, kind: App, metadata: {name: /c}, spec: {}}\n");
  EXPECT_FALSE(ok.HasErrors()) << StrictErrors(ok);
  EXPECT_EQ(ok.documents.size(), 3u);
}

// Already strict in yaml-cpp 0.7; kept so a parser upgrade cannot loosen them.
TEST(YamlStrict, TabsAsIndentationAndTrailingFlowContentAreErrors) {
  EXPECT_THAT(StrictErrors(LoadOne(kHead + "\tcpus: 1\n")), HasSubstr("invalid YAML"));
  EXPECT_THAT(StrictErrors(LoadOne(kHead + "  cpus: 1\n\tmem: 2\n")), HasSubstr("apps.yaml:6:1"));
  EXPECT_THAT(StrictErrors(LoadOne(kHead + "  args: [a, b] c\n")), HasSubstr("invalid YAML"));
  EXPECT_THAT(StrictErrors(LoadOne(kHead + "  args: [a, 'b]\n")), HasSubstr("invalid YAML"));
  EXPECT_THAT(StrictErrors(LoadOne(kHead + "  c: |\n      x\n    y\n")), HasSubstr("invalid YAML"));
}

TEST(YamlStrict, ABlockScalarAtTheEndOfTheFileKeepsItsText) {
  auto r = LoadOne(kHead + "  c: |\n    line1\n    line2");
  ASSERT_FALSE(r.HasErrors()) << StrictErrors(r);
  EXPECT_EQ(r.documents[0].spec.Get()["c"], "line1\nline2");
  auto k = LoadOne(kHead + "  c: |\n    x\n---\n" + kHead + "  c: y\n");
  ASSERT_FALSE(k.HasErrors()) << StrictErrors(k);
  EXPECT_EQ(k.documents[0].spec.Get()["c"], "x\n");
  EXPECT_THAT(StrictErrors(k), Not(HasSubstr("error")));
}

// Found by fuzz/loader: yaml-cpp 0.7's LoadAll never returns on these (it allocates empty
// documents until memory runs out); each is an error at the comma, found in milliseconds.
TEST(YamlStrict, StrayCommaAtTheDocumentLevelIsAnErrorNotAHang) {
  const std::pair<std::string, std::string> cases[] = {
      {",", "apps.yaml:1:1:"},
      {"- a\n- b\n,\n", "apps.yaml:3:1:"},
      {"\"a\",", "apps.yaml:1:4:"},
      {"{a: 1},", "apps.yaml:1:7:"},
      {"!t ,", "apps.yaml:1:4:"},
      {"# a comment\n,\n" + kHead + "  cpus: 1\n", "apps.yaml:2:1:"},
  };
  for (const auto& [text, at] : cases) {
    auto r = LoadOne(text);
    EXPECT_THAT(StrictErrors(r), HasSubstr(at + std::string(" error: unexpected \",\" outside a flow "
                                                      "collection")))
        << text;
  }
  // The same comma before a quote left open up to a `---` line (found by fuzz/iceberg_specs): the
  // text before the marker, which the quote's explanation parses again, must not hang either.
  const std::pair<std::string, std::string> open_quote[] = {
      {"\"\",\"x\n---\n", "apps.yaml:2:1: error: invalid YAML: illegal document indicator"},
      {"'',\"x\n---\n", "apps.yaml:2:1: error: invalid YAML: illegal document indicator"},
      {"\"\",\"x", "apps.yaml:1:6: error: invalid YAML: illegal EOF in scalar"},
  };
  for (const auto& [text, error] : open_quote) {
    if (!LoadsWithoutHanging(text)) return;
    EXPECT_THAT(StrictErrors(LoadOne(text)), HasSubstr(error)) << text;
  }
  // Commas inside flow collections and plain scalars are fine.
  auto ok = LoadOne(kHead + "  args: [\"a\", \"b\"]\n  cmd: sleep 1 , 2\n");
  EXPECT_THAT(StrictErrors(ok), Not(HasSubstr("unexpected \",\"")));
}

// Found by fuzz/iceberg_specs: after a document root that ends before its line does (a quoted
// scalar, a flow collection, an anchored node), a token no node starts with made LoadAll return
// documents forever too. Each is an error at that token.
TEST(YamlStrict, ATokenAfterARootThatEndedEarlyIsAnErrorNotAHang) {
  const std::pair<std::string, std::string> cases[] = {
      {"\"a\" b\n? c\n", "apps.yaml:2:1:"},
      {"[a] b\n? c\n", "apps.yaml:2:1:"},
      {"&a x\n? c\n", "apps.yaml:2:1:"},
      {kHead + "  cpus: 1\n---\n'a' b\n? c\n", "apps.yaml:8:1:"},
  };
  for (const auto& [text, at] : cases) {
    if (!LoadsWithoutHanging(text)) return;
    EXPECT_THAT(StrictErrors(LoadOne(text)),
                HasSubstr(at + std::string(" error: unexpected \"?\": the document's root node "
                                           "ended before it")))
        << text;
  }
  // A spec (a block mapping at the root) is untouched by it.
  auto spec = LoadOne(kHead + "  cpus: 1\n");
  EXPECT_FALSE(spec.HasErrors()) << StrictErrors(spec);
}

// Found by fuzz/iceberg_specs: a root that starts like a spec's can end early too, and then the
// same token after it made LoadAll allocate empty documents until memory ran out. A plain scalar
// ends at a comment line, an indented mapping at a less indented line, a block sequence at a line
// without `-`, and any root at a `%` directive line.
TEST(YamlStrict, ARootThatLooksPlainOrIndentedCanEndEarlyToo) {
  const std::pair<std::string, std::string> cases[] = {
      {"th bearer or\n# oauth2\n\"\"2\n? : cd{}\n", "apps.yaml:3:3: error: unexpected \"2\""},
      {"  a: b\n\"x\"\n? \n", "apps.yaml:3:1: error: unexpected \"?\""},
      {"- a\n\"x\"\n? \n", "apps.yaml:3:1: error: unexpected \"?\""},
      {"k: v\nk: >\n x\n%YAML 1.2\n!t ...\n? \n", "apps.yaml:6:1: error: unexpected \"?\""},
      {kHead + "  cpus: 1\n---\nplain\n# c\n'a'\n? \n", "apps.yaml:10:1: error: unexpected \"?\""},
      // A lone `\r` is no line break to yaml-cpp: `k:\rX` is a plain scalar, not a mapping.
      {"k:\rX\n# c\n\"\"2\n? : cd{}\n", "apps.yaml:3:3: error: unexpected \"2\""},
  };
  for (const auto& [text, error] : cases) {
    if (!LoadsWithoutHanging(text)) return;
    EXPECT_THAT(StrictErrors(LoadOne(text)), HasSubstr(error)) << text;
  }
}

// yaml-cpp with a bounded event handler says whether LoadAll would return documents forever.
class CountingHandler : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override { Count(); }
  void OnDocumentEnd() override { Count(); }
  void OnNull(const YAML::Mark&, YAML::anchor_t) override { Count(); }
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { Count(); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Count();
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Count();
  }
  void OnSequenceEnd() override { Count(); }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Count();
  }
  void OnMapEnd() override { Count(); }
  struct TooMany {};

 private:
  void Count() {
    if (++events_ > 5000) throw TooMany{};
  }
  int events_ = 0;
};

bool ParsesForever(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  CountingHandler handler;
  try {
    while (parser.HandleNextDocument(handler)) {
    }
  } catch (const CountingHandler::TooMany&) {
    return true;
  } catch (const std::exception&) {
  }
  return false;
}

// Short texts made of YAML's tokens: every one on which yaml-cpp would parse forever is found by
// FindEndlessDocuments (LoadContent's guard). Before the roots above were looked at, 6 of the
// 1,266 endless texts here got through.
TEST(YamlStrict, EveryEndlessTokenSoupIsFoundBeforeLoadAll) {
  const char* tokens[] = {"a",      "- ",      "? ",     ": ",          ",",       "[",
                          "]",      "{",       "}",      "\"x\"",        "'y'",     "&a ",
                          "!t ",    "|\n",     ">",      "#c\n",        " #c\n",   "\n",
                          "\n",     " ",       "  ",     "---\n",       "%YAML 1.2\n", "k: v\n",
                          "  k: v\n", "- v\n",   "k: >\n x\n", "\n? ",       "\n\"x\"",   "\n!t ",
                          "\r",     "k:\r",    "k:\rX\n", "\r\n"};
  std::mt19937 rng(15);
  int endless = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    for (int n = 1 + static_cast<int>(rng() % 12); n > 0; --n)
      text += tokens[rng() % (sizeof(tokens) / sizeof(*tokens))];
    if (!ParsesForever(text)) continue;
    ++endless;
    ASSERT_TRUE(FindEndlessDocuments(text).has_value()) << "not found: " << text;
  }
  EXPECT_GT(endless, 1000);  // the soup does reach them (1,266 with yaml-cpp 0.7)
}

}  // namespace
}  // namespace converge
