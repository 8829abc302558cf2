// Shared by the benchmarks: bring a sandbox to the state of a spec directory once, with the real
// planner and executor (parallel), so that every measured plan is a steady-state one.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "controller/backends.h"
#include "controller/executor.h"
#include "controller/planner.h"
#include "controller/store/store.h"

namespace converge::bench {

// Plans `specs_dir` against its backends and applies the plan; returns the failed changes
// (each reported on stderr with the first one's reason).
inline size_t ConvergeOnce(const std::string& specs_dir, store::Store& st) {
  LoadResult specs = LoadSpecs(specs_dir, DefaultKindRegistry());
  auto set = ConnectBackends(BackendsOf(specs), "converge", SystemClock());
  if (!set.ok()) {
    std::fprintf(stderr, "setup: connect: %s\n", set.status().ToString().c_str());
    return 1;
  }
  BindSpecs(*set, specs);
  auto live = ObserveAll(*set);
  if (!live.ok()) {
    std::fprintf(stderr, "setup: observe: %s\n", live.status().ToString().c_str());
    return 1;
  }
  PlanInputs in{&specs, set->configs, set->reconcilers, std::move(*live), {}, {}};
  Plan plan = ComputePlan(in, PlanOptions{});
  Progress quiet(stderr, /*quiet=*/true);
  ExecOptions eo;
  eo.parallelism = 8;
  eo.poll_interval = std::chrono::milliseconds(5);
  Executor exec(ExecContext{&st, set->reconcilers, set->configs, &SystemClock(), &quiet}, eo);
  auto run = st.BeginRun("bench-setup", "");
  size_t failed = 0;
  for (const auto& r : exec.Apply(*run, plan)) {
    if (r.outcome == Outcome::kApplied) continue;
    if (!failed) std::fprintf(stderr, "setup: %s: %s\n", r.key.ToString().c_str(), r.message.c_str());
    ++failed;
  }
  if (failed) std::fprintf(stderr, "setup: %zu of %zu changes failed\n", failed, plan.changes.size());
  return failed;
}

}  // namespace converge::bench
