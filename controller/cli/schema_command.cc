#include "controller/cli/schema_command.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>

#include "controller/backends.h"
#include "reconcilers/spec_schema.h"

namespace converge::cli {

CLI::App* AddSchemaCommand(CLI::App& app, SchemaOptions& o) {
  auto* sub = app.add_subcommand(
      "schema",
      "Print the JSON Schema (draft-07) of a spec document: every kind, the envelope and the "
      "Backend members, for editors (yaml-language-server) and CI; see docs/specs.md");
  sub->add_option("-o,--output-dir", o.out_dir,
                  "Write one <kind>.schema.json per kind plus converge.schema.json (the index, "
                  "referring to them by relative $ref) into this directory instead (created if "
                  "missing; existing files of those names are replaced)")
      ->type_name("DIR");
  return sub;
}

int RunSchema(const SchemaOptions& o) {
  const KindRegistry kinds = DefaultKindRegistry();
  if (o.out_dir.empty()) {
    std::cout << DocumentSchema(kinds).dump(2) << "\n";
    return std::cout.good() ? 0 : 1;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec) {
    std::cerr << "error: cannot create " << o.out_dir << ": " << ec.message() << "\n";
    return 1;
  }
  for (const auto& [name, schema] : SchemaFiles(kinds)) {
    const fs::path path = fs::path(o.out_dir) / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << schema.dump(2) << "\n";
    out.close();
    if (!out) {
      std::cerr << "error: cannot write " << path.string() << "\n";
      return 1;
    }
  }
  std::cout << "Wrote " << SchemaFiles(kinds).size() << " schema files to " << o.out_dir
            << " (index: " << kIndexSchemaFile << ").\n";
  return 0;
}

}  // namespace converge::cli
