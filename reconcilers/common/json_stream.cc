#include "reconcilers/common/json_stream.h"

#include <utility>

namespace converge::http {

using json = nlohmann::json;

namespace {

bool Space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

constexpr size_t kMaxKeyBytes = 256;  // a longer depth-1 string is no key we look for

}  // namespace

JsonArrayStream::JsonArrayStream(std::string member, Visit visit, size_t max_element_bytes)
    : member_(std::move(member)), visit_(std::move(visit)), max_element_bytes_(max_element_bytes) {}

void JsonArrayStream::Reset() {
  JsonArrayStream fresh(std::move(member_), std::move(visit_), max_element_bytes_);
  *this = std::move(fresh);
}

BodyStream JsonArrayStream::AsBodyStream() {
  return BodyStream{[this] { Reset(); }, [this](std::string_view chunk) { Write(chunk); }};
}

void JsonArrayStream::Fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  std::string().swap(element_);
  capturing_ = false;
}

void JsonArrayStream::Write(std::string_view chunk) {
  if (!error_.empty()) return;
  for (char c : chunk) {
    Byte(c);
    if (!error_.empty()) return;
  }
}

void JsonArrayStream::Byte(char c) {
  if (capturing_) {
    if (element_.size() >= max_element_bytes_) {
      Fail("an element of \"" + member_ + "\" is larger than " +
           std::to_string(max_element_bytes_) + " bytes");
      return;
    }
    element_.push_back(c);
  }
  if (in_string_) {
    if (escape_) {
      escape_ = false;
    } else if (c == '\\') {
      escape_ = true;
    } else if (c == '"') {
      in_string_ = false;
      return;
    }
    if (depth_ == 1 && !last_string_capped_) {
      if (last_string_.size() < kMaxKeyBytes) {
        last_string_.push_back(c);
      } else {
        last_string_capped_ = true;
      }
    }
    return;
  }
  if (Space(c)) return;
  if (closed_) {
    Fail("text after the end of the object");
    return;
  }
  if (!started_) {
    if (c != '{') {
      Fail("not a JSON object");
      return;
    }
    started_ = true;
    depth_ = 1;
    return;
  }
  // Between the elements of the member's array only commas may come (and its closing ']').
  if (in_member_ && depth_ == 2 && c != '{' && c != ',' && c != ']') {
    Fail("an element of \"" + member_ + "\" is not an object");
    return;
  }
  switch (c) {
    case '"':
      in_string_ = true;
      if (depth_ == 1) {
        last_string_.clear();
        last_string_capped_ = false;
      }
      return;
    case ':':
      if (depth_ == 1) key_ = last_string_capped_ ? std::string() : last_string_;
      return;
    case '{':
    case '[':
      ++depth_;
      if (depth_ == 2 && c == '[' && key_ == member_) {
        in_member_ = true;
        saw_member_ = true;
      } else if (depth_ == 3 && in_member_ && c == '{') {
        capturing_ = true;
        element_.assign(1, '{');
      }
      return;
    case '}':
    case ']':
      if (--depth_ == 0) {
        if (c != '}') Fail("not a JSON object");
        closed_ = true;
      } else if (depth_ == 1) {
        in_member_ = false;
      } else if (depth_ == 2 && capturing_) {
        EndElement();
      }
      return;
    default:
      return;
  }
}

void JsonArrayStream::EndElement() {
  capturing_ = false;
  json element = json::parse(element_, nullptr, /*allow_exceptions=*/false);
  std::string().swap(element_);
  if (element.is_discarded()) {
    Fail("element " + std::to_string(elements_ + 1) + " of \"" + member_ + "\" is not valid JSON");
    return;
  }
  ++elements_;
  visit_(std::move(element));
}

Status JsonArrayStream::Finish() const {
  if (!error_.empty()) return InternalError(error_);
  if (!started_) return InternalError("empty answer (expected a JSON object)");
  if (!closed_) return InternalError("the answer ends before its JSON object does (truncated)");
  if (!saw_member_) return InternalError("no \"" + member_ + "\" array");
  return Status::Ok();
}

}  // namespace converge::http
