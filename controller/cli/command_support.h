// Internal to the CLI (controller/cli/*_command(s).cc): what several subcommands share — error
// printing, opening the state directory (with the writer lock), planning a spec directory
// against live state, summarising results, and parsing --health-timeout.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/backends.h"
#include "controller/cli/commands.h"
#include "controller/executor.h"
#include "controller/plan.h"
#include "controller/store/store.h"

namespace converge::cli {

// Prints "Error: <msg>" to stderr.
void Err(const std::string& msg);

// The state a command works on: the store, and for writers the state-directory lock.
struct StateSession {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<store::StateLock> lock;
};

// Opens the store; a writer (`writer` names its command) also takes the lock and, with
// `recover`, reports runs a killed converge left behind. Errors are printed; nullopt = exit 1.
std::optional<StateSession> OpenState(const GlobalOptions& g, const char* writer,
                                      bool recover = false);

struct Planned {
  LoadResult specs;
  BackendSet backends;
  Plan plan;
};

// Loads the specs, connects and observes every backend, reads last-applied and holds, and
// computes the plan. Spec errors do not stop planning (the plan shows what it can, with
// deletions blocked); backend errors do.
Result<Planned> MakePlan(const GlobalOptions& g, const std::string& dir, bool prune,
                         int max_deletes, store::Store& st);

// "N created, N updated, ..." and the JSON form of a run's results.
std::string ResultsSummary(const std::vector<ChangeResult>& results);
json ResultsJson(int64_t run, const std::vector<ChangeResult>& results);
// One line per change that did not apply: "  KIND/NAME: OUTCOME: message" on stdout.
void PrintNotApplied(const std::vector<ChangeResult>& results);

// Rebuilds backend configs recorded in a saved plan or in the state (secret references only).
std::map<std::string, BackendConfig> ConfigsFromSpecs(const std::map<std::string, json>& specs);

// --health-timeout: empty keeps *out; an invalid or non-positive duration is printed as an
// error and returns false.
bool ParseTimeout(const std::string& s, std::chrono::seconds* out);

}  // namespace converge::cli
