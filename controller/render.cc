#include "controller/render.h"

#include <sstream>

namespace converge {
namespace {

struct Palette {
  bool on;
  std::string green() const { return on ? "\033[32m" : ""; }
  std::string yellow() const { return on ? "\033[33m" : ""; }
  std::string red() const { return on ? "\033[31m" : ""; }
  std::string cyan() const { return on ? "\033[36m" : ""; }
  std::string bold() const { return on ? "\033[1m" : ""; }
  std::string reset() const { return on ? "\033[0m" : ""; }
};

std::string Display(const ResourceKey& k) { return k.Display(); }

const char* Symbol(Action a) {
  switch (a) {
    case Action::kCreate: return "+";
    case Action::kUpdate: return "~";
    case Action::kScale: return "~";
    case Action::kReplace: return "-/+";
    case Action::kDelete: return "-";
    case Action::kRun: return ">";
    default: return " ";
  }
}

const char* Verb(Action a) {
  switch (a) {
    case Action::kCreate: return "will be created";
    case Action::kUpdate: return "will be updated in place";
    case Action::kScale: return "will be scaled";
    case Action::kReplace: return "will be replaced";
    case Action::kDelete: return "will be deleted";
    case Action::kRun: return "will be run";
    default: return "is unchanged";
  }
}

std::string ColorFor(const Palette& p, Action a) {
  switch (a) {
    case Action::kCreate: return p.green();
    case Action::kDelete: return p.red();
    case Action::kReplace: return p.red();
    case Action::kRun: return p.cyan();
    default: return p.yellow();
  }
}

}  // namespace

std::string FieldChangeLine(const FieldChange& f, bool color) {
  Palette p{color};
  if (f.before.is_null() && !f.after.is_null())
    return p.green() + "+" + p.reset() + " " + f.path + " = " + DisplayValue(f.after);
  if (!f.before.is_null() && f.after.is_null())
    return p.red() + "-" + p.reset() + " " + f.path + " = " + DisplayValue(f.before) +
           " -> (default)";
  return p.yellow() + "~" + p.reset() + " " + f.path + ": " + DisplayValue(f.before) + " -> " +
         DisplayValue(f.after);
}

std::string DisplayValue(const json& v) {
  std::string s = v.is_null() ? "(none)" : v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 200) s = s.substr(0, 197) + "...";
  return s;
}

std::string SummaryLine(const Plan& plan) {
  auto s = plan.Summary();
  std::ostringstream out;
  out << "Plan: " << s["create"] << " to create, " << s["update"] << " to update, " << s["scale"]
      << " to scale, " << s["delete"] << " to delete";
  if (s["replace"]) out << ", " << s["replace"] << " to replace";
  if (s["run"]) out << ", " << s["run"] << " to run";
  out << ".";
  return out.str();
}

std::string RenderDiagnostics(const std::vector<Diagnostic>& diags, bool color) {
  Palette p{color};
  std::ostringstream out;
  for (const auto& d : diags) {
    std::string s = d.ToString();
    out << (d.severity == Severity::kError ? p.red() : p.yellow()) << s << p.reset() << "\n";
  }
  return out.str();
}

std::string RenderPlanText(const Plan& plan, const RenderOptions& options) {
  std::ostringstream out;
  WritePlanText(plan, options, out);
  return out.str();
}

void WritePlanText(const Plan& plan, const RenderOptions& options, std::ostream& out) {
  Palette p{options.color};
  if (!plan.HasChanges() && plan.skipped.empty()) {
    out << p.bold() << "No changes." << p.reset() << " Live state matches the specs ("
        << plan.resources << " resource" << (plan.resources == 1 ? "" : "s") << ").\n";
  } else if (!plan.HasChanges()) {
    out << p.bold() << "No changes to apply." << p.reset() << " " << plan.skipped.size()
        << " resource" << (plan.skipped.size() == 1 ? " is" : "s are")
        << " left alone on purpose (below).\n";
  } else {
    out << "converge will perform the following actions:\n";
    for (const auto& c : plan.changes) {
      std::string col = ColorFor(p, c.action);
      out << "\n  " << p.bold() << "# " << Display(c.key) << p.reset() << " " << Verb(c.action)
          << " (backend " << c.backend;
      if (!c.reason.empty()) out << "; " << c.reason;
      out << ")\n";
      out << "  " << col << Symbol(c.action) << p.reset() << " " << c.key.kind << " "
          << c.key.name << "\n";
      for (const auto& f : c.fields) out << "      " << FieldChangeLine(f, p.on) << "\n";
    }
  }
  if (!plan.skipped.empty()) {
    out << "\nNot changed on purpose:\n";
    for (const auto& s : plan.skipped)
      out << "  " << p.yellow() << "!" << p.reset() << " " << Display(s.key) << " [" << s.status
          << "]: " << s.reason << "\n";
  }
  for (const auto& e : plan.errors) out << "\n" << p.red() << "Error: " << p.reset() << e.Text() << "\n";
  if (plan.HasChanges()) out << "\n" << p.bold() << SummaryLine(plan) << p.reset() << "\n";
}

std::string RenderPlanMarkdown(const Plan& plan) {
  std::ostringstream out;
  WritePlanMarkdown(plan, out);
  return out.str();
}

void WritePlanMarkdown(const Plan& plan, std::ostream& out) {
  out << "### converge plan";
  if (!plan.git_commit.empty()) out << " for `" << plan.git_commit.substr(0, 12) << "`";
  out << "\n\n";
  if (plan.HasErrors()) {
    out << "> [!CAUTION]\n> The specs have errors; this plan is incomplete and will not apply.\n\n";
    for (const auto& d : plan.diagnostics)
      if (d.severity == Severity::kError) out << "- `" << d.pos.ToString() << "`: " << d.message << "\n";
    for (const auto& e : plan.errors) out << "- " << e.Text() << "\n";
    out << "\n";
  }
  if (!plan.HasChanges()) {
    out << "**No changes.** Live state matches the specs (" << plan.resources << " resources).\n";
  } else {
    out << "**" << SummaryLine(plan) << "**\n\n";
    out << "| | Resource | Backend | Action | Changed fields |\n|---|---|---|---|---|\n";
    for (const auto& c : plan.changes) {
      std::string fields;
      for (size_t i = 0; i < c.fields.size() && i < 3; ++i)
        fields += (i ? ", " : "") + std::string("`") + c.fields[i].path + "`";
      if (c.fields.size() > 3) fields += " and " + std::to_string(c.fields.size() - 3) + " more";
      out << "| `" << Symbol(c.action) << "` | `" << Display(c.key) << "` | " << c.backend
          << " | " << ActionName(c.action) << " | " << fields << " |\n";
    }
    out << "\n";
    for (const auto& c : plan.changes) {
      if (c.fields.empty()) continue;
      out << "<details><summary><code>" << Display(c.key) << "</code> (" << ActionName(c.action)
          << ")</summary>\n\n```diff\n";
      for (const auto& f : c.fields) {
        if (f.before.is_null()) out << "+ " << f.path << " = " << DisplayValue(f.after) << "\n";
        else if (f.after.is_null()) out << "- " << f.path << " = " << DisplayValue(f.before) << "\n";
        else
          out << "- " << f.path << " = " << DisplayValue(f.before) << "\n+ " << f.path << " = "
              << DisplayValue(f.after) << "\n";
      }
      out << "```\n\n</details>\n\n";
    }
  }
  if (!plan.skipped.empty()) {
    out << "\n**Not changed on purpose**\n\n";
    for (const auto& sk : plan.skipped)
      out << "- `" << Display(sk.key) << "` — " << sk.status << ": " << sk.reason << "\n";
  }
}

}  // namespace converge
