// Reads the elements of one array member of a JSON object as the document arrives in chunks:
// `{"apps": [{...}, {...}], ...}` gives each app to `visit` as soon as its closing brace
// arrives, parsed on its own, so a 10,000-app Marathon list (12 MB) never exists as one string
// or one tree — only the element being read is buffered.
//
//   JsonArrayStream apps("apps", [&](json&& app) { ... });
//   http::BodyStream stream = apps.AsBodyStream();
//   request.stream = &stream;
//   ... client.Send(request) ...
//   Status st = apps.Finish();   // a complete object holding "apps" as an array of objects?
//
// Each element is parsed strictly (json::parse). Outside the member the scanner only tracks
// strings and nesting — enough to find the member and to tell a complete object from a
// truncated or non-JSON answer, not a validation of the members it skips.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "reconcilers/common/http.h"
#include "specs/base/status.h"

namespace converge::http {

class JsonArrayStream {
 public:
  using Visit = std::function<void(nlohmann::json&& element)>;
  // An element larger than `max_element_bytes` is an error (and is not buffered further).
  JsonArrayStream(std::string member, Visit visit, size_t max_element_bytes = 16u << 20);

  // Forgets everything seen: a new attempt's body starts (BodyStream::begin).
  void Reset();
  void Write(std::string_view chunk);
  // After the last chunk: ok when the body was one complete object with `member` as an array
  // of objects that all parsed. The message says what was wrong (no member, truncated, ...).
  Status Finish() const;
  // A BodyStream whose begin is Reset and whose write is Write; valid while this object lives.
  BodyStream AsBodyStream();

  size_t elements() const { return elements_; }

 private:
  void Fail(std::string why);
  void Byte(char c);
  void EndElement();

  std::string member_;
  Visit visit_;
  size_t max_element_bytes_;

  // Scanner state.
  int depth_ = 0;               // open objects and arrays
  bool started_ = false;        // the top-level '{' was seen
  bool closed_ = false;         // ... and its matching '}'
  bool in_string_ = false;
  bool escape_ = false;
  std::string last_string_;     // the latest string at depth 1 (a key candidate), capped
  bool last_string_capped_ = false;
  std::string key_;             // the key of the depth-1 value being read
  bool in_member_ = false;      // inside member_'s array (depth 2)
  bool saw_member_ = false;
  bool capturing_ = false;      // inside an element (depth >= 3)
  std::string element_;         // the element's text so far
  size_t elements_ = 0;
  std::string error_;           // the first problem found; the rest of the body is ignored
};

}  // namespace converge::http
