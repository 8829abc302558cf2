// Internal to specs/: turning what the parser and the checks know (a yaml-cpp mark, a byte
// offset, a JSON pointer into a parsed document) into the file:line:column users see, and the
// UTF-8 check of a spec file's bytes. Lines and columns are 1-based; 0 means unknown.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>

#include "specs/document.h"

namespace converge {

SourcePos PosOf(const std::string& file, const YAML::Mark& m);

// The offset of the first byte that is not valid UTF-8 (or is NUL), or npos; `what` says which.
size_t FindInvalidUtf8(const std::string& s, std::string* what);

SourcePos PosOfOffset(const std::string& file, const std::string& content, size_t offset);

// The source position for a JSON pointer inside a document: the deepest node that exists on the
// path (so "missing member" errors point at the enclosing mapping); a member whose value has no
// position (null) is found at its key.
YAML::Mark MarkForPointer(const YAML::Node& root, const std::string& pointer);

}  // namespace converge
