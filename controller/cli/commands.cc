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
#include "controller/sandbox/sandbox.h"
#include "controller/store/store.h"

namespace converge::cli {

std::string DefaultStateDir() {
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/converge";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/state/converge";
  return ".converge-state";
}

int RunSandbox(const SandboxCmdOptions& o) {
  sandbox::Options opts;
  opts.listen = o.listen;
  opts.state_file = o.state_file;
  opts.marathon_deploy_ms = o.marathon_deploy_ms;
  opts.marathon_basic_auth = o.marathon_basic_auth;
  opts.sagemaker_delay_ms = o.sagemaker_delay_ms;
  opts.sagemaker_failing_images = o.sagemaker_failing_images;
  opts.sagemaker_access_key = o.sagemaker_access_key;
  opts.sagemaker_secret_key = o.sagemaker_secret_key;
  opts.sagemaker_region = o.sagemaker_region;
  return sandbox::Run(opts);
}

}  // namespace converge::cli
