#include "controller/watch/git_source.h"

#include <filesystem>
#include <sstream>

#include "reconcilers/common/process.h"

namespace converge::watch {
namespace fs = std::filesystem;

Result<std::string> RunCommand(const std::vector<std::string>& argv, const std::string& input) {
  return process::RunToEnd(process::SystemLauncher(), argv, input);
}

namespace {

std::vector<std::string> Git(const GitRepo& repo, std::vector<std::string> args) {
  std::vector<std::string> argv = {"git", "-C", repo.dir};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

bool SpecPath(const std::string& rel) {
  std::stringstream parts(rel);
  std::string part;
  while (std::getline(parts, part, '/'))
    if (!part.empty() && part[0] == '.') return false;
  std::string ext = fs::path(rel).extension().string();
  return ext == ".yaml" || ext == ".yml";
}

}  // namespace

Result<GitRepo> LocateGit(const std::string& dir) {
  GitRepo repo{dir, "", ""};
  auto inside = RunCommand(Git(repo, {"rev-parse", "--is-inside-work-tree"}));
  if (!inside.ok() || Trim(*inside) != "true")
    return NotFoundError(dir + " is not in a git work tree");
  auto dirs = RunCommand(Git(repo, {"rev-parse", "--absolute-git-dir", "--git-common-dir"}));
  if (!dirs.ok()) return dirs.status();
  std::stringstream lines(*dirs);
  std::getline(lines, repo.git_dir);
  std::getline(lines, repo.common_dir);
  if (repo.common_dir.empty()) repo.common_dir = repo.git_dir;
  // --git-common-dir may be relative to DIR.
  if (fs::path(repo.common_dir).is_relative())
    repo.common_dir = fs::weakly_canonical(fs::path(dir) / repo.common_dir).string();
  return repo;
}

Result<std::string> GitHead(const GitRepo& repo) {
  auto head = RunCommand(Git(repo, {"rev-parse", "--verify", "-q", "HEAD"}));
  if (head.ok()) return Trim(*head);
  // Only an unborn branch (HEAD names a branch that has no commit yet) means "no specs". Any
  // other failure — git refusing the repository ("dubious ownership"), no git, no processes —
  // is an error: read as an empty tree it would turn every spec into a deletion.
  auto branch = RunCommand(Git(repo, {"symbolic-ref", "-q", "HEAD"}));
  auto any_ref = RunCommand(Git(repo, {"for-each-ref", "--count=1", "refs/heads"}));
  if (branch.ok() && any_ref.ok() && Trim(*any_ref).empty()) return std::string();
  return head.status().Annotate("reading HEAD");
}

Result<std::vector<TreeFile>> GitListTree(const GitRepo& repo, const std::string& commit) {
  std::vector<TreeFile> files;
  if (commit.empty()) return files;
  auto out = RunCommand(Git(repo, {"ls-tree", "-r", "-z", commit, "--", "."}));
  if (!out.ok()) return out.status();
  // "<mode> SP <type> SP <object> TAB <path> NUL", paths relative to the spec directory.
  size_t pos = 0;
  while (pos < out->size()) {
    size_t end = out->find('\0', pos);
    if (end == std::string::npos) end = out->size();
    std::string entry = out->substr(pos, end - pos);
    pos = end + 1;
    size_t tab = entry.find('\t');
    if (tab == std::string::npos) continue;
    std::stringstream meta(entry.substr(0, tab));
    std::string mode, type, object;
    meta >> mode >> type >> object;
    std::string path = entry.substr(tab + 1);
    if (type != "blob" || mode == "120000" || !SpecPath(path)) continue;  // symlinks skipped
    files.push_back(TreeFile{path, object});
  }
  return files;
}

Result<std::map<std::string, std::string>> GitReadBlobs(const GitRepo& repo,
                                                        const std::vector<std::string>& blobs) {
  std::map<std::string, std::string> out;
  if (blobs.empty()) return out;
  std::string input;
  for (const auto& b : blobs) input += b + "\n";
  auto text = RunCommand(Git(repo, {"cat-file", "--batch"}), input);
  if (!text.ok()) return text.status();
  // "<oid> SP <type> SP <size> LF <contents> LF" per object, "<oid> missing LF" if absent.
  size_t pos = 0;
  while (pos < text->size()) {
    size_t nl = text->find('\n', pos);
    if (nl == std::string::npos) break;
    std::stringstream header(text->substr(pos, nl - pos));
    std::string oid, type;
    size_t size = 0;
    header >> oid >> type;
    if (type == "missing") {
      pos = nl + 1;
      continue;
    }
    header >> size;
    if (nl + 1 + size > text->size()) return InternalError("git cat-file: truncated output");
    out[oid] = text->substr(nl + 1, size);
    pos = nl + 1 + size + 1;
  }
  return out;
}

}  // namespace converge::watch
