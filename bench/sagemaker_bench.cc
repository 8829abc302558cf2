// SageMaker observe cost (issue 15 item 3): requests and time of a steady-state plan of N
// endpoints, each with its endpoint config and model, against the in-process sandbox.
//
//   BM_SageMakerPlan/N/0   observe: list — ListModels / ListEndpointConfigs / ListEndpoints plus
//                          ListTags per object, DescribeEndpointConfig per config and
//                          DescribeEndpoint per endpoint (`observe: list`, how every plan
//                          observed before issue 15; `search` is the default now)
//   BM_SageMakerPlan/N/1   observe: search, cold cache — Search for models and endpoints,
//                          ListEndpointConfigs + ListTags + DescribeEndpointConfig per config
//                          (the first plan of a state directory)
//   BM_SageMakerPlan/N/2   observe: search, warm cache (state dir) — every later plan
// Each plan is a fresh `converge plan`: specs loaded, backends connected, observed, diffed.
//   BM_SageMakerLoadFloor/N   loading the specs only: the time floor of any plan
// Counters: requests_per_plan; floor_kinds = 3 (one list call per kind); floor_pages = the list
// calls the kinds need at 100 per page (3 x ceil(N / 100)); ratio = requests / floor_pages.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "bench/bench_setup.h"
#include "controller/backends.h"
#include "controller/executor.h"
#include "controller/planner.h"
#include "controller/sandbox/sandbox.h"
#include "controller/store/store.h"
#include "reconcilers/sagemaker/emulator.h"

namespace fs = std::filesystem;
using namespace converge;

namespace {

std::string SpecsYaml(int i) {
  std::ostringstream y;
  const std::string n = "svc" + std::to_string(i);
  y << "apiVersion: converge/v1\nkind: Model\nmetadata: {name: " << n << ", backend: sb}\n"
    << "spec:\n  ExecutionRoleArn: arn:aws:iam::123456789012:role/sagemaker-execution\n"
    << "  PrimaryContainer:\n    Image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/svc:" << i % 7
    << "\n    ModelDataUrl: s3://models/" << n << "/model.tar.gz\n"
    << "  Tags: [{Key: team, Value: t" << i % 20 << "}]\n---\n"
    << "apiVersion: converge/v1\nkind: EndpointConfig\nmetadata: {name: " << n
    << ", backend: sb}\nspec:\n  ProductionVariants:\n    - VariantName: main\n      ModelName: "
    << n << "\n      InstanceType: ml.m5.large\n      InitialInstanceCount: " << 1 + i % 3
    << "\n      InitialVariantWeight: 1\n---\n"
    << "apiVersion: converge/v1\nkind: Endpoint\nmetadata: {name: " << n << ", backend: sb}\n"
    << "spec: {EndpointConfigName: " << n << "}\n";
  return y.str();
}

struct World {
  fs::path dir;
  std::string url;
  std::unique_ptr<sandbox::Server> server;
  std::unique_ptr<store::Store> store;
};

void WriteBackend(const World& w, const char* observe) {
  std::ofstream(w.dir / "specs" / "backend.yaml")
      << "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: sb}\nspec: {type: sagemaker, "
         "region: eu-west-1, url: \""
      << w.url
      << "/sagemaker\", auth: {type: aws}, pollInterval: 5ms, healthTimeout: 10m, observe: "
      << observe << "}\n";
}

std::string CacheDir(const World& w) {
  return (w.dir / "state" / "cache").string();
}

Plan PlanOnce(World& w, bool cache, long* requests) {
  LoadResult specs = LoadSpecs((w.dir / "specs").string(), DefaultKindRegistry());
  if (specs.HasErrors()) std::abort();
  ConnectOptions co;
  if (cache) co.cache_dir = CacheDir(w);
  auto set = ConnectBackends(BackendsOf(specs), "converge", SystemClock(), co);
  if (!set.ok()) std::abort();
  BindSpecs(*set, specs);
  auto live = ObserveAll(*set);
  if (!live.ok()) {
    std::fprintf(stderr, "observe: %s\n", live.status().ToString().c_str());
    std::abort();
  }
  PlanInputs in{&specs, set->configs, set->reconcilers, std::move(*live), {}, {}};
  (void)ReadPlanState(*w.store, in);
  Plan plan = ComputePlan(in, PlanOptions{});
  long r = 0;
  for (auto& [_, rec] : set->reconcilers) r += rec->RequestCount();
  *requests = r;
  return plan;
}

// N spec triples, a sandbox holding the same objects (converged once by the real executor), a
// state dir.
World& GetWorld(int n) {
  static std::map<int, std::unique_ptr<World>> worlds;
  auto& slot = worlds[n];
  if (slot) return *slot;
  slot = std::make_unique<World>();
  World& w = *slot;
  // Requests are signed; the sandbox's emulator (no access key set) does not check them.
  setenv("AWS_ACCESS_KEY_ID", "AKIDBENCH", 0);
  setenv("AWS_SECRET_ACCESS_KEY", "bench-secret", 0);
  w.dir = fs::temp_directory_path() /
          ("converge-smbench-" + std::to_string(getpid()) + "-" + std::to_string(n));
  fs::remove_all(w.dir);
  fs::create_directories(w.dir / "specs" / "svc");
  sandbox::Options so;
  sagemaker::EmulatorOptions eo;
  eo.transition_ms = 0;
  eo.request_log_size = 0;
  so.emulators.push_back({"sagemaker", std::make_unique<sagemaker::Emulator>(eo)});
  w.server = std::make_unique<sandbox::Server>(std::move(so));
  if (!w.server->Start().ok()) std::abort();
  w.url = w.server->url();
  WriteBackend(w, "search");
  for (int i = 0; i < n; ++i)
    std::ofstream(w.dir / "specs" / "svc" / ("svc" + std::to_string(i) + ".yaml")) << SpecsYaml(i);
  auto st = store::Store::Open((w.dir / "state").string());
  if (!st.ok()) std::abort();
  w.store = std::move(*st);
  LoadResult specs = LoadSpecs((w.dir / "specs").string(), DefaultKindRegistry());
  if (specs.HasErrors()) {
    for (const auto& d : specs.diagnostics) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    std::abort();
  }
  if (bench::ConvergeOnce((w.dir / "specs").string(), *w.store) > 0) std::abort();
  return w;
}

void BM_SageMakerPlan(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int mode = static_cast<int>(state.range(1));
  World& w = GetWorld(n);
  WriteBackend(w, mode == 0 ? "list" : "search");
  long requests = 0;
  size_t changes = 0;
  if (mode == 2) PlanOnce(w, true, &requests);  // fills the cache
  for (auto _ : state) {
    if (mode == 1) {
      state.PauseTiming();
      fs::remove_all(CacheDir(w));
      state.ResumeTiming();
    }
    changes = PlanOnce(w, mode != 0, &requests).changes.size();
  }
  const double pages = 3.0 * ((n + 99) / 100);
  state.counters["requests_per_plan"] = static_cast<double>(requests);
  state.counters["floor_kinds"] = 3;
  state.counters["floor_pages"] = pages;
  state.counters["ratio"] = static_cast<double>(requests) / pages;
  state.counters["changes"] = static_cast<double>(changes);  // steady state: 0
}

// The time floor: loading the 3 x N spec documents (parse + validation), which every plan does
// before it asks SageMaker anything.
void BM_SageMakerLoadFloor(benchmark::State& state) {
  World& w = GetWorld(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    LoadResult specs = LoadSpecs((w.dir / "specs").string(), DefaultKindRegistry());
    benchmark::DoNotOptimize(specs.documents.size());
  }
}

BENCHMARK(BM_SageMakerLoadFloor)
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->ArgName("N")
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SageMakerPlan)
    ->ArgsProduct({{10, 100, 1000}, {0, 1, 2}})
    ->ArgNames({"N", "mode"})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
