// An Iceberg REST catalog for `converge sandbox` and the tests, served at /iceberg, with real
// Iceberg tables on disk: the REST catalog OpenAPI (reconcilers/iceberg/upstream/open-api), the
// table format v2 (format/spec.md), and the Java reference server's behaviour where the two differ
// (the notes kept with the upstream copies).
//
// Model:
//   * A warehouse directory holds every table at file://<warehouse>/<ns levels>/<table>, with
//     metadata/NNNNN-<uuid>.metadata.json (one new file per commit, as Java's catalogs name them),
//     and for every snapshot the emulator writes a manifest list and manifests (Avro, the spec's
//     v2 schemas: reconcilers/iceberg/avro_manifest.h) and placeholder data files of the recorded
//     size (sparse).
//   * REST: GET /v1/config (`warehouse` query accepted; `overrides.prefix` when a prefix is
//     configured, `endpoints`, `idempotency-key-lifetime`); namespaces (list with `parent` and
//     paging, create, load, HEAD, drop when empty, properties); tables (list with paging,
//     create, load with ETag / If-None-Match -> 304 and `snapshots=refs`, HEAD, drop with
//     `purgeRequested`, rename, commit); POST /v1/{prefix}/transactions/commit (all tables'
//     requirements are checked before any is changed). Multi-level namespaces are joined with
//     0x1F (%1F).
//   * Commits check every TableRequirement type against the current metadata (409
//     CommitFailedException naming the failed requirement, nothing changed) and apply the updates
//     per the spec: add-snapshot (sequence numbers must grow, last-sequence-number),
//     set-snapshot-ref (branch/tag and retention fields; main moves current-snapshot-id and
//     appends to snapshot-log), remove-snapshots (refs to removed snapshots go, snapshot-log is
//     cut after the last removed entry, their statistics go), remove-snapshot-ref,
//     set-properties, remove-properties, set-location, remove-partition-specs, remove-schemas,
//     set-statistics, remove-statistics, upgrade-format-version (to 2), assign-uuid (same uuid
//     only). Unknown requirement or update types and malformed ones answer 400. Errors are
//     IcebergErrorResponse {"error":{"message","type","code"}} with Java's exception names.
//   * Idempotency-Key on every POST/DELETE: a repeated key within 30 minutes answers the first
//     (final: 2xx and 4xx) answer again without acting twice; 5xx answers are not kept.
//   * Auth (`--iceberg-auth`): none; bearer (a fixed token); oauth2 (POST /v1/oauth/tokens,
//     form-encoded client_credentials, tokens expire after `expires_in`). A missing, unknown or
//     expired token answers 401 NotAuthorizedException.
//   * Admin (/_admin/iceberg): `append` simulates a writer (N append snapshots of K files),
//     `rewrite` a compaction job (a replace snapshot per run, like Spark's rewrite_data_files
//     binpack), `remove-orphans` deletes files under a table location no snapshot references and
//     older than a cut-off. The three are public methods too (the sandbox's YARN calls them).
//     transition_ms is how long a rewrite / orphan removal takes (waited before it commits); a
//     rewrite of a table whose name contains a failing image fails and commits nothing.
//
// Deliberate deviations: no views, scan planning, metrics reporting, register-table, staged
// creates (stage-create / assert-create answer 400), schema or partition spec evolution
// (add-schema, set-current-schema, add-spec, set-default-spec, add-sort-order,
// set-default-sort-order answer 400); creates keep the field ids they are given (Java reassigns
// fresh ids); no storage credentials in `config`; remove-snapshots deletes no files (as the
// REST server does not; remove-orphans does); data files are placeholders, not Parquet;
// rewritten files inherit the rewrite snapshot's sequence number (Spark's
// use-starting-sequence-number is not modelled); record counts are size / 100.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/common/emulator/emulator.h"
#include "specs/base/status.h"

namespace converge::iceberg {

struct EmulatorOptions {
  // Wall time in epoch milliseconds. Default: the system clock.
  std::function<int64_t()> now_ms;
  // Waits `ms` (a rewrite's or orphan removal's duration). Default: sleeps.
  std::function<void(int ms)> sleep_ms;
  int transition_ms = 0;
  std::vector<std::string> failing_images;
  // Where tables live; "" = a fresh temporary directory, removed with the emulator.
  std::string warehouse;
  // The catalog's path prefix ("" = none): /v1/<prefix>/namespaces, advertised in
  // /v1/config overrides.
  std::string prefix;
  std::string auth = "none";  // none | bearer | oauth2
  std::string bearer_token = "sandbox-token";
  std::string client_id = "sandbox-client";
  std::string client_secret = "sandbox-secret";
  int token_expires_in_s = 3600;
};

class Emulator : public emulator::Emulator {
 public:
  explicit Emulator(EmulatorOptions options = {});
  ~Emulator() override;
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  void Mount(httplib::Server& server, const std::string& prefix) override;
  // Serves one request (`path`: the request path below the mount).
  void Handle(const httplib::Request& req, httplib::Response& res, const std::string& path);

  void SetTransitionMs(int ms) override;
  int TransitionMs() const override;
  void SetFailingImages(std::vector<std::string> images) override;
  std::vector<std::string> FailingImages() const override;
  void Reset() override;  // drops every namespace and table and deletes their files

  // {"namespaces": [{"namespace": [...], "properties": {...}}],
  //  "tables": [{"namespace": [...], "name", "metadata_location"}]}: the files are on disk.
  nlohmann::json ExportState() const override;
  Status ImportState(const nlohmann::json& state) override;
  void SetMutationObserver(std::function<void()> observer) override;

  // IcebergErrorResponse bodies (type by status: 400 BadRequestException, 401
  // NotAuthorizedException, 409 CommitFailedException, 500 CommitStateUnknownException / ...).
  void AnswerFault(int status, const std::string& body, httplib::Response& res) const override;

  // POST /_admin/iceberg/{append,rewrite,remove-orphans}: the methods below, body -> answer
  // (errors as IcebergErrorResponse). GET /_admin/iceberg/tables: every table and its
  // metadata location.
  void MountAdmin(httplib::Server& server, const std::string& admin_prefix) override;

  // {"table": "ns.table", "commits": N, "files_per_commit": K, "file_size_bytes": B,
  //  "partition": {...}} -> {"snapshots": [ids], "metadata-location"}. Creates the namespace and
  // table (id long, event_date date, payload string; identity(event_date)) when missing.
  Result<nlohmann::json> Append(const nlohmann::json& request);
  // {"table", "target_file_size_bytes", "min_input_files" (default 5), "partition"?} ->
  // {"snapshot-id" (absent when nothing was rewritten), "rewritten_data_files_count",
  //  "added_data_files_count", "rewritten_bytes_count"}.
  Result<nlohmann::json> Rewrite(const nlohmann::json& request);
  // {"table", "older_than_ms", "dry_run"?} -> {"orphan_file_locations": [...]} (deleted unless
  // dry_run).
  Result<nlohmann::json> RemoveOrphans(const nlohmann::json& request);

  // Spark's `CALL [catalog.]system.rewrite_data_files(table => 'db.t', options =>
  // map('target-file-size-bytes', '...', 'min-input-files', '...'), where => "col = 'v'")` and
  // `CALL ... remove_orphan_files(table => ..., older_than => TIMESTAMP '...', dry_run => true)`
  // found anywhere in `command` (a YARN AM command line): carried out at once (the job's run time
  // is the caller's); Ok, or the error the job fails with. nullopt for any other command.
  std::optional<Status> RunCommand(const std::string& command) override;

  // The warehouse directory.
  std::string Warehouse() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `converge sandbox --iceberg-<flag>`: the flags besides transition-ms and failing-image, and
// an emulator built from flag values.
std::vector<emulator::EmulatorFlag> EmulatorFlags();
Result<std::unique_ptr<emulator::Emulator>> MakeEmulator(const emulator::EmulatorFlagValues& flags);

}  // namespace converge::iceberg
