// One function per `converge` subcommand. Each returns the process exit code:
// 0 success / no changes, 2 changes present (plan --detailed-exitcode), 1 error.
//
// One file per command family: validate_command.cc, plan_apply_commands.cc, state_commands.cc
// (history, snapshots, rollback, hold/release, import), rerun_command.cc, watch_command.cc;
// commands.cc keeps DefaultStateDir and sandbox. What several share is in command_support.h.
#pragma once

#include <string>
#include <vector>

namespace converge::cli {

inline constexpr const char* kVersion = "0.1.0";

struct GlobalOptions {
  std::string state_dir;
  std::string instance = "converge";
  bool no_color = false;
  bool color = false;
};

struct ValidateOptions {
  std::string dir;
  std::string output = "text";
  bool strict = false;  // warnings are errors (exit 1)
};

struct PlanCmdOptions {
  std::string dir;
  std::string output = "text";
  std::string out_file;
  bool detailed_exitcode = false;
  bool prune = false;
  int max_deletes = 5;
};

struct ApplyOptions {
  std::string dir;
  std::string plan_file;
  bool auto_approve = false;
  bool prune = false;
  int max_deletes = 5;
  int parallelism = 4;
  std::string health_timeout;
  bool fail_fast = false;
  std::string output = "text";
};

struct HistoryOptions {
  std::string resource;
  int limit = 20;
  std::string output = "text";
};

struct SnapshotsOptions {
  std::string resource;
  std::string output = "text";
  std::string export_dir;
};

struct RollbackOptions {
  std::string resource;
  long long to = 0;
  long long run = 0;
  std::string health_timeout;
};

struct HoldOptions {
  std::string resource;
  std::string reason = "held by `converge hold`";
  std::string dir = ".";  // release: the specs, to resume a suspended maintenance resource
};

struct ImportOptions {
  std::string resource;
  std::string dir;
  std::string backend;
};

struct RerunOptions {
  std::string resource;
  std::string dir;
  std::string health_timeout;
  std::string output = "text";
};

std::string DefaultStateDir();
int RunValidate(const GlobalOptions& g, const ValidateOptions& o);
int RunPlan(const GlobalOptions& g, const PlanCmdOptions& o);
int RunApply(const GlobalOptions& g, const ApplyOptions& o);
int RunHistory(const GlobalOptions& g, const HistoryOptions& o);
int RunSnapshots(const GlobalOptions& g, const SnapshotsOptions& o);
int RunRollback(const GlobalOptions& g, const RollbackOptions& o);
int RunHold(const GlobalOptions& g, const HoldOptions& o, bool hold);
int RunImport(const GlobalOptions& g, const ImportOptions& o);
int RunRerun(const GlobalOptions& g, const RerunOptions& o);

}  // namespace converge::cli
