// Cross-document checks over everything loaded (declared in specs/loader.h): kind + name unique
// across all files, every metadata.backend resolved to a Backend document of the right type. Each
// error points at the member at fault (metadata.name, metadata.backend) when it has a position.
#include <map>
#include <string>
#include <vector>

#include "specs/loader.h"

namespace converge {
namespace {

const SourcePos& NamePos(const Document& d) {
  return d.name_pos.line > 0 ? d.name_pos : d.pos;
}

// Reported at `pos` (the member at fault) when known, else at the document's start.
void SetError(LoadResult& out, std::vector<bool>& bad, size_t i, std::string msg,
              const SourcePos& pos = {}) {
  const Document& d = out.documents[i];
  out.diagnostics.push_back(
      Diagnostic{Severity::kError, pos.line > 0 ? pos : d.pos, d.Describe(), std::move(msg)});
  out.failed_files.insert(d.pos.file);
  bad[i] = true;
}

}  // namespace

BackendIndex IndexBackends(const DocumentList& docs) {
  BackendIndex index;
  for (const Document& d : docs) {
    if (d.kind != "Backend") continue;
    std::string type = d.spec.Get().value("type", "");
    index.type_of[d.name] = type;
    index.of_type[type].push_back(d.name);
  }
  return index;
}

void CheckDuplicates(LoadResult& out, std::vector<bool>& bad) {
  std::map<std::string, size_t> first;
  for (size_t i = 0; i < out.documents.size(); ++i) {
    const Document& d = out.documents[i];
    auto [it, inserted] = first.emplace(d.Key(), i);
    if (inserted) continue;
    const Document& f = out.documents[it->second];
    SetError(out, bad, i,
             "duplicate " + d.kind + " \"" + d.name + "\": also defined at " +
                 NamePos(f).ToString() + " (" + f.Describe() + ")",
             d.name_pos);
    SetError(out, bad, it->second,
             "duplicate " + d.kind + " \"" + d.name + "\": defined again at " +
                 NamePos(d).ToString() + " (" + d.Describe() + ")",
             f.name_pos);
  }
}

void ResolveBackends(const KindRegistry& registry, const BackendIndex& backends, LoadResult& out,
                     std::vector<bool>& bad) {
  static const std::vector<std::string> kNone;
  for (size_t i = 0; i < out.documents.size(); ++i) {
    const Document& d = out.documents[i];
    if (d.kind == "Backend") continue;
    const KindInfo* info = registry.Find(d.kind);
    const std::string& want = info->backend_type;
    if (d.backend.empty() || d.backend_defaulted) {
      auto of = backends.of_type.find(want);
      const auto& candidates = of == backends.of_type.end() ? kNone : of->second;
      if (candidates.size() == 1) {
        // A document resolved the same way before is left as it is (and stays shared).
        if (d.backend != candidates[0] || !d.backend_defaulted) {
          Document& m = out.documents.Mutable(i);
          m.backend = candidates[0];
          m.backend_defaulted = true;
        }
      } else if (candidates.empty()) {
        SetError(out, bad, i,
                 "no Backend of type " + want + " is defined (add a kind: Backend document " +
                     "with spec.type: " + want + ")");
      } else {
        std::string names;
        for (const auto& n : candidates) names += (names.empty() ? "" : ", ") + n;
        SetError(
            out, bad, i,
            "metadata.backend is required: several " + want + " backends exist (" + names + ")");
      }
      continue;
    }
    auto it = backends.type_of.find(d.backend);
    if (it == backends.type_of.end()) {
      SetError(out, bad, i,
               "metadata.backend \"" + d.backend + "\" does not name a Backend document",
               d.backend_pos);
    } else if (it->second != want) {
      SetError(out, bad, i,
               "metadata.backend \"" + d.backend + "\" is a " + it->second + " backend; a " +
                   d.kind + " needs a " + want + " backend",
               d.backend_pos);
    }
  }
}

void DropDocuments(LoadResult& out, const std::vector<bool>& bad) {
  DocumentList kept;
  kept.reserve(out.documents.size());
  for (size_t i = 0; i < out.documents.size(); ++i)
    if (!bad[i]) kept.push_back(out.documents.ptr(i));
  out.documents = std::move(kept);
}

void CheckDocumentSet(const KindRegistry& registry, LoadResult& out) {
  std::vector<bool> bad(out.documents.size(), false);
  CheckDuplicates(out, bad);
  ResolveBackends(registry, IndexBackends(out.documents), out, bad);
  DropDocuments(out, bad);
}

}  // namespace converge
