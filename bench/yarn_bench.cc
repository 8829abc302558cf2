// Requests per steady-state `converge plan` of N YARN services (issue "YARN"), against the
// in-process sandbox's ResourceManager.
//
//   BM_YarnPlan/N   LoadSpecs + observe + diff + plan of N converged YarnService specs
// Counters:
//   requests_per_plan   every HTTP attempt converge made (the reconciler's own count)
//   rm_info, version, apps_lists, service_gets   the same requests by endpoint, from the
//                       sandbox's request log (RM discovery, the Services API probe, the RM apps
//                       lists: yarn-service applications, and the running applications converge
//                       submitted (YarnApplication prune candidates); one GET per bound service)
//   floor               N + 1: there is no list call for services, so a diff needs the apps list
//                       plus one GET per service (ownership is only in the GET's properties)
//   changes             changes in the plan (0: steady state)
#include <benchmark/benchmark.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench/bench_setup.h"
#include "controller/backends.h"
#include "controller/executor.h"
#include "controller/planner.h"
#include "controller/sandbox/sandbox.h"
#include "controller/store/store.h"
#include "reconcilers/yarn/emulator.h"

namespace fs = std::filesystem;
using namespace converge;

namespace {

std::string ServiceYaml(int i) {
  std::ostringstream y;
  y << "apiVersion: converge/v1\nkind: YarnService\nmetadata:\n  name: svc" << i
    << "\n  backend: hadoop\nspec:\n  version: \"1." << i % 7 << "\"\n  components:\n"
    << "    - name: web\n      number_of_containers: " << 1 + i % 2
    << "\n      launch_command: httpd -p 8080\n      resource: {cpus: 1, memory: \"256\"}\n"
    << "      readiness_check: {type: HTTP, properties: {url: \"http://${THIS_HOST}:8080/\"}}\n"
    << "    - name: worker\n      number_of_containers: 1\n"
    << "      launch_command: sleep 900000\n      resource: {cpus: 1, memory: \"128\"}\n";
  return y.str();
}

struct World {
  fs::path dir;
  std::unique_ptr<sandbox::Server> server;
  std::unique_ptr<store::Store> store;
};

World& GetWorld(int n) {
  static std::map<int, std::unique_ptr<World>> worlds;
  auto& slot = worlds[n];
  if (slot) return *slot;
  slot = std::make_unique<World>();
  World& w = *slot;
  w.dir = fs::temp_directory_path() /
          ("converge-yarn-bench-" + std::to_string(getpid()) + "-" + std::to_string(n));
  fs::remove_all(w.dir);
  fs::create_directories(w.dir / "specs");
  sandbox::Options so;
  yarn::EmulatorOptions yo;
  yo.transition_ms = 1;
  yo.static_user = "deploy";
  so.emulators.push_back({"yarn", std::make_unique<yarn::Emulator>(yo)});
  w.server = std::make_unique<sandbox::Server>(std::move(so));
  if (!w.server->Start().ok()) std::abort();
  std::ofstream(w.dir / "specs" / "backend.yaml")
      << "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: hadoop}\nspec:\n  type: yarn\n"
      << "  urls: [\"" << w.server->url() << "/yarn\"]\n  auth: {type: simple, user: deploy}\n"
      << "  pollInterval: 10ms\n";
  for (int i = 0; i < n; ++i) {
    std::ofstream(w.dir / "specs" / ("svc" + std::to_string(i) + ".yaml")) << ServiceYaml(i);
  }
  auto st = store::Store::Open((w.dir / "state").string());
  if (!st.ok()) std::abort();
  w.store = std::move(*st);
  bench::ConvergeOnce((w.dir / "specs").string(), *w.store);
  return w;
}

// The sandbox's request log, by endpoint.
std::map<std::string, long> RequestsByEndpoint(World& w) {
  httplib::Client c(w.server->url());
  auto res = c.Get("/_admin/requests");
  std::map<std::string, long> out;
  if (!res || res->status != 200) return out;
  auto log = nlohmann::json::parse(res->body, nullptr, false);
  if (!log.is_object()) return out;
  for (const auto& r : log["log"]) {
    std::string p = r.value("path", "");
    if (p.find("/ws/v1/cluster/info") != std::string::npos) ++out["rm_info"];
    else if (p.find("/app/v1/services/version") != std::string::npos) ++out["version"];
    else if (p.find("/ws/v1/cluster/apps") != std::string::npos) ++out["apps_lists"];
    else if (p.find("/app/v1/services/") != std::string::npos) ++out["service_gets"];
    else ++out["other"];
  }
  return out;
}

void BM_YarnPlan(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  World& w = GetWorld(n);
  long requests = 0;
  size_t changes = 0;
  std::map<std::string, long> by_endpoint;
  for (auto _ : state) {
    httplib::Client(w.server->url()).Delete("/_admin/requests");
    LoadResult specs = LoadSpecs((w.dir / "specs").string(), DefaultKindRegistry());
    auto set = ConnectBackends(BackendsOf(specs), "converge", SystemClock());
    BindSpecs(*set, specs);  // as `converge plan` does
    auto live = ObserveAll(*set);
    if (!live.ok()) state.SkipWithError(live.status().message().c_str());
    PlanInputs in{&specs, set->configs, set->reconcilers, std::move(*live), {}, {}};
    (void)ReadPlanState(*w.store, in);
    Plan plan = ComputePlan(in, PlanOptions{});
    changes = plan.changes.size();
    requests = 0;
    for (auto& [_, rec] : set->reconcilers) requests += rec->RequestCount();
    state.PauseTiming();
    by_endpoint = RequestsByEndpoint(w);
    state.ResumeTiming();
  }
  state.counters["requests_per_plan"] = static_cast<double>(requests);
  state.counters["floor"] = static_cast<double>(n + 1);
  state.counters["changes"] = static_cast<double>(changes);
  for (const char* k : {"rm_info", "version", "apps_lists", "service_gets", "other"}) {
    state.counters[k] = static_cast<double>(by_endpoint[k]);
  }
}

BENCHMARK(BM_YarnPlan)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
