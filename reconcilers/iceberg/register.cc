// The Iceberg REST catalog backend (`type: iceberg-rest`): TablePolicy maintenance (compaction,
// snapshot expiry, orphan-file removal) on the `maintenance` lifecycle, Executors (where the
// heavy jobs run: another Backend of type yarn, or a local command), and its sandbox catalog,
// served at /iceberg (`sandbox_mount`).
#include "reconcilers/iceberg/client.h"
#include "reconcilers/iceberg/emulator.h"
#include "reconcilers/iceberg/policy.h"
#include "reconcilers/iceberg/reconciler.h"
#include "reconcilers/iceberg/units.h"
#include "reconcilers/iceberg/small_files.h"
#include "reconcilers/iceberg/storage.h"
#include "reconcilers/registry.h"

namespace converge::iceberg {

void RegisterBackend(BackendRegistry& registry) {
  BackendFactory f;
  f.type = "iceberg-rest";
  f.sandbox_mount = "iceberg";
  f.kinds.push_back(KindDef{kTablePolicyKind, Lifecycle::kMaintenance, TablePolicyKind()});
  // Configuration, never reconciled: no live object, never drift, never pruned.
  f.kinds.push_back(KindDef{kExecutorKind, Lifecycle::kMaintenance, ExecutorKind()});
  f.auth_types = {"none", "bearer", "oauth2"};
  f.backend_schema = json::parse(R"json({
    "properties": {
      "warehouse": {"type": "string", "minLength": 1},
      "lockTtl": {"type": "string", "minLength": 1}
    }
  })json");
  f.backend_schema["properties"]["storage"] = StorageSchema();
  f.backend_rules = {{"required", {"url"}}};  // validate_backend below, as a schema
  f.validate_backend = [](const json& spec, std::vector<PathDiagnostic>& out) {
    if (!spec.contains("url"))
      out.push_back({"/spec", "an iceberg-rest Backend needs url (the REST catalog)"});
    if (auto ttl = spec.find("lockTtl"); ttl != spec.end() && ttl->is_string()) {
      auto ms = ParseDurationMs(ttl->get<std::string>());
      if (!ms.ok())
        out.push_back({"/spec/lockTtl", ms.status().message()});
      else if (*ms < 1000)
        out.push_back({"/spec/lockTtl", "must be at least 1s (the lock is renewed at half of it)"});
    }
    ValidateStorage(spec, out);
  };
  f.connect = [](const BackendConfig& cfg,
                 const ConnectContext& ctx) -> Result<std::unique_ptr<converge::Reconciler>> {
    auto client = Client::FromBackend(cfg, *ctx.clock);
    if (!client.ok()) return client.status();
    if (ctx.attempt_hooks.before || ctx.attempt_hooks.after)
      (*client)->http().SetAttemptHooks(ctx.attempt_hooks);
    ReconcilerOptions o;
    if (cfg.poll_interval.count() > 0) o.poll_interval = cfg.poll_interval;
    o.cancel = ctx.cancel;
    if (auto ttl = cfg.spec.find("lockTtl"); ttl != cfg.spec.end() && ttl->is_string())
      if (auto ms = ParseDurationMs(ttl->get<std::string>()); ms.ok()) o.lock_ttl_ms = *ms;
    if (auto storage = StorageOptionsOf(cfg.spec)) {
      http::TransportOptions t;
      t.tls.ca_file = cfg.ca_file;
      t.tls.insecure_skip_verify = cfg.insecure_skip_verify;
      o.small_files = std::make_shared<SmallFileCounter>(
          std::make_unique<Storage>(*storage, http::NewCurlTransport(t), *ctx.clock),
          ctx.cache_dir.empty() ? "" : ctx.cache_dir + "/iceberg-" + cfg.name);
    }
    return std::unique_ptr<converge::Reconciler>(std::make_unique<Reconciler>(
        std::move(*client), ctx.instance, o, *ctx.clock, ctx.peer));
  };
  f.emulator_flags = EmulatorFlags();
  f.make_emulator = MakeEmulator;
  f.default_transition_ms = 0;
  registry.Register(std::move(f));
}

}  // namespace converge::iceberg
