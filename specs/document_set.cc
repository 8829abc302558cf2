// Cross-document checks over everything loaded (declared in specs/loader.h): kind + name unique
// across all files, every metadata.backend resolved to a Backend document of the right type. Each
// error points at the member at fault (metadata.name, metadata.backend) when it has a position.
#include <map>
#include <string>
#include <vector>

#include "specs/loader.h"

namespace converge {
namespace {

const SourcePos& NamePos(const Document& d) { return d.name_pos.line > 0 ? d.name_pos : d.pos; }

}  // namespace

void CheckDocumentSet(const KindRegistry& registry, LoadResult& out) {
  std::vector<bool> bad(out.documents.size(), false);
  // Reported at `pos` (the member at fault) when known, else at the document's start.
  auto error = [&](size_t i, std::string msg, const SourcePos& pos = {}) {
    const Document& d = out.documents[i];
    out.diagnostics.push_back(Diagnostic{Severity::kError, pos.line > 0 ? pos : d.pos,
                                         d.Describe(), std::move(msg)});
    out.failed_files.insert(d.pos.file);
    bad[i] = true;
  };
  // Unique kind + name across all files.
  std::map<std::string, size_t> first;
  for (size_t i = 0; i < out.documents.size(); ++i) {
    const Document& d = out.documents[i];
    auto [it, inserted] = first.emplace(d.Key(), i);
    if (!inserted) {
      const Document& f = out.documents[it->second];
      error(i,
            "duplicate " + d.kind + " \"" + d.name + "\": also defined at " +
                NamePos(f).ToString() + " (" + f.Describe() + ")",
            d.name_pos);
      error(it->second,
            "duplicate " + d.kind + " \"" + d.name + "\": defined again at " +
                NamePos(d).ToString() + " (" + d.Describe() + ")",
            f.name_pos);
    }
  }
  // Backends by name and type.
  std::map<std::string, std::string> backend_type;  // name -> type
  std::map<std::string, std::vector<std::string>> backends_of_type;
  for (const Document& d : out.documents) {
    if (d.kind != "Backend") continue;
    std::string type = d.spec.value("type", "");
    backend_type[d.name] = type;
    backends_of_type[type].push_back(d.name);
  }
  for (size_t i = 0; i < out.documents.size(); ++i) {
    Document& d = out.documents[i];
    if (d.kind == "Backend") continue;
    const KindInfo* info = registry.Find(d.kind);
    const std::string& want = info->backend_type;
    if (d.backend.empty()) {
      const auto& candidates = backends_of_type[want];
      if (candidates.size() == 1) {
        d.backend = candidates[0];
      } else if (candidates.empty()) {
        error(i, "no Backend of type " + want + " is defined (add a kind: Backend document " +
                     "with spec.type: " + want + ")");
      } else {
        std::string names;
        for (const auto& n : candidates) names += (names.empty() ? "" : ", ") + n;
        error(i, "metadata.backend is required: several " + want + " backends exist (" + names +
                     ")");
      }
      continue;
    }
    auto it = backend_type.find(d.backend);
    if (it == backend_type.end()) {
      error(i, "metadata.backend \"" + d.backend + "\" does not name a Backend document",
            d.backend_pos);
    } else if (it->second != want) {
      error(i,
            "metadata.backend \"" + d.backend + "\" is a " + it->second + " backend; a " +
                d.kind + " needs a " + want + " backend",
            d.backend_pos);
    }
  }
  std::vector<Document> kept;
  kept.reserve(out.documents.size());
  for (size_t i = 0; i < out.documents.size(); ++i)
    if (!bad[i]) kept.push_back(std::move(out.documents[i]));
  out.documents = std::move(kept);
}

}  // namespace converge
