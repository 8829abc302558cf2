// YARN's entry in the backend registry (reconcilers/registry.h): long-running services
// (YarnService, the Services API); one-shot applications (YarnApplication, the RM apps API)
// follow. The emulator registers its lines here too.
#include "reconcilers/registry.h"
#include "reconcilers/yarn/client.h"
#include "reconcilers/yarn/emulator.h"
#include "reconcilers/yarn/reconciler.h"
#include "reconcilers/yarn/validate.h"

namespace converge::yarn {

namespace {

KindInfo ServiceKind() {
  KindInfo k;
  k.backend_type = "yarn";
  k.validate = [](Document& doc, std::vector<PathDiagnostic>& out) {
    json& spec = doc.spec.Edit();
    if (spec.contains("name")) {
      if (!spec["name"].is_string() || spec["name"] != doc.name)
        out.push_back(
            {"/spec/name", "spec.name must be left out or equal metadata.name (" + doc.name + ")"});
      spec.erase("name");
    }
    ValidateServiceSpec(spec, "/spec", out);
  };
  k.validate_name = ServiceNameError;
  k.schema = ServiceSpecSchema;
  // A component whose artifact is of type SERVICE takes its components from the service named
  // by artifact.id: another YarnService spec, or a service that already runs.
  k.references = [](const Document& doc) {
    std::vector<SpecReference> out;
    const json comps = doc.spec.Get().value("components", json::array());
    for (size_t i = 0; comps.is_array() && i < comps.size(); ++i) {
      const json art = comps[i].is_object() ? comps[i].value("artifact", json()) : json();
      if (art.is_object() && art.value("type", json()) == "SERVICE" &&
          art.value("id", json()).is_string())
        out.push_back({"YarnService",
                       art["id"].get<std::string>(),
                       "/spec/components/" + std::to_string(i) + "/artifact/id",
                       {}});
    }
    return out;
  };
  return k;
}

json BackendSchema() {
  return json::parse(R"json({
    "properties": {
      "urls": {
        "type": "array", "minItems": 1,
        "items": {"type": "string", "pattern": "^https?://[^\\s]+$"}
      },
      "upgrade": {"type": "string", "enum": ["enabled", "disabled"]}
    }
  })json");
}

}  // namespace

void RegisterBackend(BackendRegistry& registry) {
  BackendFactory f;
  f.type = "yarn";
  f.kinds.push_back(KindDef{"YarnService", Lifecycle::kResource, ServiceKind()});
  KindDef app{kApplicationKind, Lifecycle::kRun, ApplicationKind()};
  app.loader.schema = ApplicationSpecSchema;
  app.run_name_member = kApplicationNameMember;
  f.kinds.push_back(std::move(app));
  f.auth_types = {"none", "simple", "spnego"};
  f.backend_schema = BackendSchema();
  // validate_backend below, as a schema: urls (or url), not both; simple auth names its user.
  f.backend_rules = json::parse(R"json({
    "oneOf": [{"required": ["urls"]}, {"required": ["url"]}],
    "if": {"properties": {"auth": {"properties": {"type": {"const": "simple"}},
                                   "required": ["type"]}},
           "required": ["auth"]},
    "then": {"properties": {"auth": {"anyOf": [{"required": ["user"]},
                                               {"required": ["username"]}]}}}
  })json");
  f.validate_backend = [](const json& spec, std::vector<PathDiagnostic>& out) {
    bool has_urls = spec.contains("urls") && spec["urls"].is_array() && !spec["urls"].empty();
    if (!has_urls && !spec.contains("url"))
      out.push_back({"/spec", "a yarn Backend needs urls (the ResourceManagers) or url"});
    if (has_urls && spec.contains("url"))
      out.push_back({"/spec/url", "set either url or urls, not both"});
    if (auto a = spec.find("auth");
        a != spec.end() && a->is_object() && a->value("type", json()) == "simple") {
      bool user = (a->contains("user") && (*a)["user"].is_string()) ||
                  (a->contains("username") && (*a)["username"].is_string());
      if (!user)
        out.push_back({"/spec/auth", "simple auth needs user: the name sent as ?user.name="});
    }
  };
  f.connect = [](const BackendConfig& cfg,
                 const ConnectContext& ctx) -> Result<std::unique_ptr<converge::Reconciler>> {
    ClientOptions copts;
    copts.cancel = ctx.cancel;
    auto client = Client::FromBackend(cfg, *ctx.clock, copts);
    if (!client.ok()) return client.status();
    if (ctx.attempt_hooks.before || ctx.attempt_hooks.after)
      (*client)->http().SetAttemptHooks(ctx.attempt_hooks);
    ReconcilerOptions ropts = OptionsFromBackend(cfg);
    ropts.cancel = ctx.cancel;
    return std::unique_ptr<converge::Reconciler>(
        std::make_unique<Reconciler>(std::move(*client), ctx.instance, ropts, *ctx.clock));
  };
  f.emulator_flags = EmulatorFlags();
  f.make_emulator = MakeEmulator;
  f.default_transition_ms = 300;
  registry.Register(std::move(f));
}

}  // namespace converge::yarn
