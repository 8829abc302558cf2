// Persistence of the sandbox's emulator state: an atomic file write (tmp + fsync + rename + fsync
// of the directory) and a saver thread that writes after mutations, coalescing bursts.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "specs/base/status.h"

namespace converge::emulator {

Status WriteFileAtomically(const std::string& path, const std::string& data);

// The file's content; nullopt when it does not exist (a first run); an error when it cannot be
// read.
Result<std::optional<std::string>> ReadFileIfExists(const std::string& path);

// Calls `save` on its own thread after MarkDirty(), at most one save at a time; marks during a
// save cause one more. Stop() ends the thread without a last save (the owner writes the final
// state itself). Errors of `save` are printed to stderr.
class StateSaver {
 public:
  explicit StateSaver(std::function<Status()> save);
  ~StateSaver();  // Stop()s
  StateSaver(const StateSaver&) = delete;
  StateSaver& operator=(const StateSaver&) = delete;

  void MarkDirty();
  void Stop();

 private:
  void Loop();

  std::function<Status()> save_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace converge::emulator
