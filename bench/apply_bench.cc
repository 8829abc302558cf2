// Parallel apply against its floor (issue 15 item 4): N changed Marathon apps whose deployments
// take D each, applied with --parallelism P, as `converge apply` does it (the real executor with
// its default health-poll interval, snapshots in a real SQLite store). The floor is
// ceil(N / P) × D: P deployments at a time and nothing else.
//
//   BM_ParallelApply/N/P           the in-process sandbox answers at once
//   BM_ParallelApplySlowProxy/N/P  every Marathon request takes 20 ms more (a proxy between
//                                  converge and Marathon; an injected sandbox latency fault)
// Counters: floor_s, ratio (wall / floor), requests and writes of the apply.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <httplib.h>
#include <map>
#include <sstream>

#include "bench/bench_setup.h"
#include "controller/backends.h"
#include "controller/executor.h"
#include "controller/planner.h"
#include "controller/sandbox/sandbox.h"
#include "controller/store/store.h"
#include "reconcilers/marathon/emulator.h"

namespace fs = std::filesystem;
using namespace converge;

namespace {

constexpr int kDeployMs = 1000;

std::string AppYaml(int i, int version) {
  std::ostringstream y;
  y << "apiVersion: converge/v1\nkind: App\nmetadata:\n  name: /apply/app" << i
    << "\nspec:\n  instances: 1\n  cpus: 0.1\n  mem: 64\n  container:\n    type: DOCKER\n"
    << "    docker:\n      image: registry.example/apply/app" << i << ":" << version << "\n";
  return y.str();
}

struct World {
  fs::path dir;
  std::unique_ptr<sandbox::Server> server;
  std::unique_ptr<store::Store> store;
  marathon::Emulator* marathon = nullptr;
  int n = 0;
  int version = 1;
};

std::map<int, std::unique_ptr<World>>& Worlds() {
  static std::map<int, std::unique_ptr<World>> w;
  return w;
}

void WriteSpecs(World& w) {
  for (int i = 0; i < w.n; ++i)
    std::ofstream(w.dir / "specs" / ("app" + std::to_string(i) + ".yaml")) << AppYaml(i, w.version);
}

// N apps converged at version 1 (deployments instant during set-up), then deployments take D.
World& GetWorld(int n) {
  auto& slot = Worlds()[n];
  if (slot) return *slot;
  slot = std::make_unique<World>();
  World& w = *slot;
  w.n = n;
  w.dir = fs::temp_directory_path() /
          ("converge-apply-bench-" + std::to_string(getpid()) + "-" + std::to_string(n));
  fs::remove_all(w.dir);
  fs::create_directories(w.dir / "specs");
  sandbox::Options so;
  marathon::EmulatorOptions mo;
  mo.transition_ms = 0;
  auto emu = std::make_unique<marathon::Emulator>(mo);
  w.marathon = emu.get();
  so.emulators.push_back({"marathon", std::move(emu)});
  w.server = std::make_unique<sandbox::Server>(std::move(so));
  if (!w.server->Start().ok()) std::abort();
  std::ofstream(w.dir / "specs" / "backend.yaml")
      << "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: sb}\nspec: {type: marathon, "
         "url: \""
      << w.server->url() << "/marathon\", healthTimeout: 120s}\n";
  WriteSpecs(w);
  auto st = store::Store::Open((w.dir / "state").string());
  if (!st.ok()) std::abort();
  w.store = std::move(*st);
  if (bench::ConvergeOnce((w.dir / "specs").string(), *w.store) != 0) std::abort();
  w.marathon->SetTransitionMs(kDeployMs);
  return w;
}

void SetLatency(World& w, int ms) {
  httplib::Client c(w.server->url());
  c.Delete("/_admin/faults");
  if (ms > 0) {
    nlohmann::json rule = {{"backend", "marathon"}, {"latency_ms", ms}};
    c.Post("/_admin/faults", rule.dump(), "application/json");
  }
}

void RunApply(benchmark::State& state, int latency_ms) {
  const int n = static_cast<int>(state.range(0));
  const int parallelism = static_cast<int>(state.range(1));
  World& w = GetWorld(n);
  SetLatency(w, latency_ms);
  const double floor_s = std::ceil(double(n) / parallelism) * kDeployMs / 1000.0;
  double wall = 0;
  long requests = 0, writes = 0;
  size_t failed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    ++w.version;
    WriteSpecs(w);
    state.ResumeTiming();
    auto t0 = std::chrono::steady_clock::now();
    LoadResult specs = LoadSpecs((w.dir / "specs").string(), DefaultKindRegistry());
    auto set = ConnectBackends(BackendsOf(specs), "converge", SystemClock());
    if (!set.ok()) std::abort();
    BindSpecs(*set, specs);
    auto live = ObserveAll(*set);
    if (!live.ok()) std::abort();
    PlanInputs in{&specs, set->configs, set->reconcilers, std::move(*live), {}, {}};
    (void)ReadPlanState(*w.store, in);
    Plan plan = ComputePlan(in, PlanOptions{});
    if (static_cast<int>(plan.changes.size()) != n) state.SkipWithError("not every app changed");
    Progress quiet(stderr, /*quiet=*/true);
    ExecOptions eo;  // the CLI's defaults, --parallelism P
    eo.parallelism = parallelism;
    Executor exec(ExecContext{w.store.get(), set->reconcilers, set->configs, &SystemClock(), &quiet},
                  eo);
    auto run = w.store->BeginRun("bench-apply", "");
    failed = 0;
    for (const auto& r : exec.Apply(*run, plan))
      if (r.outcome != Outcome::kApplied) ++failed;
    wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    requests = writes = 0;
    for (auto& [_, rec] : set->reconcilers) {
      requests += rec->RequestCount();
      writes += rec->WriteCount();
    }
  }
  SetLatency(w, 0);
  if (failed) state.SkipWithError("changes failed");
  state.counters["floor_s"] = floor_s;
  state.counters["wall_s"] = wall;
  state.counters["ratio"] = wall / floor_s;
  state.counters["requests"] = static_cast<double>(requests);
  state.counters["writes"] = static_cast<double>(writes);
}

void BM_ParallelApply(benchmark::State& state) { RunApply(state, 0); }
void BM_ParallelApplySlowProxy(benchmark::State& state) { RunApply(state, 20); }

BENCHMARK(BM_ParallelApply)->Args({100, 10})->Args({1000, 50})->Iterations(1)->UseRealTime()
    ->Unit(benchmark::kSecond);
BENCHMARK(BM_ParallelApplySlowProxy)->Args({100, 10})->Args({1000, 50})->Iterations(1)
    ->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  for (auto& [_, w] : Worlds()) {
    w->server->Stop();
    fs::remove_all(w->dir);
  }
  benchmark::Shutdown();
  return 0;
}
