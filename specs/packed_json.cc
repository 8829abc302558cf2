#include "specs/packed_json.h"

namespace converge {

using json = nlohmann::json;

json PackedJson::Get() const {
  if (!packed()) return tree_;
  // The bytes were written by Pack() from a valid tree, so they always decode.
  return json::from_cbor(bytes_.begin(), bytes_.end());
}

json& PackedJson::Edit() {
  if (packed()) {
    tree_ = Get();
    std::string().swap(bytes_);
  }
  return tree_;
}

void PackedJson::Pack() {
  if (packed()) return;
  std::string bytes;
  json::to_cbor(tree_, bytes);
  bytes.shrink_to_fit();
  bytes_ = std::move(bytes);
  tree_ = json();
}

}  // namespace converge
