#include "controller/cli/commands.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "controller/backends.h"
#include "controller/executor.h"
#include "controller/planner.h"
#include "controller/render.h"
#include "controller/store/store.h"

namespace converge::cli {

std::string DefaultStateDir() {
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/converge";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/state/converge";
  return ".converge-state";
}

}  // namespace converge::cli
