// Validation of Marathon app specs (the native app definition a user writes under `spec:`)
// against Marathon's own JSON Schema, plus the app id rules and the numeric-string
// normalisation templated YAML needs.
//
// Typical use by a kind's validate hook:
//   CoerceAppNumbers(doc.spec.Edit(), "/spec", out);   // "3" -> 3 where the schema wants a number
//   ValidateApp(doc.spec.Edit(), "/spec", out);
//   ValidateAppId(doc.name, out);
#pragma once

#include <string>
#include <vector>

#include "reconcilers/common/json_schema.h"
#include "specs/document.h"

namespace converge::marathon {

// upstream/jsonschema-1.7/AppDefinition.json, byte for byte (embedded by app_schema.cc).
const std::string& UpstreamAppSchemaText();

// The schema app specs are validated against: the upstream schema above with two documented
// adjustments (validate.cc): "id" is not required (converge takes it from metadata.name), and the
// top-level members newer Marathon releases accept but the 1.7 schema predates (check, tty, role,
// resourceLimits; shapes from raml/v2/types) are allowed.
const JsonSchema& AppSchema();

// AppSchema() as draft-07 for `converge schema` (schema_export.cc), with the members Marathon
// populates itself (version, versionInfo) refused as ValidateApp refuses them.
json AppSpecSchema();

// Converts, in place, strings holding a number where the schema wants an integer or a number
// (`instances: "3"` -> 3), with one kWarning per conversion ("numeric string "3" converted to
// integer"). Run it before ValidateApp. Paths are `base_path` + a JSON pointer into `spec`.
void CoerceAppNumbers(json& spec, const std::string& base_path, std::vector<PathDiagnostic>& out);
void CoerceAppNumbers(json& spec, std::vector<PathDiagnostic>& out);  // base_path ""

// Appends one kError per violation of AppSchema() by `spec`, plus errors for members Marathon
// populates itself (version, versionInfo). `spec` may carry an "id" (checked against the schema's
// path pattern); comparing it with metadata.name is the caller's job.
void ValidateApp(const json& spec, const std::string& base_path, std::vector<PathDiagnostic>& out);

// CoerceAppNumbers then ValidateApp.
void NormalizeAndValidateApp(json& spec, const std::string& base_path,
                             std::vector<PathDiagnostic>& out);

// "" if `id` is a usable app id (absolute, canonical, each segment a lowercase DNS-like label as
// the schema's pathType pattern says), else what is wrong with it.
std::string AppIdError(const std::string& id);
// AppIdError as a diagnostic at "/metadata/name".
void ValidateAppId(const std::string& id, std::vector<PathDiagnostic>& out);

}  // namespace converge::marathon
