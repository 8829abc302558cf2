// StateLock: one writer per state directory (flock on <dir>/lock, naming its holder).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "controller/store/database.h"
#include "controller/store/store.h"

namespace converge::store {

namespace {

std::string ReadFd(int fd) {
  std::string out;
  char buf[512];
  off_t offset = 0;
  for (;;) {
    ssize_t n = pread(fd, buf, sizeof buf, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
    offset += n;
    if (out.size() > 4096) return out;  // a holder line is short; do not read a huge file
  }
}

std::string HostName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "unknown";
  return host;
}

// Value of "name=" in the holder line "pid=.. host=.. since=.. command=..". The command comes
// last and runs to the end of the line, so it may contain spaces (and even "pid=").
std::string HolderField(const std::string& line, const std::string& name) {
  size_t command_at = line.find(" command=");
  std::string needle = name + "=";
  size_t at;
  if (name == "command") {
    at = command_at == std::string::npos ? std::string::npos : command_at + 1;
  } else {
    std::string head = line.substr(0, command_at);
    at = head.rfind(needle, 0) == 0 ? 0 : head.find(" " + needle);
    if (at != std::string::npos && at != 0) ++at;
  }
  if (at == std::string::npos) return "";
  size_t begin = at + needle.size();
  size_t end = name == "command" ? line.find('\n', begin) : line.find_first_of(" \n", begin);
  return line.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

std::string LockedMessage(const std::string& state_dir, const std::string& holder) {
  std::string pid = HolderField(holder, "pid");
  std::string who;
  if (pid.empty()) {
    who = "holder unknown";
  } else {
    who = "pid " + pid;
    std::string host = HolderField(holder, "host");
    if (!host.empty() && host != HostName()) who += " on " + host;
    std::string command = HolderField(holder, "command");
    if (!command.empty()) who += ", " + command;
    std::string since = HolderField(holder, "since");
    if (!since.empty()) who += ", since " + since;
  }
  return "state directory " + state_dir + " is locked by another converge (" + who +
         "); wait for it to finish";
}

}  // namespace

Result<std::unique_ptr<StateLock>> StateLock::Acquire(const std::string& state_dir,
                                                      const std::string& command) {
  CONVERGE_RETURN_IF_ERROR(EnsureDir(state_dir));
  std::string path = state_dir + "/lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot open " + path, errno);
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EINTR) continue;
    std::string holder = ReadFd(fd);
    close(fd);
    if (err == EWOULDBLOCK) return Status(Code::kLocked, LockedMessage(state_dir, holder));
    return ErrnoStatus("cannot lock " + path, err);
  }
  // The lock is ours; the kernel drops it when the descriptor closes, even on SIGKILL.
  auto lock = std::unique_ptr<StateLock>(new StateLock(fd));
  std::string line = "pid=" + std::to_string(getpid()) + " host=" + HostName() + " since=" + Now() +
                     " command=" + command + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, line.data(), line.size(), 0) < 0) {
    return ErrnoStatus("cannot write " + path, errno);
  }
  return lock;
}

StateLock::~StateLock() {
  // Clear the holder line while still holding the lock, so nobody reads a stale holder.
  (void)ftruncate(fd_, 0);
  close(fd_);
}

}  // namespace converge::store
