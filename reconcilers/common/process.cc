#include "reconcilers/common/process.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

extern char** environ;

namespace converge::process {

namespace {

void AppendBounded(Output& out, const char* data, size_t n, size_t limit) {
  out.text.append(data, n);
  if (limit != kUnlimited && out.text.size() > limit) {
    const size_t drop = out.text.size() - limit;
    out.text.erase(0, drop);
    out.dropped += drop;
  }
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

class PosixProcess : public Process {
 public:
  PosixProcess(pid_t pid, int out_fd, int err_fd, int in_fd, int wake_r, int wake_w,
               const SpawnOptions& o)
      : pid_(pid),
        out_fd_(out_fd),
        err_fd_(err_fd),
        in_fd_(in_fd),
        wake_r_(wake_r),
        wake_w_(wake_w),
        input_(o.input),
        out_limit_(o.stdout_limit),
        err_limit_(o.stderr_limit) {
    reader_ = std::thread([this] { Read(); });
  }

  ~PosixProcess() override {
    if (!reaped_) {
      Kill();
      Wait();
    }
    StopReader();
    CloseFd(wake_r_);
    CloseFd(wake_w_);
  }

  int64_t pid() const override { return pid_; }

  std::optional<ExitStatus> Poll() override {
    std::lock_guard<std::mutex> lock(reap_mu_);
    if (reaped_) return status_;
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) return std::nullopt;
    Reaped(r == pid_ ? std::optional<int>(st) : std::nullopt);
    return status_;
  }

  ExitStatus Wait() override {
    std::lock_guard<std::mutex> lock(reap_mu_);
    if (reaped_) return status_;
    int st = 0;
    pid_t r;
    while ((r = waitpid(pid_, &st, 0)) < 0 && errno == EINTR) {
    }
    Reaped(r == pid_ ? std::optional<int>(st) : std::nullopt);
    return status_;
  }

  void Kill() override {
    // After the reap the group's id may be reused: only a child not reaped yet is signalled.
    if (!reaped_) ::kill(-pid_, SIGKILL);
  }

  Output Stdout() const override {
    std::lock_guard<std::mutex> lock(out_mu_);
    return out_;
  }
  Output Stderr() const override {
    std::lock_guard<std::mutex> lock(out_mu_);
    return err_;
  }

 private:
  // Called with reap_mu_ held, once. nullopt: waitpid failed (someone else reaped the child,
  // e.g. SIGCHLD ignored): never reported as a success.
  void Reaped(std::optional<int> waited) {
    const int st = waited.value_or(0);
    if (!waited) {
      status_.code = -1;
    } else if (WIFSIGNALED(st)) {
      status_.signal = WTERMSIG(st);
    } else if (WIFEXITED(st)) {
      status_.code = WEXITSTATUS(st);
    }
    reaped_ = true;
    // Everything the child wrote is in the pipes now: the reader takes it and ends, even when
    // something it started still holds the pipes open.
    StopReader();
  }

  void StopReader() {
    std::lock_guard<std::mutex> lock(reader_mu_);
    if (!reader_.joinable()) return;
    char c = 'x';
    while (write(wake_w_, &c, 1) < 0 && errno == EINTR) {
    }
    reader_.join();
  }

  // Drains stdout and stderr and feeds stdin until both outputs are closed, or until woken (the
  // child has been reaped): then reads what is left without waiting, and ends.
  void Read() {
    // A child that exits before reading all its input must not raise SIGPIPE in converge.
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
    size_t written = 0;
    if (input_.empty()) CloseFd(in_fd_);
    char buf[65536];
    // `once`: one read (the poll loop comes back); else until nothing is left, at most 4 MiB (a
    // process the child left behind may write on forever).
    auto drain = [&](int& fd, Output& to, size_t limit, bool once) {
      for (int reads = 0; fd >= 0 && reads < 64; ++reads) {
        ssize_t got = read(fd, buf, sizeof buf);
        if (got > 0) {
          std::lock_guard<std::mutex> lock(out_mu_);
          AppendBounded(to, buf, static_cast<size_t>(got), limit);
          if (once) return;
          continue;
        }
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && errno == EAGAIN) return;
        CloseFd(fd);  // EOF or an error
      }
    };
    while (out_fd_ >= 0 || err_fd_ >= 0) {
      struct pollfd fds[4];
      int n = 0, out_i = -1, err_i = -1, in_i = -1;
      const int wake_i = n;
      fds[n++] = {wake_r_, POLLIN, 0};
      if (out_fd_ >= 0) fds[out_i = n++] = {out_fd_, POLLIN, 0};
      if (err_fd_ >= 0) fds[err_i = n++] = {err_fd_, POLLIN, 0};
      if (in_fd_ >= 0) fds[in_i = n++] = {in_fd_, POLLOUT, 0};
      if (poll(fds, n, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (out_i >= 0 && fds[out_i].revents) drain(out_fd_, out_, out_limit_, true);
      if (err_i >= 0 && fds[err_i].revents) drain(err_fd_, err_, err_limit_, true);
      if (in_i >= 0 && fds[in_i].revents) {
        ssize_t w = write(in_fd_, input_.data() + written, input_.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN && errno != EINTR) written = input_.size();
        if (written >= input_.size()) CloseFd(in_fd_);
      }
      if (fds[wake_i].revents) break;
    }
    drain(out_fd_, out_, out_limit_, false);
    drain(err_fd_, err_, err_limit_, false);
    CloseFd(out_fd_);
    CloseFd(err_fd_);
    CloseFd(in_fd_);
  }

  const pid_t pid_;
  int out_fd_, err_fd_, in_fd_, wake_r_, wake_w_;
  const std::string input_;
  const size_t out_limit_, err_limit_;
  mutable std::mutex out_mu_;
  Output out_, err_;
  std::mutex reap_mu_;
  std::atomic<bool> reaped_{false};
  ExitStatus status_;
  std::mutex reader_mu_;
  std::thread reader_;
};

class PosixLauncher : public Launcher {
 public:
  Result<std::unique_ptr<Process>> Spawn(const SpawnOptions& o) override {
    if (o.argv.empty()) return InvalidError("no command to run");
    int in[2], out[2], err[2], wake[2];
    int* pipes[] = {in, out, err, wake};
    for (int i = 0; i < 4; ++i) {
      if (pipe2(pipes[i], O_CLOEXEC) != 0) {
        const std::string why = strerror(errno);
        for (int j = 0; j < i; ++j) {
          close(pipes[j][0]);
          close(pipes[j][1]);
        }
        return InternalError("pipe: " + why);
      }
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    // The watch process blocks SIGTERM/SIGINT/SIGHUP for its signalfd and ignores SIGPIPE: the
    // child gets the defaults. It leads a new process group (Kill reaches its children).
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) sigaddset(&defaults, s);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    std::vector<char*> args;
    for (const auto& a : o.argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> env_text;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const char* eq = std::strchr(*e, '=');
      std::string key = eq ? std::string(*e, eq - *e) : std::string(*e);
      if (!o.env.count(key)) env_text.emplace_back(*e);
    }
    for (const auto& [k, v] : o.env) env_text.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
      for (int fd : {in[1], out[0], err[0], wake[0], wake[1]}) close(fd);
      return UnavailableError("cannot run " + o.argv[0] + ": " + strerror(rc));
    }
    for (int fd : {in[1], out[0], err[0]}) fcntl(fd, F_SETFL, O_NONBLOCK);
    return std::unique_ptr<Process>(
        std::make_unique<PosixProcess>(pid, out[0], err[0], in[1], wake[0], wake[1], o));
  }
};

}  // namespace

std::string ExitStatus::Describe() const {
  if (signal != 0) {
    const char* abbrev = sigabbrev_np(signal);
    return "signal " + std::to_string(signal) +
           (abbrev ? " (SIG" + std::string(abbrev) + ")" : std::string());
  }
  if (code < 0) return "an unknown exit status";
  return "exit code " + std::to_string(code);
}

Launcher& SystemLauncher() {
  static PosixLauncher* const kLauncher = new PosixLauncher;
  return *kLauncher;
}

Result<std::string> RunToEnd(Launcher& launcher, const std::vector<std::string>& argv,
                             const std::string& input) {
  SpawnOptions o;
  o.argv = argv;
  o.input = input;
  o.stdout_limit = kUnlimited;
  auto p = launcher.Spawn(o);
  if (!p.ok()) return p.status();
  ExitStatus st = (*p)->Wait();
  if (!st.ok()) {
    const std::string err = (*p)->Stderr().text;
    const std::string first = err.substr(0, err.find('\n'));
    return UnavailableError(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed" +
                            (first.empty() ? "" : ": " + first));
  }
  return (*p)->Stdout().text;
}

std::string Tail(const std::string& text, size_t max_lines, size_t max_bytes) {
  size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || text[end - 1] == ' ')) --end;
  size_t start = end;
  size_t lines = 0;
  while (start > 0 && end - start < max_bytes) {
    if (text[start - 1] == '\n' && ++lines >= max_lines) break;
    --start;
  }
  if (end - start >= max_bytes && start > 0) {
    // Cut in the middle of a line: start at the next line when there is one.
    size_t nl = text.find('\n', start);
    if (nl != std::string::npos && nl + 1 < end) start = nl + 1;
  }
  return text.substr(start, end - start);
}

}  // namespace converge::process
