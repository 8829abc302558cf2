// Reading a spec file whole, bounded: one open, one fstat and as few reads as its size needs
// (std::ifstream through istreambuf_iterator took 1.5x as long for 10,000 small files, and the
// loader reads each of them twice). Never blocks on a FIFO or a device: only regular files
// (after symlinks) are read.
#pragma once

#include <cstdint>
#include <string>

namespace converge {

struct FileText {
  enum class State { kOk, kTooLarge, kUnreadable };
  State state = State::kUnreadable;
  std::string text;   // kOk: the whole file
  uint64_t size = 0;  // kTooLarge: its size (at least max_bytes + 1)
  std::string error;  // kUnreadable: why, e.g. "Too many levels of symbolic links"
  int err = 0;        // kUnreadable: the errno behind it (ENOENT, ELOOP, EACCES, ...)
};

// The text of the regular file at `path`, if it holds at most `max_bytes` bytes.
FileText ReadFileText(const std::string& path, uint64_t max_bytes);

}  // namespace converge
