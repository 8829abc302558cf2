// `converge validate`: load and check the specs; no state, no backends.
#include <unistd.h>

#include <iostream>

#include "controller/backends.h"
#include "controller/cli/commands.h"
#include "controller/plan.h"
#include "controller/render.h"

namespace converge::cli {

int RunValidate(const GlobalOptions& g, const ValidateOptions& o) {
  LoadResult r = LoadSpecs(o.dir, DefaultKindRegistry());
  if (o.output == "json") {
    json diags = DiagnosticsToJson(r.diagnostics);
    std::cout << json{{"valid", !r.HasErrors()},
                      {"files", r.files},
                      {"documents", r.documents.size()},
                      {"diagnostics", diags}}
                     .dump(2)
              << "\n";
  } else if (o.output == "github") {
    for (const auto& d : r.diagnostics) {
      std::cout << (d.severity == Severity::kError ? "::error" : "::warning")
                << " file=" << d.pos.file << ",line=" << d.pos.line << ",col=" << d.pos.column
                << "::" << d.document << ": " << d.message << "\n";
    }
  } else {
    std::cerr << RenderDiagnostics(r.diagnostics, g.color && isatty(STDERR_FILENO));
    if (!r.HasErrors())
      std::cout << "Valid: " << r.documents.size() << " documents in " << r.files << " files.\n";
    else
      std::cerr << r.ErrorCount() << " error(s) in " << r.failed_files.size() << " file(s).\n";
  }
  return r.HasErrors() ? 1 : 0;
}

}  // namespace converge::cli
