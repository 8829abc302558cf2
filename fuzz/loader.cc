// Fuzz target: the loader alone (YAML text -> documents with positions). The stand-in kind
// `Thing` reports a warning at every member of its spec, so every JSON pointer the loader can be
// handed (keys with '/', '~', dots, unicode) is mapped back to a line and column; `Backend`
// documents get the common Backend validation. Warnings keep the documents alive for the
// cross-document checks (duplicates, backend references).
#include <string>
#include <vector>

#include "fuzz/fuzz_load.h"
#include "specs/backend.h"

namespace {

std::string Escape(const std::string& key) {  // RFC 6901
  std::string out;
  for (char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

void ReportEveryMember(const converge::json& v, const std::string& path,
                       std::vector<converge::PathDiagnostic>& out) {
  out.push_back({path, "member", converge::Severity::kWarning});
  if (v.is_object()) {
    for (const auto& [k, child] : v.items()) ReportEveryMember(child, path + "/" + Escape(k), out);
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) ReportEveryMember(v[i], path + "/" + std::to_string(i), out);
  }
}

const converge::KindRegistry& Registry() {
  static const converge::KindRegistry* const kRegistry = [] {
    auto* r = new converge::KindRegistry;
    converge::KindInfo thing;
    thing.backend_type = "thing";
    thing.validate = [](converge::Document& doc, std::vector<converge::PathDiagnostic>& out) {
      ReportEveryMember(doc.spec.Edit(), "/spec", out);
    };
    thing.validate_name = [](const std::string& name) -> std::string {
      return name.size() > 64 ? "at most 64 characters" : "";
    };
    r->Register("Thing", thing);
    converge::KindInfo backend;
    backend.validate = [](converge::Document& doc, std::vector<converge::PathDiagnostic>& out) {
      converge::ValidateBackend(doc, {{"thing", {{"none", "basic"}, {"region"}}}}, out);
    };
    r->Register("Backend", backend);
    return r;
  }();
  return *kRegistry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  converge::fuzz::LoadAndCheck(Registry(), data, size);
  return 0;
}
