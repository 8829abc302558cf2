#include "reconcilers/common/schema_regex.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <utility>
#include <vector>

#include "specs/document.h"

namespace converge {
namespace {

using Ranges = std::vector<std::pair<char32_t, char32_t>>;  // inclusive code point ranges

constexpr char32_t kMaxCodePoint = 0x10FFFF;
constexpr int64_t kMaxProgramBytes = 8 << 20;  // RE2's compile budget per pattern

// Length of the well-formed UTF-8 sequence at s[i], or 0.
size_t Utf8Length(std::string_view s, size_t i, char32_t* out = nullptr) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < len; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr char32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[len] || cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  if (out) *out = cp;
  return len;
}

Ranges Complement(Ranges r) {
  std::sort(r.begin(), r.end());
  Ranges out;
  char32_t next = 0;
  for (const auto& [lo, hi] : r) {
    if (lo > next) out.emplace_back(next, lo - 1);
    next = std::max<char32_t>(next, hi + 1);
  }
  if (next <= kMaxCodePoint) out.emplace_back(next, kMaxCodePoint);
  return out;
}

const Ranges& SpaceRanges() {  // ECMAScript WhiteSpace and LineTerminator
  static const Ranges kSpace = {
      {0x09, 0x0D},     {0x20, 0x20},     {0xA0, 0xA0},     {0x1680, 0x1680}, {0x2000, 0x200A},
      {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
  return kSpace;
}

std::string Hex(char32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\x{%X}", static_cast<unsigned>(cp));
  return buf;
}

// An explicit RE2 class; an empty set becomes a class that matches nothing.
std::string ClassText(const Ranges& r) {
  if (r.empty()) return "[^\\x{0}-\\x{10FFFF}]";
  std::string out = "[";
  for (const auto& [lo, hi] : r) out += lo == hi ? Hex(lo) : Hex(lo) + "-" + Hex(hi);
  return out + "]";
}

class Translator {
 public:
  explicit Translator(std::string_view p) : p_(p) {}

  Result<std::string> Run() {
    while (i_ < p_.size()) CONVERGE_RETURN_IF_ERROR(Atom());
    return std::move(out_);
  }

 private:
  bool At(std::string_view s) const { return p_.substr(i_, s.size()) == s; }

  Status Atom() {
    char c = p_[i_];
    switch (c) {
      case '\\': {
        Ranges cls;
        char32_t cp = 0;
        std::string raw;
        CONVERGE_RETURN_IF_ERROR(Escape(/*in_class=*/false, cls, cp, raw));
        out_ += !raw.empty() ? raw : !cls.empty() ? ClassText(cls) : Hex(cp);
        return Status::Ok();
      }
      case '.':
        ++i_;
        out_ += "[^\\n\\r\\x{2028}\\x{2029}]";
        return Status::Ok();
      case '[':
        return Class();
      case '(':
        if (At("(?=") || At("(?!") || At("(?<=") || At("(?<!")) {
          return InvalidError("lookahead and lookbehind are not supported");
        }
        if (At("(?<")) {  // a named group; names are not needed to match
          size_t close = p_.find('>', i_);
          if (close == std::string_view::npos) return InvalidError("unterminated group name");
          i_ = close + 1;
          out_ += "(?:";
          return Status::Ok();
        }
        if (At("(?") && !At("(?:")) return InvalidError("unsupported group syntax \"(?\"");
        break;
      case '{': {  // a quantifier {n}, {n,}, {n,m} is copied; any other brace is a literal
        size_t j = i_ + 1, digits = 0;
        while (j < p_.size() && std::isdigit(static_cast<unsigned char>(p_[j]))) ++j, ++digits;
        if (digits > 0 && j < p_.size() && p_[j] == ',') {
          ++j;
          while (j < p_.size() && std::isdigit(static_cast<unsigned char>(p_[j]))) ++j;
        }
        if (digits > 0 && j < p_.size() && p_[j] == '}') {
          out_ += p_.substr(i_, j + 1 - i_);
          i_ = j + 1;
          return Status::Ok();
        }
        ++i_;
        out_ += "\\{";
        return Status::Ok();
      }
      case ']':
      case '}':
        ++i_;
        out_ += '\\';
        out_ += c;
        return Status::Ok();
      default:
        break;
    }
    ++i_;
    out_ += c;  // other bytes, including UTF-8 continuation bytes, mean the same in RE2
    return Status::Ok();
  }

  // Reads one escape after '\'. Sets `cls` for a class escape, else `cp` for one character, or
  // `raw` for RE2 text to copy (assertions, \p{...}).
  Status Escape(bool in_class, Ranges& cls, char32_t& cp, std::string& raw) {
    ++i_;
    if (i_ >= p_.size()) return InvalidError("pattern ends with a backslash");
    char c = p_[i_++];
    switch (c) {
      case 'd':
      case 'D':
        cls = {{U'0', U'9'}};
        break;
      case 'w':
      case 'W':
        cls = {{U'0', U'9'}, {U'A', U'Z'}, {U'_', U'_'}, {U'a', U'z'}};
        break;
      case 's':
      case 'S':
        cls = SpaceRanges();
        break;
      case 'b':
        if (in_class) return cp = 0x08, Status::Ok();
        return raw = "\\b", Status::Ok();
      case 'B':
        if (in_class) return InvalidError("\\B in a character class");
        return raw = "\\B", Status::Ok();
      case 'p':
      case 'P': {
        size_t close = p_.find('}', i_);
        if (i_ >= p_.size() || p_[i_] != '{' || close == std::string_view::npos) {
          return InvalidError(std::string("\\") + c + " needs a {name}");
        }
        raw = std::string("\\") + c + std::string(p_.substr(i_, close + 1 - i_));
        i_ = close + 1;
        return Status::Ok();
      }
      case 'n':
        return cp = '\n', Status::Ok();
      case 'r':
        return cp = '\r', Status::Ok();
      case 't':
        return cp = '\t', Status::Ok();
      case 'f':
        return cp = '\f', Status::Ok();
      case 'v':
        return cp = '\v', Status::Ok();
      case '0':
        if (i_ < p_.size() && p_[i_] >= '0' && p_[i_] <= '9') {
          return InvalidError("octal escapes are not supported");
        }
        return cp = 0, Status::Ok();
      case 'x':
        if (!ReadHex(2, cp)) return InvalidError("\\x needs two hex digits");
        return Status::Ok();
      case 'u':
        return UnicodeEscape(cp);
      case 'c':
        if (i_ < p_.size() && std::isalpha(static_cast<unsigned char>(p_[i_]))) {
          return cp = static_cast<unsigned char>(p_[i_++]) % 32, Status::Ok();
        }
        return InvalidError("\\c needs a letter");
      default:
        if (c >= '1' && c <= '9') return InvalidError("backreferences are not supported");
        if (std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80) {
          return InvalidError(std::string("unknown escape \\") + c);
        }
        return cp = static_cast<unsigned char>(c), Status::Ok();  // "\/", "\-", "\." ...
    }
    if (std::isupper(static_cast<unsigned char>(c))) cls = Complement(cls);
    return Status::Ok();
  }

  bool ReadHex(size_t n, char32_t& cp) {
    if (i_ + n > p_.size()) return false;
    cp = 0;
    for (size_t k = 0; k < n; ++k) {
      char h = p_[i_ + k];
      if (!std::isxdigit(static_cast<unsigned char>(h))) return false;
      cp = cp * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
    }
    i_ += n;
    return true;
  }

  // \uXXXX, joining a UTF-16 surrogate pair (\uD83D\uDE00) into one code point.
  Status UnicodeEscape(char32_t& cp) {
    if (!ReadHex(4, cp)) return InvalidError("\\u needs four hex digits");
    if (cp >= 0xD800 && cp <= 0xDBFF && At("\\u")) {
      size_t save = i_;
      i_ += 2;
      char32_t low = 0;
      if (ReadHex(4, low) && low >= 0xDC00 && low <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        return Status::Ok();
      }
      i_ = save;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // a lone surrogate never occurs in UTF-8
    return Status::Ok();
  }

  // One class member: a character (`cp`, returns true) or a class escape / \p (`cls`/`raw`).
  Status ClassAtom(Ranges& cls, char32_t& cp, std::string& raw, bool& single) {
    single = false;
    if (p_[i_] == '\\') {
      CONVERGE_RETURN_IF_ERROR(Escape(/*in_class=*/true, cls, cp, raw));
      single = cls.empty() && raw.empty();
      return Status::Ok();
    }
    size_t len = Utf8Length(p_, i_, &cp);
    if (len == 0) return InvalidError("pattern is not valid UTF-8");
    i_ += len;
    single = true;
    return Status::Ok();
  }

  // "[...]" as explicit ranges (so "[^]", "[]" and "[\S]" mean what ECMAScript says); \p{...}
  // members are kept as RE2 text inside the class.
  Status Class() {
    ++i_;
    bool negate = i_ < p_.size() && p_[i_] == '^';
    if (negate) ++i_;
    Ranges set;
    std::string props;
    while (true) {
      if (i_ >= p_.size()) return InvalidError("missing ']'");
      if (p_[i_] == ']') break;
      Ranges cls;
      char32_t lo = 0;
      std::string raw;
      bool single = false;
      CONVERGE_RETURN_IF_ERROR(ClassAtom(cls, lo, raw, single));
      if (single && i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
        ++i_;
        Ranges cls2;
        char32_t hi = 0;
        std::string raw2;
        bool single2 = false;
        CONVERGE_RETURN_IF_ERROR(ClassAtom(cls2, hi, raw2, single2));
        if (single2) {
          if (hi < lo) return InvalidError("range out of order in character class");
          set.emplace_back(lo, hi);
          continue;
        }
        set.emplace_back(lo, lo);  // "[a-\d]": ECMAScript (annex B) reads "-" literally
        set.emplace_back('-', '-');
        lo = 0, single = false, cls = std::move(cls2), raw = std::move(raw2);
      }
      if (single) set.emplace_back(lo, lo);
      set.insert(set.end(), cls.begin(), cls.end());
      props += raw;
    }
    ++i_;
    if (props.empty()) {
      out_ += ClassText(negate ? Complement(std::move(set)) : Complement(Complement(set)));
      return Status::Ok();
    }
    std::string text = negate ? "[^" : "[";
    for (const auto& [lo, hi] : Complement(Complement(set))) {
      text += lo == hi ? Hex(lo) : Hex(lo) + "-" + Hex(hi);
    }
    out_ += text + props + "]";
    return Status::Ok();
  }

  std::string_view p_;
  size_t i_ = 0;
  std::string out_;
};

// Replaces bytes that are not well-formed UTF-8 by U+FFFD; nullopt-like empty result when the
// text is already well formed (the common case costs one scan and no copy).
bool Sanitize(std::string_view text, std::string& out) {
  size_t i = 0;
  while (i < text.size() && static_cast<unsigned char>(text[i]) < 0x80) ++i;
  bool clean = true;
  for (size_t j = i; j < text.size();) {
    size_t len = Utf8Length(text, j);
    if (len == 0) {
      clean = false;
      break;
    }
    j += len;
  }
  if (clean) return false;
  out.assign(text.substr(0, i));
  while (i < text.size()) {
    size_t len = Utf8Length(text, i);
    out.append(len ? text.substr(i, len) : std::string_view("\xEF\xBF\xBD"));
    i += len ? len : 1;
  }
  return true;
}

}  // namespace

Result<std::string> TranslateEcmaPattern(std::string_view pattern) {
  return Translator(pattern).Run();
}

Result<SchemaPattern> SchemaPattern::Compile(const std::string& pattern) {
  Result<std::string> text = TranslateEcmaPattern(pattern);
  auto refuse = [&](const std::string& why) {
    return InvalidError("pattern " +
                        json(pattern).dump(-1, ' ', false, json::error_handler_t::replace) + ": " +
                        why);
  };
  if (!text.ok()) return refuse(text.status().message());
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingUTF8);
  options.set_never_capture(true);
  options.set_log_errors(false);
  options.set_max_mem(kMaxProgramBytes);
  auto re = std::make_shared<const RE2>(*text, options);
  if (!re->ok()) return refuse(re->error());
  SchemaPattern out;
  out.source_ = pattern;
  out.re_ = std::move(re);
  return out;
}

bool SchemaPattern::Search(std::string_view text) const {
  std::string clean;
  if (Sanitize(text, clean)) return RE2::PartialMatch(clean, *re_);
  return RE2::PartialMatch(text, *re_);
}

}  // namespace converge
