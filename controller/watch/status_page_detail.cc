// The status page's resource page and runs page (the building blocks are in status_page.cc).
#include <sstream>

#include "controller/watch/status_page.h"

namespace converge::watch {
namespace {

std::string Or(const std::string& s, const char* dash = "—") {
  return s.empty() ? dash : HtmlEscape(s);
}

std::string RunLink(int64_t run) {
  if (run == 0) return "—";
  return "<a href=\"/runs#run-" + std::to_string(run) + "\">run " + std::to_string(run) + "</a>";
}

// The CSS class of a diff line: by the plan's first symbol.
const char* LineClass(const std::string& line) {
  if (line.rfind("+", 0) == 0) return "fc-add";
  if (line.rfind("-", 0) == 0) return "fc-del";
  return "fc-mod";
}

// The state of a journal entry as a CSS class suffix ("rolled_back" → "rolled-back").
std::string StateClass(store::JournalState s) {
  std::string n = store::JournalStateName(s);
  for (auto& c : n)
    if (c == '_') c = '-';
  return n;
}

void Commands(std::ostringstream& o, const ResourcePageData& d) {
  std::string tail = d.state_dir.empty() ? "" : " --state-dir " + ShellQuote(d.state_dir);
  o << "<section><h2>Commands</h2><p class=\"hint\">This page changes nothing. "
    << "<code>converge watch</code> holds the state directory's lock: stop it, run one of "
    << "these, start it again.</p><ul class=\"commands\">";
  if (d.hold || d.r.state == "held")
    o << "<li>release the hold: <code class=\"cmd\">"
      << HtmlEscape("converge release " + ShellQuote(d.r.key) + tail) << "</code></li>";
  if (!d.snapshots.empty())
    o << "<li>roll back to snapshot " << d.snapshots.front().id << " ("
      << Or(d.snapshots.front().taken_at)
      << (d.snapshots.front().doc.is_null() ? "; the object did not exist then: this deletes it"
                                            : "")
      << "): <code class=\"cmd\">"
      << HtmlEscape("converge rollback " + ShellQuote(d.r.key) + " --to " +
                    std::to_string(d.snapshots.front().id) + tail)
      << "</code></li>";
  o << "<li>hold it: <code class=\"cmd\">"
    << HtmlEscape("converge hold " + ShellQuote(d.r.key) + " --reason '…'" + tail)
    << "</code></li></ul></section>";
}

}  // namespace

std::string RenderResourcePage(const ResourcePageData& d) {
  const PageResource& r = d.r;
  auto key = ParseResourceKey(r.key);
  std::string display = key.ok() ? key->Display() : r.key;
  std::ostringstream o;
  o << "<header class=\"summary\"><h1>" << HtmlEscape(display) << " <span class=\"badge st-"
    << HtmlEscape(r.state) << "\" id=\"state\">" << HtmlEscape(r.state) << "</span></h1>"
    << "<p class=\"reason\">" << HtmlEscape(r.reason) << "</p></header>\n";
  o << "<section><dl class=\"facts\">"
    << "<dt>key</dt><dd><code>" << HtmlEscape(r.key) << "</code></dd>"
    << "<dt>backend</dt><dd>" << Or(r.backend) << "</dd>"
    << "<dt>spec</dt><dd><code id=\"source\">" << Or(r.source, "(no spec)") << "</code></dd>"
    << "<dt>revision</dt><dd><code>" << Or(r.revision) << "</code></dd>"
    << "<dt>health</dt><dd>" << Or(r.health, "not checked since converge watch started") << "</dd>"
    << "<dt>last change</dt><dd>" << Or(r.last_change) << " · " << RunLink(r.last_run);
  if (!r.last_commit.empty()) o << " · commit <code>" << HtmlEscape(r.last_commit) << "</code>";
  o << "</dd><dt>last sync</dt><dd>" << Or(r.last_sync) << "</dd>"
    << "<dt>last error</dt><dd class=\"error\">" << Or(r.last_error) << "</dd>"
    << "<dt>retries</dt><dd>" << r.retries << "</dd><dt>labels</dt><dd>";
  if (r.labels.empty()) o << "—";
  for (const auto& [k, v] : r.labels)
    o << "<span class=\"label\">" << HtmlEscape(k) << "=" << HtmlEscape(v) << "</span> ";
  o << "</dd></dl></section>\n";

  o << "<section><h2>Last planned change</h2>";
  if (d.planned_action.empty()) {
    o << "<p class=\"empty\">No change planned since converge watch started.</p>";
  } else {
    o << "<p>" << HtmlEscape(d.planned_action) << ", planned at <time>" << Or(d.planned_at)
      << "</time>" << (r.state == "synced" ? " (live state matches the spec now)" : "") << "</p>";
    o << "<pre class=\"diff\" id=\"diff\">";
    if (d.planned_fields.empty()) o << "(no field-level detail)";
    for (const auto& f : d.planned_fields) {
      std::string line = PageFieldLine(f);
      o << "<span class=\"" << LineClass(line) << "\">" << HtmlEscape(line) << "</span>\n";
    }
    o << "</pre>";
  }
  o << "</section>\n";

  if (d.hold) {
    o << "<section class=\"held\"><h2>Held</h2><p>" << HtmlEscape(d.hold->reason) << "</p><p>since "
      << Or(d.hold->created_at) << ", at spec revision <code>" << Or(d.hold->spec_revision)
      << "</code>"
      << (d.hold->snapshot_id ? ", snapshot " + std::to_string(d.hold->snapshot_id) : "")
      << ". A new revision of the spec lifts it.</p></section>\n";
  }

  o << "<section><h2>Snapshots</h2>";
  if (d.snapshots.empty()) {
    o << "<p class=\"empty\">None.</p>";
  } else {
    o << "<table><thead><tr><th>id</th><th>taken</th><th>reason</th><th>run</th><th>revision</th>"
      << "<th>commit</th><th>object</th></tr></thead><tbody>";
    for (const auto& s : d.snapshots)
      o << "<tr><td>" << s.id << "</td><td>" << Or(s.taken_at) << "</td><td>" << Or(s.reason)
        << "</td><td>" << RunLink(s.run_id) << "</td><td><code>" << Or(s.spec_revision)
        << "</code></td><td><code>" << Or(s.git_commit.substr(0, 12)) << "</code></td><td>"
        << (s.doc.is_null() ? "did not exist" : "saved") << "</td></tr>";
    o << "</tbody></table>";
  }
  o << "</section>\n<section><h2>Journal</h2>";
  if (d.journal.empty()) {
    o << "<p class=\"empty\">No changes recorded.</p>";
  } else {
    o << "<table><thead><tr><th>run</th><th>action</th><th>state</th><th>when</th>"
      << "<th>detail</th></tr></thead><tbody>";
    for (const auto& e : d.journal)
      o << "<tr class=\"j-" << StateClass(e.state) << "\"><td>" << RunLink(e.run_id) << "</td><td>"
        << Or(e.action) << "</td><td>" << store::JournalStateName(e.state) << "</td><td>"
        << Or(e.updated_at) << "</td><td>" << HtmlEscape(e.detail) << "</td></tr>";
    o << "</tbody></table>";
  }
  o << "</section>\n";
  Commands(o, d);
  return PageFrame(display, "resource", o.str());
}

std::string RenderRunsPage(const RunsPageData& d) {
  std::ostringstream o;
  o << "<header class=\"summary\"><h1>Runs</h1><p class=\"meta\">The " << d.runs.size()
    << " most recent runs, newest first. Each change is a mark on the timeline, coloured by its "
    << "outcome.</p></header>\n<figure id=\"timeline\" class=\"timeline\"><noscript>The timeline "
    << "needs JavaScript; the table below has the same data.</noscript></figure>\n";
  if (d.runs.empty()) {
    o << "<p class=\"empty\">No runs recorded.</p>";
    return PageFrame("runs", "runs", o.str());
  }
  o << "<table class=\"runs\"><thead><tr><th>run</th><th>command</th><th>started</th>"
    << "<th>finished</th><th>status</th><th>commit</th><th>changes</th></tr></thead><tbody>";
  for (const auto& run : d.runs) {
    o << "<tr id=\"run-" << run.id << "\" class=\"run r-" << HtmlEscape(run.status)
      << "\" data-run=\"" << run.id << "\" data-start=\"" << HtmlEscape(run.started_at)
      << "\" data-end=\"" << HtmlEscape(run.finished_at) << "\" data-status=\""
      << HtmlEscape(run.status) << "\"><td>" << run.id << "</td><td>" << Or(run.command)
      << "</td><td>" << Or(run.started_at) << "</td><td>" << Or(run.finished_at, "running")
      << "</td><td><span class=\"badge r-" << HtmlEscape(run.status) << "\">"
      << HtmlEscape(run.status) << "</span> " << HtmlEscape(run.summary) << "</td><td><code>"
      << Or(run.git_commit.substr(0, 12)) << "</code></td><td><ul class=\"changes\">";
    auto it = d.changes.find(run.id);
    if (it != d.changes.end()) {
      for (const auto& e : it->second)
        o << "<li class=\"j-" << StateClass(e.state) << "\" data-at=\"" << HtmlEscape(e.updated_at)
          << "\" data-state=\"" << StateClass(e.state) << "\" data-key=\"" << HtmlEscape(e.key)
          << "\"><a href=\"" << HtmlEscape(ResourcePath(e.backend, e.key)) << "\">"
          << HtmlEscape(e.key) << "</a> " << HtmlEscape(e.action) << " → "
          << store::JournalStateName(e.state) << "</li>";
    }
    o << "</ul></td></tr>";
  }
  o << "</tbody></table>";
  return PageFrame("runs", "runs", o.str());
}

std::string RenderNotFound(const std::string& what) {
  return PageFrame(
      "not found", "notfound",
      "<h1>Not found</h1><p>" + HtmlEscape(what) + "</p><p><a href=\"/\">All resources</a></p>");
}

}  // namespace converge::watch
