// Child processes, behind an interface (docs/style.md, "All I/O behind interfaces"): the git
// reader of `converge watch` and the Iceberg `type: command` Executor run their commands through
// a `process::Launcher`, and tests of their users inject a fake one. What the real one promises:
//  * argv is run as is, never through a shell; argv[0] is looked up in converge's PATH
//    (posix_spawnp). The child's environment is converge's with `env` set on top.
//  * The child leads its own process group, so Kill() reaches what it started too (a shell's
//    children, a JVM's helpers). Signals converge blocks or ignores (the watch loop's SIGTERM,
//    SIGINT, SIGHUP, SIGPIPE) are reset to their defaults and unblocked in the child.
//  * stdout and stderr are drained continuously by a reader thread (a chatty child never stalls
//    on a full pipe) and kept bounded: the last `stdout_limit` / `stderr_limit` bytes of each.
//    `input` is fed on stdin, which is then closed (at once when it is empty).
//  * Poll() never blocks: nullopt while the child runs, its exit status once it has been reaped.
//    Destroying a Process that still runs kills its group and reaps it: no child outlives the
//    object that owns it, and no zombie is left.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "specs/base/status.h"

namespace converge::process {

inline constexpr size_t kDefaultOutputLimit = 64 * 1024;
inline constexpr size_t kUnlimited = static_cast<size_t>(-1);

struct SpawnOptions {
  std::vector<std::string> argv;           // non-empty
  std::map<std::string, std::string> env;  // on top of converge's environment
  std::string input;                       // fed on stdin
  size_t stdout_limit = kDefaultOutputLimit;
  size_t stderr_limit = kDefaultOutputLimit;
};

struct ExitStatus {
  int code = 0;    // the exit code when the child exited; -1: unknown (reaped elsewhere)
  int signal = 0;  // the signal that ended it, 0 when it exited
  bool ok() const { return signal == 0 && code == 0; }
  // "exit code 3", "signal 9 (SIGKILL)", "an unknown exit status".
  std::string Describe() const;
};

// The kept tail of one output stream.
struct Output {
  std::string text;    // at most the limit: the last bytes written
  size_t dropped = 0;  // bytes written before those (0: `text` is everything)
};

class Process {
 public:
  virtual ~Process() = default;
  virtual int64_t pid() const = 0;
  // Non-blocking: the exit status once the child has ended (and its remaining output is read).
  virtual std::optional<ExitStatus> Poll() = 0;
  // Blocks until the child has ended.
  virtual ExitStatus Wait() = 0;
  // SIGKILL to the child's whole process group; a no-op once the child has been reaped. Poll or
  // Wait then report the signal.
  virtual void Kill() = 0;
  virtual Output Stdout() const = 0;
  virtual Output Stderr() const = 0;
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  // kUnavailable when the child cannot be started ("cannot run X: No such file or directory").
  virtual Result<std::unique_ptr<Process>> Spawn(const SpawnOptions& options) = 0;
};

// Real processes (posix_spawn). One, shared and thread-safe.
Launcher& SystemLauncher();

// Runs a command to its end; returns its stdout (unbounded). A failure (not started, a non-zero
// exit, a signal) is kUnavailable: "<argv0> <argv1> failed: <first line of stderr>".
Result<std::string> RunToEnd(Launcher& launcher, const std::vector<std::string>& argv,
                             const std::string& input = "");

// The last `max_lines` lines of `text`, at most `max_bytes` of it (cut at a line start where it
// can), without trailing blank lines: the part of a command's stderr worth showing.
std::string Tail(const std::string& text, size_t max_lines, size_t max_bytes);

}  // namespace converge::process
