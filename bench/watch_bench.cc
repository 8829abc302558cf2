// `converge watch` benchmarks (numbers for the closing notes, not pass/fail):
//
//   BM_FullPlan/10000          what a full reconcile costs: LoadSpecs of 10,000 files + observe
//                              (one GET /v2/apps of 10,000 live apps) + ComputePlan of all
//   BM_IncrementalReplan/10000 what watch does when one file changes: SpecCache re-parses that
//                              file + the set checks + observe + ComputePlan of the one key
//   BM_FullPlanCpu / BM_IncrementalReplanCpu: the same without the observe (the parts that
//                              differ; the observe is the same list call in both)
//
// Then, with the real binary: file-write -> first backend request latency of `converge watch`
// over 200 changes (p50/p99), through a recording proxy in front of the sandbox, for the
// default debounce (100ms) and a 10ms debounce.
#include <benchmark/benchmark.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "controller/backends.h"
#include "controller/planner.h"
#include "controller/sandbox/sandbox.h"
#include "reconcilers/marathon/emulator.h"
#include "controller/watch/spec_cache.h"

namespace fs = std::filesystem;
using namespace converge;

extern char** environ;

namespace {

std::string AppYaml(int i, const std::string& version = "1.0") {
  std::ostringstream y;
  y << "apiVersion: converge/v1\nkind: App\nmetadata:\n  name: /bench/team" << i % 50 << "/app" << i
    << "\n  labels: {team: t" << i % 50 << "}\nspec:\n  instances: " << 1 + i % 3
    << "\n  cpus: 0.25\n  mem: 256\n  container:\n    type: DOCKER\n    docker:\n"
    << "      image: registry.example/bench/app" << i << ":" << version
    << "\n    portMappings:\n      - {containerPort: 8080, hostPort: 0, name: http}\n"
    << "  env:\n    LOG_LEVEL: info\n    SHARD: \"" << i << "\"\n"
    << "  upgradeStrategy: {minimumHealthCapacity: 0.5, maximumOverCapacity: 0.2}\n";
  return y.str();
}

void WriteAtomically(const fs::path& p, const std::string& text) {
  fs::path tmp = p.parent_path() / ("." + p.filename().string() + ".tmp");
  std::ofstream(tmp) << text;
  fs::rename(tmp, p);
}

struct World {
  int n = 0;
  fs::path dir;
  std::unique_ptr<sandbox::Server> server;
  std::unique_ptr<watch::SpecCache> cache;
  int flips = 0;
};

// N spec files and a sandbox already running the same N apps (put straight into the emulator,
// in-process, with the ownership label: a steady state without minutes of setup).
World& GetWorld(int n) {
  static std::map<int, std::unique_ptr<World>> worlds;
  auto& slot = worlds[n];
  if (slot) return *slot;
  slot = std::make_unique<World>();
  World& w = *slot;
  w.n = n;
  w.dir = fs::temp_directory_path() /
          ("converge-watch-bench-" + std::to_string(getpid()) + "-" + std::to_string(n));
  fs::remove_all(w.dir);
  fs::create_directories(w.dir / "specs" / "apps");
  sandbox::Options so;
  marathon::EmulatorOptions mo;
  mo.transition_ms = 0;
  so.emulators.push_back({"marathon", std::make_unique<marathon::Emulator>(mo)});
  w.server = std::make_unique<sandbox::Server>(std::move(so));
  if (!w.server->Start().ok()) std::abort();
  std::ofstream(w.dir / "specs" / "backend.yaml")
      << "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: sb}\nspec: {type: marathon, "
         "url: \""
      << w.server->url() << "/marathon\"}\n";
  for (int i = 0; i < n; ++i)
    std::ofstream(w.dir / "specs" / "apps" / ("app" + std::to_string(i) + ".yaml")) << AppYaml(i);
  LoadResult specs = LoadSpecs((w.dir / "specs").string(), DefaultKindRegistry());
  auto set = ConnectBackends(BackendsOf(specs), "converge", SystemClock());
  Reconciler* rec = set->reconcilers.at("sb");
  for (const Document& d : specs.documents) {
    if (d.kind != "App") continue;
    httplib::Request req;
    req.method = "PUT";
    req.body = rec->Desired(d).dump();
    req.set_header("Content-Type", "application/json");
    httplib::Response res;
    w.server->Get<marathon::Emulator>("marathon").Handle(req, res, "/v2/apps" + d.name);
  }
  w.cache = std::make_unique<watch::SpecCache>((w.dir / "specs").string(), DefaultKindRegistry());
  w.cache->Rescan();
  return w;
}

void BM_FullPlan(benchmark::State& state) {
  World& w = GetWorld(state.range(0));
  size_t settle = 0;
  for (auto _ : state) {
    LoadResult specs = LoadSpecs((w.dir / "specs").string(), DefaultKindRegistry());
    auto set = ConnectBackends(BackendsOf(specs), "converge", SystemClock());
    auto live = ObserveAll(*set);
    PlanInputs in{&specs, set->configs, set->reconcilers, std::move(*live), {}, {}};
    Plan plan = ComputePlan(in, PlanOptions{});
    settle = plan.settle.size() + plan.changes.size();
  }
  state.counters["resources_planned"] = static_cast<double>(settle);
}

// One file changes (its image flips); watch re-parses it and plans its one resource. How the
// live state is read differs: the whole backend, one Get per affected key (what
// `converge watch` does for a small batch: Loop::ObserveBatch), or not at all (observed once
// before the loop: spec loading and planning only).
enum class Observe { kWholeBackend, kGetPerKey, kNone };

void RunIncremental(benchmark::State& state, Observe observe) {
  World& w = GetWorld(state.range(0));
  LoadResult first = LoadSpecs((w.dir / "specs").string(), DefaultKindRegistry());
  auto set = ConnectBackends(BackendsOf(first), "converge", SystemClock());
  auto observed_once = ObserveAll(*set);
  fs::path file = w.dir / "specs" / "apps" / "app7.yaml";
  size_t changes = 0, parsed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    WriteAtomically(file, AppYaml(7, ++w.flips % 2 ? "2.0" : "1.0"));
    state.ResumeTiming();
    watch::CacheUpdate u = w.cache->UpdatePaths({file.string()});
    auto specs = w.cache->Current();
    std::map<std::string, std::vector<LiveObject>> live;
    if (observe == Observe::kWholeBackend) {
      live = std::move(*ObserveAll(*set));
    } else if (observe == Observe::kGetPerKey) {
      for (const auto& [name, rec] : set->reconcilers) {
        auto& objects = live[name];
        for (const auto& k : u.affected) {
          auto o = rec->Get(*ParseResourceKey(k));
          if (o.ok() && o->has_value()) objects.push_back(std::move(**o));
        }
      }
    } else {
      live = std::move(*observed_once);  // lent, not copied: copying 10,000 objects is not planning
    }
    PlanInputs in{specs.get(), set->configs, set->reconcilers, std::move(live), {}, {}};
    PlanOptions po;
    po.only_keys = &u.affected;
    Plan plan = ComputePlan(in, po);
    if (observe == Observe::kNone) *observed_once = std::move(in.live);
    changes = plan.changes.size();
    parsed = u.parsed;
  }
  state.counters["changes"] = static_cast<double>(changes);
  state.counters["files_parsed"] = static_cast<double>(parsed);
}

void BM_IncrementalReplan(benchmark::State& state) { RunIncremental(state, Observe::kWholeBackend); }
void BM_IncrementalReplanGet(benchmark::State& state) { RunIncremental(state, Observe::kGetPerKey); }
void BM_IncrementalReplanCpu(benchmark::State& state) { RunIncremental(state, Observe::kNone); }

// The same two without the observe: spec loading and planning only.
void BM_FullPlanCpu(benchmark::State& state) {
  World& w = GetWorld(state.range(0));
  LoadResult first = LoadSpecs((w.dir / "specs").string(), DefaultKindRegistry());
  auto set = ConnectBackends(BackendsOf(first), "converge", SystemClock());
  auto live = ObserveAll(*set);
  for (auto _ : state) {
    LoadResult specs = LoadSpecs((w.dir / "specs").string(), DefaultKindRegistry());
    PlanInputs in{&specs, set->configs, set->reconcilers, *live, {}, {}};
    benchmark::DoNotOptimize(ComputePlan(in, PlanOptions{}).settle.size());
  }
}

BENCHMARK(BM_FullPlan)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK(BM_IncrementalReplan)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_IncrementalReplanGet)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_FullPlanCpu)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK(BM_IncrementalReplanCpu)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(50);

// ----- file write -> first backend request, with the real binary --------------------------------

// Records the time of every request and forwards it to the sandbox.
struct Proxy {
  httplib::Server http;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> seen;
  int port = 0;
  std::thread thread;

  explicit Proxy(const std::string& upstream) {
    auto forward = [this, upstream](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> l(mu);
        seen.emplace_back(std::chrono::steady_clock::now(), req.method);
      }
      cv.notify_all();
      httplib::Client c(upstream);
      std::string target = req.target.empty() ? req.path : req.target;
      auto r = c.send([&] {
        httplib::Request out;
        out.method = req.method;
        out.path = target;
        out.body = req.body;
        out.headers = req.headers;
        out.headers.erase("Host");
        return out;
      }());
      if (r) {
        res.status = r->status;
        res.set_content(r->body, r->get_header_value("Content-Type").c_str());
      } else {
        res.status = 502;
      }
    };
    http.Get(".*", forward);
    http.Put(".*", forward);
    http.Post(".*", forward);
    http.Delete(".*", forward);
    port = http.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { http.listen_after_bind(); });
  }
  ~Proxy() {
    http.stop();
    thread.join();
  }
  // Waits for a request (of `method`, or any) at or after `since`; returns its time.
  std::optional<std::chrono::steady_clock::time_point> WaitFor(
      std::chrono::steady_clock::time_point since, const std::string& method,
      std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> l(mu);
    std::optional<std::chrono::steady_clock::time_point> found;
    cv.wait_for(l, timeout, [&] {
      for (const auto& [t, m] : seen)
        if (t >= since && (method.empty() || m == method)) {
          found = t;
          return true;
        }
      return false;
    });
    return found;
  }
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * v.size()));
  return v[i];
}

void LatencyBench(const std::string& debounce, int changes) {
  fs::path dir = fs::temp_directory_path() /
                 ("converge-watch-latency-" + std::to_string(getpid()) + "-" + debounce);
  fs::remove_all(dir);
  fs::create_directories(dir / "specs");
  sandbox::Options so;
  marathon::EmulatorOptions mo;
  mo.transition_ms = 0;
  so.emulators.push_back({"marathon", std::make_unique<marathon::Emulator>(mo)});
  sandbox::Server server(std::move(so));
  if (!server.Start().ok()) return;
  Proxy proxy(server.url());
  std::ofstream(dir / "specs" / "backend.yaml")
      << "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: sb}\nspec: {type: marathon, "
         "url: \"http://127.0.0.1:"
      << proxy.port << "/marathon\"}\n";
  for (int i = 0; i < 20; ++i)
    std::ofstream(dir / "specs" / ("app" + std::to_string(i) + ".yaml")) << AppYaml(i);
  std::string specs = (dir / "specs").string(), state = (dir / "state").string();
  std::vector<std::string> args = {
      CONVERGE_BIN_PATH, "watch", specs,        "--state-dir", state,           "--listen", "off",
      "--resync",        "0",     "--debounce", debounce,      "--backend-qps", "0"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, (dir / "watch.log").c_str(), O_WRONLY | O_CREAT, 0600);
  pid_t pid = 0;
  if (posix_spawn(&pid, args[0].c_str(), &fa, nullptr, argv.data(), environ) != 0) return;
  posix_spawn_file_actions_destroy(&fa);
  // Wait for the initial sync: 20 creates.
  auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60)) {
    std::lock_guard<std::mutex> l(proxy.mu);
    if (std::count_if(proxy.seen.begin(), proxy.seen.end(),
                      [](auto& s) { return s.second == "PUT"; }) >= 20)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the first runs finish
  std::vector<double> first_ms, write_ms;
  for (int c = 0; c < changes; ++c) {
    int i = c % 20;
    auto start = std::chrono::steady_clock::now();
    WriteAtomically(dir / "specs" / ("app" + std::to_string(i) + ".yaml"),
                    AppYaml(i, "2." + std::to_string(c)));
    auto first = proxy.WaitFor(start, "", std::chrono::seconds(30));
    auto put = proxy.WaitFor(start, "PUT", std::chrono::seconds(30));
    if (!first || !put) {
      std::fprintf(stderr, "change %d: no request within 30s\n", c);
      break;
    }
    first_ms.push_back(std::chrono::duration<double, std::milli>(*first - start).count());
    write_ms.push_back(std::chrono::duration<double, std::milli>(*put - start).count());
    // Let the change finish (health check, journal) before the next one.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  std::printf(
      "watch --debounce %-5s: file write -> first backend request over %zu changes: p50 %.1f ms, "
      "p99 %.1f ms; -> the write (PUT): p50 %.1f ms, p99 %.1f ms; exit %d\n",
      debounce.c_str(), first_ms.size(), Percentile(first_ms, 50), Percentile(first_ms, 99),
      Percentile(write_ms, 50), Percentile(write_ms, 99), WEXITSTATUS(status));
  fs::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  int changes = 200;
  if (const char* c = std::getenv("CONVERGE_WATCH_BENCH_CHANGES")) changes = std::atoi(c);
  LatencyBench("100ms", changes);
  LatencyBench("10ms", changes);
  benchmark::Shutdown();
  return 0;
}
