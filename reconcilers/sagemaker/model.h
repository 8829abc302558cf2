// The SageMaker service model converge is checked against: the subset of botocore's
// service-2.json (Debian python3-botocore 1.29.27) that scripts/gen_sagemaker_model.py extracts,
// embedded in the binary. Both sides use it: spec validation (a kind's spec is the native
// Create* request shape) and the sandbox's emulator (it answers ValidationException as the real
// service does).
#pragma once

#include <string>
#include <vector>

#include "specs/base/status.h"
#include "specs/document.h"

namespace converge::sagemaker {

// The whole embedded model: {"metadata", "operations", "shapes", "source"}.
const json& ServiceModel();

// The input / output shape name of an operation ("CreateModel" -> "CreateModelInput"), or "" if
// the operation is not in the subset.
std::string InputShapeOf(const std::string& operation);
std::string OutputShapeOf(const std::string& operation);

struct ShapeCheckOptions {
  // Integer/long members given as numeric strings ("3") are converted in place, with a kWarning
  // (YAML templating produces them; the Airflow operators' parse_integer exists for the same).
  bool coerce_numeric_strings = false;
  // What the service checks beyond botocore's client-side validation: string max length,
  // pattern (full match; patterns the linear-time engine cannot compile are skipped), enum
  // values, numeric max, list max.
  bool service_constraints = true;
  // Members named here are allowed at the top level although the shape lacks them (none by
  // default).
  std::vector<std::string> extra_top_level;
};

// Appends one diagnostic per problem of `value` against `shape` (a shape name of the model):
// unknown members, missing required members (also nested), wrong JSON types, min/max length and
// value, enum, pattern. Paths are `base_path` + a JSON pointer ("/spec/PrimaryContainer/Image").
// Messages say what was expected ("expected an integer (shape ProductionVariantInstanceCount, min
// 1)"). Bounded: at most 100 diagnostics, depth 64.
void ValidateShape(json& value, const std::string& shape, const std::string& base_path,
                   const ShapeCheckOptions& options, std::vector<PathDiagnostic>& out);

}  // namespace converge::sagemaker
