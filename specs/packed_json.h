// A JSON value that a loaded document keeps packed: CBOR bytes, about a fifth of the memory of
// nlohmann's tree (10,000 Marathon app specs: ~5 MB instead of ~26 MB). The loader edits the
// value as a tree while it converts and validates a document, then packs it; everything after
// the load reads a parsed copy.
//
//   PackedJson s = json{{"cpus", 1}};   // open: holds the tree
//   s.Edit()["mem"] = 256;              // validators edit in place
//   s.Pack();                           // the tree becomes bytes
//   json copy = s.Get();                // a parsed copy, from either state
//   s.Read([](const json& j) { ... });  // no copy when open; one decode when packed
//
// Get and Read are const and change nothing, so threads may read one value at once.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace converge {

class PackedJson {
 public:
  PackedJson() = default;
  PackedJson(nlohmann::json tree) : tree_(std::move(tree)) {}  // NOLINT: reads like json
  PackedJson& operator=(nlohmann::json tree) {
    tree_ = std::move(tree);
    bytes_.clear();
    bytes_.shrink_to_fit();
    return *this;
  }

  // A parsed copy of the value (null for a default-constructed one).
  nlohmann::json Get() const;
  // Calls f(const json&) with the value and returns what f returns; `f` must not keep the
  // reference past the call.
  template <typename F>
  decltype(auto) Read(F&& f) const {
    if (!packed()) return std::forward<F>(f)(tree_);
    const nlohmann::json tree = Get();
    return std::forward<F>(f)(tree);
  }
  // The tree, unpacked first when packed; the value stays open until the next Pack().
  nlohmann::json& Edit();
  // Replaces the tree with its CBOR bytes. Packing a packed value does nothing.
  void Pack();

  bool packed() const { return !bytes_.empty(); }
  // Bytes held by the packed form (0 when open): for tests and benchmarks.
  size_t packed_size() const { return bytes_.size(); }

 private:
  nlohmann::json tree_;  // the value while open; null once packed
  std::string bytes_;    // CBOR of the value while packed; empty while open
};

}  // namespace converge
