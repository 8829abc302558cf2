// `converge schema [-o DIR]`: the JSON Schema (draft-07) of a spec document, for editors
// (yaml-language-server) and CI (any draft-07 validator). Printed as one self-contained file, or
// written as one file per kind plus an index (converge.schema.json) that refers to them.
// Assembled by reconcilers/spec_schema.h from what each backend registers; see docs/specs.md.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace converge::cli {

struct SchemaOptions {
  std::string out_dir;  // "" = print the one self-contained schema on stdout
};

CLI::App* AddSchemaCommand(CLI::App& app, SchemaOptions& o);
// 0 on success, 1 when a file cannot be written (the message names it).
int RunSchema(const SchemaOptions& o);

}  // namespace converge::cli
