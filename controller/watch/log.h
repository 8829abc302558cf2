// Structured logs of `converge watch` on stderr, one line per event: text
// (`2026-01-02T03:04:05.678Z INFO applied key=App//shop/web run=7`) or JSON
// (`{"ts":…,"level":"info","msg":"applied","key":"App//shop/web","run":7}`). Thread-safe.
// Secrets never reach a log line: only keys, paths, messages from Status values (which never
// carry secret values) and counts are logged.
#pragma once

#include <cstdio>
#include <map>
#include <mutex>
#include <string>

namespace converge::watch {

class Logger {
 public:
  enum class Format { kText, kJson };
  using Fields = std::map<std::string, std::string>;

  explicit Logger(Format format = Format::kText, FILE* out = stderr) : format_(format), out_(out) {}

  void Info(const std::string& msg, const Fields& f = {}) { Log("info", msg, f); }
  void Warn(const std::string& msg, const Fields& f = {}) { Log("warn", msg, f); }
  void Error(const std::string& msg, const Fields& f = {}) { Log("error", msg, f); }
  void Log(const char* level, const std::string& msg, const Fields& fields);

  // A stdio stream whose lines become info log lines with component=<component> (the
  // executor's progress output goes through it). Owned by the logger.
  FILE* Stream(const std::string& component);
  ~Logger();

 private:
  Format format_;
  FILE* out_;
  std::mutex mu_;
  std::map<std::string, FILE*> streams_;
};

}  // namespace converge::watch
