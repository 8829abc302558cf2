// Strictness checks for what yaml-cpp 0.7 accepts but YAML 1.2 does not, so a typo cannot
// silently become a different document:
//  - a quoted scalar ("..." or '...') whose closing quote is missing runs to the end of the input
//    and swallows the rest of the document; it is reported at the opening quote;
//  - a new document that starts without `---` (content after a top-level flow collection or
//    quoted scalar, e.g. `{a: 1}` followed by `{b: 2}`) is reported where that content starts;
//  - a `,` where the next node of the document level would start (`- a` then a line `,`,
//    `"a",`, `{a: 1},`, a leading `,`) makes yaml-cpp's LoadAll return empty documents forever
//    without consuming it, until memory runs out, and so does a token no node can start with
//    after a document root that ended early (`"a" b` then a line `? c`): each is found first,
//    with a bounded parse.
// Both work on the parsed documents plus the raw text (positions come from the parser, so quotes
// inside comments, block scalars and plain scalars such as `it's` are never looked at).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace converge {

struct YamlFinding {
  size_t offset = 0;  // byte offset into the content
  std::string message;
};

// The first quoted scalar of `docs` (parsed from `content`) that is not closed before the end of
// `content`.
std::optional<YamlFinding> FindUnterminatedQuote(const std::string& content,
                                                 const std::vector<YAML::Node>& docs);

// For a parse error raised inside a quoted scalar (a `---` or `...` line in it, or the end of a
// file without a final newline): the unterminated quote that caused it, if that is the cause.
std::optional<YamlFinding> ExplainUnterminatedQuote(const std::string& content,
                                                    const YAML::Exception& error);

// A token on which YAML::LoadAll(content) would loop forever (see above): a stray `,`, or what
// follows a document root that ended early (`"a" b` then a line `? c`). Call before LoadAll; it
// parses `content` once more only when a `,` follows a blank, a line start or a closing bracket
// or quote, a document's root is not a block mapping with a plain first key at column 0 (a
// spec's root is one), or the text has a lone `\r`; and never for longer than the input's
// document markers allow.
std::optional<YamlFinding> FindEndlessDocuments(const std::string& content);

// The first document of `docs` that starts without a `---` (or after a `...`) line.
std::optional<YamlFinding> FindUnmarkedDocument(const std::string& content,
                                                const std::vector<YAML::Node>& docs);

}  // namespace converge
