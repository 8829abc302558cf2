#include "fuzz/fuzz_load.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace converge::fuzz {
namespace {

[[noreturn]] void Broken(const std::string& what) {
  std::fprintf(stderr, "fuzz: guarantee broken: %s\n", what.c_str());
  std::abort();
}

}  // namespace

void LoadAndCheck(const KindRegistry& registry, const uint8_t* data, size_t size) {
  const std::string content(reinterpret_cast<const char*>(data), size);
  int lines = 1;
  for (char c : content) lines += c == '\n';
  LoadResult result;
  LoadContent("fuzz.yaml", content, registry, LoadLimits{}, result);
  CheckDocumentSet(registry, result);
  static const bool verbose = std::getenv("CONVERGE_FUZZ_VERBOSE") != nullptr;
  for (const Diagnostic& d : result.diagnostics) {
    const std::string text = d.ToString();
    if (verbose) std::fprintf(stderr, "%s\n", text.c_str());
    if (text.empty() || d.message.empty()) Broken("a diagnostic without a message");
    if (d.kind == kValidatorFailedKind) Broken("a validator threw: " + text);
    if (d.pos.line < 0 || d.pos.line > lines || d.pos.column < 0 ||
        (d.pos.line > 0 && d.pos.column == 0))
      Broken("a diagnostic outside the text: " + text);
  }
  for (const Document& doc : result.documents) {
    if (!registry.Find(doc.kind)) Broken("a document of an unknown kind: " + doc.Describe());
    if (doc.name.empty() || doc.revision.empty())
      Broken("a document without a name or revision: " + doc.Describe());
    (void)doc.spec.Get().dump();
  }
  if (result.HasErrors() && result.failed_files.empty()) Broken("errors but no failed file");
}

}  // namespace converge::fuzz
