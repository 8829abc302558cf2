// A fresh directory per test under the system temp directory, removed with everything in it
// when the object goes out of scope.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace converge::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "converge-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Empty when the directory could not be made.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace converge::test
