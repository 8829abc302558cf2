// `converge schema`: one JSON Schema (draft-07; why that draft: reconcilers/common/schema_export.h)
// for any single spec document, assembled from the schemas the kinds declare (KindInfo::schema,
// filled by each backend's register.cc from the definitions its validator runs) and the Backend
// members (the common ones, specs/backend_schema.cc, plus each type's BackendFactory schema).
// Nothing here names a backend type. Output is deterministic: objects have sorted keys.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "reconcilers/registry.h"

namespace converge {

// The file name `converge schema -o DIR` writes for one kind ("App.schema.json"), and the index.
std::string KindSchemaFile(const std::string& kind);
inline constexpr char kIndexSchemaFile[] = "converge.schema.json";

// The schema of a Backend document's `spec` for the types in `factories`: the common members,
// `type` one of the types, and per type (if/then on spec.type) its own members, its required
// ones, its auth.type values, its backend_rules, and no other member.
json BackendSpecSchema(const std::vector<BackendFactory>& factories);

// The schema of one whole document of `kind` (envelope + spec), standalone.
json KindDocumentSchema(const KindRegistry& kinds, const std::string& kind);

// The one self-contained schema for a document of any kind: `kind` must be one of the
// registered kinds, and the document then validates against that kind's schema (if/then on
// the `kind` const, so an editor reports the errors of that kind only).
json DocumentSchema(const KindRegistry& kinds);

// What `converge schema -o DIR` writes: file name -> schema. One file per kind plus the index
// (kIndexSchemaFile), which refers to them by relative "$ref".
std::map<std::string, json> SchemaFiles(const KindRegistry& kinds);

}  // namespace converge
