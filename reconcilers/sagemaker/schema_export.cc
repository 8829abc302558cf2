// The SageMaker kinds' JSON Schemas for `converge schema`, translated from the embedded botocore
// model (model.h) that ValidateShape checks specs against, so the two cannot drift:
//   structure -> object (members, required, no other member)   list -> array (min/max items)
//   map -> object (propertyNames = the key shape, values = the value shape, min/max entries)
//   string -> string (min/max length in code points, enum, pattern matched whole: ^(?:p)$)
//   integer -> integer within int32 and min/max; long -> integer (int64); float/double -> number
//   boolean; timestamp -> number or string; blob -> string (base64)
// Patterns ValidateShape skips (not linear-time: lookaround) are left out, and so are those
// written with Java's \p{...} classes or \u surrogate ranges, which ECMA-262 regexes (what
// JSON Schema editors run) lack; docs/specs.md lists them among the checks only `validate` makes.
#include <limits>
#include <set>

#include "reconcilers/common/schema_export.h"
#include "reconcilers/common/schema_regex.h"
#include "reconcilers/sagemaker/kinds.h"
#include "reconcilers/sagemaker/model.h"

namespace converge::sagemaker {
namespace {

bool PortablePattern(const std::string& p) {
  // \p{..} classes, and \u escapes naming lone surrogates (a reversed range for ECMA-262 and
  // Python alike), are Java's.
  for (const char* java : {"\\p{", "\\P{", "\\u"})
    if (p.find(java) != std::string::npos) return false;
  return SchemaPattern::Compile("^(?:" + p + ")$").ok();
}

json Ref(const std::string& shape) { return {{"$ref", "#/definitions/" + RefToken(shape)}}; }

json ShapeSchema(const json& shape, std::vector<std::string>& todo) {
  const std::string type = shape.value("type", "");
  json s = json::object();
  auto bound = [&](const char* from, const char* to) {
    if (shape.contains(from)) s[to] = shape[from];
  };
  if (type == "structure") {
    s["type"] = "object";
    s["additionalProperties"] = false;
    json props = json::object();
    if (shape.contains("members"))
      for (const auto& [name, m] : shape["members"].items()) {
        props[name] = Ref(m["shape"].get<std::string>());
        todo.push_back(m["shape"].get<std::string>());
      }
    s["properties"] = props;
    if (shape.contains("required") && !shape["required"].empty()) s["required"] = shape["required"];
  } else if (type == "list") {
    s["type"] = "array";
    s["items"] = Ref(shape["member"]["shape"].get<std::string>());
    todo.push_back(shape["member"]["shape"].get<std::string>());
    bound("min", "minItems");
    bound("max", "maxItems");
  } else if (type == "map") {
    s["type"] = "object";
    s["propertyNames"] = Ref(shape["key"]["shape"].get<std::string>());
    s["additionalProperties"] = Ref(shape["value"]["shape"].get<std::string>());
    todo.push_back(shape["key"]["shape"].get<std::string>());
    todo.push_back(shape["value"]["shape"].get<std::string>());
    bound("min", "minProperties");
    bound("max", "maxProperties");
  } else if (type == "string") {
    s["type"] = "string";
    bound("min", "minLength");
    bound("max", "maxLength");
    if (shape.contains("enum")) s["enum"] = shape["enum"];
    if (shape.contains("pattern") && PortablePattern(shape["pattern"]))
      s["pattern"] = "^(?:" + shape["pattern"].get<std::string>() + ")$";
  } else if (type == "integer" || type == "long") {
    s["type"] = "integer";
    const bool i32 = type == "integer";
    s["minimum"] = i32 ? int64_t{std::numeric_limits<int32_t>::min()}
                       : std::numeric_limits<int64_t>::min();
    s["maximum"] = i32 ? int64_t{std::numeric_limits<int32_t>::max()}
                       : std::numeric_limits<int64_t>::max();
    bound("min", "minimum");
    bound("max", "maximum");
  } else if (type == "float" || type == "double") {
    s["type"] = "number";
    bound("min", "minimum");
    bound("max", "maximum");
  } else if (type == "boolean") {
    s["type"] = "boolean";
  } else if (type == "timestamp") {
    s["type"] = {"number", "string"};
  } else if (type == "blob") {
    s["type"] = "string";
  }
  return s;
}

}  // namespace

json SpecSchema(const KindSpec& k) {
  const json& shapes = ServiceModel()["shapes"];
  const std::string input = InputShapeOf(k.create_op);
  json defs = json::object();
  std::vector<std::string> todo = {input};
  std::set<std::string> seen;
  while (!todo.empty()) {
    std::string name = todo.back();
    todo.pop_back();
    if (!seen.insert(name).second || !shapes.contains(name)) continue;
    defs[name] = ShapeSchema(shapes[name], todo);
  }
  json top = defs[input];
  // The kind's own copy of the input shape differs: the name member is optional.
  if (top.contains("required")) {
    json req = json::array();
    for (const json& r : top["required"])
      if (r != k.name_member) req.push_back(r);
    if (req.empty()) top.erase("required");
    else top["required"] = req;
  }
  if (top["properties"].contains(k.name_member))
    top["properties"][k.name_member]["description"] =
        "optional: converge names the object after metadata.name; if set, it must equal it";
  if (top["properties"].contains("Tags")) {
    json key = {{"not", {{"pattern", "^converge\\.io/"}}},
                {"description", "tags under converge.io/ are set by converge itself"}};
    json ours = {{"items", {{"properties", {{"Key", key}}}}}};
    json both = json::array({top["properties"]["Tags"], ours});
    top["properties"]["Tags"] = {{"allOf", both}};
  }
  top["description"] = "The " + k.create_op + " request (botocore shape " + input + ")";
  if (!defs.empty()) top["definitions"] = defs;
  return top;
}

}  // namespace converge::sagemaker
