// Source positions for the loader (declared in specs/positions.h).
#include "specs/positions.h"

#include <cstdint>
#include <cstdlib>

namespace converge {

SourcePos PosOf(const std::string& file, const YAML::Mark& m) {
  if (m.is_null()) return SourcePos{file, 0, 0};
  return SourcePos{file, m.line + 1, m.column + 1};
}

// Returns the offset of the first byte that is not valid UTF-8 (or is NUL), or npos.
size_t FindInvalidUtf8(const std::string& s, std::string* what) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) {
      *what = "NUL byte";
      return i;
    }
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > n) {
      *what = "invalid UTF-8";
      return i;
    }
    uint32_t cp = c & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) {
        *what = "invalid UTF-8";
        return i;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    bool overlong =
        (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      *what = "invalid UTF-8";
      return i;
    }
    i += len;
  }
  return std::string::npos;
}

SourcePos PosOfOffset(const std::string& file, const std::string& content, size_t offset) {
  int line = 1, col = 1;
  for (size_t i = 0; i < offset && i < content.size(); ++i) {
    if (content[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return SourcePos{file, line, col};
}

// Finds the source position for a JSON pointer inside a document: the deepest node that exists
// on the path (so "missing member" errors point at the enclosing mapping).
YAML::Mark MarkForPointer(const YAML::Node& root, const std::string& pointer) {
  YAML::Mark mark = root.Mark();
  YAML::Node cur = root;
  size_t i = 0;
  while (i < pointer.size()) {
    if (pointer[i] != '/') break;
    size_t j = pointer.find('/', i + 1);
    std::string tok = pointer.substr(i + 1, j == std::string::npos ? std::string::npos : j - i - 1);
    // Unescape ~1 and ~0 (RFC 6901).
    for (size_t p = 0; (p = tok.find('~', p)) != std::string::npos; ++p)
      tok.replace(p, 2, tok.compare(p, 2, "~1") == 0 ? "/" : "~");
    bool found = false;
    if (cur.IsMap()) {
      for (auto it = cur.begin(); it != cur.end(); ++it) {
        if (it->first.IsScalar() && it->first.Scalar() == tok) {
          // Point at the value, or at the key when the value has no position (null).
          mark = it->second.Mark().is_null() ? it->first.Mark() : it->second.Mark();
          YAML::Node next = it->second;
          cur.reset(next);
          found = true;
          break;
        }
      }
    } else if (cur.IsSequence()) {
      char* end = nullptr;
      unsigned long idx = std::strtoul(tok.c_str(), &end, 10);
      if (end && *end == '\0' && idx < cur.size()) {
        YAML::Node next = cur[idx];
        mark = next.Mark();
        cur.reset(next);
        found = true;
      }
    }
    if (!found) break;
    if (j == std::string::npos) break;
    i = j;
  }
  return mark;
}

}  // namespace converge
