#include "controller/backends.h"

#include <cstdio>
#include <filesystem>
#include <future>
#include <optional>

#include "controller/run_lifecycle.h"
#include "reconcilers/registry.h"

namespace converge {

KindRegistry DefaultKindRegistry() {
  static const KindRegistry kKinds = Backends().LoaderKinds();  // schemas compiled once
  return kKinds;
}

std::map<std::string, BackendConfig> BackendsOf(const LoadResult& specs) {
  std::map<std::string, BackendConfig> out;
  for (const Document& d : specs.documents)
    if (d.kind == "Backend") out[d.name] = BackendFromDocument(d);
  return out;
}

std::string CacheDirOf(const std::string& state_dir) {
  return state_dir.empty() ? std::string() : state_dir + "/cache";
}

Result<BackendSet> ConnectBackends(const std::map<std::string, BackendConfig>& configs,
                                   const std::string& instance, Clock& clock,
                                   const ConnectOptions& options) {
  BackendSet set;
  if (!options.cache_dir.empty()) {
    std::error_code ec;  // best effort: a backend without its cache is only slower
    std::filesystem::create_directories(options.cache_dir, ec);
  }
  for (const auto& [name, cfg] : configs) {
    const BackendFactory* factory = Backends().Find(cfg.type);
    if (factory == nullptr)
      return InvalidError("backend " + name + ": type " + cfg.type + " is not supported");
    ConnectContext ctx;
    ctx.instance = instance;
    ctx.clock = &clock;
    ctx.cancel = options.cancel;
    ctx.cache_dir = options.cache_dir;
    if (options.attempt_hooks) ctx.attempt_hooks = options.attempt_hooks(name);
    ctx.peer = [peers = std::weak_ptr<std::map<std::string, Reconciler*>>(set.peers)](
                   const std::string& backend) -> Reconciler* {
      auto p = peers.lock();
      if (!p) return nullptr;
      auto it = p->find(backend);
      return it == p->end() ? nullptr : it->second;
    };
    auto rec = factory->connect(cfg, ctx);
    if (!rec.ok()) return rec.status();
    set.configs[name] = cfg;
    set.reconcilers[name] = rec->get();
    (*set.peers)[name] = rec->get();
    set.owned[name] = std::move(*rec);
  }
  return set;
}

void BindSpecs(BackendSet& set, const LoadResult& specs) {
  for (auto& [name, rec] : set.reconcilers) {
    std::vector<const Document*> docs;
    for (const Document& d : specs.documents)
      if (d.backend == name && d.kind != "Backend") docs.push_back(&d);
    rec->BindSpecs(docs);
    auto& runs = set.runs[name];
    runs.clear();
    if (rec->Runs() == nullptr) continue;
    for (const Document* d : docs) {
      const KindDef* kind = Backends().FindKind(d->kind);
      if (kind == nullptr || kind->lifecycle != Lifecycle::kRun) continue;
      runs[d->Key()] = BoundRun{kind, runs::RunName(*kind, rec->Desired(*d))};
    }
  }
}

namespace {

// The runs of every bound run-lifecycle spec of one backend (one list per spec), and the
// runs still going of specs that are gone (prune candidates: a prune stops them).
Status ObserveRuns(Reconciler& rec, const std::string& type,
                   const std::map<std::string, BoundRun>& bound, std::vector<LiveObject>& out) {
  for (const auto& [key, run] : bound) {
    auto k = ParseResourceKey(key);
    if (!k.ok()) continue;
    auto o = runs::Observe(*rec.Runs(), *run.kind, *k, run.base);
    if (!o.ok()) return o.status();
    if (o->has_value()) out.push_back(std::move(**o));
  }
  const BackendFactory* f = Backends().Find(type);
  if (f == nullptr) return Status::Ok();
  for (const KindDef& kind : f->kinds) {
    if (kind.lifecycle != Lifecycle::kRun) continue;
    auto active = rec.Runs()->ListActiveRuns(kind.kind);
    if (!active.ok()) return active.status();
    for (auto& o : runs::Orphans(kind, *active, bound)) out.push_back(std::move(o));
  }
  return Status::Ok();
}

}  // namespace

Result<std::optional<LiveObject>> GetLive(BackendSet& set, const std::string& backend,
                                          const ResourceKey& key) {
  Reconciler* rec = set.reconcilers.at(backend);
  if (auto b = set.runs.find(backend); b != set.runs.end() && rec->Runs() != nullptr) {
    if (auto r = b->second.find(key.ToString()); r != b->second.end())
      return runs::Observe(*rec->Runs(), *r->second.kind, key, r->second.base);
    // A run kind without its spec: what is still going of it (a prune candidate), if anything.
    const KindDef* kind = Backends().FindKind(key.kind);
    if (kind != nullptr && kind->lifecycle == Lifecycle::kRun) {
      auto active = rec->Runs()->ListActiveRuns(kind->kind);
      if (!active.ok()) return active.status();
      for (auto& o : runs::Orphans(*kind, *active, b->second))
        if (o.key == key) return std::optional<LiveObject>(std::move(o));
      return std::optional<LiveObject>();
    }
  }
  return rec->Get(key);
}

Result<std::map<std::string, std::vector<LiveObject>>> ObserveAll(BackendSet& set,
                                                                 Observed observed) {
  std::map<std::string, std::future<Result<std::vector<LiveObject>>>> futures;
  for (auto& [name, rec] : set.reconcilers) {
    std::optional<Result<std::vector<LiveObject>>> early;
    if (auto o = observed.find(name); o != observed.end()) early.emplace(std::move(o->second));
    futures.emplace(name, std::async(std::launch::async, [&set, name = name, r = rec,
                                                          early = std::move(early)]() mutable
                                     -> Result<std::vector<LiveObject>> {
      auto live = early ? std::move(*early) : r->Observe();
      if (!live.ok() || r->Runs() == nullptr) return live;
      if (auto b = set.runs.find(name); b != set.runs.end())
        CONVERGE_RETURN_IF_ERROR(ObserveRuns(*r, set.configs.at(name).type, b->second, *live));
      return live;
    }));
  }
  std::map<std::string, std::vector<LiveObject>> out;
  Status first_error;
  for (auto& [name, f] : futures) {
    auto r = f.get();
    if (!r.ok()) {
      if (first_error.ok()) first_error = r.status().Annotate("observing backend " + name);
      continue;
    }
    out[name] = std::move(*r);
  }
  if (!first_error.ok()) return first_error;
  return out;
}

std::string BackendStateKey(const std::string& name) { return "Backend/" + name; }

void RecordBackends(store::Store& st, const std::map<std::string, BackendConfig>& configs,
                    int64_t run) {
  for (const auto& [name, cfg] : configs) {
    store::LastApplied la;
    la.key = BackendStateKey(name);
    la.backend = name;
    la.doc = cfg.spec;
    la.run_id = run;
    (void)st.SetLastApplied(la);
  }
}

namespace {

std::string RunGit(const std::string& dir, const std::string& args) {
  std::string cmd = "git -C '";
  for (char c : dir) cmd += c == '\'' ? std::string("'\\''") : std::string(1, c);
  cmd += "' " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "";
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  if (pclose(p) != 0) return "";
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

std::string GitCommitOf(const std::string& dir) {
  std::string head = RunGit(dir, "rev-parse --verify -q HEAD");
  if (head.empty()) return "";
  std::string dirty = RunGit(dir, "status --porcelain --untracked-files=no -- .");
  return dirty.empty() ? head : head + "-dirty";
}

Status ReadPlanState(store::Store& st, PlanInputs& in, const std::set<std::string>* keys) {
  auto last = st.AllLastAppliedText(keys);
  if (!last.ok()) return last.status();
  auto holds = st.AllHolds();
  if (!holds.ok()) return holds.status();
  for (auto& [k, la] : *last)
    in.last_applied.emplace(k, LastAppliedDoc(std::move(la.doc), std::move(la.spec_revision)));
  for (auto& [k, h] : *holds)
    if (keys == nullptr || keys->count(k)) in.holds[k] = HoldInfo{h.spec_revision, h.reason};
  return Status::Ok();
}

}  // namespace converge
