// LoadSpecs: every spec file under a directory, loaded on every core and merged in file order.
// With an OnBackendsLoaded hook, the files that mention kind Backend are loaded first and handed
// over, so a caller can connect to and observe its backends while the rest loads.
#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "specs/base/files.h"
#include "specs/base/parallel.h"
#include "specs/loader.h"

namespace converge {
namespace fs = std::filesystem;
namespace {

bool Hidden(const fs::path& p) {
  std::string n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

bool IsSpecFile(const fs::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

void LoadOneFile(const fs::path& path, const std::string& display, const KindRegistry& registry,
                 const LoadLimits& limits, LoadResult& out) {
  FileText file = ReadFileText(path.string(), limits.max_file_bytes);
  if (file.state == FileText::State::kUnreadable) {
    bool dangling = file.err == ENOENT || file.err == ELOOP;
    out.diagnostics.push_back(Diagnostic{
        Severity::kError, SourcePos{display, 0, 0}, "",
        "cannot read: " + file.error + (dangling ? " (a broken symlink or a symlink loop?)" : "")});
    out.failed_files.insert(display);
    ++out.files;
    return;
  }
  if (file.state == FileText::State::kTooLarge) {
    LoadContent(display, std::string(limits.max_file_bytes + 1, ' '), registry, limits, out);
    out.diagnostics.back().message = "file is " + std::to_string(file.size) +
                                     " bytes; the limit is " +
                                     std::to_string(limits.max_file_bytes) + " bytes";
    return;
  }
  LoadContent(display, file.text, registry, limits, out);
}

// Whether the file's text contains "Backend" at all: a Backend document has to spell its kind.
// A file that cannot be read (or is too large) says yes, so it is loaded with the first ones
// and its error is the same as ever.
bool MentionsBackend(const fs::path& path, const LoadLimits& limits) {
  FileText file = ReadFileText(path.string(), limits.max_file_bytes);
  return file.state != FileText::State::kOk || file.text.find("Backend") != std::string::npos;
}

// Calls f(i) for every file index on every core (one thread for fewer than 64 files).
template <typename F>
void ForEachFile(size_t n, F&& f) {
  ParallelForBlocks(n, 1, n < 64 ? n + 1 : 1, [&](size_t i, size_t) { f(i); });
}

// The spec files under `base` (or `base` itself), sorted; errors go to `out`. Empty with an
// error in `out` when there are too many.
std::vector<fs::path> ListSpecFiles(const std::string& root, const fs::path& base,
                                    const fs::file_status& status, const LoadLimits& limits,
                                    LoadResult& out) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_regular_file(status)) {
    files.push_back(base);
  } else {
    fs::recursive_directory_iterator it(base, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const fs::path& p = it->path();
      if (Hidden(p)) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_symlink(ec) && fs::is_directory(p, ec)) continue;  // never follow: loops
      if (IsSpecFile(p) && !it->is_directory(ec)) files.push_back(p);
      if (files.size() > limits.max_files) break;
    }
    if (ec) {
      out.diagnostics.push_back(Diagnostic{Severity::kError, SourcePos{root, 0, 0}, "",
                                           "cannot list directory: " + ec.message()});
      out.failed_files.insert(root);
    }
  }
  if (files.size() > limits.max_files) {
    out.diagnostics.push_back(Diagnostic{
        Severity::kError, SourcePos{root, 0, 0}, "",
        "more than " + std::to_string(limits.max_files) + " spec files; refusing to load"});
    out.failed_files.insert(root);
    return {};
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

LoadResult LoadSpecs(const std::string& root, const KindRegistry& registry,
                     const LoadLimits& limits, const OnBackendsLoaded& on_backends) {
  LoadResult out;
  std::error_code ec;
  fs::path base(root);
  auto status = fs::status(base, ec);
  if (ec || !fs::exists(status)) {
    out.diagnostics.push_back(Diagnostic{Severity::kError, SourcePos{root, 0, 0}, "",
                                         "no such file or directory"});
    out.failed_files.insert(root);
    return out;
  }
  const std::vector<fs::path> files = ListSpecFiles(root, base, status, limits, out);
  if (out.HasErrors() && files.empty()) return out;
  // Files are independent: parse and validate them on every core, each into its own result,
  // then merge in file order so output is deterministic.
  std::vector<LoadResult> parts(files.size());
  auto load = [&](size_t i) {
    LoadOneFile(files[i], files[i].lexically_normal().string(), registry, limits, parts[i]);
  };
  std::vector<char> early(files.size(), 0);
  if (on_backends) {
    ForEachFile(files.size(), [&](size_t i) { early[i] = MentionsBackend(files[i], limits); });
    DocumentList backends;
    for (size_t i = 0; i < files.size(); ++i) {
      if (!early[i]) continue;
      load(i);
      for (size_t d = 0; d < parts[i].documents.size(); ++d)
        if (parts[i].documents[d].kind == "Backend") backends.push_back(parts[i].documents.ptr(d));
    }
    on_backends(backends);
  }
  ForEachFile(files.size(), [&](size_t i) {
    if (!early[i]) load(i);
  });
  for (auto& part : parts) {
    out.files += part.files;
    out.documents.append(std::move(part.documents));
    for (auto& d : part.diagnostics) out.diagnostics.push_back(std::move(d));
    out.failed_files.insert(part.failed_files.begin(), part.failed_files.end());
    part = LoadResult();
  }
  CheckDocumentSet(registry, out);
  return out;
}

}  // namespace converge
