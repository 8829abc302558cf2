// The status page's rendering: escaping with hostile strings, URLs, shell quoting, redaction,
// and the pages built from them; and the server's routes (methods, headers, decoded names).
#include "controller/watch/status_page.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <regex>
#include <set>
#include <string>

#include "controller/watch/status_server.h"

namespace converge::watch {
namespace {

const char* const kHostile[] = {
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "' onmouseover='alert(1)",
    "</pre></code></td><script>alert(1)</script>",
    "javascript:alert(1)",
    "&lt;already escaped&gt;",
    "\xC0\xBCscript\xC0\xBE",  // overlong '<' and '>' in invalid UTF-8
    "a\0b",
};

// Every tag in `html` is one the renderers write; a hostile string never adds one.
void ExpectOnlyOurTags(const std::string& html) {
  static const std::set<std::string> kOurs = {
      "!DOCTYPE", "html",  "head",  "meta",  "title",  "link",  "script", "body",
      "nav",      "a",     "span",  "main",  "header", "h1",    "h2",     "p",
      "code",     "ul",    "li",    "form",  "label",  "input", "button", "section",
      "div",      "table", "thead", "tbody", "tr",     "th",    "td",     "time",
      "noscript", "dl",    "dt",    "dd",    "pre",    "figure"};
  std::regex tag("<(/?)([!A-Za-z][A-Za-z0-9]*)");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag); it != std::sregex_iterator();
       ++it)
    EXPECT_TRUE(kOurs.count((*it)[2].str())) << "unexpected tag <" << (*it)[2] << " in " << html;
  // One script element: the page's own, by src.
  size_t scripts = 0;
  for (size_t at = html.find("<script"); at != std::string::npos; at = html.find("<script", at + 1))
    ++scripts;
  EXPECT_EQ(scripts, 1u);
  EXPECT_NE(html.find("<script src=\"/ui/app.js\" defer></script>"), std::string::npos);
  EXPECT_EQ(html.find("style="), std::string::npos) << "inline style breaks the CSP";
  // No event-handler attribute in any tag (hostile text has no raw '<' left to open one).
  std::regex handler(R"(\son[a-z]+\s*=)");
  std::regex whole_tag("<[^>]*>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), whole_tag);
       it != std::sregex_iterator(); ++it)
    EXPECT_FALSE(std::regex_search(it->str(), handler)) << it->str();
}

TEST(HtmlEscape, EscapesMarkupQuotesAndAmpersands) {
  EXPECT_EQ(HtmlEscape("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_EQ(HtmlEscape("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
  EXPECT_EQ(HtmlEscape("' onmouseover='x"), "&#39; onmouseover=&#39;x");
  EXPECT_EQ(HtmlEscape("&lt;"), "&amp;lt;");
  EXPECT_EQ(HtmlEscape(""), "");
  EXPECT_EQ(HtmlEscape("plain /payments/api-1"), "plain /payments/api-1");
}

TEST(HtmlEscape, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(HtmlEscape("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80");
  const std::string r = "\xEF\xBF\xBD";                      // U+FFFD
  EXPECT_EQ(HtmlEscape("\xC0\xBC"), r + r);                  // overlong '<'
  EXPECT_EQ(HtmlEscape("\xE0\x80\xBC"), r + r + r);          // overlong, 3 bytes
  EXPECT_EQ(HtmlEscape("\xED\xA0\x80"), r + r + r);          // a UTF-16 surrogate
  EXPECT_EQ(HtmlEscape("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(HtmlEscape("a\xFF"
                       "b"),
            "a" + r + "b");
  EXPECT_EQ(HtmlEscape("\xC3"), r);  // truncated
  EXPECT_EQ(HtmlEscape(std::string("a\0b", 3)), "a" + r + "b");
  for (const char* h : kHostile) {
    std::string out = HtmlEscape(h);
    EXPECT_EQ(out.find_first_of("<>\"'"), std::string::npos) << out;
  }
}

TEST(Urls, EncodeEverySegmentAndKeepMarathonSlashes) {
  EXPECT_EQ(UrlEncodeSegment("/shop/web"), "%2Fshop%2Fweb");
  EXPECT_EQ(UrlEncodeSegment("a b?c#d&e\"<"), "a%20b%3Fc%23d%26e%22%3C");
  EXPECT_EQ(UrlEncodeSegment("Az09-._~"), "Az09-._~");
  EXPECT_EQ(ResourcePath("sb", "App//shop/web"), "/resources/sb/App/%2Fshop%2Fweb");
  EXPECT_EQ(ResourcePath("aws", "Model/m-1"), "/resources/aws/Model/m-1");
}

TEST(ShellQuote, QuotesWhatTheShellWouldInterpret) {
  EXPECT_EQ(ShellQuote("App//shop/web"), "App//shop/web");
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote("$(rm -rf ~)"), "'$(rm -rf ~)'");
  EXPECT_EQ(ShellQuote(""), "''");
}

TEST(Redaction, SecretPathsNeverShowTheirValues) {
  EXPECT_TRUE(IsSecretPath("env.DB_PASSWORD"));
  EXPECT_TRUE(IsSecretPath("env.GITHUB_TOKEN"));
  EXPECT_TRUE(IsSecretPath("secrets.db.source"));
  EXPECT_TRUE(IsSecretPath("env.Api-Key"));
  EXPECT_FALSE(IsSecretPath("container.docker.image"));
  FieldChange secret{"env.DB_PASSWORD", "hunter2", "correct horse"};
  std::string line = PageFieldLine(secret);
  EXPECT_EQ(line, "~ env.DB_PASSWORD: \"(redacted)\" -> \"(redacted)\"");
  EXPECT_EQ(PageFieldLine({"env.API_TOKEN", nullptr, "t0k3n"}), "+ env.API_TOKEN = \"(redacted)\"");
  // Anything else is the plan's own line.
  EXPECT_EQ(PageFieldLine({"container.docker.image", "img:1", "img:2"}),
            "~ container.docker.image: \"img:1\" -> \"img:2\"");
  EXPECT_EQ(PageFieldLine({"instances", 2, nullptr}), "- instances = 2 -> (default)");
}

PageResource Resource(const std::string& key, const std::string& state, const std::string& label) {
  PageResource r;
  r.key = key;
  r.backend = "sb";
  r.state = state;
  r.reason = state == "synced" ? "" : "because " + label;
  r.source = "specs/" + label + ".yaml:1:1";
  r.labels = {{"team", label}, {label, "v"}};
  return r;
}

TEST(Overview, HostileNamesLabelsAndReasonsAreText) {
  OverviewData d;
  d.dir = "/srv/<specs>";
  d.failed_files = {"bad<script>.yaml"};
  d.spec_errors = {"bad.yaml:1:2: error: \"><script>alert(1)</script>"};
  d.backends_error = "<b>down</b>";
  for (const char* h : kHostile)
    d.resources.push_back(Resource(std::string("App//") + h, "held", h));
  std::string html = RenderOverview(d, "<script>");
  ExpectOnlyOurTags(html);
  EXPECT_NE(html.find("team=&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("value=\"&lt;script&gt;\""), std::string::npos);  // the filter box
  EXPECT_NE(html.find("&lt;b&gt;down&lt;/b&gt;"), std::string::npos);
}

TEST(Overview, GroupsByBackendHeldAndFailedFirstWithCountsAndFilter) {
  OverviewData d;
  d.resources = {Resource("App//a", "synced", "x"), Resource("App//b", "failed", "x"),
                 Resource("App//c", "held", "x"), Resource("App//d", "drifted", "x")};
  d.resources.push_back(Resource("Model/m", "synced", "y"));
  d.resources.back().backend = "aws";
  std::string html = RenderOverview(d, "");
  size_t c = html.find("data-key=\"App//c\""), b = html.find("data-key=\"App//b\""),
         dd = html.find("data-key=\"App//d\""), a = html.find("data-key=\"App//a\"");
  ASSERT_NE(a, std::string::npos);
  EXPECT_LT(c, b);
  EXPECT_LT(b, dd);
  EXPECT_LT(dd, a);
  // the backend with a held resource comes before the one with only synced resources
  EXPECT_LT(html.find("data-backend=\"sb\""), html.find("data-backend=\"aws\""));
  EXPECT_NE(html.find("data-state=\"held\"><span class=\"n\">1</span>"), std::string::npos);
  EXPECT_NE(html.find("data-state=\"synced\"><span class=\"n\">2</span>"), std::string::npos);
  EXPECT_NE(html.find("data-state=\"progressing\"><span class=\"n\">0</span>"), std::string::npos);
  EXPECT_NE(html.find("href=\"/resources/sb/App/%2Fa\""), std::string::npos);

  std::string filtered = RenderOverview(d, "HELD");
  EXPECT_NE(filtered.find("data-key=\"App//c\""), std::string::npos);
  EXPECT_EQ(filtered.find("data-key=\"App//a\""), std::string::npos);
  EXPECT_NE(RenderOverview(d, "team=y").find("data-key=\"Model/m\""), std::string::npos);
  EXPECT_NE(RenderOverview(d, "nothing").find("Nothing matches the filter."), std::string::npos);
  EXPECT_NE(RenderOverview(OverviewData{}, "").find("No resources yet."), std::string::npos);
}

TEST(ResourcePage, ShowsThePlanDiffHoldSnapshotsJournalAndCommands) {
  ResourcePageData d;
  d.r = Resource("App//shop/<web>", "held", "<script>alert(1)</script>");
  d.state_dir = "/var/lib/my state";
  d.planned_action = "update";
  d.planned_at = "2026-01-02T03:04:05Z";
  d.planned_fields = {{"container.docker.image", "img:1", "img:</pre><script>alert(1)</script>"},
                      {"env.DB_PASSWORD", "old", "new"}};
  d.hold = store::Hold{"App//shop/<web>", "rev1", 7, "rolled back <because>", "2026-01-02"};
  store::Snapshot s;
  s.id = 7;
  s.taken_at = "2026-01-02T03:04:04Z";
  s.reason = "before update";
  s.run_id = 3;
  s.doc = {{"env", {{"DB_PASSWORD", "hunter2"}}}};
  d.snapshots = {s};
  store::JournalEntry e;
  e.run_id = 3;
  e.key = d.r.key;
  e.action = "update";
  e.state = store::JournalState::kRolledBack;
  e.detail = "not healthy <img src=x>";
  d.journal = {e};
  std::string html = RenderResourcePage(d);
  ExpectOnlyOurTags(html);
  EXPECT_NE(html.find("~ container.docker.image: &quot;img:1&quot; -&gt; &quot;img:&lt;/pre&gt;"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("env.DB_PASSWORD: &quot;(redacted)&quot;"), std::string::npos);
  EXPECT_EQ(html.find("hunter2"), std::string::npos) << "snapshot contents are not shown";
  EXPECT_EQ(html.find("&quot;old&quot;"), std::string::npos) << "a secret's old value is shown";
  EXPECT_NE(
      html.find("converge release &#39;App//shop/&lt;web&gt;&#39; --state-dir &#39;/var/lib/my "
                "state&#39;"),
      std::string::npos)
      << html;
  EXPECT_NE(html.find("converge rollback &#39;App//shop/&lt;web&gt;&#39; --to 7"),
            std::string::npos);
  EXPECT_NE(html.find("rolled back &lt;because&gt;"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"/runs#run-3\">run 3</a>"), std::string::npos);
  EXPECT_NE(html.find("rolled_back"), std::string::npos);

  // not held: no release command; nothing planned: said so
  ResourcePageData synced;
  synced.r = Resource("App//a", "synced", "x");
  std::string plain = RenderResourcePage(synced);
  EXPECT_EQ(plain.find("converge release"), std::string::npos);
  EXPECT_NE(plain.find("No change planned since converge watch started."), std::string::npos);
}

TEST(RunsPage, RowsCarryTheTimelineDataEscaped) {
  RunsPageData d;
  store::RunRecord run;
  run.id = 4;
  run.command = "watch";
  run.started_at = "2026-01-02T03:04:05Z";
  run.finished_at = "2026-01-02T03:04:09Z";
  run.status = "failed";
  run.summary = "0 applied, 1 failed <x>";
  d.runs = {run};
  store::JournalEntry e;
  e.run_id = 4;
  e.key = "App//\"><script>alert(1)</script>";
  e.backend = "sb";
  e.action = "update";
  e.state = store::JournalState::kRolledBack;
  e.updated_at = "2026-01-02T03:04:08Z";
  d.changes[4] = {e};
  std::string html = RenderRunsPage(d);
  ExpectOnlyOurTags(html);
  EXPECT_NE(html.find("<tr id=\"run-4\" class=\"run r-failed\" data-run=\"4\" "
                      "data-start=\"2026-01-02T03:04:05Z\" data-end=\"2026-01-02T03:04:09Z\" "
                      "data-status=\"failed\">"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("data-at=\"2026-01-02T03:04:08Z\" data-state=\"rolled-back\""),
            std::string::npos);
  EXPECT_NE(html.find("data-key=\"App//&quot;&gt;&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("id=\"timeline\""), std::string::npos);
  EXPECT_NE(RenderRunsPage(RunsPageData{}).find("No runs recorded."), std::string::npos);
}

TEST(Assets, AreEmbeddedAndTheScriptNeverParsesHtml) {
  auto js = FindAsset("app.js");
  ASSERT_TRUE(js);
  EXPECT_STREQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(js->body.find("textContent"), std::string_view::npos);
  for (const char* bad :
       {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("})
    EXPECT_EQ(js->body.find(bad), std::string_view::npos) << bad;
  auto css = FindAsset("style.css");
  ASSERT_TRUE(css);
  EXPECT_NE(css->body.find(".badge"), std::string_view::npos);
  EXPECT_FALSE(FindAsset("../state.db"));
  EXPECT_FALSE(FindAsset(""));
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerHandlers h;
    h.status_json = [] { return std::string("{}"); };
    h.overview_html = [this](const std::string& q) {
      filter_ = q;
      return std::string("overview");
    };
    h.resource_html = [this](const std::string& backend,
                             const std::string& key) -> std::optional<std::string> {
      asked_ = backend + " " + key;
      if (key == "App//shop/web") return std::string("page");
      return std::nullopt;
    };
    h.runs_html = [] { return std::string("runs"); };
    server_ = std::make_unique<StatusServer>(std::move(h));
    ASSERT_TRUE(server_->Start("127.0.0.1", 0).ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }
  void TearDown() override { server_->Stop(); }

  std::unique_ptr<StatusServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::string filter_, asked_;
};

TEST_F(ServerTest, PagesAreGetOnlyWithAStrictPolicy) {
  auto res = client_->Get("/?q=a%20b");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(filter_, "a b");
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  std::string csp = res->get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);
  EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
  for (const char* path : {"/", "/status", "/runs", "/resources/sb/App/a"}) {
    auto post = client_->Post(path, "x", "text/plain");
    ASSERT_TRUE(post);
    EXPECT_EQ(post->status, 405) << path;
    EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
    auto del = client_->Delete(path);
    ASSERT_TRUE(del);
    EXPECT_EQ(del->status, 405) << path;
  }
  EXPECT_EQ(client_->Get("/status")->get_header_value("Content-Type"), "application/json");
}

TEST_F(ServerTest, ResourceNamesArriveDecodedSlashesIncluded) {
  auto res = client_->Get("/resources/sb/App/%2Fshop%2Fweb");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "page");
  EXPECT_EQ(asked_, "sb App//shop/web");
  auto missing = client_->Get("/resources/sb/App/%2Fnope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("App//nope"), std::string::npos);
  EXPECT_EQ(client_->Get("/nowhere")->status, 404);
  auto js = client_->Get("/ui/app.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(client_->Get("/ui/nothing.js")->status, 404);
  EXPECT_EQ(client_->Get("/runs")->body, "runs");
}

}  // namespace
}  // namespace converge::watch
