// Validation of YarnService specs (the native Services API `Service` object a user writes under
// `spec:`) against the JSON Schema generated from the upstream Swagger file
// (schema/service.schema.json, scripts/gen_yarn_schema.py), with the server's own leniency:
//  * `lifetime: "3600"` (a numeric string, as many upstream Yarnfiles write it) becomes 3600 with
//    the usual numeric-string warning;
//  * `resource.memory: 256` (a number) becomes "256", the string the server stores and returns;
//  * `id` (set by YARN) is dropped with a warning; other server-populated members (launch_time,
//    number_of_running_containers, components[].containers, components[].state) are errors;
//  * `state` may only be STARTED or STOPPED (what converge drives with start / stop);
//  * service and component names follow YARN's DNS-label rule, component names are unique.
// Paths in diagnostics are base_path + a JSON pointer into the spec.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reconcilers/common/json_schema.h"
#include "specs/document.h"

namespace converge::yarn {

// schema/service.schema.json, byte for byte (embedded by backend.cmake).
extern const std::string_view kServiceSchemaText;
const JsonSchema& ServiceSchema();

// Normalises `spec` in place (the conversions above) and appends one diagnostic per problem.
void ValidateServiceSpec(json& spec, const std::string& base_path,
                         std::vector<PathDiagnostic>& out);

// ServiceSchema() as draft-07 with the rules above a schema can say, for `converge schema`
// (schema_export.cc).
json ServiceSpecSchema();

// "" if `name` is a usable service name (lowercase letters, digits and "-", starting with a
// letter, not ending with "-", at most 63 characters), else what is wrong with it.
std::string ServiceNameError(const std::string& name);

}  // namespace converge::yarn
