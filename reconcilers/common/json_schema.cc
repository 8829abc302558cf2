#include "reconcilers/common/json_schema.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <unordered_map>
#include <utility>

namespace converge {

// ---------------------------------------------------------------------------------------------
// SchemaPattern: parser (pattern -> syntax tree) and a Thompson automaton simulated in lock step
// over the text, so matching never backtracks and never recurses on the text.
// ---------------------------------------------------------------------------------------------

namespace {

using Ranges = std::vector<std::pair<char32_t, char32_t>>;  // inclusive code point ranges

constexpr char32_t kMaxCodePoint = 0x10FFFF;
constexpr size_t kMaxProgramSize = 20000;
constexpr int kMaxRepeat = 1000;
constexpr int kMaxGroupNesting = 100;

// Decodes UTF-8; a byte that does not start a well-formed sequence becomes U+FFFD.
std::u32string DecodeUtf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    bool ok = len > 0 && i + len <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr char32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (ok && (cp < kMinForLength[len] || cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF))) {
      ok = false;
    }
    out.push_back(ok ? cp : 0xFFFD);
    i += ok ? len : 1;
  }
  return out;
}

size_t CodePointCount(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void Normalize(Ranges& r) {
  std::sort(r.begin(), r.end());
  Ranges merged;
  for (const auto& [lo, hi] : r) {
    if (!merged.empty() && lo <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, hi);
    } else {
      merged.emplace_back(lo, hi);
    }
  }
  r = std::move(merged);
}

Ranges Complement(Ranges r) {
  Normalize(r);
  Ranges out;
  char32_t next = 0;
  for (const auto& [lo, hi] : r) {
    if (lo > next) out.emplace_back(next, lo - 1);
    next = hi + 1;
  }
  if (next <= kMaxCodePoint) out.emplace_back(next, kMaxCodePoint);
  return out;
}

Ranges DigitRanges() {
  return {{U'0', U'9'}};
}
Ranges WordRanges() {
  return {{U'0', U'9'}, {U'A', U'Z'}, {U'_', U'_'}, {U'a', U'z'}};
}
Ranges SpaceRanges() {
  return {{0x09, 0x0D},     {0x20, 0x20},     {0xA0, 0xA0},     {0x1680, 0x1680}, {0x2000, 0x200A},
          {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
}
Ranges LineTerminators() {
  return {{0x0A, 0x0A}, {0x0D, 0x0D}, {0x2028, 0x2029}};
}

struct Node {
  enum Kind { kEmpty, kClass, kBegin, kEnd, kConcat, kAlt, kRepeat } kind = kEmpty;
  int cls = -1;
  int min = 0;
  int max = 0;  // kRepeat; -1 = unbounded
  std::vector<Node> kids;
};

// Recursive descent over the pattern (bounded by kMaxGroupNesting; patterns come from schemas,
// not from instances).
class PatternParser {
 public:
  PatternParser(std::u32string p, std::vector<Ranges>* classes)
      : p_(std::move(p)), classes_(classes) {}

  Status Parse(Node& out) {
    CONVERGE_RETURN_IF_ERROR(ParseAlt(out, 0));
    if (pos_ < p_.size()) return InvalidError("unmatched ')'");
    return Status::Ok();
  }

 private:
  bool AtEnd() const { return pos_ >= p_.size(); }
  char32_t Peek(size_t ahead = 0) const { return pos_ + ahead < p_.size() ? p_[pos_ + ahead] : 0; }

  Node ClassNode(Ranges r) {
    Normalize(r);
    classes_->push_back(std::move(r));
    Node n;
    n.kind = Node::kClass;
    n.cls = static_cast<int>(classes_->size()) - 1;
    return n;
  }

  Status ParseAlt(Node& out, int nesting) {
    if (nesting > kMaxGroupNesting) return InvalidError("groups nested too deeply");
    Node alt;
    alt.kind = Node::kAlt;
    while (true) {
      Node seq;
      CONVERGE_RETURN_IF_ERROR(ParseConcat(seq, nesting));
      alt.kids.push_back(std::move(seq));
      if (AtEnd() || Peek() != U'|') break;
      ++pos_;
    }
    out = alt.kids.size() == 1 ? std::move(alt.kids[0]) : std::move(alt);
    return Status::Ok();
  }

  Status ParseConcat(Node& out, int nesting) {
    out.kind = Node::kConcat;
    while (!AtEnd() && Peek() != U'|' && Peek() != U')') {
      Node atom;
      bool assertion = false;
      CONVERGE_RETURN_IF_ERROR(ParseAtom(atom, nesting, assertion));
      int min = 0, max = 0;
      bool quantified = false;
      CONVERGE_RETURN_IF_ERROR(ParseQuantifier(min, max, quantified));
      if (quantified) {
        if (assertion) return InvalidError("nothing to repeat before a quantifier");
        Node rep;
        rep.kind = Node::kRepeat;
        rep.min = min;
        rep.max = max;
        rep.kids.push_back(std::move(atom));
        atom = std::move(rep);
      }
      out.kids.push_back(std::move(atom));
    }
    return Status::Ok();
  }

  // Reads "{n}", "{n,}" or "{n,m}" at pos_ without consuming it unless it is one.
  bool ReadBraces(int& min, int& max, size_t& end) const {
    size_t i = pos_ + 1;
    auto number = [&](int& v) {
      size_t start = i;
      long long n = 0;
      while (i < p_.size() && p_[i] >= U'0' && p_[i] <= U'9') {
        n = std::min<long long>(n * 10 + (p_[i] - U'0'), 1000000);
        ++i;
      }
      v = static_cast<int>(n);
      return i > start;
    };
    if (!number(min)) return false;
    max = min;
    if (i < p_.size() && p_[i] == U',') {
      ++i;
      if (!number(max)) max = -1;
    }
    if (i >= p_.size() || p_[i] != U'}') return false;
    end = i + 1;
    return true;
  }

  Status ParseQuantifier(int& min, int& max, bool& quantified) {
    quantified = true;
    char32_t c = Peek();
    if (AtEnd()) {
      quantified = false;
    } else if (c == U'*') {
      min = 0, max = -1, ++pos_;
    } else if (c == U'+') {
      min = 1, max = -1, ++pos_;
    } else if (c == U'?') {
      min = 0, max = 1, ++pos_;
    } else if (size_t end = 0; c == U'{' && ReadBraces(min, max, end)) {
      pos_ = end;
      if (max != -1 && max < min) return InvalidError("numbers out of order in {} quantifier");
      if (min > kMaxRepeat || max > kMaxRepeat) {
        return InvalidError("repetition count above " + std::to_string(kMaxRepeat));
      }
    } else {
      quantified = false;
    }
    if (quantified && Peek() == U'?') ++pos_;  // lazy: matches the same strings
    return Status::Ok();
  }

  Status ParseAtom(Node& out, int nesting, bool& assertion) {
    char32_t c = p_[pos_++];
    switch (c) {
      case U'^':
        out.kind = Node::kBegin, assertion = true;
        return Status::Ok();
      case U'$':
        out.kind = Node::kEnd, assertion = true;
        return Status::Ok();
      case U'.':
        out = ClassNode(Complement(LineTerminators()));
        return Status::Ok();
      case U'(':
        if (Peek() == U'?') {
          if (Peek(1) != U':') return InvalidError("lookaround and named groups are not supported");
          pos_ += 2;
        }
        CONVERGE_RETURN_IF_ERROR(ParseAlt(out, nesting + 1));
        if (AtEnd() || Peek() != U')') return InvalidError("missing ')'");
        ++pos_;
        return Status::Ok();
      case U'[':
        return ParseClass(out);
      case U'\\': {
        Ranges r;
        bool single = false;
        CONVERGE_RETURN_IF_ERROR(ParseEscape(r, single, /*in_class=*/false));
        out = ClassNode(std::move(r));
        return Status::Ok();
      }
      case U'*':
      case U'+':
      case U'?':
        return InvalidError("nothing to repeat before a quantifier");
      case U'{': {
        int min = 0, max = 0;
        size_t end = 0;
        --pos_;
        bool is_quantifier = ReadBraces(min, max, end);
        ++pos_;
        if (is_quantifier) return InvalidError("nothing to repeat before a quantifier");
        out = ClassNode({{c, c}});  // a lone "{" is a literal (ECMAScript Annex B)
        return Status::Ok();
      }
      default:
        out = ClassNode({{c, c}});
        return Status::Ok();
    }
  }

  static int HexValue(char32_t c) {
    if (c >= U'0' && c <= U'9') return static_cast<int>(c - U'0');
    if (c >= U'a' && c <= U'f') return static_cast<int>(c - U'a' + 10);
    if (c >= U'A' && c <= U'F') return static_cast<int>(c - U'A' + 10);
    return -1;
  }

  bool ReadHex(int digits, char32_t& out) {
    char32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      int h = HexValue(Peek(i));
      if (h < 0) return false;
      v = v * 16 + h;
    }
    pos_ += digits;
    out = v;
    return true;
  }

  // After a backslash. `single` is set when the escape stands for exactly one code point (so it
  // can end a class range).
  Status ParseEscape(Ranges& out, bool& single, bool in_class) {
    if (AtEnd()) return InvalidError("pattern ends with a backslash");
    char32_t c = p_[pos_++];
    single = false;
    switch (c) {
      case U'd':
        out = DigitRanges();
        return Status::Ok();
      case U'D':
        out = Complement(DigitRanges());
        return Status::Ok();
      case U'w':
        out = WordRanges();
        return Status::Ok();
      case U'W':
        out = Complement(WordRanges());
        return Status::Ok();
      case U's':
        out = SpaceRanges();
        return Status::Ok();
      case U'S':
        out = Complement(SpaceRanges());
        return Status::Ok();
      default:
        break;
    }
    single = true;
    char32_t cp = c;
    switch (c) {
      case U'b':
        if (!in_class) return InvalidError("\\b word boundaries are not supported");
        cp = 0x08;
        break;
      case U'B':
        return InvalidError("\\B is not supported");
      case U'n':
        cp = 0x0A;
        break;
      case U'r':
        cp = 0x0D;
        break;
      case U't':
        cp = 0x09;
        break;
      case U'f':
        cp = 0x0C;
        break;
      case U'v':
        cp = 0x0B;
        break;
      case U'0':
        if (Peek() >= U'0' && Peek() <= U'9')
          return InvalidError("octal escapes are not supported");
        cp = 0;
        break;
      case U'x':
        if (!ReadHex(2, cp)) return InvalidError("\\x needs two hex digits");
        break;
      case U'u': {
        if (!ReadHex(4, cp)) return InvalidError("\\u needs four hex digits");
        char32_t low = 0;
        if (cp >= 0xD800 && cp <= 0xDBFF && Peek() == U'\\' && Peek(1) == U'u') {
          size_t save = pos_;
          pos_ += 2;
          if (ReadHex(4, low) && low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else {
            pos_ = save;
          }
        }
        break;
      }
      case U'c': {
        char32_t l = Peek();
        if (!((l >= U'a' && l <= U'z') || (l >= U'A' && l <= U'Z'))) {
          return InvalidError("\\c needs a letter");
        }
        ++pos_;
        cp = l % 32;
        break;
      }
      default:
        if (c >= U'1' && c <= U'9') return InvalidError("backreferences are not supported");
        if ((c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z')) {
          return InvalidError(std::string("unknown escape \\") + static_cast<char>(c));
        }
        break;  // identity escape: \. \/ \- \\ ...
    }
    out = {{cp, cp}};
    return Status::Ok();
  }

  // After "[": one class atom (a code point or an escape).
  Status ParseClassAtom(Ranges& r, bool& single) {
    char32_t c = p_[pos_++];
    if (c == U'\\') return ParseEscape(r, single, /*in_class=*/true);
    r = {{c, c}};
    single = true;
    return Status::Ok();
  }

  Status ParseClass(Node& out) {
    bool negated = Peek() == U'^' && !AtEnd();
    if (negated) ++pos_;
    Ranges set;
    while (true) {
      if (AtEnd()) return InvalidError("missing ']'");
      if (Peek() == U']') break;
      Ranges a;
      bool a_single = false;
      CONVERGE_RETURN_IF_ERROR(ParseClassAtom(a, a_single));
      bool range = a_single && Peek() == U'-' && pos_ + 1 < p_.size() && Peek(1) != U']';
      if (!range) {
        set.insert(set.end(), a.begin(), a.end());
        continue;
      }
      ++pos_;  // '-'
      Ranges b;
      bool b_single = false;
      CONVERGE_RETURN_IF_ERROR(ParseClassAtom(b, b_single));
      if (!b_single) {  // [a-\d]: the dash is a literal (Annex B)
        set.insert(set.end(), a.begin(), a.end());
        set.emplace_back(U'-', U'-');
        set.insert(set.end(), b.begin(), b.end());
        continue;
      }
      if (a[0].first > b[0].first) return InvalidError("range out of order in character class");
      set.emplace_back(a[0].first, b[0].first);
    }
    ++pos_;  // ']'
    out = ClassNode(negated ? Complement(std::move(set)) : std::move(set));
    return Status::Ok();
  }

  std::u32string p_;
  size_t pos_ = 0;
  std::vector<Ranges>* classes_;
};

}  // namespace

struct SchemaPattern::Program {
  enum Op : uint8_t { kClass, kSplit, kJmp, kBegin, kEnd, kMatch };
  struct Inst {
    Op op;
    int x = 0;  // kClass: class index; kSplit/kJmp: target
    int y = 0;  // kSplit: second target
  };
  std::vector<Inst> code;
  std::vector<Ranges> classes;

  bool InClass(int cls, char32_t c) const {
    const Ranges& r = classes[cls];
    auto it = std::upper_bound(r.begin(), r.end(), c,
                               [](char32_t v, const auto& range) { return v < range.first; });
    return it != r.begin() && c <= std::prev(it)->second;
  }

  Status Emit(const Node& n) {
    if (code.size() > kMaxProgramSize) return InvalidError("pattern too large");
    auto at = [&] { return static_cast<int>(code.size()); };
    switch (n.kind) {
      case Node::kEmpty:
        break;
      case Node::kClass:
        code.push_back({kClass, n.cls, 0});
        break;
      case Node::kBegin:
        code.push_back({kBegin});
        break;
      case Node::kEnd:
        code.push_back({kEnd});
        break;
      case Node::kConcat:
        for (const Node& k : n.kids) CONVERGE_RETURN_IF_ERROR(Emit(k));
        break;
      case Node::kAlt: {
        std::vector<int> exits;
        for (size_t i = 0; i < n.kids.size(); ++i) {
          if (i + 1 == n.kids.size()) {
            CONVERGE_RETURN_IF_ERROR(Emit(n.kids[i]));
            break;
          }
          int split = at();
          code.push_back({kSplit, split + 1, 0});
          CONVERGE_RETURN_IF_ERROR(Emit(n.kids[i]));
          exits.push_back(at());
          code.push_back({kJmp});
          code[split].y = at();
        }
        for (int e : exits) code[e].x = at();
        break;
      }
      case Node::kRepeat: {
        for (int i = 0; i < n.min; ++i) CONVERGE_RETURN_IF_ERROR(Emit(n.kids[0]));
        if (n.max == -1) {
          int loop = at();
          code.push_back({kSplit, loop + 1, 0});
          CONVERGE_RETURN_IF_ERROR(Emit(n.kids[0]));
          code.push_back({kJmp, loop, 0});
          code[loop].y = at();
        } else {
          std::vector<int> splits;
          for (int i = n.min; i < n.max; ++i) {
            splits.push_back(at());
            code.push_back({kSplit, at() + 1, 0});
            CONVERGE_RETURN_IF_ERROR(Emit(n.kids[0]));
          }
          for (int s : splits) code[s].y = at();
        }
        break;
      }
    }
    if (code.size() > kMaxProgramSize) return InvalidError("pattern too large");
    return Status::Ok();
  }
};

Result<SchemaPattern> SchemaPattern::Compile(const std::string& pattern) {
  auto program = std::make_shared<Program>();
  Node root;
  PatternParser parser(DecodeUtf8(pattern), &program->classes);
  Status st = parser.Parse(root);
  if (st.ok()) st = program->Emit(root);
  if (!st.ok()) return InvalidError("pattern " + json(pattern).dump() + ": " + st.message());
  program->code.push_back({Program::kMatch});
  SchemaPattern p;
  p.source_ = pattern;
  p.program_ = std::move(program);
  return p;
}

bool SchemaPattern::Search(std::string_view text) const {
  const std::u32string s = DecodeUtf8(text);
  const auto& code = program_->code;
  std::vector<size_t> stamp(code.size(), SIZE_MAX);  // position at which a pc was last added
  std::vector<int> current, next, stack;

  // Adds the epsilon closure of `pc` at text position `pos`; true if it reaches kMatch.
  auto add = [&](std::vector<int>& list, int pc0, size_t pos) {
    stack.assign(1, pc0);
    while (!stack.empty()) {
      int pc = stack.back();
      stack.pop_back();
      if (stamp[pc] == pos) continue;
      stamp[pc] = pos;
      const Program::Inst& in = code[pc];
      switch (in.op) {
        case Program::kMatch:
          return true;
        case Program::kJmp:
          stack.push_back(in.x);
          break;
        case Program::kSplit:
          stack.push_back(in.y), stack.push_back(in.x);
          break;
        case Program::kBegin:
          if (pos == 0) stack.push_back(pc + 1);
          break;
        case Program::kEnd:
          if (pos == s.size()) stack.push_back(pc + 1);
          break;
        case Program::kClass:
          list.push_back(pc);
          break;
      }
    }
    return false;
  };

  for (size_t pos = 0;; ++pos) {
    if (add(current, 0, pos)) return true;  // unanchored: a new attempt starts at every position
    if (pos == s.size()) return false;
    next.clear();
    for (int pc : current) {
      if (program_->InClass(code[pc].x, s[pos]) && add(next, pc + 1, pos + 1)) return true;
    }
    current.swap(next);
  }
}

std::string EscapePointerToken(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Schema compilation: check keyword shapes once so validation can trust them.
// ---------------------------------------------------------------------------------------------

struct JsonSchema::Impl {
  std::map<std::string, SchemaPattern> patterns;  // by source text
  std::map<std::string, const json*> refs;        // "$ref" value -> target

  const SchemaPattern& Pattern(const std::string& src) const { return patterns.at(src); }
  const json& Ref(const json& schema) const {
    return *refs.at(schema.at("$ref").get_ref<const std::string&>());
  }
};

namespace {

const std::set<std::string>& TypeNames() {
  static const std::set<std::string> kNames = {"array",  "boolean", "integer", "null",
                                               "number", "object",  "string"};
  return kNames;
}

class SchemaCompiler {
 public:
  SchemaCompiler(const json& root, JsonSchema::Impl& impl) : root_(root), impl_(impl) {}

  Status Compile(const json& s, const std::string& where, int depth) {
    if (depth > JsonSchema::kMaxDepth) return Error(where, "schema nested too deeply");
    if (!s.is_object()) return Error(where, "a schema must be an object");
    if (!visited_.insert(&s).second) return Status::Ok();
    if (auto it = s.find("$ref"); it != s.end()) return CompileRef(*it, where, depth);
    CONVERGE_RETURN_IF_ERROR(CheckScalars(s, where));
    CONVERGE_RETURN_IF_ERROR(CheckTypeAndEnum(s, where));
    for (const char* k : {"properties", "patternProperties", "definitions"}) {
      if (!s.contains(k)) continue;
      if (!s[k].is_object()) return Error(where + "/" + k, "must be an object");
      for (const auto& [name, sub] : s[k].items()) {
        if (std::string(k) == "patternProperties")
          CONVERGE_RETURN_IF_ERROR(AddPattern(name, where));
        CONVERGE_RETURN_IF_ERROR(
            Compile(sub, where + "/" + k + "/" + EscapePointerToken(name), depth + 1));
      }
    }
    for (const char* k : {"additionalProperties", "additionalItems"}) {
      if (s.contains(k) && !s[k].is_boolean()) {
        CONVERGE_RETURN_IF_ERROR(Compile(s[k], where + "/" + k, depth + 1));
      }
    }
    if (s.contains("not")) CONVERGE_RETURN_IF_ERROR(Compile(s["not"], where + "/not", depth + 1));
    if (s.contains("items")) {
      if (s["items"].is_array()) {
        CONVERGE_RETURN_IF_ERROR(CompileList(s["items"], where + "/items", depth, true));
      } else {
        CONVERGE_RETURN_IF_ERROR(Compile(s["items"], where + "/items", depth + 1));
      }
    }
    for (const char* k : {"allOf", "anyOf", "oneOf"}) {
      if (!s.contains(k)) continue;
      if (!s[k].is_array() || s[k].empty())
        return Error(where + "/" + k, "must be a non-empty array");
      CONVERGE_RETURN_IF_ERROR(CompileList(s[k], where + "/" + k, depth, false));
    }
    if (s.contains("dependencies")) CONVERGE_RETURN_IF_ERROR(CompileDependencies(s, where, depth));
    return Status::Ok();
  }

 private:
  static Status Error(const std::string& where, const std::string& what) {
    return InvalidError("invalid schema at \"#" + where + "\": " + what);
  }

  Status CompileList(const json& list, const std::string& where, int depth, bool allow_empty) {
    if (!list.is_array() || (!allow_empty && list.empty())) return Error(where, "must be an array");
    for (size_t i = 0; i < list.size(); ++i) {
      CONVERGE_RETURN_IF_ERROR(Compile(list[i], where + "/" + std::to_string(i), depth + 1));
    }
    return Status::Ok();
  }

  Status CompileRef(const json& ref, const std::string& where, int depth) {
    if (!ref.is_string()) return Error(where + "/$ref", "must be a string");
    const std::string& r = ref.get_ref<const std::string&>();
    if (r.empty() || r[0] != '#')
      return Error(where + "/$ref", "only local references are supported");
    const json* target = nullptr;
    try {
      json::json_pointer ptr(r.substr(1));
      if (root_.contains(ptr)) target = &root_.at(ptr);
    } catch (const json::exception&) {
    }
    if (target == nullptr) return Error(where + "/$ref", "\"" + r + "\" does not resolve");
    impl_.refs[r] = target;
    return Compile(*target, r.substr(1), depth + 1);
  }

  Status AddPattern(const std::string& src, const std::string& where) {
    if (impl_.patterns.count(src)) return Status::Ok();
    Result<SchemaPattern> p = SchemaPattern::Compile(src);
    if (!p.ok()) return Error(where, p.status().message());
    impl_.patterns.emplace(src, std::move(p).value());
    return Status::Ok();
  }

  Status CheckScalars(const json& s, const std::string& where) {
    for (const char* k : {"minimum", "maximum", "multipleOf"}) {
      if (s.contains(k) && !s[k].is_number()) return Error(where + "/" + k, "must be a number");
    }
    if (s.contains("multipleOf") && !(s["multipleOf"].get<double>() > 0)) {
      return Error(where + "/multipleOf", "must be greater than 0");
    }
    for (const char* k : {"exclusiveMinimum", "exclusiveMaximum", "uniqueItems"}) {
      if (s.contains(k) && !s[k].is_boolean()) return Error(where + "/" + k, "must be a boolean");
    }
    for (const char* k :
         {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"}) {
      if (s.contains(k) && !s[k].is_number_unsigned() &&
          !(s[k].is_number_integer() && s[k].get<int64_t>() >= 0)) {
        return Error(where + "/" + k, "must be a non-negative integer");
      }
    }
    if (s.contains("pattern")) {
      if (!s["pattern"].is_string()) return Error(where + "/pattern", "must be a string");
      CONVERGE_RETURN_IF_ERROR(AddPattern(s["pattern"].get<std::string>(), where + "/pattern"));
    }
    if (s.contains("required")) {
      const json& r = s["required"];
      if (!r.is_array() ||
          !std::all_of(r.begin(), r.end(), [](const json& x) { return x.is_string(); })) {
        return Error(where + "/required", "must be an array of strings");
      }
    }
    return Status::Ok();
  }

  Status CheckTypeAndEnum(const json& s, const std::string& where) {
    if (s.contains("enum") && !s["enum"].is_array())
      return Error(where + "/enum", "must be an array");
    if (!s.contains("type")) return Status::Ok();
    const json& t = s["type"];
    auto known = [](const json& x) {
      return x.is_string() && TypeNames().count(x.get<std::string>());
    };
    if (known(t)) return Status::Ok();
    if (t.is_array() && !t.empty() && std::all_of(t.begin(), t.end(), known)) return Status::Ok();
    return Error(where + "/type", "must be a type name or an array of type names");
  }

  Status CompileDependencies(const json& s, const std::string& where, int depth) {
    const json& deps = s["dependencies"];
    if (!deps.is_object()) return Error(where + "/dependencies", "must be an object");
    for (const auto& [name, dep] : deps.items()) {
      std::string w = where + "/dependencies/" + EscapePointerToken(name);
      if (dep.is_array()) {
        if (!std::all_of(dep.begin(), dep.end(), [](const json& x) { return x.is_string(); })) {
          return Error(w, "must list field names");
        }
      } else {
        CONVERGE_RETURN_IF_ERROR(Compile(dep, w, depth + 1));
      }
    }
    return Status::Ok();
  }

  const json& root_;
  JsonSchema::Impl& impl_;
  std::set<const json*> visited_;
};

// ---------------------------------------------------------------------------------------------
// Helpers shared by validation and coercion.
// ---------------------------------------------------------------------------------------------

bool IsInteger(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool HasType(const json& v, const std::string& t) {
  if (t == "integer") return IsInteger(v);
  if (t == "number") return v.is_number();
  if (t == "string") return v.is_string();
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "boolean") return v.is_boolean();
  return t == "null" && v.is_null();
}

// The declared type names of a schema (empty = any).
std::vector<std::string> DeclaredTypes(const json& s) {
  if (!s.contains("type")) return {};
  const json& t = s["type"];
  if (t.is_string()) return {t.get<std::string>()};
  return t.get<std::vector<std::string>>();
}

bool TypeAccepts(const json& s, const json& v) {
  std::vector<std::string> types = DeclaredTypes(s);
  return types.empty() ||
         std::any_of(types.begin(), types.end(), [&](const auto& t) { return HasType(v, t); });
}

std::string Dump(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A string for messages: JSON-quoted, cut after ~60 bytes.
std::string Quote(const std::string& s) {
  constexpr size_t kMax = 60;
  if (s.size() <= kMax) return Dump(json(s));
  std::string cut = Dump(json(s.substr(0, kMax)));
  cut.pop_back();
  return cut + "…\"";
}

std::string Describe(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return std::string("boolean ") + (v.get<bool>() ? "true" : "false");
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer " + Dump(v);
    case json::value_t::number_float:
      return "number " + Dump(v);
    case json::value_t::string:
      return "string " + Quote(v.get_ref<const std::string&>());
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "value";
  }
}

std::string JoinOr(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

// Compares two JSON numbers exactly when both are integers. Returns <0, 0, >0.
int CompareNumbers(const json& a, const json& b) {
  auto wide = [](const json& v) {
    return v.is_number_unsigned() ? static_cast<__int128>(v.get<uint64_t>())
                                  : static_cast<__int128>(v.get<int64_t>());
  };
  if (a.is_number_integer() && b.is_number_integer()) {
    __int128 x = wide(a), y = wide(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  long double x = a.get<long double>(), y = b.get<long double>();
  return x < y ? -1 : x > y ? 1 : 0;
}

// A canonical text for uniqueness checks: numbers by value (1 == 1.0), keys sorted. False if
// the value nests deeper than `depth_left`.
bool Canonical(const json& v, int depth_left, std::string& out) {
  if (depth_left <= 0) return false;
  if (v.is_number()) {
    if (IsInteger(v) && (v.is_number_integer() || std::fabs(v.get<double>()) < 9.2e18)) {
      out += v.is_number_unsigned() ? std::to_string(v.get<uint64_t>())
                                    : std::to_string(v.get<int64_t>());
    } else {
      out += Dump(v);
    }
  } else if (v.is_array()) {
    out += '[';
    for (const json& e : v) {
      if (!Canonical(e, depth_left - 1, out)) return false;
      out += ',';
    }
    out += ']';
  } else if (v.is_object()) {
    out += '{';
    for (const auto& [k, e] : v.items()) {
      out += Dump(json(k)) + ':';
      if (!Canonical(e, depth_left - 1, out)) return false;
      out += ',';
    }
    out += '}';
  } else {
    out += Dump(v);
  }
  return true;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string ClosestName(const std::string& key, const std::vector<std::string>& names) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  if (key.size() > 64) return best;
  for (const std::string& name : names) {
    size_t d = EditDistance(key, name);
    if (d < best_distance) best_distance = d, best = name;
  }
  size_t close_enough = best.size() <= 4 ? 1 : std::max<size_t>(2, best.size() / 4);
  return best_distance <= close_enough ? best : std::string();
}

namespace {

// `unknown field "foo" (allowed: a, b, …)` or `unknown field "instanse"; did you mean
// "instances"?`.
std::string UnknownFieldMessage(const json& schema, const std::string& key) {
  std::string msg = "unknown field " + Quote(key);
  if (!schema.contains("properties") || schema["properties"].empty()) return msg;
  std::vector<std::string> allowed;
  for (const auto& [name, _] : schema["properties"].items()) allowed.push_back(name);
  if (std::string best = ClosestName(key, allowed); !best.empty()) {
    return msg + "; did you mean " + Quote(best) + "?";
  }
  constexpr size_t kShown = 8;
  msg += " (allowed: ";
  for (size_t i = 0; i < allowed.size() && i < kShown; ++i) msg += (i ? ", " : "") + allowed[i];
  if (allowed.size() > kShown) msg += ", … " + std::to_string(allowed.size() - kShown) + " more";
  return msg + ")";
}

// True if `s` only requires members (a "required", possibly split over allOf); collects them.
bool RequiredConjunction(const json& s, std::vector<std::string>& names, int depth) {
  if (!s.is_object() || depth > 8) return false;
  bool any = false;
  for (const auto& [k, v] : s.items()) {
    if (k == "required") {
      for (const json& n : v) names.push_back(n.get<std::string>());
      any = true;
    } else if (k == "allOf") {
      for (const json& sub : v) {
        if (!RequiredConjunction(sub, names, depth + 1)) return false;
      }
      any = true;
    } else if (k != "description" && k != "title") {
      return false;
    }
  }
  return any;
}

// ---------------------------------------------------------------------------------------------
// Validation.
// ---------------------------------------------------------------------------------------------

class Checker {
 public:
  Checker(const JsonSchema::Impl& impl, size_t limit, std::string path)
      : impl_(impl), limit_(limit), path_(std::move(path)) {}

  void Check(const json& s, const json& v, int depth) {
    if (full()) return;
    if (depth > JsonSchema::kMaxDepth) {
      Add("nesting too deep (more than " + std::to_string(JsonSchema::kMaxDepth) + " levels)");
      return;
    }
    if (s.contains("$ref")) return Check(impl_.Ref(s), v, depth + 1);
    if (!TypeAccepts(s, v)) {
      Add("expected " + JoinOr(DeclaredTypes(s)) + ", found " + Describe(v));
      return;
    }
    if (s.contains("enum")) CheckEnum(s["enum"], v);
    if (v.is_number()) CheckNumber(s, v);
    if (v.is_string()) CheckString(s, v.get_ref<const std::string&>());
    if (v.is_array()) CheckArray(s, v, depth);
    if (v.is_object()) CheckObject(s, v, depth);
    CheckCombinators(s, v, depth);
  }

  std::vector<SchemaViolation>& violations() { return out_; }
  bool full() const { return out_.size() >= limit_; }

 private:
  class PathPush {
   public:
    PathPush(std::string& path, const std::string& token) : path_(path), size_(path.size()) {
      path_ += '/';
      path_ += EscapePointerToken(token);
    }
    ~PathPush() { path_.resize(size_); }

   private:
    std::string& path_;
    size_t size_;
  };

  void Add(std::string message) { AddAt(path_, std::move(message)); }
  void AddAt(std::string path, std::string message) {
    if (!full()) out_.push_back({std::move(path), std::move(message)});
  }

  void CheckEnum(const json& allowed, const json& v) {
    if (std::any_of(allowed.begin(), allowed.end(), [&](const json& a) { return a == v; })) return;
    constexpr size_t kShown = 12;
    std::string list;
    for (size_t i = 0; i < allowed.size() && i < kShown; ++i) {
      list += (i ? ", " : "") + Dump(allowed[i]);
    }
    if (allowed.size() > kShown) list += ", …";
    std::string found = v.is_string() ? Quote(v.get<std::string>()) : Describe(v);
    Add("must be one of " + list + " (found " + found + ")");
  }

  void CheckNumber(const json& s, const json& v) {
    if (s.contains("minimum")) {
      bool excl = s.value("exclusiveMinimum", false);
      int c = CompareNumbers(v, s["minimum"]);
      if (c < 0 || (excl && c == 0)) {
        Add(std::string(excl ? "must be greater than " : "must be at least ") + Dump(s["minimum"]) +
            ", found " + Dump(v));
      }
    }
    if (s.contains("maximum")) {
      bool excl = s.value("exclusiveMaximum", false);
      int c = CompareNumbers(v, s["maximum"]);
      if (c > 0 || (excl && c == 0)) {
        Add(std::string(excl ? "must be less than " : "must be at most ") + Dump(s["maximum"]) +
            ", found " + Dump(v));
      }
    }
    if (s.contains("multipleOf")) {
      const json& m = s["multipleOf"];
      bool ok;
      if (v.is_number_integer() && m.is_number_integer()) {
        __int128 x = v.is_number_unsigned() ? static_cast<__int128>(v.get<uint64_t>())
                                            : static_cast<__int128>(v.get<int64_t>());
        __int128 d = m.is_number_unsigned() ? static_cast<__int128>(m.get<uint64_t>())
                                            : static_cast<__int128>(m.get<int64_t>());
        ok = x % d == 0;
      } else {
        double q = v.get<double>() / m.get<double>();
        ok = std::isfinite(q) && std::fabs(q - std::round(q)) < 1e-9;
      }
      if (!ok) Add("must be a multiple of " + Dump(m) + ", found " + Dump(v));
    }
  }

  void CheckString(const json& s, const std::string& v) {
    size_t len = CodePointCount(v);
    if (s.contains("minLength") && len < s["minLength"].get<size_t>()) {
      size_t min = s["minLength"].get<size_t>();
      Add(len == 0 && min == 1 ? std::string("must not be empty")
                               : "must be at least " + std::to_string(min) +
                                     " characters long, found " + std::to_string(len));
    }
    if (s.contains("maxLength") && len > s["maxLength"].get<size_t>()) {
      Add("must be at most " + std::to_string(s["maxLength"].get<size_t>()) +
          " characters long, found " + std::to_string(len));
    }
    if (s.contains("pattern")) {
      const std::string& src = s["pattern"].get_ref<const std::string&>();
      if (v.size() > JsonSchema::kMaxPatternInput) {
        Add("too long to check against pattern " + Quote(src) + " (" + std::to_string(v.size()) +
            " bytes; limit " + std::to_string(JsonSchema::kMaxPatternInput) + ")");
      } else if (!impl_.Pattern(src).Search(v)) {
        Add("must match pattern " + Dump(json(src)) + ", found " + Quote(v));
      }
    }
  }

  void CheckArray(const json& s, const json& v, int depth) {
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) {
      Add("must have at least " + std::to_string(s["minItems"].get<size_t>()) + " items, found " +
          std::to_string(v.size()));
    }
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) {
      Add("must have at most " + std::to_string(s["maxItems"].get<size_t>()) + " items, found " +
          std::to_string(v.size()));
    }
    if (s.value("uniqueItems", false)) CheckUnique(v);
    if (!s.contains("items")) return;
    const json& items = s["items"];
    if (!items.is_array()) {
      for (size_t i = 0; i < v.size() && !full(); ++i) {
        PathPush p(path_, std::to_string(i));
        Check(items, v[i], depth + 1);
      }
      return;
    }
    for (size_t i = 0; i < v.size() && !full(); ++i) {
      PathPush p(path_, std::to_string(i));
      if (i < items.size()) {
        Check(items[i], v[i], depth + 1);
      } else if (s.contains("additionalItems") && s["additionalItems"].is_object()) {
        Check(s["additionalItems"], v[i], depth + 1);
      } else if (s.contains("additionalItems") && !s["additionalItems"].get<bool>()) {
        Add("unexpected item: at most " + std::to_string(items.size()) + " items allowed, found " +
            std::to_string(v.size()));
        return;
      }
    }
  }

  void CheckUnique(const json& v) {
    std::unordered_map<std::string, size_t> seen;
    for (size_t i = 0; i < v.size(); ++i) {
      std::string key;
      if (!Canonical(v[i], JsonSchema::kMaxDepth, key)) {
        Add("items nested too deeply to check that they are unique");
        return;
      }
      auto [it, inserted] = seen.emplace(std::move(key), i);
      if (!inserted) {
        Add("items must be unique: items " + std::to_string(it->second) + " and " +
            std::to_string(i) + " are equal");
        return;
      }
    }
  }

  void CheckObject(const json& s, const json& v, int depth) {
    if (s.contains("required")) {
      for (const json& name : s["required"]) {
        if (!v.contains(name.get_ref<const std::string&>())) {
          Add("missing required field " + Quote(name.get<std::string>()));
        }
      }
    }
    if (s.contains("minProperties") && v.size() < s["minProperties"].get<size_t>()) {
      Add("must have at least " + std::to_string(s["minProperties"].get<size_t>()) + " fields");
    }
    if (s.contains("maxProperties") && v.size() > s["maxProperties"].get<size_t>()) {
      Add("must have at most " + std::to_string(s["maxProperties"].get<size_t>()) + " fields");
    }
    for (const auto& [key, value] : v.items()) {
      if (full()) return;
      CheckMember(s, key, value, depth);
    }
    if (s.contains("dependencies")) CheckDependencies(s["dependencies"], v, depth);
  }

  // properties / patternProperties / additionalProperties for one member.
  void CheckMember(const json& s, const std::string& key, const json& value, int depth) {
    PathPush p(path_, key);
    bool matched = false;
    if (s.contains("properties") && s["properties"].contains(key)) {
      matched = true;
      Check(s["properties"][key], value, depth + 1);
    }
    if (s.contains("patternProperties")) {
      for (const auto& [src, sub] : s["patternProperties"].items()) {
        if (key.size() > JsonSchema::kMaxPatternInput) {
          Add("field name too long (" + std::to_string(key.size()) + " bytes; limit " +
              std::to_string(JsonSchema::kMaxPatternInput) + ")");
          return;
        }
        if (impl_.Pattern(src).Search(key)) {
          matched = true;
          Check(sub, value, depth + 1);
        }
      }
    }
    if (matched || !s.contains("additionalProperties")) return;
    const json& extra = s["additionalProperties"];
    if (extra.is_object()) {
      Check(extra, value, depth + 1);
    } else if (!extra.get<bool>()) {
      Add(UnknownFieldMessage(s, key));
    }
  }

  void CheckDependencies(const json& deps, const json& v, int depth) {
    for (const auto& [name, dep] : deps.items()) {
      if (!v.contains(name)) continue;
      if (dep.is_array()) {
        for (const json& other : dep) {
          if (!v.contains(other.get_ref<const std::string&>())) {
            Add(Quote(name) + " requires " + Quote(other.get<std::string>()) + " to be set");
          }
        }
      } else {
        Check(dep, v, depth + 1);
      }
    }
  }

  void CheckCombinators(const json& s, const json& v, int depth) {
    if (s.contains("allOf")) {
      for (const json& sub : s["allOf"]) Check(sub, v, depth + 1);
    }
    if (s.contains("anyOf")) CheckAlternatives(s["anyOf"], v, depth, /*exactly_one=*/false);
    if (s.contains("oneOf")) CheckAlternatives(s["oneOf"], v, depth, /*exactly_one=*/true);
    if (s.contains("not")) CheckNot(s["not"], v, depth);
  }

  void CheckNot(const json& sub, const json& v, int depth) {
    Checker branch(impl_, 1, path_);
    branch.Check(sub, v, depth + 1);
    if (!branch.violations().empty()) return;  // it did not match: fine
    std::vector<std::string> names;
    if (!RequiredConjunction(sub, names, 0) || names.empty()) {
      std::string why = sub.contains("description") && sub["description"].is_string()
                            ? ": " + sub["description"].get<std::string>()
                            : "";
      Add("matches a form that is not allowed" + why);
      return;
    }
    std::string quoted;
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) quoted += i + 1 == names.size() ? " and " : ", ";
      quoted += Quote(names[i]);
    }
    std::string msg = names.size() == 1   ? quoted + " must not be set"
                      : names.size() == 2 ? quoted + " cannot both be set"
                                          : quoted + " cannot all be set";
    AddAt(path_ + "/" + EscapePointerToken(names.back()), msg);
  }

  // anyOf / oneOf. On failure, report the most relevant branch: if no branch even accepts the
  // instance's type, one "expected A or B" message; otherwise the type-compatible branch with the
  // fewest violations.
  void CheckAlternatives(const json& branches, const json& v, int depth, bool exactly_one) {
    std::vector<std::vector<SchemaViolation>> results;
    std::vector<size_t> passed;
    for (size_t i = 0; i < branches.size(); ++i) {
      Checker branch(impl_, JsonSchema::kMaxViolations, path_);
      branch.Check(branches[i], v, depth + 1);
      if (branch.violations().empty()) passed.push_back(i);
      results.push_back(std::move(branch.violations()));
    }
    if (passed.size() == 1 || (!exactly_one && !passed.empty())) return;
    if (passed.size() > 1) {
      Add("matches more than one of the allowed forms (" + std::to_string(passed[0] + 1) + " and " +
          std::to_string(passed[1] + 1) + "); exactly one must match");
      return;
    }
    std::vector<std::string> types;
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < branches.size(); ++i) {
      const json& b = branches[i].contains("$ref") ? impl_.Ref(branches[i]) : branches[i];
      if (TypeAccepts(b, v)) {
        if (best == SIZE_MAX || results[i].size() < results[best].size()) best = i;
      } else {
        for (std::string& t : DeclaredTypes(b)) {
          if (std::find(types.begin(), types.end(), t) == types.end()) types.push_back(t);
        }
      }
    }
    if (best == SIZE_MAX) {
      Add("expected " + JoinOr(types) + ", found " + Describe(v));
      return;
    }
    for (SchemaViolation& x : results[best]) AddAt(std::move(x.path), std::move(x.message));
  }

  const JsonSchema::Impl& impl_;
  size_t limit_;
  std::string path_;
  std::vector<SchemaViolation> out_;
};

// ---------------------------------------------------------------------------------------------
// Numeric-string coercion.
// ---------------------------------------------------------------------------------------------

// Parses a string spelled exactly as a JSON number. Integers without fraction or exponent stay
// integers; `integer_only` refuses anything else.
bool ParseNumber(const std::string& s, bool integer_only, json& out) {
  size_t i = 0, n = s.size();
  auto digits = [&] {
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < n && s[i] == '-') ++i;
  size_t int_start = i;
  size_t int_digits = digits();
  if (int_digits == 0 || (int_digits > 1 && s[int_start] == '0')) return false;
  bool is_integer = i == n;
  if (!is_integer) {
    if (integer_only) return false;
    if (i < n && s[i] == '.') {
      ++i;
      if (digits() == 0) return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
      ++i;
      if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
      if (digits() == 0) return false;
    }
    if (i != n) return false;
  }
  const char* first = s.data();
  const char* last = s.data() + n;
  if (is_integer) {
    int64_t v = 0;
    if (auto r = std::from_chars(first, last, v); r.ec == std::errc() && r.ptr == last) {
      out = v;
      return true;
    }
    uint64_t u = 0;
    if (auto r = std::from_chars(first, last, u); r.ec == std::errc() && r.ptr == last) {
      out = u;
      return true;
    }
    return false;  // out of range
  }
  double d = 0;
  auto r = std::from_chars(first, last, d);
  if (r.ec != std::errc() || r.ptr != last || !std::isfinite(d)) return false;
  out = d;
  return true;
}

class Coercer {
 public:
  explicit Coercer(const JsonSchema::Impl& impl) : impl_(impl) {}

  void Run(const json& schema, json& instance) {
    std::vector<const json*> schemas;
    Expand(schema, instance, schemas, 0);
    Walk(schemas, instance, 0);
  }

  std::vector<SchemaViolation>& conversions() { return out_; }

 private:
  // The schemas that apply to `v`: follows $ref and allOf/anyOf/oneOf, dropping branches whose
  // type cannot hold a container `v` (strings keep every branch: that is what is being decided).
  void Expand(const json& s, const json& v, std::vector<const json*>& out, int depth) {
    if (depth > JsonSchema::kMaxDepth) return;
    if (s.contains("$ref")) return Expand(impl_.Ref(s), v, out, depth + 1);
    if (!v.is_string() && !TypeAccepts(s, v)) return;
    out.push_back(&s);
    for (const char* k : {"allOf", "anyOf", "oneOf"}) {
      if (s.contains(k)) {
        for (const json& sub : s[k]) Expand(sub, v, out, depth + 1);
      }
    }
  }

  void Walk(const std::vector<const json*>& schemas, json& v, int depth) {
    if (depth > JsonSchema::kMaxDepth || schemas.empty()) return;
    if (v.is_string()) return CoerceString(schemas, v);
    if (v.is_object()) {
      for (auto& [key, value] : v.items()) {
        std::vector<const json*> child;
        for (const json* s : schemas) MemberSchemas(*s, key, value, child, depth);
        size_t size = path_.size();
        path_ += "/" + EscapePointerToken(key);
        Walk(child, value, depth + 1);
        path_.resize(size);
      }
    } else if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) {
        std::vector<const json*> child;
        for (const json* s : schemas) ItemSchemas(*s, i, v[i], child, depth);
        size_t size = path_.size();
        path_ += "/" + std::to_string(i);
        Walk(child, v[i], depth + 1);
        path_.resize(size);
      }
    }
  }

  void MemberSchemas(const json& s, const std::string& key, const json& value,
                     std::vector<const json*>& out, int depth) {
    bool matched = false;
    if (s.contains("properties") && s["properties"].contains(key)) {
      matched = true;
      Expand(s["properties"][key], value, out, depth + 1);
    }
    if (s.contains("patternProperties") && key.size() <= JsonSchema::kMaxPatternInput) {
      for (const auto& [src, sub] : s["patternProperties"].items()) {
        if (impl_.Pattern(src).Search(key)) {
          matched = true;
          Expand(sub, value, out, depth + 1);
        }
      }
    }
    if (!matched && s.contains("additionalProperties") && s["additionalProperties"].is_object()) {
      Expand(s["additionalProperties"], value, out, depth + 1);
    }
  }

  void ItemSchemas(const json& s, size_t i, const json& value, std::vector<const json*>& out,
                   int depth) {
    if (!s.contains("items")) return;
    const json& items = s["items"];
    if (!items.is_array()) return Expand(items, value, out, depth + 1);
    if (i < items.size()) return Expand(items[i], value, out, depth + 1);
    if (s.contains("additionalItems") && s["additionalItems"].is_object()) {
      Expand(s["additionalItems"], value, out, depth + 1);
    }
  }

  void CoerceString(const std::vector<const json*>& schemas, json& v) {
    bool wants_integer = false, wants_number = false, accepts_string = false;
    for (const json* s : schemas) {
      for (const std::string& t : DeclaredTypes(*s)) {
        wants_integer |= t == "integer";
        wants_number |= t == "number";
        accepts_string |= t == "string";
      }
      if (s->contains("enum")) {
        const json& e = (*s)["enum"];
        accepts_string |=
            std::any_of(e.begin(), e.end(), [](const json& x) { return x.is_string(); });
      }
    }
    if (accepts_string || !(wants_integer || wants_number)) return;
    json number;
    if (!ParseNumber(v.get_ref<const std::string&>(), !wants_number, number)) return;
    out_.push_back({path_, "numeric string " + Quote(v.get<std::string>()) + " converted to " +
                               (wants_number ? "number" : "integer")});
    v = std::move(number);
  }

  const JsonSchema::Impl& impl_;
  std::string path_;
  std::vector<SchemaViolation> out_;
};

}  // namespace

Result<JsonSchema> JsonSchema::Compile(json schema) {
  auto doc = std::make_shared<const json>(std::move(schema));
  auto impl = std::make_shared<Impl>();
  SchemaCompiler compiler(*doc, *impl);
  CONVERGE_RETURN_IF_ERROR(compiler.Compile(*doc, "", 0));
  JsonSchema out;
  out.schema_ = std::move(doc);
  out.impl_ = std::move(impl);
  return out;
}

std::vector<SchemaViolation> JsonSchema::Validate(const json& instance) const {
  Checker checker(*impl_, kMaxViolations, "");
  checker.Check(*schema_, instance, 0);
  std::vector<SchemaViolation> out = std::move(checker.violations());
  if (out.size() >= kMaxViolations) {
    out.resize(kMaxViolations - 1);
    out.push_back({"", "too many errors; only the first " + std::to_string(kMaxViolations - 1) +
                           " are shown"});
  }
  return out;
}

bool JsonSchema::IsValid(const json& instance) const {
  Checker checker(*impl_, 1, "");
  checker.Check(*schema_, instance, 0);
  return checker.violations().empty();
}

std::vector<SchemaViolation> JsonSchema::CoerceNumericStrings(json& instance) const {
  Coercer coercer(*impl_);
  coercer.Run(*schema_, instance);
  return std::move(coercer.conversions());
}

}  // namespace converge
