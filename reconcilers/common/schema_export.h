// Helpers for `converge schema` (controller/cli/schema_command.cc): turning the draft-04 schemas
// the validators run (reconcilers/common/json_schema.h) into the draft-07 document editors and CI
// read, and bundling several schemas into one self-contained file.
//
// Why draft-07: it is the newest draft both yaml-language-server (VS Code's redhat.vscode-yaml)
// and Debian's python3-jsonschema implement fully, and it has `const`, `if`/`then` (a `kind`
// discriminator that gives one error per document instead of one per kind) and
// `propertyNames`; draft-04 has none of these, and 2019-09 / 2020-12 are only partly supported
// by the editor.
#pragma once

#include <string>

#include "specs/document.h"

namespace converge {

inline constexpr char kSchemaDraft[] = "http://json-schema.org/draft-07/schema#";

// A draft-04 schema as draft-07: boolean exclusiveMinimum/exclusiveMaximum become the numeric
// form, "$schema" and draft-04 "id" keywords are dropped (member names under "properties" are
// kept). Everything else means the same in both drafts.
json Draft4To7(json schema);

// Prefixes every local "$ref" ("#/definitions/x") with `pointer` ("#/definitions/App/spec"), so
// that `schema` keeps working when it is embedded at that pointer of a larger document.
void RebaseRefs(json& schema, const std::string& pointer);

// Escapes a JSON pointer token (RFC 6901) for use in a "$ref".
std::string RefToken(const std::string& token);

}  // namespace converge
