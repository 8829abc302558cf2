// JSON-Schema "pattern"s (ECMA-262 syntax) matched by RE2, so matching takes time linear in the
// text whatever the pattern and the text: a 20 KiB id against Marathon's own path pattern takes
// microseconds here and ~20 s with std::regex (which also overflows the stack on longer input).
//
// The pattern is translated to RE2 syntax first, keeping ECMAScript's meaning: "." excludes the
// four line terminators, \s is ECMAScript's Unicode white space, classes ("[^]", "[]", "[\S-]")
// become explicit code point ranges, \uXXXX (and surrogate pairs) and \cX become \x{...}, "$" is
// the end of input. \p{L}-style Unicode classes (Java and ES2018 "u" patterns, as botocore uses)
// are accepted. What RE2 cannot do in linear time — backreferences, lookahead, lookbehind — is
// refused by Compile with a message, never a crash. Text is UTF-8; a byte that is not part of a
// well-formed sequence is matched as U+FFFD.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "specs/base/status.h"

namespace re2 {
class RE2;
}

namespace converge {

class SchemaPattern {
 public:
  static Result<SchemaPattern> Compile(const std::string& pattern);

  // True if the pattern matches anywhere in `text` (JSON Schema patterns are not anchored).
  bool Search(std::string_view text) const;
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::shared_ptr<const re2::RE2> re_;
};

// The RE2 spelling of an ECMA-262 pattern (exposed for tests), or why it has none.
Result<std::string> TranslateEcmaPattern(std::string_view pattern);

}  // namespace converge
