// SageMaker's entry in the backend registry (reconcilers/registry.h).
#include <algorithm>
#include <cctype>

#include "reconcilers/registry.h"
#include "reconcilers/sagemaker/client.h"
#include "reconcilers/sagemaker/emulator.h"
#include "reconcilers/sagemaker/kinds.h"
#include "reconcilers/sagemaker/reconciler.h"

namespace converge::sagemaker {
namespace {

// The reconciler's view of SageMaker (Api) over the JSON 1.1 client.
class ClientApi : public Api {
 public:
  explicit ClientApi(std::unique_ptr<Client> client) : client_(std::move(client)) {}
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
  std::unique_ptr<Client> client_;
};

Options OptionsOf(const BackendConfig& cfg) {
  Options options;
  if (cfg.spec.contains("retainVersions") && cfg.spec["retainVersions"].is_number_integer())
    options.retain_versions = cfg.spec["retainVersions"].get<int>();
  if (cfg.poll_interval.count() > 0) options.poll_interval = cfg.poll_interval;
  if (cfg.spec.contains("observe") && cfg.spec["observe"] == "list") options.search = false;
  return options;
}

void ValidateMembers(const json& spec, std::vector<PathDiagnostic>& out) {
  if (!spec.contains("region")) return;
  const json& r = spec["region"];
  bool ok = r.is_string() && !r.get<std::string>().empty();
  for (char c : ok ? r.get<std::string>() : std::string())
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (!ok) out.push_back({"/spec/region", "expected an AWS region such as eu-west-1"});
}

}  // namespace

void RegisterBackend(BackendRegistry& registry) {
  BackendFactory f;
  f.type = "sagemaker";
  KindRegistry kinds;
  RegisterKinds(kinds);
  for (const KindSpec& k : Kinds()) {
    KindDef def{k.kind, k.job ? Lifecycle::kRun : Lifecycle::kResource, *kinds.Find(k.kind)};
    def.loader.schema = [&k] { return SpecSchema(k); };
    if (k.job) {
      def.timeout = RunTimeout;
      def.run_name_member = k.name_member;
    }
    f.kinds.push_back(std::move(def));
  }
  f.auth_types = {"aws", "none"};
  f.default_poll_interval = Options().poll_interval;
  f.backend_schema = {
      {"properties",
       {{"region", {{"type", "string"}}},
        {"retainVersions",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", 100},
          {"description", "versions of each Model / EndpointConfig spec kept for rollback"}}},
        {"observe",
         {{"enum", {"search", "list"}},
          {"description",
           "how a plan reads models and endpoints: one paged Search per kind (default), or "
           "List + ListTags + Describe per object"}}}}}};
  f.validate_backend = ValidateMembers;
  f.backend_rules = {{"properties", {{"region", {{"pattern", "^[a-z0-9-]+$"}, {"minLength", 1}}}}}};
  f.connect = [](const BackendConfig& cfg,
                 const ConnectContext& ctx) -> Result<std::unique_ptr<converge::Reconciler>> {
    auto client = Client::FromBackend(cfg, *ctx.clock);
    if (!client.ok()) return client.status();
    if (ctx.attempt_hooks.before || ctx.attempt_hooks.after)
      (*client)->SetAttemptHooks(ctx.attempt_hooks);
    Options options = OptionsOf(cfg);
    options.clock = ctx.clock;
    options.cancel = ctx.cancel;
    if (!ctx.cache_dir.empty()) {
      std::string file = cfg.name;
      for (char& c : file)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
      options.cache_file = ctx.cache_dir + "/sagemaker-" + file + ".json";
    }
    return std::unique_ptr<converge::Reconciler>(std::make_unique<Reconciler>(
        std::make_unique<ClientApi>(std::move(*client)), ctx.instance, options));
  };
  f.emulator_flags = EmulatorFlags();
  f.make_emulator = MakeEmulator;
  f.default_transition_ms = 2000;
  f.emulator_flag_aliases = {{"transition-ms", "--sagemaker-delay-ms"}};
  registry.Register(std::move(f));
}

}  // namespace converge::sagemaker
