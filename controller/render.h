// Renders a Plan for people: terraform-like text (colour only when asked, i.e. on a TTY),
// Markdown for pull-request comments. JSON output is PlanToJson (plan.h).
#pragma once

#include <ostream>
#include <string>

#include "controller/plan.h"

namespace converge {

struct RenderOptions {
  bool color = false;
};

std::string RenderPlanText(const Plan& plan, const RenderOptions& options);
std::string RenderPlanMarkdown(const Plan& plan);
// The same text written to `out` as it is made, never held whole (10,000 creates are ~15 MB).
void WritePlanText(const Plan& plan, const RenderOptions& options, std::ostream& out);
void WritePlanMarkdown(const Plan& plan, std::ostream& out);
// "Plan: 1 to create, 2 to update, 0 to scale, 0 to delete." (only non-zero kinds beyond the
// four usual ones).
std::string SummaryLine(const Plan& plan);
// Short display of a JSON value: strings quoted, long values truncated.
std::string DisplayValue(const json& v);
// One field of a change, as the plan shows it: "+ path = v", "- path = v -> (default)",
// "~ path: old -> new" (the status page shows the same lines).
std::string FieldChangeLine(const FieldChange& f, bool color = false);
std::string RenderDiagnostics(const std::vector<Diagnostic>& diags, bool color);

}  // namespace converge
