#include "controller/cli/command_support.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "controller/load_and_observe.h"
#include "controller/planner.h"

namespace converge::cli {
namespace {

namespace fs = std::filesystem;

// Reports runs a killed converge left behind; the new plan is computed from live state, so
// nothing else is needed to converge.
void RecoverInterrupted(store::Store& st) {
  auto entries = st.RecoverInterrupted();
  if (!entries.ok()) return;
  for (const auto& e : *entries) {
    std::fprintf(stderr,
                 "note: run %lld was interrupted during %s of %s; it is re-planned from live "
                 "state\n",
                 static_cast<long long>(e.run_id), e.action.c_str(), e.key.c_str());
  }
}

}  // namespace

void Err(const std::string& msg) {
  std::fprintf(stderr, "Error: %s\n", msg.c_str());
}

std::optional<StateSession> OpenState(const GlobalOptions& g, const char* writer, bool recover) {
  auto st = store::Store::Open(g.state_dir);
  if (!st.ok()) {
    Err(st.status().Annotate("opening state directory " + g.state_dir).message());
    return std::nullopt;
  }
  StateSession session{std::move(*st), nullptr};
  if (writer == nullptr) return session;
  auto lock = store::StateLock::Acquire(g.state_dir, writer);
  if (!lock.ok()) {
    Err(lock.status().message());
    return std::nullopt;
  }
  session.lock = std::move(*lock);
  if (recover) RecoverInterrupted(*session.store);
  return session;
}

Result<Planned> MakePlan(const GlobalOptions& g, const std::string& dir, bool prune,
                         int max_deletes, store::Store& st) {
  Planned p;
  ConnectOptions co;
  co.cache_dir = CacheDirOf(g.state_dir);
  // Observing starts while the specs still load (controller/load_and_observe.h).
  LoadedWorld world;
  Status loaded = LoadAndObserve(dir, DefaultKindRegistry(), g.instance, SystemClock(), co, world);
  if (!loaded.ok()) return loaded;
  p.specs = std::move(world.specs);
  p.backends = std::move(world.backends);
  PlanInputs in;
  if (Status read = ReadPlanState(st, in); !read.ok()) return read;
  in.specs = &p.specs;
  in.backends = p.backends.configs;
  in.reconcilers = p.backends.reconcilers;
  in.live = std::move(world.live);
  PlanOptions opts;
  opts.prune = prune;
  opts.max_deletes = max_deletes;
  opts.spec_dir = dir;
  opts.git_commit = GitCommitOf(fs::is_directory(dir) ? dir : fs::path(dir).parent_path().string());
  p.plan = ComputePlan(in, opts);
  return p;
}

std::string ResultsSummary(const std::vector<ChangeResult>& results) {
  std::map<std::string, int> done;
  int failed = 0, rolled = 0, skipped = 0;
  for (const auto& r : results) {
    if (r.outcome == Outcome::kApplied)
      done[ActionName(r.action)]++;
    else if (r.outcome == Outcome::kRolledBack)
      rolled++;
    else if (r.outcome == Outcome::kSkipped)
      skipped++;
    else
      failed++;
  }
  std::ostringstream out;
  out << done["create"] << " created, " << done["update"] << " updated, " << done["scale"]
      << " scaled, " << done["delete"] << " deleted";
  if (done["replace"]) out << ", " << done["replace"] << " replaced";
  if (done["run"]) out << ", " << done["run"] << " run";
  if (rolled) out << ", " << rolled << " rolled back";
  if (failed) out << ", " << failed << " failed";
  if (skipped) out << ", " << skipped << " skipped";
  return out.str();
}

json ResultsJson(int64_t run, const std::vector<ChangeResult>& results) {
  json arr = json::array();
  for (const auto& r : results)
    arr.push_back({{"kind", r.key.kind},
                   {"name", r.key.name},
                   {"action", ActionName(r.action)},
                   {"outcome", OutcomeName(r.outcome)},
                   {"message", r.message},
                   {"code", CodeName(r.status.code())},
                   {"snapshot", r.snapshot_id},
                   {"seconds", r.seconds}});
  return {{"run", run}, {"results", arr}, {"summary", ResultsSummary(results)}};
}

void PrintNotApplied(const std::vector<ChangeResult>& results) {
  for (const auto& r : results)
    if (r.outcome != Outcome::kApplied)
      std::printf("  %s: %s: %s\n", r.key.ToString().c_str(), OutcomeName(r.outcome),
                  r.message.c_str());
  std::fflush(stdout);
}

std::map<std::string, BackendConfig> ConfigsFromSpecs(const std::map<std::string, json>& specs) {
  std::map<std::string, BackendConfig> out;
  for (const auto& [name, spec] : specs) {
    Document d;
    d.kind = "Backend";
    d.name = name;
    d.spec = spec;
    out[name] = BackendFromDocument(d);
  }
  return out;
}

bool ParseTimeout(const std::string& s, std::chrono::seconds* out) {
  if (s.empty()) return true;
  if (!ParseDuration(s, out) || out->count() <= 0) {
    Err("--health-timeout: expected a duration such as 90s, 10m or 1h, got \"" + s + "\"");
    return false;
  }
  return true;
}

}  // namespace converge::cli
