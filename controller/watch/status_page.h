// The status page of `converge watch`: read-only HTML for people, served next to /status.
//
//   GET /                                   overview: every resource by backend, held and failed
//                                           first, counts per state, a filter (?q=, also live in
//                                           the page); refreshed by /ui/app.js polling /status
//   GET /resources/<backend>/<kind>/<name>  one resource: spec file:line, the last planned field
//                                           diff (the lines of `converge plan`), snapshots,
//                                           journal, the CLI commands to roll back or release
//   GET /runs                               recent runs and their changes; /ui/app.js draws a
//                                           timeline (SVG) from the table's data attributes
//   GET /ui/app.js, /ui/style.css           the embedded assets (controller/watch/web/)
//
// Promises: every string that comes from a spec, a backend or the state goes through HtmlEscape
// (text and attribute values alike) or UrlEncodeSegment (path segments); the pages contain no
// inline script or style, so they work under PageHeaders()' Content-Security-Policy; field
// values whose path names a secret (password, token, ...) are shown as "(redacted)". The
// functions below are pure: the loop gathers the data (loop_page.cc), they only render it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controller/store/store.h"
#include "reconcilers/reconciler.h"

namespace converge::watch {

// &, <, >, " and ' as entities; invalid UTF-8 bytes as U+FFFD. Safe in text and in quoted
// attribute values.
std::string HtmlEscape(std::string_view s);
// Percent-encodes everything but unreserved characters (RFC 3986), '/' included.
std::string UrlEncodeSegment(std::string_view s);
// "/resources/<backend>/<kind>/<name>", each part encoded. `key` is "Kind/name".
std::string ResourcePath(const std::string& backend, const std::string& key);
// A POSIX shell word: bare when it is only safe characters, else single-quoted.
std::string ShellQuote(std::string_view s);
// True when a field path names a secret (a segment containing password, passwd, secret, token,
// credential, apikey/api_key/api-key or private_key); its values are never shown.
bool IsSecretPath(std::string_view path);
// The plan's line for one field change (FieldChangeLine), with secret values redacted.
std::string PageFieldLine(const FieldChange& f);

// Headers every page, asset and 405 answer carries (CSP, nosniff, no referrer, no framing).
std::vector<std::pair<std::string, std::string>> PageHeaders();

// The embedded assets: content and content type, or nullopt for an unknown name ("app.js").
struct Asset {
  std::string_view body;
  const char* content_type;
};
std::optional<Asset> FindAsset(std::string_view name);

// One resource as the pages show it (a copy of the loop's board entry).
struct PageResource {
  std::string key;  // "App//shop/web"
  std::string backend, state, reason, health;
  std::string revision, source;  // source: "file:line:column"
  std::string last_change, last_sync, last_error, last_commit;
  int64_t last_run = 0;
  int retries = 0;
  std::map<std::string, std::string> labels;  // the spec's metadata.labels
};

struct OverviewData {
  std::string dir, commit, last_successful_sync, backends_error;
  bool ready = false;
  std::vector<std::string> failed_files, spec_errors;
  std::vector<PageResource> resources;
};

// Held, failed, drifted, progressing, then the rest; by key within a state.
int StateRank(const std::string& state);
// The overview; `filter` (the ?q= parameter) keeps the resources whose key, backend, state or
// reason contains it (case-insensitive).
std::string RenderOverview(const OverviewData& d, const std::string& filter);

struct ResourcePageData {
  PageResource r;
  std::string state_dir;  // for the CLI commands shown
  // The last plan that had a change for this resource (empty action: none seen since start).
  std::string planned_action, planned_at;
  std::vector<FieldChange> planned_fields;
  std::optional<store::Hold> hold;
  std::vector<store::Snapshot> snapshots;    // newest first; documents are not shown
  std::vector<store::JournalEntry> journal;  // newest first
};
std::string RenderResourcePage(const ResourcePageData& d);

struct RunsPageData {
  std::vector<store::RunRecord> runs;                           // newest first
  std::map<int64_t, std::vector<store::JournalEntry>> changes;  // by run, oldest first
};
std::string RenderRunsPage(const RunsPageData& d);

// A small page saying what was not found (a 404 body).
std::string RenderNotFound(const std::string& what);

// The shared frame: <head> with the stylesheet and app.js, the navigation, `body` inside
// <main>. `page` names the page for app.js (data-page on <body>).
std::string PageFrame(const std::string& title, const std::string& page, const std::string& body);

}  // namespace converge::watch
