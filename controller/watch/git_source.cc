#include "controller/watch/git_source.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

extern char** environ;

namespace converge::watch {
namespace fs = std::filesystem;

Result<std::string> RunCommand(const std::vector<std::string>& argv, const std::string& input) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0) return InternalError("pipe: " + std::string(strerror(errno)));
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return InternalError("pipe: " + std::string(strerror(errno)));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  // The watch process blocks SIGTERM/SIGINT/SIGHUP for its signalfd: give the child defaults.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGHUP);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    return UnavailableError("cannot run " + argv[0] + ": " + strerror(rc));
  }
  // Feed stdin and drain stdout/stderr together so neither side blocks on a full pipe.
  std::string stdout_text, stderr_text;
  size_t written = 0;
  int in_fd = in[1];
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  } else {
    fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  bool out_open = true, err_open = true;
  char buf[65536];
  while (out_open || err_open || in_fd >= 0) {
    struct pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out_open) fds[out_i = n++] = {out[0], POLLIN, 0};
    if (err_open) fds[err_i = n++] = {err[0], POLLIN, 0};
    if (in_fd >= 0) fds[in_i = n++] = {in_fd, POLLOUT, 0};
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto drain = [&](int i, int fd, std::string& to, bool& open) {
      if (i < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t got = read(fd, buf, sizeof buf);
      if (got > 0)
        to.append(buf, got);
      else if (got == 0 || errno != EINTR)
        open = false;
    };
    drain(out_i, out[0], stdout_text, out_open);
    drain(err_i, err[0], stderr_text, err_open);
    if (in_i >= 0 && (fds[in_i].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = write(in_fd, input.data() + written, input.size() - written);
      if (w > 0) written += w;
      if (w < 0 && errno != EAGAIN && errno != EINTR) written = input.size();
      if (written >= input.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
  }
  close(out[0]);
  close(err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string first = stderr_text.substr(0, stderr_text.find('\n'));
    return UnavailableError(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed" +
                            (first.empty() ? "" : ": " + first));
  }
  return stdout_text;
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
