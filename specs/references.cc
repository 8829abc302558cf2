// References between specs (declared in specs/loader.h): which named specs are not in the set, so
// `converge validate` can say so offline, and the --strict promotion of warnings to errors.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "specs/loader.h"

namespace converge {
namespace {

// "/spec/ProductionVariants/0/ModelName" -> "spec.ProductionVariants.0.ModelName", as the
// loader prefixes its other messages.
std::string MemberName(const std::string& pointer) {
  std::string s = pointer.empty() ? pointer : pointer.substr(1);
  std::replace(s.begin(), s.end(), '/', '.');
  return s;
}

}  // namespace

std::vector<Diagnostic> CheckReferences(const LoadResult& loaded) {
  // kind + name -> the backend its spec is bound to; Backend name -> its spec.type.
  std::map<std::string, std::string> bound, backend_types;
  for (const Document& d : loaded.documents) {
    bound[d.Key()] = d.backend;
    if (d.kind == "Backend") backend_types[d.name] = d.spec.Get().value("type", "");
  }
  std::vector<Diagnostic> out;
  for (const Document& d : loaded.documents) {
    for (const SpecReference& r : d.references) {
      std::string what = r.kind + " \"" + r.name + "\" ";
      if (r.kind == "Backend") {
        auto it = backend_types.find(r.name);
        if (it == backend_types.end())
          what += "is not a spec here";
        else if (!r.backend_type.empty() && it->second != r.backend_type)
          what += "is of type " + it->second + ", not " + r.backend_type;
        else
          continue;
      } else {
        auto it = bound.find(r.kind + "/" + r.name);
        if (it != bound.end() && it->second == d.backend) continue;
        what += it == bound.end()
                    ? "is not a spec here"
                    : "is a spec of backend \"" + it->second + "\", not of \"" + d.backend + "\"";
        what += r.spec_only ? "" : ": it must already exist in backend \"" + d.backend + "\"";
      }
      if (r.spec_only) what += " (" + r.kind + "s exist only as specs)";
      Diagnostic w;
      w.severity = r.spec_only ? Severity::kError : Severity::kWarning;
      w.pos = r.pos.line > 0 ? r.pos : d.pos;
      w.document = d.Describe();
      w.message = MemberName(r.pointer) + ": " + what;
      w.kind = "unresolved-reference";
      out.push_back(std::move(w));
    }
  }
  return out;
}

void PromoteWarnings(LoadResult& r) {
  for (Diagnostic& d : r.diagnostics) {
    if (d.severity != Severity::kWarning) continue;
    d.severity = Severity::kError;
    if (!d.pos.file.empty()) r.failed_files.insert(d.pos.file);
  }
}

}  // namespace converge
