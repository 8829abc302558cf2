// Iceberg (issue 14): requests per steady-state plan of N TablePolicies, and the plan time of one
// table of 10,000 data files with its manifests read for exact small-file counts, against the
// in-process sandbox catalog (real Iceberg tables on disk).
//
//   BM_IcebergPlan/N           observe + diff + plan of N policies (nothing due) with one
//                              connected backend, as `converge watch` re-plans: the first plan
//                              loads every table (200), later ones send If-None-Match.
//     requests_per_plan          HTTP attempts of the last plan (the reconciler's count)
//     not_modified, loaded       the last plan's loads answered 304 / 200 (sandbox request log)
//     floor                      N: one load per table
//   BM_ManifestFloor           the floor of a cold read: the manifest list and every manifest of
//                              the 10,000-file table read from disk and parsed (ReadSnapshotFiles)
//   BM_SmallFilesPlan/mode     a plan of that table with `storage` (smallFileCount trigger):
//     cold                       a new process with an empty cache directory
//     warm_disk                  a new process whose cache directory holds the manifests
//     warm_memory                the same process again (the watch loop)
#include <benchmark/benchmark.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "controller/backends.h"
#include "controller/planner.h"
#include "controller/sandbox/sandbox.h"
#include "reconcilers/iceberg/emulator.h"
#include "reconcilers/iceberg/manifests.h"
#include "reconcilers/iceberg/metadata.h"
#include "reconcilers/iceberg/storage.h"
#include "specs/base/clock.h"

namespace fs = std::filesystem;
using namespace converge;
using json = nlohmann::json;

namespace {

struct World {
  fs::path dir;
  std::unique_ptr<sandbox::Server> server;
  iceberg::Emulator* catalog = nullptr;
};

std::unique_ptr<World> NewWorld(const std::string& name) {
  auto w = std::make_unique<World>();
  w->dir = fs::temp_directory_path() / ("converge-iceberg-bench-" + std::to_string(getpid()) + "-" + name);
  fs::remove_all(w->dir);
  fs::create_directories(w->dir / "specs");
  iceberg::EmulatorOptions o;
  o.warehouse = (w->dir / "warehouse").string();
  auto emu = std::make_unique<iceberg::Emulator>(o);
  w->catalog = emu.get();
  sandbox::Options so;
  so.emulators.push_back({"iceberg", std::move(emu)});
  w->server = std::make_unique<sandbox::Server>(std::move(so));
  if (!w->server->Start().ok()) std::abort();
  return w;
}

void WriteBackend(World& w, bool storage) {
  std::ofstream(w.dir / "specs" / "backend.yaml")
      << "apiVersion: converge/v1\nkind: Backend\nmetadata: {name: lake}\nspec:\n"
      << "  type: iceberg-rest\n  url: \"" << w.server->url() << "/iceberg\"\n"
      << (storage ? "  storage: {}\n" : "") << "---\napiVersion: converge/v1\nkind: Executor\n"
      << "metadata: {name: local, backend: lake}\nspec:\n  type: command\n"
      << "  command: [\"true\"]\n";
}

void WritePolicy(World& w, const std::string& table, const std::string& triggers) {
  const std::string name = table.substr(table.find('.') + 1);
  std::ofstream(w.dir / "specs" / (name + ".yaml"))
      << "apiVersion: converge/v1\nkind: TablePolicy\nmetadata: {name: " << name
      << ", backend: lake}\nspec:\n  table: " << table << "\n  triggers: " << triggers
      << "\n  compaction: {targetFileSizeBytes: 512MiB, executor: local}\n";
}

std::map<int, long> StatusesOfLoads(World& w) {
  httplib::Client c(w.server->url());
  auto res = c.Get("/_admin/requests");
  std::map<int, long> out;
  if (!res || res->status != 200) return out;
  auto log = json::parse(res->body, nullptr, false);
  if (!log.is_object()) return out;
  for (const auto& r : log["log"])
    if (r.value("method", "") == "GET" && r.value("path", "").find("/tables/") != std::string::npos)
      ++out[r.value("status", 0)];
  return out;
}

size_t PlanOnce(const LoadResult& specs, BackendSet& set) {
  auto live = ObserveAll(set);
  if (!live.ok()) std::abort();
  PlanInputs in{&specs, set.configs, set.reconcilers, std::move(*live), {}, {}};
  return ComputePlan(in, PlanOptions{}).changes.size();
}

void BM_IcebergPlan(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto w = NewWorld("plan-" + std::to_string(n));
  for (int i = 0; i < n; ++i) {
    const std::string table = "analytics.t" + std::to_string(i);
    if (!w->catalog->Append({{"table", table}, {"commits", 2}, {"files_per_commit", 3},
                             {"file_size_bytes", 1 << 20}}).ok())
      std::abort();
    WritePolicy(*w, table, "{commitCount: 1000}");
  }
  WriteBackend(*w, false);
  LoadResult specs = LoadSpecs((w->dir / "specs").string(), DefaultKindRegistry());
  auto set = ConnectBackends(BackendsOf(specs), "converge", SystemClock());
  if (!set.ok()) std::abort();
  BindSpecs(*set, specs);
  PlanOnce(specs, *set);  // the first plan loads every table
  long requests = 0;
  size_t changes = 0;
  std::map<int, long> statuses;
  for (auto _ : state) {
    state.PauseTiming();
    httplib::Client(w->server->url()).Delete("/_admin/requests");
    long before = 0;
    for (auto& [_, r] : set->reconcilers) before += r->RequestCount();
    state.ResumeTiming();
    changes = PlanOnce(specs, *set);
    state.PauseTiming();
    requests = -before;
    for (auto& [_, r] : set->reconcilers) requests += r->RequestCount();
    statuses = StatusesOfLoads(*w);
    state.ResumeTiming();
  }
  state.counters["requests_per_plan"] = static_cast<double>(requests);
  state.counters["not_modified"] = static_cast<double>(statuses[304]);
  state.counters["loaded"] = static_cast<double>(statuses[200]);
  state.counters["floor"] = n;
  state.counters["changes"] = static_cast<double>(changes);
  fs::remove_all(w->dir);
}
BENCHMARK(BM_IcebergPlan)->Arg(100)->Unit(benchmark::kMillisecond);

// One table of 10,000 data files (100 appends of 100 files, 1 MiB each: all small).
World& BigTable() {
  static std::unique_ptr<World> w;
  if (w) return *w;
  w = NewWorld("big");
  for (int i = 0; i < 100; ++i)
    if (!w->catalog->Append({{"table", "analytics.big"}, {"commits", 1}, {"files_per_commit", 100},
                             {"file_size_bytes", 1 << 20}}).ok())
      std::abort();
  WriteBackend(*w, true);
  WritePolicy(*w, "analytics.big", "{smallFileCount: 100000}");
  return *w;
}

void BM_ManifestFloor(benchmark::State& state) {
  World& w = BigTable();
  httplib::Client c(w.server->url());
  auto res = c.Get("/iceberg/v1/namespaces/analytics/tables/big");
  if (!res || res->status != 200) std::abort();
  auto md = iceberg::ParseMetadata(json::parse(res->body)["metadata"]);
  if (!md.ok()) std::abort();
  const iceberg::Snapshot* snap = md->FindSnapshot(*md->current_snapshot_id);
  iceberg::Storage storage({}, http::NewCurlTransport({}), SystemClock());
  size_t files = 0, manifests = 0;
  for (auto _ : state) {
    auto read = iceberg::ReadSnapshotFiles(*md, *snap, storage);
    if (!read.ok()) state.SkipWithError(read.status().message().c_str());
    files = read->live.size();
    manifests = read->manifests;
  }
  state.counters["data_files"] = static_cast<double>(files);
  state.counters["manifests"] = static_cast<double>(manifests);
}
BENCHMARK(BM_ManifestFloor)->Unit(benchmark::kMillisecond);

// mode 0 cold, 1 warm_disk, 2 warm_memory.
void BM_SmallFilesPlan(benchmark::State& state) {
  World& w = BigTable();
  const int mode = static_cast<int>(state.range(0));
  LoadResult specs = LoadSpecs((w.dir / "specs").string(), DefaultKindRegistry());
  const fs::path cache = w.dir / ("cache-" + std::to_string(mode));
  fs::remove_all(cache);
  auto connect = [&] {
    ConnectOptions co;
    co.cache_dir = cache.string();
    auto set = ConnectBackends(BackendsOf(specs), "converge", SystemClock(), co);
    if (!set.ok()) std::abort();
    BindSpecs(*set, specs);
    return std::move(*set);
  };
  std::optional<BackendSet> kept;
  if (mode > 0) {
    kept.emplace(connect());
    PlanOnce(specs, *kept);  // fills the cache directory (and this process's memory)
  }
  for (auto _ : state) {
    if (mode == 0) {
      state.PauseTiming();
      fs::remove_all(cache);
      state.ResumeTiming();
    }
    if (mode == 2) {
      PlanOnce(specs, *kept);
    } else {
      BackendSet set = connect();  // a new process: nothing in memory
      PlanOnce(specs, set);
    }
  }
  state.SetLabel(mode == 0 ? "cold" : mode == 1 ? "warm_disk" : "warm_memory");
}
BENCHMARK(BM_SmallFilesPlan)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
