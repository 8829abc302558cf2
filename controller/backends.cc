#include "controller/backends.h"

#include <cstdio>
#include <future>

#include "reconcilers/marathon/reconciler.h"
#include "reconcilers/sagemaker/client.h"
#include "reconcilers/sagemaker/kinds.h"
#include "reconcilers/sagemaker/reconciler.h"

namespace converge {

namespace {

// The reconciler's view of SageMaker (sagemaker::Api) over the JSON 1.1 client.
class SageMakerApi : public sagemaker::Api {
 public:
  explicit SageMakerApi(std::unique_ptr<sagemaker::Client> client) : client_(std::move(client)) {}
  Result<json> Call(const std::string& operation, const json& input) override {
    return client_->Call(operation, input);
  }
  Status ListAll(const std::string& operation, json input, const std::string& member,
                 const std::function<Status(json&)>& visit) override {
    return client_->ListAll(operation, std::move(input), member, visit);
  }
  long RequestCount() const override { return client_->RequestCount(); }
  long WriteCount() const override { return client_->WriteCount(); }

 private:
  std::unique_ptr<sagemaker::Client> client_;
};

sagemaker::Options SageMakerOptionsOf(const BackendConfig& cfg) {
  sagemaker::Options options;
  if (cfg.spec.contains("retainVersions") && cfg.spec["retainVersions"].is_number_integer())
    options.retain_versions = cfg.spec["retainVersions"].get<int>();
  if (cfg.spec.contains("pollInterval") && cfg.spec["pollInterval"].is_string()) {
    std::chrono::milliseconds d{};
    if (ParseDurationMs(cfg.spec["pollInterval"].get<std::string>(), &d)) options.poll_interval = d;
  }
  return options;
}

}  // namespace

KindRegistry DefaultKindRegistry() {
  KindRegistry registry;
  marathon::RegisterKinds(registry);
  sagemaker::RegisterKinds(registry);
  KindInfo backend;
  backend.validate = [types = registry.BackendTypes()](Document& doc,
                                                       std::vector<PathDiagnostic>& out) {
    ValidateBackend(doc, types, out);
  };
  registry.Register("Backend", std::move(backend));
  return registry;
}

std::map<std::string, BackendConfig> BackendsOf(const LoadResult& specs) {
  std::map<std::string, BackendConfig> out;
  for (const Document& d : specs.documents)
    if (d.kind == "Backend") out[d.name] = BackendFromDocument(d);
  return out;
}

Result<BackendSet> ConnectBackends(const std::map<std::string, BackendConfig>& configs,
                                   const std::string& instance, Clock& clock,
                                   const ConnectOptions& options) {
  BackendSet set;
  for (const auto& [name, cfg] : configs) {
    std::unique_ptr<Reconciler> rec;
    if (cfg.type == "marathon") {
      auto client = marathon::Client::FromBackend(cfg, marathon::ClientOptions{}, clock);
      if (!client.ok()) return client.status();
      if (options.attempt_hooks) (*client)->http().SetAttemptHooks(options.attempt_hooks(name));
      rec = std::make_unique<marathon::Reconciler>(std::move(*client), instance);
    } else if (cfg.type == "sagemaker") {
      auto client = sagemaker::Client::FromBackend(cfg, clock);
      if (!client.ok()) return client.status();
      if (options.attempt_hooks) (*client)->SetAttemptHooks(options.attempt_hooks(name));
      rec = std::make_unique<sagemaker::Reconciler>(
          std::make_unique<SageMakerApi>(std::move(*client)), instance, SageMakerOptionsOf(cfg));
    } else {
      return InvalidError("backend " + name + ": type " + cfg.type + " is not supported");
    }
    set.configs[name] = cfg;
    set.reconcilers[name] = rec.get();
    set.owned[name] = std::move(rec);
  }
  return set;
}

void BindSpecs(BackendSet& set, const LoadResult& specs) {
  for (auto& [name, rec] : set.reconcilers) {
    std::vector<const Document*> docs;
    for (const Document& d : specs.documents)
      if (d.backend == name && d.kind != "Backend") docs.push_back(&d);
    rec->BindSpecs(docs);
  }
}

Result<std::map<std::string, std::vector<LiveObject>>> ObserveAll(BackendSet& set) {
  std::map<std::string, std::future<Result<std::vector<LiveObject>>>> futures;
  for (auto& [name, rec] : set.reconcilers)
    futures.emplace(name, std::async(std::launch::async, [r = rec] { return r->Observe(); }));
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

}  // namespace converge
