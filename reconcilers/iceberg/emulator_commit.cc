// The Iceberg catalog emulator's commits: every TableRequirement checked against the current
// metadata (409 on failure), then the updates applied to a copy as the format spec and Java's
// TableMetadata builder do (400 for unknown or malformed ones).
#include <filesystem>
#include <set>

#include "reconcilers/iceberg/emulator_internal.h"

namespace converge::iceberg {

namespace fs = std::filesystem;

bool UnderWarehouse(const std::string& warehouse, const std::string& uri) {
  if (uri.rfind("file:", 0) != 0 && uri.rfind("/", 0) != 0) return false;
  std::string rel =
      fs::path(LocalPath(uri)).lexically_normal().lexically_relative(warehouse).string();
  return !rel.empty() && rel != "." && rel.rfind("..", 0) != 0;
}

namespace {

Failure Conflict(const std::string& message) {
  return Failure{409, "CommitFailedException", "Requirement failed: " + message};
}

std::string IdText(const json& v) {
  return v.is_null() ? "null" : v.dump();
}

// Checks a requirement's shape (400) and, when `check`, whether it holds (409).
std::optional<Failure> Requirement(const json& r, const json& m, bool check) {
  if (!r.is_object() || !r.contains("type") || !r["type"].is_string())
    return BadRequest("Cannot parse update requirement: missing type");
  const std::string type = r["type"];
  auto need_int = [&](const char* k) -> std::optional<Failure> {
    if (!r.contains(k) || !r[k].is_number_integer())
      return BadRequest("Cannot parse " + type + ": " + k + " must be an integer");
    return std::nullopt;
  };
  struct IntReq {
    const char* type;
    const char* field;
    const char* meta;
    const char* what;
  };
  static const IntReq kInts[] = {
      {"assert-last-assigned-field-id", "last-assigned-field-id", "last-column-id",
       "last assigned field id changed"},
      {"assert-current-schema-id", "current-schema-id", "current-schema-id",
       "current schema changed"},
      {"assert-last-assigned-partition-id", "last-assigned-partition-id", "last-partition-id",
       "last assigned partition id changed"},
      {"assert-default-spec-id", "default-spec-id", "default-spec-id",
       "default partition spec changed"},
      {"assert-default-sort-order-id", "default-sort-order-id", "default-sort-order-id",
       "default sort order changed"},
  };
  for (const IntReq& k : kInts) {
    if (type != k.type) continue;
    if (auto e = need_int(k.field)) return e;
    if (check && r[k.field] != m.value(k.meta, json()))
      return Conflict(std::string(k.what) + ": expected id " + r[k.field].dump() +
                      " != " + IdText(m.value(k.meta, json())));
    return std::nullopt;
  }
  if (type == "assert-create") {
    if (check) return Conflict("table already exists");
  } else if (type == "assert-table-uuid") {
    if (!r.contains("uuid") || !r["uuid"].is_string())
      return BadRequest("Cannot parse assert-table-uuid: uuid must be a string");
    if (check && r["uuid"] != m.value("table-uuid", ""))
      return Conflict("UUID does not match: expected " + m.value("table-uuid", "") +
                      " != " + r["uuid"].get<std::string>());
  } else if (type == "assert-ref-snapshot-id") {
    if (!r.contains("ref") || !r["ref"].is_string())
      return BadRequest("Cannot parse assert-ref-snapshot-id: ref must be a string");
    json want = r.value("snapshot-id", json());
    if (!want.is_null() && !want.is_number_integer())
      return BadRequest("Cannot parse assert-ref-snapshot-id: snapshot-id must be an integer");
    if (!check) return std::nullopt;
    const std::string ref = r["ref"];
    const json refs = m.value("refs", json::object());
    if (refs.contains(ref)) {
      const json& cur = refs[ref];
      if (want.is_null())
        return Conflict(cur.value("type", "branch") + " " + ref + " was created concurrently");
      if (cur.value("snapshot-id", json()) != want)
        return Conflict(cur.value("type", "branch") + " " + ref + " has changed: expected id " +
                        want.dump() + " != " + IdText(cur.value("snapshot-id", json())));
    } else if (!want.is_null()) {
      return Conflict("branch or tag " + ref + " is missing, expected " + want.dump());
    }
  } else {
    return BadRequest("Cannot parse update requirement. Invalid requirement type: " + type);
  }
  return std::nullopt;
}

json* FindById(json& list, const char* key, const json& id) {
  for (json& e : list)
    if (e.value(key, json()) == id) return &e;
  return nullptr;
}

bool IsIntArray(const json& j) {
  if (!j.is_array()) return false;
  for (const json& e : j)
    if (!e.is_number_integer()) return false;
  return true;
}

// Applies one update to `m`. `added` collects the snapshot ids added by this commit.
std::optional<Failure> Apply(const json& u, json& m, int64_t now, const std::string& warehouse,
                             std::map<int64_t, int64_t>& added) {
  if (!u.is_object() || !u.contains("action") || !u["action"].is_string())
    return BadRequest("Cannot parse metadata update: missing action");
  const std::string a = u["action"];
  auto bad = [&](const std::string& why) { return BadRequest("Invalid " + a + ": " + why); };
  auto invalid = [](const std::string& why) { return Failure{400, "ValidationException", why}; };
  if (a == "add-snapshot") {
    const json s = u.value("snapshot", json());
    if (!s.is_object() || !s.contains("snapshot-id") || !s["snapshot-id"].is_number_integer() ||
        !s.contains("timestamp-ms") || !s["timestamp-ms"].is_number_integer() ||
        !s.contains("manifest-list") || !s["manifest-list"].is_string() || !s.contains("summary") ||
        !s["summary"].is_object())
      return bad("snapshot needs snapshot-id, timestamp-ms, manifest-list and summary");
    static const std::set<std::string> kOps = {"append", "replace", "overwrite", "delete"};
    if (!s["summary"].contains("operation") || !s["summary"]["operation"].is_string() ||
        kOps.count(s["summary"]["operation"].get<std::string>()) == 0)
      return bad("summary.operation must be append, replace, overwrite or delete");
    const int64_t id = s["snapshot-id"];
    if (FindById(m["snapshots"], "snapshot-id", id))
      return invalid("Snapshot already exists for id: " + std::to_string(id));
    const int64_t seq = s.value("sequence-number", int64_t{0});
    const int64_t last = m.value("last-sequence-number", int64_t{0});
    if (seq <= last && s.contains("parent-snapshot-id") && !s["parent-snapshot-id"].is_null())
      return invalid("Cannot add snapshot with sequence number " + std::to_string(seq) +
                     " older than last sequence number " + std::to_string(last));
    m["snapshots"].push_back(s);
    m["last-sequence-number"] = std::max(seq, last);
    m["last-updated-ms"] = s["timestamp-ms"];
    added[id] = s["timestamp-ms"].get<int64_t>();
  } else if (a == "set-snapshot-ref") {
    if (!u.contains("ref-name") || !u["ref-name"].is_string() || !u.contains("snapshot-id") ||
        !u["snapshot-id"].is_number_integer() || !u.contains("type") || !u["type"].is_string())
      return bad("needs ref-name, type and snapshot-id");
    const std::string type = u["type"], name = u["ref-name"];
    if (type != "branch" && type != "tag") return bad("type must be branch or tag");
    if (type == "tag" && (u.contains("min-snapshots-to-keep") || u.contains("max-snapshot-age-ms")))
      return invalid("Tags do not support setting minSnapshotsToKeep or maxSnapshotAgeMs");
    if (name == "main" && type != "branch") return invalid("Cannot set main to a tag");
    const int64_t id = u["snapshot-id"];
    if (!FindById(m["snapshots"], "snapshot-id", id))
      return invalid("Cannot set " + name + " to unknown snapshot: " + std::to_string(id));
    json ref = {{"snapshot-id", id}, {"type", type}};
    for (const char* k : {"max-ref-age-ms", "max-snapshot-age-ms", "min-snapshots-to-keep"}) {
      if (!u.contains(k) || u[k].is_null()) continue;
      if (!u[k].is_number_integer() || u[k].get<int64_t>() <= 0)
        return invalid(std::string(k) + " must be a positive integer");
      ref[k] = u[k];
    }
    if (m["refs"].value(name, json()) == ref) return std::nullopt;
    m["refs"][name] = ref;
    if (name == "main") {
      const int64_t ts = added.count(id) ? added[id] : now;
      m["current-snapshot-id"] = id;
      m["last-updated-ms"] = ts;
      m["snapshot-log"].push_back({{"timestamp-ms", ts}, {"snapshot-id", id}});
    }
  } else if (a == "remove-snapshots") {
    if (!IsIntArray(u.value("snapshot-ids", json()))) return bad("snapshot-ids must be integers");
    std::set<int64_t> gone;
    for (const json& id : u["snapshot-ids"]) gone.insert(id.get<int64_t>());
    auto removed = [&](const json& e) {
      return gone.count(e.value("snapshot-id", int64_t{-1})) > 0;
    };
    EraseIf(m["snapshots"], removed);
    EraseIf(m["statistics"], removed);
    EraseIf(m["partition-statistics"], removed);
    json refs = json::object();
    for (auto it = m["refs"].begin(); it != m["refs"].end(); ++it) {
      if (!removed(*it))
        refs[it.key()] = *it;
      else if (it.key() == "main")
        m["current-snapshot-id"] = -1;
    }
    m["refs"] = refs;
  } else if (a == "remove-snapshot-ref") {
    if (!u.contains("ref-name") || !u["ref-name"].is_string()) return bad("needs ref-name");
    m["refs"].erase(u["ref-name"].get<std::string>());
    if (u["ref-name"] == "main") m["current-snapshot-id"] = -1;
  } else if (a == "set-properties") {
    const json up = u.value("updates", json());
    if (!up.is_object()) return bad("updates must be an object");
    for (auto it = up.begin(); it != up.end(); ++it) {
      if (!it->is_string()) return bad("property values must be strings");
      m["properties"][it.key()] = *it;
    }
  } else if (a == "remove-properties") {
    const json rm = u.value("removals", json());
    if (!rm.is_array()) return bad("removals must be an array");
    for (const json& k : rm)
      if (k.is_string()) m["properties"].erase(k.get<std::string>());
  } else if (a == "set-location") {
    if (!u.contains("location") || !u["location"].is_string()) return bad("needs location");
    if (!UnderWarehouse(warehouse, u["location"]))
      return invalid("location must be a file:// URI inside the sandbox warehouse " + warehouse);
    m["location"] = u["location"];
  } else if (a == "remove-partition-specs" || a == "remove-schemas") {
    const bool specs = a == "remove-partition-specs";
    const char* ids_key = specs ? "spec-ids" : "schema-ids";
    if (!IsIntArray(u.value(ids_key, json())))
      return bad(std::string(ids_key) + " must be integers");
    const json current = m.value(specs ? "default-spec-id" : "current-schema-id", json());
    std::set<int64_t> gone;
    for (const json& id : u[ids_key]) {
      if (id == current)
        return invalid(specs ? "Cannot remove the default partition spec"
                             : "Cannot remove the current schema");
      gone.insert(id.get<int64_t>());
    }
    const char* id_key = specs ? "spec-id" : "schema-id";
    EraseIf(m[specs ? "partition-specs" : "schemas"],
            [&](const json& e) { return gone.count(e.value(id_key, int64_t{-1})) > 0; });
  } else if (a == "set-statistics" || a == "set-partition-statistics") {
    const char* key = a == "set-statistics" ? "statistics" : "partition-statistics";
    const json st = u.value(a == "set-statistics" ? "statistics" : "partition-statistics", json());
    if (!st.is_object() || !st.contains("snapshot-id") || !st["snapshot-id"].is_number_integer() ||
        !st.contains("statistics-path"))
      return bad("needs a statistics file with snapshot-id and statistics-path");
    EraseIf(m[key],
            [&](const json& e) { return e.value("snapshot-id", json()) == st["snapshot-id"]; });
    m[key].push_back(st);
  } else if (a == "remove-statistics" || a == "remove-partition-statistics") {
    const char* key = a == "remove-statistics" ? "statistics" : "partition-statistics";
    if (!u.contains("snapshot-id") || !u["snapshot-id"].is_number_integer())
      return bad("needs snapshot-id");
    EraseIf(m[key],
            [&](const json& e) { return e.value("snapshot-id", json()) == u["snapshot-id"]; });
  } else if (a == "upgrade-format-version") {
    if (!u.contains("format-version") || !u["format-version"].is_number_integer())
      return bad("needs format-version");
    const int v = u["format-version"], cur = m.value("format-version", 2);
    if (v < cur)
      return invalid("Cannot downgrade v" + std::to_string(cur) + " table to v" +
                     std::to_string(v));
    if (v > 2)
      return invalid("Unsupported format version: v" + std::to_string(v) +
                     " (converge sandbox writes v2)");
  } else if (a == "assign-uuid") {
    if (u.value("uuid", json()) != m.value("table-uuid", json()))
      return invalid("Cannot reassign uuid");
  } else if (a == "add-schema" || a == "set-current-schema" || a == "add-spec" ||
             a == "set-default-spec" || a == "add-sort-order" || a == "set-default-sort-order" ||
             a == "add-encryption-key" || a == "remove-encryption-key") {
    return BadRequest("converge sandbox does not support " + a);
  } else {
    return BadRequest("Cannot parse metadata update. Invalid action: " + a);
  }
  return std::nullopt;
}

// Drops the snapshot-log entries up to the last one whose snapshot is gone (Java does the same).
void TrimSnapshotLog(json& m) {
  std::set<int64_t> ids;
  for (const json& s : m["snapshots"]) ids.insert(s.value("snapshot-id", int64_t{-1}));
  json& log = m["snapshot-log"];
  size_t keep_from = 0;
  for (size_t i = 0; i < log.size(); ++i)
    if (ids.count(log[i].value("snapshot-id", int64_t{-1})) == 0) keep_from = i + 1;
  json kept = json::array();
  for (size_t i = keep_from; i < log.size(); ++i) kept.push_back(log[i]);
  log = kept;
}

}  // namespace

std::optional<Failure> Emulator::Impl::Commit(const Table& t, const json& request, json* out) {
  if (!request.contains("requirements") || !request["requirements"].is_array() ||
      !request.contains("updates") || !request["updates"].is_array())
    return BadRequest("Malformed request: requirements and updates must be arrays");
  for (const json& r : request["requirements"])
    if (auto e = Requirement(r, t.metadata, false)) return e;
  static const std::set<std::string> kActions = {"add-snapshot",
                                                 "set-snapshot-ref",
                                                 "remove-snapshots",
                                                 "remove-snapshot-ref",
                                                 "set-properties",
                                                 "remove-properties",
                                                 "set-location",
                                                 "remove-partition-specs",
                                                 "remove-schemas",
                                                 "set-statistics",
                                                 "set-partition-statistics",
                                                 "remove-statistics",
                                                 "remove-partition-statistics",
                                                 "upgrade-format-version",
                                                 "assign-uuid"};
  for (const json& u : request["updates"]) {
    if (!u.is_object() || !u.contains("action") || !u["action"].is_string())
      return BadRequest("Cannot parse metadata update: missing action");
    if (kActions.count(u["action"].get<std::string>()) == 0) {
      json m = t.metadata;
      std::map<int64_t, int64_t> none;
      return Apply(u, m, Now(), o.warehouse, none);  // the 400 that names the action
    }
  }
  for (const json& r : request["requirements"])
    if (auto e = Requirement(r, t.metadata, true)) return e;
  json m = t.metadata;
  for (const char* k : {"snapshots", "snapshot-log", "statistics", "partition-statistics"})
    if (!m.contains(k) || !m[k].is_array()) m[k] = json::array();
  for (const char* k : {"refs", "properties"})
    if (!m.contains(k) || !m[k].is_object()) m[k] = json::object();
  std::map<int64_t, int64_t> added;
  const int64_t now = Now();
  for (const json& u : request["updates"])
    if (auto e = Apply(u, m, now, o.warehouse, added)) return e;
  TrimSnapshotLog(m);
  if (added.empty() && !request["updates"].empty()) m["last-updated-ms"] = now;
  *out = std::move(m);
  return std::nullopt;
}

}  // namespace converge::iceberg
