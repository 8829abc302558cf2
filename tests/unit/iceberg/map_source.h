// An in-memory FileSource for the manifest readers' tests: files by URI, and every read recorded
// so a test can assert what was (not) fetched.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "reconcilers/iceberg/manifests.h"

namespace converge::iceberg::test {

struct MapFiles {
  std::map<std::string, std::string> files;
  std::vector<std::string> reads;
};

class MapSource : public FileSource {
 public:
  explicit MapSource(MapFiles* f) : f_(f) {}
  Result<std::string> Read(const std::string& uri) override {
    f_->reads.push_back(uri);
    auto it = f_->files.find(uri);
    if (it == f_->files.end()) return NotFoundError(uri + " does not exist");
    return it->second;
  }

 private:
  MapFiles* f_;
};

}  // namespace converge::iceberg::test
