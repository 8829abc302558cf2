#include "specs/yaml_strict.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <sstream>

namespace converge {
namespace {

// yaml-cpp's mark positions do not count a leading UTF-8 byte order mark.
size_t BomLength(const std::string& content) {
  return content.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
}

// If the scalar node starting at byte `at` is quoted, returns the opening quote's offset when the
// quote is not closed before the end of `content`.
std::optional<size_t> Unterminated(const std::string& content, size_t at) {
  size_t i = at, n = content.size();
  // Skip node properties (`!tag`, `&anchor`) that the node's mark points at.
  while (i < n && (content[i] == '!' || content[i] == '&')) {
    while (i < n && content[i] != ' ' && content[i] != '\t' && content[i] != '\n') ++i;
    while (i < n &&
           (content[i] == ' ' || content[i] == '\t' || content[i] == '\r' || content[i] == '\n'))
      ++i;
  }
  if (i >= n || (content[i] != '"' && content[i] != '\'')) return std::nullopt;
  char q = content[i];
  for (size_t j = i + 1; j < n; ++j) {
    if (q == '"' && content[j] == '\\') {
      ++j;  // an escaped character, possibly a quote
    } else if (content[j] == q) {
      if (q == '\'' && j + 1 < n && content[j + 1] == '\'') {
        ++j;  // '' is an escaped single quote
        continue;
      }
      return std::nullopt;
    }
  }
  return i;
}

// Only a scalar that reaches the end of the input can be unterminated, so it is enough to look
// along the last key and the last value of each collection, down from the document root.
std::optional<size_t> CheckLastSpine(const std::string& content, size_t bom, YAML::Node node,
                                     int depth) {
  for (; depth < 256 && node.IsDefined(); ++depth) {
    if (node.IsScalar()) {
      if (node.Mark().is_null()) return std::nullopt;
      return Unterminated(content, bom + static_cast<size_t>(node.Mark().pos));
    }
    if (node.IsSequence() && node.size() > 0) {
      node.reset(node[node.size() - 1]);
    } else if (node.IsMap() && node.size() > 0) {
      auto last = node.begin();
      for (auto it = node.begin(); it != node.end(); ++it) last = it;
      if (last->first.IsScalar() && !last->first.Mark().is_null()) {
        if (auto q = Unterminated(content, bom + static_cast<size_t>(last->first.Mark().pos)))
          return q;
      }
      YAML::Node value = last->second;
      node.reset(value);
    } else {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

bool IsMarkerLine(const std::string& content, size_t i) {
  if (content.compare(i, 3, "---") != 0 && content.compare(i, 3, "...") != 0) return false;
  return i + 3 >= content.size() || content[i + 3] == ' ' || content[i + 3] == '\t' ||
         content[i + 3] == '\r' || content[i + 3] == '\n';
}

// Only remembers where the parser is: the mark of the latest node event.
class WhereHandler : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& m) override { mark = m; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { mark = m; }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { mark = m; }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    mark = m;
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    mark = m;
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    mark = m;
  }
  void OnMapEnd() override {}
  YAML::Mark mark;
};

// A superset of the commas yaml-cpp scans as a flow entry where a document-level node starts:
// one after a blank, at a line start, or right after a closing bracket or quote.
bool MayHaveStrayFlowEntry(const std::string& content) {
  // A tag or anchor right before the comma (`--- !e!x,`) also counts (found by fuzz/loader).
  if (content.find(',') != std::string::npos &&
      content.find_first_of("!&") != std::string::npos)
    return true;
  for (size_t i = content.find(','); i != std::string::npos; i = content.find(',', i + 1)) {
    if (i == 0) return true;
    char p = content[i - 1];
    if (p == ' ' || p == '\t' || p == '\n' || p == '\r' || p == ']' || p == '}' || p == '"' ||
        p == '\'')
      return true;
  }
  return false;
}

// Whether the line from `i` to `nl` (the first line of a document's root, at column 0) opens a
// block mapping with a plain key: the key is on one line and ends at the first `: ` or `:\t` (or
// `:` at the line's end, `\r\n` included) before any ` #` comment.
bool OpensPlainKeyedMapping(const std::string& content, size_t i, size_t nl) {
  auto plain_start = [](unsigned char c) {
    return std::isalnum(c) || c >= 0x80 || std::strchr("_/.~$+=<()^\\;", c) != nullptr;
  };
  if (!plain_start(static_cast<unsigned char>(content[i]))) return false;
  for (size_t k = i; k < nl; ++k) {
    if (content[k] == '#' && (content[k - 1] == ' ' || content[k - 1] == '\t')) return false;
    if (content[k] == ':' &&
        (k + 1 >= nl || content[k + 1] == ' ' || content[k + 1] == '\t' || content[k + 1] == '\r'))
      return true;
  }
  return false;
}

// Whether a document's root node can end before its document does, so that yaml-cpp starts an
// implicit next document right after it, where a token no node starts with (`?`, `:`) makes
// LoadAll return empty documents forever (found by fuzz/iceberg_specs). Only a block mapping
// with a plain first key at column 0 (every spec) is sure to run to the next `---` / `...` line
// or the end: a root that begins with a quote, a flow collection, node properties, an alias or a
// block scalar indicator ends with its node (`"a" b` then `? c`), an indented collection at the
// first line less indented (`  a: b` then `""` then `?`), a block sequence at the first line
// without a `-` (`- a` then `""`), and a plain scalar at the first comment line (`a`, `# c`,
// `""`, `?`). Looks at where each document's root starts: at the beginning (after a byte order
// mark and comments) and after each `---` / `...` or `%` directive line.
bool MayHaveEarlyRootEnd(const std::string& content) {
  // yaml-cpp breaks lines only at `\n` or `\r\n`: a lone `\r` is line content to it, but would be
  // a line end below (`k:\rX` is not a mapping), so such a text is always checked.
  for (size_t r = content.find('\r'); r != std::string::npos; r = content.find('\r', r + 1))
    if (r + 1 >= content.size() || content[r + 1] != '\n') return true;
  bool want_root = true;  // the next significant character starts a document's root
  for (size_t i = BomLength(content); i < content.size();) {
    size_t nl = std::min(content.find('\n', i), content.size());
    size_t j = i;
    if (IsMarkerLine(content, i)) {
      want_root = true;
      j = i + 3;
    } else if (content[i] == '%') {  // a directive line, which also ends the document before it
      want_root = true;
      i = nl + 1;
      continue;
    }
    if (want_root) {
      while (j < nl && (content[j] == ' ' || content[j] == '\t' || content[j] == '\r')) ++j;
      if (j < nl && content[j] != '#') {
        if (j != i || !OpensPlainKeyedMapping(content, j, nl)) return true;
        want_root = false;
      }
    }
    i = nl + 1;
  }
  return false;
}

}  // namespace

std::optional<YamlFinding> FindEndlessDocuments(const std::string& content) {
  if (!MayHaveStrayFlowEntry(content) && !MayHaveEarlyRootEnd(content)) return std::nullopt;
  // Every real document starts at the beginning or at a `---` / `...` or directive line.
  size_t limit = 2;
  for (size_t i = 0; i < content.size();) {
    if (IsMarkerLine(content, i) || content[i] == '%') ++limit;
    size_t nl = content.find('\n', i);
    if (nl == std::string::npos) break;
    i = nl + 1;
  }
  std::istringstream in(content);
  YAML::Parser parser(in);
  WhereHandler where;
  try {
    for (size_t docs = 1; parser.HandleNextDocument(where); ++docs) {
      if (docs > limit) {
        size_t at = where.mark.is_null() ? 0 : BomLength(content) + where.mark.pos;
        at = std::min(at, content.size());
        if (at < content.size() && content[at] == ',')
          return YamlFinding{at,
                             "unexpected \",\" outside a flow collection ([...] or {...}); quote "
                             "the value if the comma is part of it"};
        std::string what = at < content.size() ? "\"" + std::string(1, content[at]) + "\""
                                               : "the end of the input";
        return YamlFinding{at, "unexpected " + what +
                                   ": the document's root node ended before it (after a quoted "
                                   "scalar, a flow collection, an anchor, a comment that ends a "
                                   "plain scalar or a less indented line), and nothing can "
                                   "follow it there; fix the quotes, brackets or indentation, "
                                   "or start a new document with a --- line"};
      }
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;  // LoadAll reports any parse error itself
}

std::optional<YamlFinding> FindUnterminatedQuote(const std::string& content,
                                                 const std::vector<YAML::Node>& docs) {
  size_t bom = BomLength(content);
  for (const YAML::Node& doc : docs) {
    if (auto at = CheckLastSpine(content, bom, doc, 0)) {
      return YamlFinding{*at, std::string("unterminated quoted scalar: the closing ") +
                                  (content[*at] == '"' ? "\"" : "'") +
                                  " is missing, so the rest of the file would become part of "
                                  "this string"};
    }
  }
  return std::nullopt;
}

std::optional<YamlFinding> ExplainUnterminatedQuote(const std::string& content,
                                                    const YAML::Exception& error) {
  // Parsing the text up to the marker (or with the newline added) finds the opening quote, as
  // yaml-cpp accepts an unclosed quote at the very end of its input.
  bool doc_in_scalar = error.msg == YAML::ErrorMsg::DOC_IN_SCALAR && !error.mark.is_null();
  if (!doc_in_scalar && error.msg != YAML::ErrorMsg::EOF_IN_SCALAR) return std::nullopt;
  std::string head =
      doc_in_scalar
          ? content.substr(0, std::min(content.size(),
                                       static_cast<size_t>(error.mark.pos) + BomLength(content)))
          : content + "\n";
  // The head is not the text LoadContent checked: cut at the marker, or with a newline added, it
  // can hold a stray token on which LoadAll would never return (found by fuzz/iceberg_specs, twice).
  // The explanation is only a better message for an error that stands anyway.
  if (FindEndlessDocuments(head)) return std::nullopt;
  try {
    return FindUnterminatedQuote(head, YAML::LoadAll(head));
  } catch (const std::exception&) {
    return std::nullopt;  // something else is wrong too: the parser's own error stands
  }
}

std::optional<YamlFinding> FindUnmarkedDocument(const std::string& content,
                                                const std::vector<YAML::Node>& docs) {
  size_t bom = BomLength(content);
  std::optional<size_t> prev;
  for (const YAML::Node& doc : docs) {
    if (!doc.IsDefined() || doc.IsNull() || doc.Mark().is_null()) continue;
    size_t start = bom + static_cast<size_t>(doc.Mark().pos);
    if (prev && start <= content.size()) {
      bool marked = false;
      for (size_t i = *prev; i < start && !marked; ++i)
        marked = (i == 0 || content[i - 1] == '\n') && IsMarkerLine(content, i);
      if (!marked) {
        return YamlFinding{start,
                           "unexpected content after the end of the previous document (a "
                           "flow collection or quoted scalar ends it); start a new document "
                           "with a --- line, or fix the brackets or quotes"};
      }
    }
    prev = start;
  }
  return std::nullopt;
}

}  // namespace converge
