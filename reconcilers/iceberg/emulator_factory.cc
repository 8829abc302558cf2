// `converge sandbox --iceberg-<flag>`: the Iceberg catalog emulator built from flag values.
#include <charconv>

#include "reconcilers/common/emulator/flags.h"
#include "reconcilers/iceberg/emulator.h"

namespace converge::iceberg {

std::vector<emulator::EmulatorFlag> EmulatorFlags() {
  return {
      {"warehouse",
       "Directory of the catalog's tables (metadata, manifests, placeholder data files); default: "
       "beside the --state file (<state>.iceberg-warehouse), else a fresh temporary directory",
       "", false},
      {"prefix",
       "The catalog's path prefix (/v1/<prefix>/namespaces...), sent in /v1/config "
       "overrides; default none",
       "", false},
      {"auth", "none | bearer | oauth2 (POST /v1/oauth/tokens, client credentials)", "none", false},
      {"token", "The bearer token --iceberg-auth bearer accepts", "sandbox-token", false},
      {"client-id", "The OAuth2 client id --iceberg-auth oauth2 accepts", "sandbox-client", false},
      {"client-secret", "The OAuth2 client secret", "sandbox-secret", false},
      {"token-expires-in", "Lifetime of an issued OAuth2 token, in seconds", "3600", false},
  };
}

Result<std::unique_ptr<emulator::Emulator>> MakeEmulator(
    const emulator::EmulatorFlagValues& flags) {
  EmulatorOptions o;
  CONVERGE_RETURN_IF_ERROR(emulator::ReadSharedKnobs(flags, &o.transition_ms, &o.failing_images));
  o.warehouse = emulator::FlagValue(flags, "warehouse");
  if (o.warehouse.empty()) {
    const std::string state = emulator::FlagValue(flags, emulator::kStateFileValue);
    if (!state.empty()) o.warehouse = state + ".iceberg-warehouse";
  }
  o.prefix = emulator::FlagValue(flags, "prefix");
  if (o.prefix.find('/') != std::string::npos)
    return InvalidError("prefix must be one path segment, not '" + o.prefix + "'");
  o.auth = emulator::FlagValue(flags, "auth", "none");
  if (o.auth != "none" && o.auth != "bearer" && o.auth != "oauth2")
    return InvalidError("auth must be none, bearer or oauth2, not '" + o.auth + "'");
  o.bearer_token = emulator::FlagValue(flags, "token", o.bearer_token);
  o.client_id = emulator::FlagValue(flags, "client-id", o.client_id);
  o.client_secret = emulator::FlagValue(flags, "client-secret", o.client_secret);
  const std::string expires = emulator::FlagValue(flags, "token-expires-in");
  if (!expires.empty()) {
    int v = 0;
    auto [end, err] = std::from_chars(expires.data(), expires.data() + expires.size(), v);
    if (err != std::errc() || end != expires.data() + expires.size() || v < 0)
      return InvalidError("token-expires-in must be an integer >= 0, not '" + expires + "'");
    o.token_expires_in_s = v;
  }
  return std::unique_ptr<emulator::Emulator>(std::make_unique<Emulator>(std::move(o)));
}

}  // namespace converge::iceberg
