// Plan cost against its floor, requests per steady-state plan, writes of a second apply, and
// peak RSS of a 10,000-spec `converge plan`.
//
//   BM_ParseFloor/N   read + YAML-parse N app files, nothing else (the floor)
//   BM_Validate/N     LoadSpecs: parse + envelope + Marathon schema validation + cross checks
//   BM_Plan/N         what `converge plan` does: LoadSpecs + observe (one GET /v2/apps of N
//                     live apps from the in-process sandbox) + diff + plan
// Counters: requests/plan (floor: 1 list call), writes of an apply of the steady-state plan
// (floor: 0). RSS is measured on the real binary in a child process (see main()): `plan` with a
// fresh state directory, `plan -o json` and `watch` (after its first full resync) of the steady
// state.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "bench/bench_setup.h"
#include "controller/backends.h"
#include "controller/executor.h"
#include "controller/load_and_observe.h"
#include "controller/planner.h"
#include "controller/sandbox/sandbox.h"
#include "reconcilers/marathon/emulator.h"
#include "controller/store/store.h"
#include "specs/base/files.h"

namespace fs = std::filesystem;
using namespace converge;

namespace {

std::string AppYaml(int i) {
  std::ostringstream y;
  y << "apiVersion: converge/v1\nkind: App\nmetadata:\n  name: /bench/team" << i % 50 << "/app"
    << i << "\n  labels: {team: t" << i % 50 << "}\nspec:\n  instances: " << 1 + i % 3
    << "\n  cpus: 0.25\n  mem: 256\n  container:\n    type: DOCKER\n    docker:\n"
    << "      image: registry.example/bench/app" << i << ":1.0." << i % 7
    << "\n    portMappings:\n      - {containerPort: 8080, hostPort: 0, name: http}\n"
    << "  env:\n    LOG_LEVEL: info\n    SHARD: \"" << i << "\"\n"
    << "  healthChecks:\n    - {protocol: MESOS_HTTP, path: /health, portIndex: 0, "
       "gracePeriodSeconds: 30}\n"
    << "  upgradeStrategy: {minimumHealthCapacity: 0.5, maximumOverCapacity: 0.2}\n";
  return y.str();
}

struct World {
  int n = 0;
  fs::path dir;
  std::unique_ptr<sandbox::Server> server;
  std::unique_ptr<store::Store> store;
  std::vector<fs::path> files;
};

std::map<int, std::unique_ptr<World>>& Worlds() {
  static std::map<int, std::unique_ptr<World>> w;
  return w;
}

// Builds N spec files, a sandbox holding the same N apps (already converged), and a state dir.
World& GetWorld(int n) {
  auto& slot = Worlds()[n];
  if (slot) return *slot;
  slot = std::make_unique<World>();
  World& w = *slot;
  w.n = n;
  w.dir = fs::temp_directory_path() / ("converge-bench-" + std::to_string(getpid()) + "-" +
                                       std::to_string(n));
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
  for (int i = 0; i < n; ++i) {
    fs::path f = w.dir / "specs" / "apps" / ("app" + std::to_string(i) + ".yaml");
    std::ofstream(f) << AppYaml(i);
    w.files.push_back(f);
  }
  w.files.push_back(w.dir / "specs" / "backend.yaml");
  auto st = store::Store::Open((w.dir / "state").string());
  if (!st.ok()) std::abort();
  w.store = std::move(*st);
  // Converge the sandbox once with the real executor (parallel), so plans are steady-state.
  bench::ConvergeOnce((w.dir / "specs").string(), *w.store);
  return w;
}

// What `converge plan` does: load while observing (controller/load_and_observe.h), read the
// state, compute.
Plan PlanOnce(World& w, long* requests, BackendSet* keep = nullptr) {
  LoadedWorld world;
  if (!LoadAndObserve((w.dir / "specs").string(), DefaultKindRegistry(), "converge",
                      SystemClock(), ConnectOptions{}, world)
           .ok())
    std::abort();
  LoadResult& specs = world.specs;
  BackendSet* set = &world.backends;
  PlanInputs in{&specs, set->configs, set->reconcilers, std::move(world.live), {}, {}};
  (void)ReadPlanState(*w.store, in);
  Plan plan = ComputePlan(in, PlanOptions{});
  long r = 0;
  for (auto& [_, rec] : set->reconcilers) r += rec->RequestCount();
  if (requests) *requests = r;
  if (keep) *keep = std::move(*set);
  return plan;
}

void BM_ParseFloor(benchmark::State& state) {
  World& w = GetWorld(state.range(0));
  for (auto _ : state) {
    size_t docs = 0;
    for (const auto& f : w.files) {
      FileText file = ReadFileText(f.string(), LoadLimits{}.max_file_bytes);  // as the loader reads
      docs += YAML::LoadAll(file.text).size();
    }
    benchmark::DoNotOptimize(docs);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_Validate(benchmark::State& state) {
  World& w = GetWorld(state.range(0));
  for (auto _ : state) {
    LoadResult r = LoadSpecs((w.dir / "specs").string(), DefaultKindRegistry());
    if (r.HasErrors()) state.SkipWithError("spec errors");
    benchmark::DoNotOptimize(r.documents.size());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_Plan(benchmark::State& state) {
  World& w = GetWorld(state.range(0));
  long requests = 0;
  size_t changes = 0;
  for (auto _ : state) {
    Plan p = PlanOnce(w, &requests);
    changes = p.changes.size();
  }
  state.counters["requests_per_plan"] = static_cast<double>(requests);
  state.counters["changes"] = static_cast<double>(changes);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// A second apply of converged state: plan + executor; counts backend writes (floor: 0).
void BM_SecondApplyWrites(benchmark::State& state) {
  World& w = GetWorld(state.range(0));
  long writes = 0, requests = 0;
  for (auto _ : state) {
    BackendSet set;
    Plan p = PlanOnce(w, &requests, &set);
    Progress quiet(stderr, true);
    Executor exec(ExecContext{w.store.get(), set.reconcilers, set.configs, &SystemClock(), &quiet},
                  ExecOptions{});
    auto run = w.store->BeginRun("bench-apply", "");
    exec.Apply(*run, p);
    writes = 0;
    for (auto& [_, rec] : set.reconcilers) writes += rec->WriteCount();
  }
  state.counters["writes"] = static_cast<double>(writes);
  state.counters["requests"] = static_cast<double>(requests);
}

BENCHMARK(BM_ParseFloor)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Validate)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Plan)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SecondApplyWrites)->Arg(1000)->Iterations(1)->Unit(benchmark::kMillisecond);

// Peak RSS of the real binary. The kernel charges a child with the memory of the process it was
// forked from until exec, so children are forked by a small "spawner" process started before
// this one grew. A request is one line: a mode, then converge's arguments, tab-separated.
//   run    runs `converge <args>` to its end; replies "exit seconds ru_maxrss_kb"
//   watch  runs `converge <args>` (a watch with --log-format json), waits for its first
//          "resync" log line and one more second (the pass's memory is handed back after the
//          line), reads VmRSS and VmHWM, stops it with SIGTERM; replies "exit seconds rss hwm"
//          with the seconds to the first resync
int g_to_spawner = -1, g_from_spawner = -1;

std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
    out.push_back(line.substr(start, tab - start));
  out.push_back(line.substr(start));
  return out;
}

long StatusKb(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  }
  return -1;
}

using SteadyTime = std::chrono::steady_clock::time_point;
constexpr auto kSpawnDeadline = std::chrono::seconds(120);  // a stalled converge is stopped
constexpr auto kStopGrace = std::chrono::seconds(5);        // from SIGTERM to SIGKILL

// Waits for `child` until `deadline`, then SIGTERM, then SIGKILL after the grace period.
void WaitUntil(pid_t child, SteadyTime deadline, int* status, struct rusage* ru) {
  bool termed = false;
  while (wait4(child, status, WNOHANG, ru) == 0) {
    auto now = std::chrono::steady_clock::now();
    if (!termed && now > deadline) {
      kill(child, SIGTERM);
      termed = true;
      deadline = now + kStopGrace;
    } else if (termed && now > deadline) {
      kill(child, SIGKILL);
      wait4(child, status, 0, ru);
      return;
    }
    usleep(1000);
  }
}

// Reads `fd` until a line containing `needle` (any line if null), its end or the deadline;
// whether the line was found.
bool WaitForLine(int fd, const char* needle, SteadyTime deadline) {
  std::string pending;
  char buf[8192];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    struct pollfd p {fd, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    ssize_t got = read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;  // the child closed its stderr (it exited)
    if (needle == nullptr) continue;
    pending.append(buf, static_cast<size_t>(got));
    if (pending.find(needle) != std::string::npos) return true;
    size_t nl = pending.rfind('\n');
    if (nl != std::string::npos) pending.erase(0, nl + 1);  // keep only an unfinished line
  }
}

std::string Spawn(const std::vector<std::string>& request) {
  const char* failed = "-1 0 0 0\n";
  bool watch = request[0] == "watch";
  std::vector<char*> argv{const_cast<char*>("converge")};
  for (size_t i = 1; i < request.size(); ++i) argv.push_back(const_cast<char*>(request[i].c_str()));
  argv.push_back(nullptr);
  int log[2] = {-1, -1};
  if (watch && pipe2(log, O_CLOEXEC) != 0) return failed;
  auto t0 = std::chrono::steady_clock::now();
  pid_t child = fork();
  if (child < 0) {
    if (watch) {
      close(log[0]);
      close(log[1]);
    }
    return failed;
  }
  if (child == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(watch ? log[1] : devnull, 2);  // dup2 clears O_CLOEXEC on the copies
    close(devnull);
    execv(CONVERGE_BIN_PATH, argv.data());
    _exit(127);
  }
  long rss = 0, hwm = 0;
  double secs = 0;
  if (watch) {
    close(log[1]);
    if (WaitForLine(log[0], "\"msg\":\"resync\"", t0 + kSpawnDeadline)) {
      secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      sleep(1);
      rss = StatusKb(child, "VmRSS:");
      hwm = StatusKb(child, "VmHWM:");
    }
    kill(child, SIGTERM);
    WaitForLine(log[0], nullptr, std::chrono::steady_clock::now() + kStopGrace);  // to its end
    close(log[0]);
  }
  int status = 0;
  struct rusage ru {};
  WaitUntil(child, watch ? std::chrono::steady_clock::now() + kStopGrace : t0 + kSpawnDeadline,
            &status, &ru);
  if (!watch) secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char out[128];
  std::snprintf(out, sizeof out, "%d %.3f %ld %ld\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                secs, watch ? rss : ru.ru_maxrss, watch ? hwm : ru.ru_maxrss);
  return out;
}

void StartSpawner() {
  int to[2], from[2];
  if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    close(to[1]);
    close(from[0]);
    FILE* in = fdopen(to[0], "r");
    char line[4096];
    while (fgets(line, sizeof line, in)) {
      std::string request(line);
      request.pop_back();
      std::string reply = Spawn(SplitTabs(request));
      if (write(from[1], reply.data(), reply.size()) != static_cast<ssize_t>(reply.size())) break;
    }
    _exit(0);
  }
  close(to[0]);
  close(from[1]);
  g_to_spawner = to[1];
  g_from_spawner = from[0];
}

struct BinaryRun {
  int exit = -1;
  double seconds = 0;
  long rss_kb = 0, peak_kb = 0;
};

BinaryRun RunBinary(const std::vector<std::string>& request) {
  BinaryRun r;
  std::string line;
  for (const auto& part : request) line += (line.empty() ? "" : "\t") + part;
  line += "\n";
  if (g_to_spawner < 0 || write(g_to_spawner, line.data(), line.size()) != (ssize_t)line.size())
    return r;
  char buf[128] = {0};
  if (read(g_from_spawner, buf, sizeof buf - 1) <= 0) return r;
  std::sscanf(buf, "%d %lf %ld %ld", &r.exit, &r.seconds, &r.rss_kb, &r.peak_kb);
  return r;
}

// `converge plan` of N specs with a fresh state directory (every resource is a settle).
void ReportPlanRss(int n) {
  World& w = GetWorld(n);
  BinaryRun r = RunBinary({"run", "plan", (w.dir / "specs").string(), "--state-dir",
                           (w.dir / "rss-state").string()});
  std::printf("converge plan of %d specs (binary, fresh state dir): exit %d, %.2f s wall, peak "
              "RSS %.1f MB\n",
              n, r.exit, r.seconds, r.peak_kb / 1024.0);
}

// The steady state of N specs, all applied before (the world's state directory): peak RSS of
// `converge plan -o json`, and the RSS of `converge watch` after its first full resync.
void ReportSteadyStateRss(int n) {
  World& w = GetWorld(n);
  w.store.reset();  // the binaries open it
  std::string specs = (w.dir / "specs").string(), state = (w.dir / "state").string();
  BinaryRun plan = RunBinary({"run", "plan", specs, "--state-dir", state, "-o", "json"});
  std::printf("converge plan -o json of %d specs (binary, steady state): exit %d, %.2f s wall, "
              "peak RSS %.1f MB\n",
              n, plan.exit, plan.seconds, plan.peak_kb / 1024.0);
  BinaryRun watch = RunBinary({"watch", "watch", specs, "--state-dir", state, "--log-format",
                               "json", "--listen", "127.0.0.1:0", "--resync", "0"});
  std::printf("converge watch of %d specs (binary, steady state): first resync after %.2f s, "
              "RSS %.1f MB a second later, peak RSS %.1f MB\n",
              n, watch.seconds, watch.rss_kb / 1024.0, watch.peak_kb / 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  StartSpawner();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  ReportPlanRss(1000);
  ReportPlanRss(10000);
  ReportSteadyStateRss(10000);
  for (auto& [_, w] : Worlds()) {
    w->server->Stop();
    fs::remove_all(w->dir);
  }
  benchmark::Shutdown();
  return 0;
}
