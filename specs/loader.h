// Loads desired-state documents from a directory tree of YAML files.
//
// Every *.yaml / *.yml file below the root (recursively; `.git`, hidden files and hidden
// directories skipped; symlinked directories not followed) may hold several documents separated
// by `---`. Each document has the envelope
//   apiVersion: converge/v1
//   kind: <registered kind>
//   metadata: {name, backend?, labels?, annotations?}
//   spec: <the backend's native document>
// Input is hostile until proven otherwise: files are size-capped, must be UTF-8 without NUL
// bytes, nesting depth and node count (after alias expansion) are bounded, duplicate keys and
// numbers that overflow are errors, and so are the leniencies of yaml-cpp that specs/yaml_strict.h
// closes (an unterminated quote, a document without `---`). All errors of a run are collected,
// never only the first.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "specs/document.h"

namespace converge {

// What the loader needs to know about a kind. Backend types and kinds are registered by the
// reconcilers so specs/ does not depend on them.
struct KindInfo {
  std::string backend_type;  // the Backend `spec.type` this kind belongs to; "" for Backend itself
  // Validates (and may normalise, e.g. numeric strings → numbers) the document's spec. Paths in
  // the diagnostics are JSON pointers from the document root ("/spec/cpus").
  std::function<void(Document&, std::vector<PathDiagnostic>&)> validate;
  // Validates metadata.name ("" if fine, else what was expected).
  std::function<std::string(const std::string&)> validate_name;
  // The members of a valid document of this kind that name other specs (kind, metadata.name and
  // the member's JSON pointer; the loader adds positions). `CheckReferences` warns about those
  // that no spec of the same backend answers. May be empty: the kind names no other spec.
  std::function<std::vector<SpecReference>(const Document&)> references;
  // The JSON Schema (draft-07, self-contained: local "#/definitions/..." refs only) of the
  // document's `spec`, generated from the same definitions `validate` runs, for `converge schema`
  // (editors and CI). What `validate` checks that a schema cannot say is listed in docs/specs.md.
  // Empty: any mapping.
  std::function<json()> schema;
};

class KindRegistry {
 public:
  void Register(const std::string& kind, KindInfo info) { kinds_[kind] = std::move(info); }
  const KindInfo* Find(const std::string& kind) const {
    auto it = kinds_.find(kind);
    return it == kinds_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> Kinds() const {
    std::vector<std::string> out;
    for (const auto& [k, _] : kinds_) out.push_back(k);
    return out;
  }
  // Backend types known to the registry (from the kinds registered).
  std::set<std::string> BackendTypes() const;

 private:
  std::map<std::string, KindInfo> kinds_;
};

struct LoadLimits {
  size_t max_file_bytes = 8u << 20;        // 8 MiB
  size_t max_nodes_per_document = 200000;  // after alias expansion
  int max_depth = 64;
  size_t max_files = 200000;
};

struct LoadResult {
  DocumentList documents;               // valid documents only (shared: specs/document.h)
  std::vector<Diagnostic> diagnostics;  // errors and warnings, in file order
  std::set<std::string> failed_files;   // files with at least one error: they block prunes
  size_t files = 0;

  bool HasErrors() const;
  size_t ErrorCount() const;
};

// The start of the error reported when a kind's validator throws (a bug in the validator), and
// that error's Diagnostic::kind, which is what a program tests (fuzz/ does): the message holds
// user text and can say anything.
inline constexpr char kValidatorFailed[] = "internal error: the spec validator failed: ";
inline constexpr char kValidatorFailedKind[] = "internal-error";

// Loads and validates every document under `root` (a directory or a single file), then checks
// cross-document rules: unique kind+name, backend references resolved.
//
// `on_backends`, when set, is called once on the calling thread with the Backend documents (as
// loaded, before the set checks) of every file that mentions "Backend", before the other files
// load: a caller may start connecting to and observing its backends meanwhile. The result is
// the same with or without it.
using OnBackendsLoaded = std::function<void(const DocumentList& backends)>;
LoadResult LoadSpecs(const std::string& root, const KindRegistry& registry,
                     const LoadLimits& limits = {}, const OnBackendsLoaded& on_backends = {});

// Parses one file's content (for tests and for `converge watch`'s incremental reloads).
void LoadContent(const std::string& file, const std::string& content, const KindRegistry& registry,
                 const LoadLimits& limits, LoadResult& out);

// Cross-document checks over everything loaded (duplicates, backend resolution). Documents with
// errors are removed from `out.documents`.
void CheckDocumentSet(const KindRegistry& registry, LoadResult& out);

// CheckDocumentSet's steps, for `converge watch`'s incremental rebuild
// (controller/watch/spec_cache.cc), which resolves the backends of the changed files only. Each
// error is a diagnostic, puts the document's file in failed_files and sets bad[i].
struct BackendIndex {
  std::map<std::string, std::string> type_of;               // Backend name -> spec.type
  std::map<std::string, std::vector<std::string>> of_type;  // spec.type -> Backend names
};
BackendIndex IndexBackends(const DocumentList& docs);
// Every document whose kind + name another one also has (both are reported, at metadata.name).
void CheckDuplicates(LoadResult& out, std::vector<bool>& bad);
// Fills a left-out metadata.backend with the one Backend of the kind's type (backend_defaulted)
// and checks a given one names a Backend of that type.
void ResolveBackends(const KindRegistry& registry, const BackendIndex& backends, LoadResult& out,
                     std::vector<bool>& bad);
// Removes the documents marked bad.
void DropDocuments(LoadResult& out, const std::vector<bool>& bad);

// The references (Document::references) of `loaded` that resolve to no spec bound to the same
// Backend, as warnings at the referencing member (kind "unresolved-reference"): the object must
// then already exist in the backend, which only `plan` can find out. A reference to a kind that
// exists only as a spec (SpecReference::spec_only: an Executor, a Backend of a given type) is an
// error instead. Offline; pure.
std::vector<Diagnostic> CheckReferences(const LoadResult& loaded);

// Turns every warning of `r` into an error (`validate --strict`); their files become failed files.
void PromoteWarnings(LoadResult& r);

// Stable content hash (hex) used for spec revisions and plan fingerprints.
std::string ContentHash(const std::string& data);
std::string JsonHash(const json& value);

}  // namespace converge
