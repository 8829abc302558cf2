#include "controller/plan.h"

#include <algorithm>
#include <ostream>

namespace converge {

Action ActionFromName(const std::string& name) {
  for (Action a : {Action::kCreate, Action::kUpdate, Action::kScale, Action::kReplace,
                   Action::kDelete, Action::kRun}) {
    if (name == ActionName(a)) return a;
  }
  return Action::kNoop;
}

Result<ResourceKey> ParseResourceKey(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= s.size()) {
    return InvalidError("expected KIND/NAME (e.g. App//payments/api or App/payments/api), got \"" +
                        s + "\"");
  }
  ResourceKey key{s.substr(0, slash), s.substr(slash + 1)};
  if (key.kind == "App" && key.name[0] != '/') key.name = "/" + key.name;
  return key;
}

std::map<std::string, int> Plan::Summary() const {
  std::map<std::string, int> out;
  for (const auto& c : changes) out[ActionName(c.action)]++;
  return out;
}

bool Plan::HasErrors() const {
  if (!errors.empty()) return true;
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

json DiagnosticsToJson(const std::vector<Diagnostic>& diagnostics) {
  json diags = json::array();
  for (const auto& d : diagnostics)
    diags.push_back({{"severity", d.severity == Severity::kError ? "error" : "warning"},
                     {"file", d.pos.file},
                     {"line", d.pos.line},
                     {"column", d.pos.column},
                     {"document", d.document},
                     {"message", d.message},
                     {"kind", !d.kind.empty()                  ? d.kind
                              : d.severity == Severity::kError ? "invalid"
                                                               : "warning"}});
  return diags;
}

const char* PlanErrorKindName(PlanError::Kind k) {
  switch (k) {
    case PlanError::Kind::kNotManaged: return "not-managed";
    case PlanError::Kind::kUnresolvable: return "unresolvable";
    case PlanError::Kind::kTooManyDeletes: return "too-many-deletes";
  }
  return "unresolvable";
}

std::string PlanError::Text() const {
  std::string out = position.empty() ? "" : position + ": ";
  if (!key.empty()) out += key + (kind == Kind::kNotManaged ? " " : ": ");
  return out + message;
}

namespace {

json ChangeJson(const PlannedChange& c) {
  json fields = json::array();
  for (const auto& f : c.fields)
    fields.push_back({{"path", f.path}, {"before", f.before}, {"after", f.after}});
  return {{"kind", c.key.kind},
          {"name", c.key.name},
          {"backend", c.backend},
          {"action", ActionName(c.action)},
          {"reason", c.reason},
          {"fields", std::move(fields)},
          {"source", c.source},
          {"revision", c.revision},
          {"fingerprint", c.fingerprint},
          {"wave", c.wave},
          {"stage", c.stage},
          {"auto_rollback", c.auto_rollback},
          {"desired", c.desired.Get()},
          {"live", c.live}};
}

json SettleJson(const PlannedChange& c) {
  return {{"kind", c.key.kind}, {"name", c.key.name}, {"backend", c.backend},
          {"revision", c.revision}, {"desired", c.desired.Get()}};
}

json SkippedJson(const SkippedResource& s) {
  return {{"kind", s.key.kind}, {"name", s.key.name}, {"backend", s.backend},
          {"status", s.status}, {"reason", s.reason}};
}

// The plan document without its three long arrays (changes, skipped, settle): null there.
json PlanHead(const Plan& plan) {
  json summary = json::object();
  for (const char* a : {"create", "update", "scale", "replace", "delete", "run"}) summary[a] = 0;
  for (const auto& [a, n] : plan.Summary()) summary[a] = n;
  json errors = json::array();
  json error_details = json::array();
  for (const PlanError& e : plan.errors) {
    errors.push_back(e.Text());
    error_details.push_back({{"kind", PlanErrorKindName(e.kind)},
                             {"key", e.key},
                             {"position", e.position},
                             {"message", e.message}});
  }
  return {{"format_version", plan.format_version},
          {"created_at", plan.created_at},
          {"spec_dir", plan.spec_dir},
          {"git_commit", plan.git_commit},
          {"resources", plan.resources},
          {"changes", nullptr},
          {"skipped", nullptr},
          {"settle", nullptr},
          {"diagnostics", DiagnosticsToJson(plan.diagnostics)},
          {"errors", std::move(errors)},
          {"error_details", std::move(error_details)},
          {"backends", plan.backends},
          {"summary", std::move(summary)}};
}

template <typename T>
json ArrayOf(const std::vector<T>& items, json (*one)(const T&)) {
  json out = json::array();
  for (const auto& i : items) out.push_back(one(i));
  return out;
}

// `v.dump(2)` as it reads nested `depth` levels deep (dump never writes a raw newline inside a
// string, so every newline starts a line).
void WriteNested(std::ostream& out, const json& v, int depth) {
  const std::string text = v.dump(2);
  const std::string pad(2 * depth, ' ');
  size_t from = 0;
  for (size_t nl; (nl = text.find('\n', from)) != std::string::npos; from = nl + 1)
    out.write(text.data() + from, nl + 1 - from) << pad;
  out.write(text.data() + from, text.size() - from);
}

template <typename T>
void WriteArray(std::ostream& out, const std::vector<T>& items, json (*one)(const T&)) {
  if (items.empty()) {
    out << "[]";
    return;
  }
  out << "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out << (i ? ",\n    " : "\n    ");
    WriteNested(out, one(items[i]), 2);
  }
  out << "\n  ]";
}

}  // namespace

json PlanToJson(const Plan& plan) {
  json j = PlanHead(plan);
  j["changes"] = ArrayOf(plan.changes, ChangeJson);
  j["skipped"] = ArrayOf(plan.skipped, SkippedJson);
  j["settle"] = ArrayOf(plan.settle, SettleJson);
  return j;
}

void WritePlanJson(const Plan& plan, std::ostream& out) {
  const json head = PlanHead(plan);
  out << "{";
  bool first = true;
  for (const auto& [key, value] : head.items()) {  // sorted, as dump() writes them
    out << (first ? "\n  " : ",\n  ") << json(key).dump() << ": ";
    first = false;
    if (key == "changes")
      WriteArray(out, plan.changes, ChangeJson);
    else if (key == "skipped")
      WriteArray(out, plan.skipped, SkippedJson);
    else if (key == "settle")
      WriteArray(out, plan.settle, SettleJson);
    else
      WriteNested(out, value, 1);
  }
  out << "\n}";
}

Result<Plan> PlanFromJson(const json& j) {
  if (!j.is_object() || !j.contains("format_version") || !j["format_version"].is_string())
    return InvalidError("not a converge plan file (no format_version)");
  std::string v = j["format_version"];
  if (v.substr(0, v.find('.')) != std::string(kPlanFormatVersion).substr(0, 1))
    return InvalidError("plan format_version " + v + " is not supported (this converge writes " +
                        kPlanFormatVersion + ")");
  try {
    Plan p;
    p.format_version = v;
    p.created_at = j.value("created_at", "");
    p.spec_dir = j.value("spec_dir", "");
    p.git_commit = j.value("git_commit", "");
    p.resources = j.value("resources", 0);
    for (const auto& c : j.at("changes")) {
      PlannedChange pc;
      pc.key = ResourceKey{c.at("kind"), c.at("name")};
      pc.backend = c.at("backend");
      pc.action = ActionFromName(c.at("action"));
      if (pc.action == Action::kNoop) return InvalidError("plan has an unknown action");
      pc.reason = c.value("reason", "");
      for (const auto& f : c.at("fields"))
        pc.fields.push_back(FieldChange{f.at("path"), f.value("before", json()),
                                        f.value("after", json())});
      pc.source = c.value("source", "");
      pc.revision = c.value("revision", "");
      pc.fingerprint = c.at("fingerprint");
      pc.wave = c.value("wave", 0);
      pc.stage = c.value("stage", 0);
      pc.auto_rollback = c.value("auto_rollback", true);
      pc.desired = c.value("desired", json());
      pc.live = c.value("live", json());
      p.changes.push_back(std::move(pc));
    }
    if (j.contains("settle") && j["settle"].is_array())
      for (const auto& c : j["settle"]) {
        PlannedChange pc;
        pc.key = ResourceKey{c.at("kind"), c.at("name")};
        pc.backend = c.at("backend");
        pc.revision = c.value("revision", "");
        pc.desired = c.value("desired", json());
        p.settle.push_back(std::move(pc));
      }
    if (j.contains("backends") && j["backends"].is_object())
      for (const auto& [name, spec] : j["backends"].items()) p.backends[name] = spec;
    if (j.contains("error_details")) {
      for (const auto& e : j["error_details"]) {
        PlanError pe;
        std::string kind = e.value("kind", "");
        for (auto k : {PlanError::Kind::kNotManaged, PlanError::Kind::kUnresolvable,
                       PlanError::Kind::kTooManyDeletes})
          if (kind == PlanErrorKindName(k)) pe.kind = k;
        pe.key = e.value("key", "");
        pe.position = e.value("position", "");
        pe.message = e.value("message", "");
        p.errors.push_back(std::move(pe));
      }
    } else if (j.contains("errors")) {  // a plan file written before error_details
      for (const auto& e : j["errors"]) p.errors.push_back(PlanError{{}, "", "", e.get<std::string>()});
    }
    return p;
  } catch (const json::exception& e) {
    return InvalidError(std::string("malformed plan file: ") + e.what());
  }
}

}  // namespace converge
