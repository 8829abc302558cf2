// The Iceberg catalog emulator's shared state and helpers (emulator*.cc only).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "reconcilers/iceberg/avro_manifest.h"
#include "reconcilers/iceberg/emulator.h"

namespace converge::iceberg {

using json = nlohmann::json;
using Namespace = std::vector<std::string>;

// An HTTP answer before it is written.
struct Reply {
  int status = 200;
  json body;  // null = no body
  std::map<std::string, std::string> headers;
};

// An error to answer: status, Java exception type, message.
struct Failure {
  int status = 400;
  std::string type = "BadRequestException";
  std::string message;
};

Reply ErrorReply(int status, const std::string& type, const std::string& message);
inline Reply ErrorReply(const Failure& f) {
  return ErrorReply(f.status, f.type, f.message);
}
Failure BadRequest(const std::string& message);
std::string JoinNs(const Namespace& ns, char sep = '.');
// "file:///a/b" -> "/a/b" (a path without a scheme is returned as it is).
std::string LocalPath(const std::string& uri);

struct Table {
  Namespace ns;
  std::string name;
  std::string metadata_location;
  json metadata;
  std::string Dotted() const { return JoinNs(ns) + "." + name; }
};

using TableKey = std::pair<Namespace, std::string>;

struct Emulator::Impl {
  explicit Impl(EmulatorOptions o);

  EmulatorOptions o;
  bool temp_warehouse = false;
  mutable std::mutex mu;
  std::map<Namespace, json> namespaces;  // -> properties
  std::map<TableKey, Table> tables;
  std::map<std::string, std::pair<int64_t, Reply>> idempotent;  // key -> (first seen, answer)
  std::map<std::string, int64_t> tokens;                        // oauth2 token -> expiry ms
  std::function<void()> observer;
  std::mt19937_64 rng;

  int64_t Now() const { return o.now_ms(); }
  std::string Uuid();
  int64_t NewSnapshotId();

  // ----- emulator_tables.cc (mu held) ---------------------------------------------------------
  // `rest`: the path after /v1[/<prefix>]/namespaces/<ns>/tables.
  Reply Tables(const std::string& method, const Namespace& ns, const std::string& rest,
               const std::string& body, const std::map<std::string, std::string>& query,
               const std::string& if_none_match);
  Reply CreateTable(const Namespace& ns, const json& request);
  Reply RenameTable(const json& request);
  Reply CommitTransaction(const json& request);
  // Checks the requirements and applies the updates to a copy of `t.metadata`.
  std::optional<Failure> Commit(const Table& t, const json& request, json* out);
  // Writes `metadata` as the table's next metadata file (metadata-log updated) and keeps it.
  Status WriteMetadata(Table& t, json metadata);
  Reply TableResult(const Table& t, bool commit_response, bool refs_only = false) const;
  // Creates `ns.name` at <warehouse>/<ns>/<name> with the given schema, spec, order, properties.
  Result<Table*> NewTable(const Namespace& ns, const std::string& name, json schema, json spec,
                          json order, json properties, std::string location);

  // ----- emulator_writer.cc (mu held) ---------------------------------------------------------
  Result<json> Append(const json& request);
  Result<json> Rewrite(const json& request);
  Result<json> RemoveOrphans(const json& request);
  // Commits a snapshot of `op` whose manifests are `manifests` (already written).
  Status CommitSnapshot(Table& t, int64_t snapshot_id, int64_t seq,
                        const std::vector<avro::ManifestFile>& manifests, json summary);
  Result<Table*> FindTable(const std::string& dotted);

  // ----- emulator_requests.cc (mu held unless said) --------------------------------------------
  // What /_admin/iceberg/requests lists: every write (POST/DELETE) answered, oldest first.
  std::deque<json> writes;
  // Commit faults (/_admin/iceberg/commit-faults): applied to the next commits of a table.
  struct CommitFault {
    std::string table;   // dotted
    int status = 0;      // 0 = none; else the commit is carried out, then answered this status
    json append_before;  // null = none; else a writer commit lands first (Append's request)
    std::string update;  // "" = any commit; else only commits with an update of this action
    int count = 1;       // commits it applies to; -1 = every
    int fired = 0;
  };
  std::vector<CommitFault> commit_faults;
  void LogWrite(const httplib::Request& req, const std::string& path, int status);
  // Before a commit to `table`: runs a fault's writer append; the status to answer instead of a
  // successful commit's 200 (0 = none). `mutated` is set when the append changed state.
  int BeforeCommit(const std::string& table, const std::string& body, bool* mutated);
  // The admin routes of the write log and the commit faults (mu not held).
  void MountRequestAdmin(httplib::Server& server, const std::string& admin_prefix);

  // ----- emulator.cc --------------------------------------------------------------------------
  json Export() const;
  Status Import(const json& state);
  void Wipe();
};

// Whether `uri` (file:// or an absolute path) lies inside `warehouse`.
bool UnderWarehouse(const std::string& warehouse, const std::string& uri);

template <typename Pred>
void EraseIf(json& list, Pred pred) {
  json kept = json::array();
  for (json& e : list)
    if (!pred(e)) kept.push_back(std::move(e));
  list = std::move(kept);
}

// Validates a namespace / table name part (no path separators, not "." or "..").
std::optional<Failure> CheckName(const std::string& part, const char* what);

}  // namespace converge::iceberg
