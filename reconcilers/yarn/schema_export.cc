// The YARN kinds' JSON Schemas for `converge schema`.
//  * YarnService: the schema ValidateServiceSpec runs (schema/service.schema.json, generated
//    from the upstream Swagger Service definition) as draft-07, plus the rules validate.cc adds
//    in code that a schema can say: memory also as a whole number, `id` allowed (dropped),
//    server-populated members refused, state STARTED or STOPPED, component names DNS labels,
//    number_of_containers not negative.
//  * YarnApplication: ApplicationKind's checks (applications.cc), which are code, written once
//    here as a schema; tests/unit/yarn/schema_export_test.cc holds the two to the same answers.
#include "reconcilers/common/schema_export.h"
#include "reconcilers/yarn/applications.h"
#include "reconcilers/yarn/validate.h"

namespace converge::yarn {

json ServiceSpecSchema() {
  json s = Draft4To7(ServiceSchema().schema());
  const json refused = {{"not", json::object()}, {"description", "set by YARN; remove it"}};
  json& props = s["properties"];
  props["id"] = {{"description", "the application id YARN assigns; ignored (a warning)"}};
  props["name"] = {{"type", "string"},
                   {"description", "optional: must equal metadata.name (the service name)"}};
  for (const char* m : {"launch_time", "number_of_running_containers"}) props[m] = refused;
  props["state"] = {{"type", "string"},
                    {"enum", {"STARTED", "STOPPED"}},
                    {"description", "converge starts or stops the service"}};
  json& defs = s["definitions"];
  defs["Resource"]["properties"]["memory"] = {
      {"type", {"string", "integer"}},
      {"description", "MB, as the Services API's string (\"256\") or a whole number"}};
  json& comp = defs["Component"]["properties"];
  for (const char* m : {"containers", "state"}) comp[m] = refused;
  comp["name"] = {{"type", "string"},
                  {"maxLength", 63},
                  {"pattern", "^[a-z]([a-z0-9-]*[a-z0-9])?$"},
                  {"description", "a DNS label: lowercase letters, digits and -"}};
  comp["number_of_containers"]["minimum"] = 0;
  return s;
}

json ApplicationSpecSchema() {
  return json::parse(R"json({
    "type": "object",
    "description": "The RM application submission context (POST /ws/v1/cluster/apps) without application-id and application-name",
    "required": ["am-container-spec"],
    "properties": {
      "application-id": {"not": {}, "description": "the ResourceManager assigns one to every run"},
      "application-name": {"not": {}, "description": "converge names each run: metadata.name plus the spec's hash"},
      "am-container-spec": {
        "type": "object",
        "required": ["commands"],
        "properties": {
          "commands": {
            "type": "object",
            "required": ["command"],
            "properties": {"command": {"type": "string", "description": "the AM's command line"}}
          }
        }
      },
      "resource": {
        "type": "object",
        "properties": {
          "memory": {"type": "integer", "minimum": 1, "maximum": 2147483647},
          "vCores": {"type": "integer", "minimum": 1, "maximum": 2147483647}
        }
      },
      "queue": {"type": "string"},
      "application-type": {"type": "string"},
      "max-app-attempts": {"type": "integer"},
      "application-tags": {"type": ["object", "array"]}
    }
  })json");
}

}  // namespace converge::yarn
