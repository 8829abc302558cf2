// Marathon's entry in the backend registry (reconcilers/registry.h).
#include "reconcilers/marathon/client.h"
#include "reconcilers/marathon/emulator.h"
#include "reconcilers/marathon/reconciler.h"
#include "reconcilers/marathon/validate.h"
#include "reconcilers/registry.h"

namespace converge::marathon {

void RegisterBackend(BackendRegistry& registry) {
  BackendFactory f;
  f.type = "marathon";
  KindRegistry kinds;
  RegisterKinds(kinds);
  f.kinds.push_back(KindDef{"App", Lifecycle::kResource, *kinds.Find("App")});
  f.kinds.back().loader.schema = AppSpecSchema;
  f.auth_types = {"none", "basic", "dcos-token"};
  f.backend_schema = {{"required", {"url"}}, {"properties", json::object()}};
  f.connect = [](const BackendConfig& cfg,
                 const ConnectContext& ctx) -> Result<std::unique_ptr<converge::Reconciler>> {
    auto client = Client::FromBackend(cfg, ClientOptions{}, *ctx.clock);
    if (!client.ok()) return client.status();
    if (ctx.attempt_hooks.before || ctx.attempt_hooks.after)
      (*client)->http().SetAttemptHooks(ctx.attempt_hooks);
    return std::unique_ptr<converge::Reconciler>(
        std::make_unique<Reconciler>(std::move(*client), ctx.instance));
  };
  f.emulator_flags = EmulatorFlags();
  f.make_emulator = MakeEmulator;
  f.default_transition_ms = 1000;
  f.emulator_flag_aliases = {{"transition-ms", "--marathon-deploy-ms"}};
  registry.Register(std::move(f));
}

}  // namespace converge::marathon
