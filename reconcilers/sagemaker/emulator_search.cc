// SageMaker emulator: Search for Resource "Endpoint" and "Model" — each record carries the
// resource as Describe* shows it (filtered to the record's shape) plus its Tags, paged like the
// List* operations (MaxResults 1-100, default 10, opaque NextToken).
//
// SearchExpression: Filters with Operator Equals (default), NotEquals, Contains, Exists,
// NotExists on a top-level property ("EndpointName", "EndpointStatus", ...) or a tag
// ("Tags.<key>"), combined by the expression's Operator (And, the default, or Or), and
// SubExpressions of the same. NestedFilters and the numeric/time comparisons are not emulated
// (ValidationException saying so). SortBy: LastModifiedTime (default), CreationTime or the name
// property; SortOrder Descending (default) or Ascending. Other resource types answer
// ValidationException: the emulator holds none of them that Search could return.
#include "reconcilers/sagemaker/emulator_internal.h"

namespace converge::sagemaker {
namespace {

// The value a filter's Name designates in a record's resource, or null when it has none.
json PropertyOf(const json& resource, const std::string& name) {
  if (name.rfind("Tags.", 0) == 0) {
    const std::string key = name.substr(5);
    for (const json& t : resource.value("Tags", json::array()))
      if (t.value("Key", "") == key) return t.value("Value", "");
    return nullptr;
  }
  auto it = resource.find(name);
  return it == resource.end() ? json() : *it;
}

std::string Text(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// Evaluates an expression; `error` receives why it cannot be evaluated.
bool Matches(const json& expr, const json& resource, std::string* error) {
  const bool any = expr.value("Operator", "And") == "Or";
  if (expr.contains("NestedFilters")) {
    *error = "NestedFilters are not supported by this emulator.";
    return false;
  }
  bool seen = false;
  auto combine = [&](bool r, bool* out) {
    if (!seen)
      *out = r;
    else
      *out = any ? (*out || r) : (*out && r);
    seen = true;
  };
  bool result = true;
  for (const json& f : expr.value("Filters", json::array())) {
    const std::string op = f.value("Operator", "Equals");
    const json v = PropertyOf(resource, f.value("Name", ""));
    const std::string want = f.value("Value", "");
    bool r = false;
    if (op == "Exists")
      r = !v.is_null();
    else if (op == "NotExists")
      r = v.is_null();
    else if (op == "Equals")
      r = !v.is_null() && Text(v) == want;
    else if (op == "NotEquals")
      r = v.is_null() || Text(v) != want;
    else if (op == "Contains")
      r = !v.is_null() && Text(v).find(want) != std::string::npos;
    else {
      *error = "Operator " + op + " is not supported by this emulator.";
      return false;
    }
    combine(r, &result);
  }
  for (const json& sub : expr.value("SubExpressions", json::array())) {
    bool r = Matches(sub, resource, error);
    if (!error->empty()) return false;
    combine(r, &result);
  }
  return result;
}

}  // namespace

Reply Emulator::Impl::Search(const json& in, Ctx& c) {
  const std::string type = in["Resource"];
  if (type != "Endpoint" && type != "Model")
    return Validation("Search for Resource " + Quoted(type) +
                      " is not supported by this emulator (Endpoint and Model are).");
  const bool endpoint = type == "Endpoint";
  const char* name_member = endpoint ? "EndpointName" : "ModelName";
  // Records are built only for the page answered (and for filtering when there is an
  // expression): a paged search over N objects stays O(N) per page, as the service's would.
  struct Item {
    std::string name;  // map key
    double created = 0;
    double modified = 0;  // models never change: their creation time
    json record;          // null until built
  };
  std::vector<Item> items;
  if (endpoint) {
    for (const auto& [key, ep] : endpoints) items.push_back({key, ep.created, ep.modified, json()});
  } else {
    for (const auto& [name, m] : models) items.push_back({name, m.created, m.created, json()});
  }
  std::map<std::string, json> served;  // model -> the endpoints whose config serves it
  if (!endpoint) {
    for (const auto& [_, ep] : endpoints) {
      auto cfg = configs.find(ep.config_name);
      if (cfg == configs.end()) continue;
      for (const json& v : cfg->second.body.value("ProductionVariants", json::array())) {
        if (!v.contains("ModelName")) continue;
        json& list = served[v["ModelName"].get<std::string>()];
        if (list.is_null()) list = json::array();
        list.push_back({{"EndpointName", ep.name},
                        {"EndpointArn", ep.arn},
                        {"CreationTime", ep.created},
                        {"LastModifiedTime", ep.modified},
                        {"EndpointStatus", ep.status}});
      }
    }
  }
  auto build = [&](Item& i) {
    if (!i.record.is_null()) return;
    if (endpoint) {
      const Endpoint& ep = endpoints.at(i.name);
      json e = FilterToShape(DescribeEndpoint({{"EndpointName", ep.name}}, c).body, "Endpoint");
      e["Tags"] = ep.tags;
      i.record = {{"Endpoint", std::move(e)}};
    } else {
      json model = FilterToShape(DescribeModel({{"ModelName", i.name}}, c).body, "Model");
      model["Tags"] = models.at(i.name).tags;
      i.record = {{"Model", {{"Model", std::move(model)}}}};
      if (auto s = served.find(i.name); s != served.end())
        i.record["Model"]["Endpoints"] = s->second;
    }
  };
  auto resource = [&](const Item& i) -> const json& {
    return endpoint ? i.record["Endpoint"] : i.record["Model"]["Model"];
  };
  if (in.contains("SearchExpression")) {
    const json& expr = in["SearchExpression"];
    if (!expr.contains("Filters") && !expr.contains("SubExpressions") &&
        !expr.contains("NestedFilters"))
      return Validation(
          "A SearchExpression must contain at least one Filter, NestedFilter or "
          "SubExpression.");
    std::string error;
    std::erase_if(items, [&](Item& i) {
      build(i);
      return error.empty() && !Matches(expr, resource(i), &error);
    });
    if (!error.empty()) return Validation(error);
  }
  const std::string sort_by = in.value("SortBy", "LastModifiedTime");
  if (sort_by != "LastModifiedTime" && sort_by != "CreationTime" && sort_by != name_member)
    return Validation("SortBy " + Quoted(sort_by) + " is not supported by this emulator.");
  const bool ascending = in.value("SortOrder", "Descending") == "Ascending";
  auto key = [&](const Item& i) {
    double t = sort_by == name_member ? 0 : sort_by == "CreationTime" ? i.created : i.modified;
    return std::make_pair(t, i.name);
  };
  std::stable_sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
    return ascending ? key(a) < key(b) : key(b) < key(a);
  });
  size_t max = in.value("MaxResults", kDefaultMaxResults);
  size_t offset = 0;
  if (in.contains("NextToken")) {
    auto o = PageOffset(in["NextToken"].get<std::string>());
    if (!o) return Validation("Invalid NextToken value.");
    offset = *o;
  }
  json page = json::array();
  for (size_t i = offset; i < items.size() && page.size() < max; ++i) {
    build(items[i]);
    page.push_back(std::move(items[i].record));
  }
  json out = {{"Results", page}};
  if (offset + page.size() < items.size()) out["NextToken"] = PageToken(offset + page.size());
  return Ok(out);
}

}  // namespace converge::sagemaker
