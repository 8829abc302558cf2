// The Iceberg catalog emulator's tables: list, create, load (ETag), drop, rename, metadata files,
// and the commit routes (single-table and multi-table; the checks are in emulator_commit.cc).
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "reconcilers/iceberg/emulator_internal.h"

namespace converge::iceberg {

namespace fs = std::filesystem;

namespace {

std::string Etag(const std::string& location) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : location) h = (h ^ c) * 1099511628211ull;
  char buf[24];
  snprintf(buf, sizeof buf, "\"%016" PRIx64 "\"", h);
  return buf;
}

bool EtagMatches(const std::string& header, const std::string& etag) {
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string::npos) end = header.size();
    std::string v = header.substr(start, end - start);
    v.erase(0, v.find_first_not_of(' '));
    v.erase(v.find_last_not_of(' ') + 1);
    if (v.rfind("W/", 0) == 0) v = v.substr(2);
    if (v == "*" || v == etag || "\"" + v + "\"" == etag) return true;
    start = end + 1;
  }
  return false;
}

int MaxFieldId(const json& type) {
  int m = 0;
  if (!type.is_object()) return 0;
  for (const char* k : {"id", "element-id", "key-id", "value-id"})
    if (type.contains(k) && type[k].is_number_integer()) m = std::max(m, type[k].get<int>());
  for (const char* k : {"type", "element", "key", "value"})
    if (type.contains(k) && type[k].is_object()) m = std::max(m, MaxFieldId(type[k]));
  if (type.contains("fields") && type["fields"].is_array())
    for (const json& f : type["fields"]) m = std::max(m, MaxFieldId(f));
  return m;
}

}  // namespace

Status Emulator::Impl::WriteMetadata(Table& t, json metadata) {
  int version = 0;
  if (!t.metadata_location.empty()) {
    json entry = {{"timestamp-ms", t.metadata.value("last-updated-ms", int64_t{0})},
                  {"metadata-file", t.metadata_location}};
    if (!metadata.contains("metadata-log") || !metadata["metadata-log"].is_array())
      metadata["metadata-log"] = json::array();
    metadata["metadata-log"].push_back(entry);
    size_t max = 100;
    std::string p = metadata["properties"].value("write.metadata.previous-versions-max", "");
    if (!p.empty() && p.find_first_not_of("0123456789") == std::string::npos)
      max = std::max<size_t>(1, std::stoul(p));
    json& log = metadata["metadata-log"];
    while (log.size() > max) log.erase(log.begin());
    version = std::atoi(fs::path(t.metadata_location).filename().c_str()) + 1;
  }
  const std::string dir = LocalPath(metadata.value("location", "")) + "/metadata";
  std::error_code ec;
  fs::create_directories(dir, ec);
  char name[16];
  snprintf(name, sizeof name, "%05d-", version);
  const std::string path = dir + "/" + name + Uuid() + ".metadata.json";
  std::ofstream f(path, std::ios::trunc);
  f << metadata.dump(2);
  f.close();
  if (!f) return UnavailableError("cannot write " + path);
  t.metadata = std::move(metadata);
  t.metadata_location = "file://" + path;
  return Status::Ok();
}

Reply Emulator::Impl::TableResult(const Table& t, bool commit_response, bool refs_only) const {
  Reply r;
  json m = t.metadata;
  if (refs_only) {
    std::set<json> heads;
    const json refs = m.value("refs", json::object());
    for (const auto& [name, ref] : refs.items()) heads.insert(ref.value("snapshot-id", json()));
    EraseIf(m["snapshots"], [&](const json& s) { return heads.count(s["snapshot-id"]) == 0; });
  }
  r.body = {{"metadata-location", t.metadata_location}, {"metadata", m}};
  if (!commit_response) r.body["config"] = json::object();
  r.headers["ETag"] = Etag(t.metadata_location);
  return r;
}

Result<Table*> Emulator::Impl::NewTable(const Namespace& ns, const std::string& name, json schema,
                                        json spec, json order, json properties,
                                        std::string location) {
  if (location.empty()) {
    location = "file://" + o.warehouse;
    for (const std::string& p : ns) location += "/" + p;
    location += "/" + name;
  }
  int last_partition = 999;
  for (const json& f : spec["fields"])
    last_partition = std::max(last_partition, f["field-id"].get<int>());
  json m = {{"format-version", 2},
            {"table-uuid", Uuid()},
            {"location", location},
            {"last-sequence-number", 0},
            {"last-updated-ms", Now()},
            {"last-column-id", MaxFieldId(schema)},
            {"current-schema-id", schema.value("schema-id", 0)},
            {"schemas", json::array({schema})},
            {"default-spec-id", spec.value("spec-id", 0)},
            {"partition-specs", json::array({spec})},
            {"last-partition-id", last_partition},
            {"default-sort-order-id", order.value("order-id", 0)},
            {"sort-orders", json::array({order})},
            {"properties", properties},
            {"current-snapshot-id", -1},
            {"refs", json::object()},
            {"snapshots", json::array()},
            {"statistics", json::array()},
            {"partition-statistics", json::array()},
            {"snapshot-log", json::array()},
            {"metadata-log", json::array()}};
  Table t;
  t.ns = ns;
  t.name = name;
  CONVERGE_RETURN_IF_ERROR(WriteMetadata(t, std::move(m)));
  Table& slot = tables[{ns, name}];
  slot = std::move(t);
  return &slot;
}

Reply Emulator::Impl::CreateTable(const Namespace& ns, const json& req) {
  if (!req.contains("name") || !req["name"].is_string())
    return ErrorReply(BadRequest("Malformed request: name is required"));
  const std::string name = req["name"];
  if (auto e = CheckName(name, "table")) return ErrorReply(*e);
  json schema = req.value("schema", json());
  if (!schema.is_object() || schema.value("type", "") != "struct" || !schema.contains("fields") ||
      !schema["fields"].is_array())
    return ErrorReply(BadRequest("Malformed request: schema must be a struct with fields"));
  if (req.value("stage-create", false))
    return ErrorReply(BadRequest("converge sandbox does not support staged creates"));
  if (tables.count({ns, name}))
    return ErrorReply(409, "AlreadyExistsException",
                      "Table already exists: " + JoinNs(ns) + "." + name);
  if (!schema.contains("schema-id")) schema["schema-id"] = 0;
  json spec = req.value("partition-spec", json::object());
  if (!spec.is_object()) return ErrorReply(BadRequest("partition-spec must be an object"));
  json fields = spec.value("fields", json::array());
  int next = 1000;
  for (json& f : fields) {
    if (!f.is_object() || !f.contains("source-id") || !f.contains("transform") ||
        !f.contains("name"))
      return ErrorReply(BadRequest("partition fields need source-id, transform and name"));
    if (!f.contains("field-id")) f["field-id"] = next;
    next = std::max(next, f["field-id"].get<int>() + 1);
  }
  spec = {{"spec-id", 0}, {"fields", fields}};
  json order = req.value("write-order", json());
  if (!order.is_object()) order = {{"order-id", 0}, {"fields", json::array()}};
  if (!order.contains("order-id"))
    order["order-id"] = order.value("fields", json::array()).empty() ? 0 : 1;
  json props = req.value("properties", json::object());
  if (!props.is_object()) return ErrorReply(BadRequest("properties must be an object"));
  std::string location = req.value("location", "");
  if (!location.empty() && !UnderWarehouse(o.warehouse, location))
    return ErrorReply(
        BadRequest("location must be a file:// URI inside the sandbox warehouse " + o.warehouse));
  auto t = NewTable(ns, name, schema, spec, order, props, location);
  if (!t.ok()) return ErrorReply(500, "RuntimeException", t.status().message());
  return TableResult(**t, false);
}

Reply Emulator::Impl::Tables(const std::string& method, const Namespace& ns,
                             const std::string& rest, const std::string& body,
                             const std::map<std::string, std::string>& query,
                             const std::string& if_none_match) {
  json req = json::parse(body.empty() ? std::string("{}") : body, nullptr, false);
  if (method == "POST" && (req.is_discarded() || !req.is_object()))
    return ErrorReply(BadRequest("Malformed request: invalid JSON body"));
  if (rest.empty() && method == "GET") {
    json ids = json::array();
    for (const auto& [k, t] : tables)
      if (k.first == ns) ids.push_back({{"namespace", t.ns}, {"name", t.name}});
    size_t start = 0, size = ids.size();
    if (auto it = query.find("pageToken"); it != query.end() && !it->second.empty())
      start = std::strtoul(it->second.c_str(), nullptr, 10);
    if (auto it = query.find("pageSize"); it != query.end() && !it->second.empty())
      size = std::max<size_t>(1, std::strtoul(it->second.c_str(), nullptr, 10));
    json page = json::array();
    for (size_t i = start; i < ids.size() && i < start + size; ++i) page.push_back(ids[i]);
    json out = {{"identifiers", page}};
    if (start + size < ids.size()) out["next-page-token"] = std::to_string(start + size);
    return Reply{200, out, {}};
  }
  if (rest.empty() && method == "POST") return CreateTable(ns, req);
  if (rest.size() < 2 || rest.find('/', 1) != std::string::npos)
    return ErrorReply(404, "NotFoundException", "No route for " + method + " tables" + rest);
  const std::string name = rest.substr(1);
  auto it = tables.find({ns, name});
  if (it == tables.end())
    return ErrorReply(404, "NoSuchTableException",
                      "Table does not exist: " + JoinNs(ns) + "." + name);
  Table& t = it->second;
  if (method == "HEAD") return Reply{204, json(), {}};
  if (method == "GET") {
    std::string snapshots = query.count("snapshots") ? query.at("snapshots") : "all";
    if (snapshots != "all" && snapshots != "refs")
      return ErrorReply(BadRequest("snapshots must be all or refs"));
    if (!if_none_match.empty() && EtagMatches(if_none_match, Etag(t.metadata_location)))
      return Reply{304, json(), {{"ETag", Etag(t.metadata_location)}}};
    return TableResult(t, false, snapshots == "refs");
  }
  if (method == "DELETE") {
    auto purge = query.find("purgeRequested");
    if (purge != query.end() && purge->second == "true" &&
        UnderWarehouse(o.warehouse, t.metadata.value("location", ""))) {
      std::error_code ec;
      fs::remove_all(LocalPath(t.metadata.value("location", "")), ec);
    }
    tables.erase(it);
    return Reply{204, json(), {}};
  }
  if (method == "POST") {
    json m;
    if (auto e = Commit(t, req, &m)) return ErrorReply(*e);
    if (req["updates"].empty()) return TableResult(t, true);
    Status st = WriteMetadata(t, std::move(m));
    if (!st.ok()) return ErrorReply(500, "CommitStateUnknownException", st.message());
    return TableResult(t, true);
  }
  return ErrorReply(404, "NotFoundException", "No route for " + method + " tables" + rest);
}

namespace {

std::optional<TableKey> Ident(const json& j) {
  if (!j.is_object() || !j.contains("namespace") || !j["namespace"].is_array() ||
      !j.contains("name") || !j["name"].is_string())
    return std::nullopt;
  Namespace ns;
  for (const json& p : j["namespace"]) {
    if (!p.is_string()) return std::nullopt;
    ns.push_back(p);
  }
  return TableKey{ns, j["name"].get<std::string>()};
}

}  // namespace

Reply Emulator::Impl::RenameTable(const json& req) {
  auto from = Ident(req.value("source", json())), to = Ident(req.value("destination", json()));
  if (!from || !to)
    return ErrorReply(BadRequest("Malformed request: source and destination are required"));
  if (auto e = CheckName(to->second, "table")) return ErrorReply(*e);
  auto it = tables.find(*from);
  if (it == tables.end())
    return ErrorReply(404, "NoSuchTableException",
                      "Table does not exist: " + JoinNs(from->first) + "." + from->second);
  if (namespaces.count(to->first) == 0)
    return ErrorReply(404, "NoSuchNamespaceException",
                      "Namespace does not exist: " + JoinNs(to->first));
  if (tables.count(*to))
    return ErrorReply(409, "AlreadyExistsException",
                      "Table already exists: " + JoinNs(to->first) + "." + to->second);
  Table t = std::move(it->second);
  tables.erase(it);
  t.ns = to->first;
  t.name = to->second;
  tables[*to] = std::move(t);
  return Reply{204, json(), {}};
}

Reply Emulator::Impl::CommitTransaction(const json& req) {
  const json changes = req.value("table-changes", json());
  if (!changes.is_array())
    return ErrorReply(BadRequest("Malformed request: table-changes must be an array"));
  std::vector<std::pair<Table*, json>> staged;
  for (const json& c : changes) {
    auto id = Ident(c.value("identifier", json()));
    if (!id)
      return ErrorReply(BadRequest("Malformed request: every table change needs an identifier"));
    auto it = tables.find(*id);
    if (it == tables.end())
      return ErrorReply(404, "NoSuchTableException",
                        "Table does not exist: " + JoinNs(id->first) + "." + id->second);
    json m;
    if (auto e = Commit(it->second, c, &m)) return ErrorReply(*e);
    if (!c["updates"].empty()) staged.emplace_back(&it->second, std::move(m));
  }
  for (auto& [t, m] : staged) {
    Status st = WriteMetadata(*t, std::move(m));
    if (!st.ok()) return ErrorReply(500, "CommitStateUnknownException", st.message());
  }
  return Reply{204, json(), {}};
}

}  // namespace converge::iceberg
