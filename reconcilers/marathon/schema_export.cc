// The App kind's JSON Schema for `converge schema`: the schema ValidateApp runs (upstream
// AppDefinition.json with converge's documented adjustments and the RAML integer ranges), as
// draft-07.
#include "reconcilers/common/schema_export.h"
#include "reconcilers/marathon/validate.h"

namespace converge::marathon {

json AppSpecSchema() {
  json s = Draft4To7(AppSchema().schema());
  for (const char* member : {"version", "versionInfo"})
    s["properties"][member] = {{"not", json::object()},
                               {"description", "set by Marathon; cannot be part of a spec"}};
  s["description"] =
      "A Marathon app definition (Marathon's AppDefinition JSON Schema); the app id is "
      "metadata.name";
  return s;
}

}  // namespace converge::marathon
