#include "specs/base/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace converge {
namespace {

FileText Unreadable(int err) {
  FileText f;
  f.error = std::error_code(err, std::generic_category()).message();
  f.err = err;
  return f;
}

FileText TooLarge(uint64_t size) {
  FileText f;
  f.state = FileText::State::kTooLarge;
  f.size = size;
  return f;
}

FileText NotRegular() {
  FileText f = Unreadable(EINVAL);
  f.error = "not a regular file";
  return f;
}

}  // namespace

FileText ReadFileText(const std::string& path, uint64_t max_bytes) {
  max_bytes = std::min<uint64_t>(max_bytes, SIZE_MAX - 1);  // max_bytes + 1 must fit a size_t
  // What is not a regular file is refused before it is opened: opening a device can have effects.
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return Unreadable(errno);
  if (!S_ISREG(st.st_mode)) return NotRegular();
  // O_NONBLOCK: if the path became a FIFO since stat, opening it must not wait for a writer.
  int fd;
  do {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Unreadable(errno);
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  if (fstat(fd, &st) != 0) return Unreadable(errno);
  if (!S_ISREG(st.st_mode)) return NotRegular();
  // Reads of a regular file then block as usual (some file systems honour O_NONBLOCK).
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) return TooLarge(size);
  FileText f;
  // One byte more than the size, so a file that grew since fstat is seen to have grown.
  f.text.resize(static_cast<size_t>(size) + 1);
  size_t got = 0;
  while (true) {
    if (got == f.text.size()) {
      if (got > max_bytes) return TooLarge(got);
      f.text.resize(std::min<uint64_t>(f.text.size() * 2, max_bytes + 1));
    }
    ssize_t r = read(fd, f.text.data() + got, f.text.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Unreadable(errno);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  f.text.resize(got);
  f.state = FileText::State::kOk;
  return f;
}

}  // namespace converge
