// `converge validate`: load and check the specs; no state, no backends. Warnings (a numeric
// string converted, a reference to an object that is not a spec here) are printed and leave the
// exit code 0; with --strict they are errors.
#include <unistd.h>

#include <iostream>

#include "controller/backends.h"
#include "controller/cli/commands.h"
#include "controller/plan.h"
#include "controller/render.h"

namespace converge::cli {

int RunValidate(const GlobalOptions& g, const ValidateOptions& o) {
  LoadResult r = LoadSpecs(o.dir, DefaultKindRegistry());
  for (Diagnostic& d : CheckReferences(r)) {
    if (d.severity == Severity::kError && !d.pos.file.empty()) r.failed_files.insert(d.pos.file);
    r.diagnostics.push_back(std::move(d));
  }
  if (o.strict) PromoteWarnings(r);
  const size_t errors = r.ErrorCount();
  const size_t warnings = r.diagnostics.size() - errors;
  if (o.output == "json") {
    std::cout << json{{"valid", errors == 0},
                      {"strict", o.strict},
                      {"files", r.files},
                      {"documents", r.documents.size()},
                      {"errors", errors},
                      {"warnings", warnings},
                      {"diagnostics", DiagnosticsToJson(r.diagnostics)}}
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
    if (errors == 0) {
      std::cout << "Valid: " << r.documents.size() << " documents in " << r.files << " files";
      if (warnings > 0) std::cout << ", " << warnings << " warning(s)";
      std::cout << ".\n";
    } else {
      std::cerr << errors << " error(s) in " << r.failed_files.size() << " file(s)"
                << (o.strict ? " (--strict: warnings count as errors)" : "") << ".\n";
    }
  }
  return errors > 0 ? 1 : 0;
}

}  // namespace converge::cli
