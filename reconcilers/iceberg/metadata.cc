#include "reconcilers/iceberg/metadata.h"

#include <charconv>
#include <set>

namespace converge::iceberg {
namespace {

// Reads members of one JSON object, remembering the first error with the member's path.
class Reader {
 public:
  Reader(const json& obj, std::string path) : obj_(obj), path_(std::move(path)) {}

  bool Has(const char* key) const {
    auto it = obj_.find(key);
    return it != obj_.end() && !it->is_null();
  }
  const json* Get(const char* key) const {
    auto it = obj_.find(key);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }
  std::string Path(const char* key) const { return path_ + key; }

  // Integer member; missing + required records an error.
  std::optional<int64_t> Int(const char* key, bool required, Status& err) const {
    const json* v = Get(key);
    if (v == nullptr) {
      if (required) Fail(err, Path(key) + " is required");
      return std::nullopt;
    }
    if (!v->is_number_integer()) {
      Fail(err, Path(key) + " must be an integer, got " + Short(*v));
      return std::nullopt;
    }
    return v->get<int64_t>();
  }
  std::optional<std::string> Str(const char* key, bool required, Status& err) const {
    const json* v = Get(key);
    if (v == nullptr) {
      if (required) Fail(err, Path(key) + " is required");
      return std::nullopt;
    }
    if (!v->is_string()) {
      Fail(err, Path(key) + " must be a string, got " + Short(*v));
      return std::nullopt;
    }
    return v->get<std::string>();
  }
  const json* Array(const char* key, bool required, Status& err) const {
    const json* v = Get(key);
    if (v == nullptr) {
      if (required) Fail(err, Path(key) + " is required");
      return nullptr;
    }
    if (!v->is_array()) {
      Fail(err, Path(key) + " must be a list");
      return nullptr;
    }
    return v;
  }

  static void Fail(Status& err, const std::string& message) {
    if (err.ok()) err = InvalidError("table metadata: " + message);
  }
  static std::string Short(const json& v) {
    std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
  }

 private:
  const json& obj_;
  std::string path_;
};

bool ValidPrimitive(const std::string& t) {
  static const std::set<std::string> kNames = {
      "boolean", "int",       "long",        "float",        "double",         "date",
      "time",    "timestamp", "timestamptz", "timestamp_ns", "timestamptz_ns", "string",
      "uuid",    "binary",    "variant",     "unknown",      "geometry",       "geography"};
  if (kNames.count(t)) return true;
  for (const char* prefix : {"fixed[", "decimal(", "geometry(", "geography("})
    if (t.rfind(prefix, 0) == 0) return true;
  return false;
}

// Checks a type (a primitive name or a struct/list/map object) as the Java SchemaParser would.
void CheckType(const json* type, const std::string& path, Status& err, int depth = 0) {
  if (depth > 64) return Reader::Fail(err, path + " nests too deeply");
  if (type == nullptr) return Reader::Fail(err, path + " is required (cannot parse type)");
  if (type->is_string()) {
    if (!ValidPrimitive(type->get<std::string>()))
      Reader::Fail(err, "cannot parse type " + Reader::Short(*type) + " at " + path);
    return;
  }
  if (!type->is_object() || !type->contains("type") || !(*type)["type"].is_string())
    return Reader::Fail(err, "cannot parse type from json " + Reader::Short(*type) + " at " + path);
  std::string kind = (*type)["type"];
  if (kind == "struct") {
    auto f = type->find("fields");
    if (f == type->end() || !f->is_array())
      return Reader::Fail(err, path + "/fields must be a list");
    for (size_t i = 0; i < f->size(); ++i) {
      const json& field = (*f)[i];
      std::string at = path + "/fields/" + std::to_string(i);
      if (!field.is_object()) return Reader::Fail(err, at + " must be an object");
      if (!field.contains("id") || !field["id"].is_number_integer())
        return Reader::Fail(err, at + "/id is required (an integer)");
      if (!field.contains("name") || !field["name"].is_string())
        return Reader::Fail(err, at + "/name is required (a string)");
      auto t = field.find("type");
      if (t == field.end())
        return Reader::Fail(err, "cannot parse type from json: field " + field["name"].dump() +
                                     " at " + at + " has no \"type\"");
      CheckType(&*t, at + "/type", err, depth + 1);
    }
  } else if (kind == "list") {
    auto e = type->find("element");
    CheckType(e == type->end() ? nullptr : &*e, path + "/element", err, depth + 1);
  } else if (kind == "map") {
    auto k = type->find("key");
    auto v = type->find("value");
    CheckType(k == type->end() ? nullptr : &*k, path + "/key", err, depth + 1);
    CheckType(v == type->end() ? nullptr : &*v, path + "/value", err, depth + 1);
  } else {
    Reader::Fail(err, "cannot parse type " + Reader::Short(*type) + " at " + path);
  }
}

std::vector<PartitionField> ParseSpecFields(const json& fields, const std::string& path,
                                            Status& err) {
  std::vector<PartitionField> out;
  if (!fields.is_array()) {
    Reader::Fail(err, path + " must be a list");
    return out;
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string at = path + "/" + std::to_string(i) + "/";
    if (!fields[i].is_object()) {
      Reader::Fail(err, at + " must be an object");
      continue;
    }
    Reader r(fields[i], at);
    PartitionField f;
    f.source_id = static_cast<int>(r.Int("source-id", true, err).value_or(0));
    f.field_id = static_cast<int>(r.Int("field-id", false, err).value_or(1000 + i));
    f.name = r.Str("name", true, err).value_or("");
    f.transform = r.Str("transform", true, err).value_or("");
    out.push_back(std::move(f));
  }
  return out;
}

Snapshot ParseSnapshot(const json& s, const std::string& at, int version, Status& err) {
  Snapshot snap;
  if (!s.is_object()) {
    Reader::Fail(err, at + " must be an object");
    return snap;
  }
  Reader r(s, at + "/");
  snap.id = r.Int("snapshot-id", true, err).value_or(0);
  snap.parent_id = r.Int("parent-snapshot-id", false, err);
  snap.sequence_number = r.Int("sequence-number", false, err).value_or(0);
  snap.timestamp_ms = r.Int("timestamp-ms", true, err).value_or(0);
  snap.manifest_list = r.Str("manifest-list", version >= 2, err).value_or("");
  if (auto sid = r.Int("schema-id", false, err)) snap.schema_id = static_cast<int>(*sid);
  if (const json* sum = r.Get("summary")) {
    if (!sum->is_object()) {
      Reader::Fail(err, at + "/summary must be a map");
    } else {
      for (const auto& [k, v] : sum->items())
        snap.summary[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
  } else if (version >= 2) {
    Reader::Fail(err, at + "/summary is required in format v2");
  }
  auto op = snap.summary.find("operation");
  if (op != snap.summary.end()) snap.operation = op->second;
  if (version >= 2 && snap.operation.empty())
    Reader::Fail(err, at + "/summary/operation is required in format v2");
  return snap;
}

void ParseRefs(const json& refs, TableMetadata& md, Status& err) {
  if (!refs.is_object()) return Reader::Fail(err, "/refs must be a map");
  for (const auto& [name, v] : refs.items()) {
    std::string at = "/refs/" + name;
    if (!v.is_object()) {
      Reader::Fail(err, at + " must be an object");
      continue;
    }
    Reader r(v, at + "/");
    SnapshotRef ref;
    ref.snapshot_id = r.Int("snapshot-id", true, err).value_or(0);
    std::string type = r.Str("type", true, err).value_or("branch");
    if (type == "tag") {
      ref.type = SnapshotRef::Type::kTag;
    } else if (type != "branch") {
      Reader::Fail(err, at + "/type must be branch or tag, got " + type);
    }
    ref.max_ref_age_ms = r.Int("max-ref-age-ms", false, err);
    ref.max_snapshot_age_ms = r.Int("max-snapshot-age-ms", false, err);
    if (auto n = r.Int("min-snapshots-to-keep", false, err))
      ref.min_snapshots_to_keep = static_cast<int>(*n);
    md.refs[name] = ref;
  }
}

// Records the primitive fields of a (checked) type in `types`, nested ones too.
void CollectFieldTypes(const json& type, std::map<int, std::string>& types, int depth = 0) {
  if (depth > 64 || !type.is_object()) return;
  auto visit = [&](const json* id, const json* t) {
    if (t == nullptr) return;
    if (t->is_string() && id != nullptr && id->is_number_integer())
      types[id->get<int>()] = t->get<std::string>();
    else
      CollectFieldTypes(*t, types, depth + 1);
  };
  auto member = [&](const json& o, const char* k) -> const json* {
    auto it = o.find(k);
    return it == o.end() ? nullptr : &*it;
  };
  const json* kind_member = member(type, "type");
  if (kind_member == nullptr || !kind_member->is_string()) return;
  const std::string kind = kind_member->get<std::string>();
  if (kind == "struct") {
    if (const json* fields = member(type, "fields"); fields && fields->is_array())
      for (const json& f : *fields)
        if (f.is_object()) visit(member(f, "id"), member(f, "type"));
  } else if (kind == "list") {
    visit(member(type, "element-id"), member(type, "element"));
  } else if (kind == "map") {
    visit(member(type, "key-id"), member(type, "key"));
    visit(member(type, "value-id"), member(type, "value"));
  }
}

void ParseSchemas(const Reader& r, const json& raw, TableMetadata& md, Status& err) {
  if (const json* schemas = r.Array("schemas", md.format_version >= 2, err)) {
    for (size_t i = 0; i < schemas->size(); ++i) {
      const json& s = (*schemas)[i];
      std::string at = "/schemas/" + std::to_string(i);
      if (!s.is_object()) {
        Reader::Fail(err, at + " must be an object");
        continue;
      }
      Reader sr(s, at + "/");
      md.schema_ids.push_back(static_cast<int>(sr.Int("schema-id", false, err).value_or(0)));
      CheckType(&s, at, err);
      if (err.ok()) CollectFieldTypes(s, md.field_types);
    }
    auto cur = r.Int("current-schema-id", md.format_version >= 2, err);
    md.current_schema_id =
        static_cast<int>(cur.value_or(md.schema_ids.empty() ? 0 : md.schema_ids[0]));
    bool found = false;
    for (int id : md.schema_ids) found = found || id == md.current_schema_id;
    if (!found)
      Reader::Fail(err, "cannot find schema with current-schema-id=" +
                            std::to_string(md.current_schema_id) + " in /schemas");
    return;
  }
  const json* schema = r.Get("schema");
  if (schema == nullptr) return Reader::Fail(err, "/schemas (or the v1 /schema) is required");
  if (!schema->is_object()) return Reader::Fail(err, "/schema must be an object");
  CheckType(schema, "/schema", err);
  if (err.ok()) CollectFieldTypes(*schema, md.field_types);
  md.current_schema_id = schema->value("schema-id", 0);
  md.schema_ids.push_back(md.current_schema_id);
  (void)raw;
}

void ParseSpecsAndOrders(const Reader& r, TableMetadata& md, Status& err) {
  if (const json* specs = r.Array("partition-specs", md.format_version >= 2, err)) {
    for (size_t i = 0; i < specs->size(); ++i) {
      const json& s = (*specs)[i];
      std::string at = "/partition-specs/" + std::to_string(i);
      if (!s.is_object()) {
        Reader::Fail(err, at + " must be an object");
        continue;
      }
      Reader sr(s, at + "/");
      PartitionSpec spec;
      spec.spec_id = static_cast<int>(sr.Int("spec-id", true, err).value_or(0));
      if (const json* f = sr.Array("fields", true, err))
        spec.fields = ParseSpecFields(*f, at + "/fields", err);
      md.partition_specs.push_back(std::move(spec));
    }
    md.default_spec_id =
        static_cast<int>(r.Int("default-spec-id", md.format_version >= 2, err).value_or(0));
  } else if (const json* legacy = r.Get("partition-spec")) {
    PartitionSpec spec;
    spec.fields = ParseSpecFields(*legacy, "/partition-spec", err);
    md.partition_specs.push_back(std::move(spec));
  } else if (md.format_version == 1) {
    Reader::Fail(err, "/partition-specs (or the v1 /partition-spec) is required");
  }
  if (!md.partition_specs.empty() && md.FindSpec(md.default_spec_id) == nullptr)
    Reader::Fail(err, "cannot find partition spec with default-spec-id=" +
                          std::to_string(md.default_spec_id) + " in /partition-specs");

  const json* orders = r.Get("sort-orders");
  if (orders == nullptr) {
    if (md.format_version >= 2) Reader::Fail(err, "/sort-orders must exist in format v2");
    return;
  }
  if (!orders->is_array()) return Reader::Fail(err, "/sort-orders must be a list");
  for (size_t i = 0; i < orders->size(); ++i) {
    const json& o = (*orders)[i];
    std::string at = "/sort-orders/" + std::to_string(i);
    if (!o.is_object()) {
      Reader::Fail(err, at + " must be an object");
      continue;
    }
    Reader orr(o, at + "/");
    SortOrder order;
    order.order_id = static_cast<int>(orr.Int("order-id", true, err).value_or(0));
    if (const json* fields = orr.Array("fields", true, err)) {
      for (size_t j = 0; j < fields->size(); ++j) {
        std::string fat = at + "/fields/" + std::to_string(j) + "/";
        if (!(*fields)[j].is_object()) {
          Reader::Fail(err, fat + " must be an object");
          continue;
        }
        Reader fr((*fields)[j], fat);
        SortField f;
        f.source_id = static_cast<int>(fr.Int("source-id", true, err).value_or(0));
        f.transform = fr.Str("transform", true, err).value_or("");
        f.direction = fr.Str("direction", true, err).value_or("");
        f.null_order = fr.Str("null-order", true, err).value_or("");
        order.fields.push_back(std::move(f));
      }
    }
    md.sort_orders.push_back(std::move(order));
  }
  md.default_sort_order_id =
      static_cast<int>(r.Int("default-sort-order-id", md.format_version >= 2, err).value_or(0));
}

}  // namespace

int64_t Snapshot::SummaryInt(const std::string& key) const {
  auto it = summary.find(key);
  if (it == summary.end()) return 0;
  int64_t v = 0;
  const char* b = it->second.data();
  const char* e = b + it->second.size();
  auto [p, ec] = std::from_chars(b, e, v);
  return ec == std::errc() && p == e && v >= 0 ? v : 0;
}

const Snapshot* TableMetadata::FindSnapshot(int64_t id) const {
  for (const Snapshot& s : snapshots)
    if (s.id == id) return &s;
  return nullptr;
}

const PartitionSpec* TableMetadata::FindSpec(int spec_id) const {
  for (const PartitionSpec& s : partition_specs)
    if (s.spec_id == spec_id) return &s;
  return nullptr;
}

const Snapshot* TableMetadata::RefHead(const std::string& ref) const {
  auto it = refs.find(ref);
  return it == refs.end() ? nullptr : FindSnapshot(it->second.snapshot_id);
}

std::vector<const Snapshot*> TableMetadata::Ancestry(int64_t from, size_t limit) const {
  std::vector<const Snapshot*> out;
  std::set<int64_t> seen;  // a cycle in hostile metadata ends the walk
  const Snapshot* s = FindSnapshot(from);
  while (s != nullptr && out.size() < limit && seen.insert(s->id).second) {
    out.push_back(s);
    s = s->parent_id ? FindSnapshot(*s->parent_id) : nullptr;
  }
  return out;
}

int64_t TableMetadata::PropertyInt(const std::string& key, int64_t fallback) const {
  auto it = properties.find(key);
  if (it == properties.end()) return fallback;
  int64_t v = 0;
  const char* b = it->second.data();
  const char* e = b + it->second.size();
  auto [p, ec] = std::from_chars(b, e, v);
  return ec == std::errc() && p == e ? v : fallback;
}

Result<TableMetadata> ParseMetadata(const json& raw) {
  if (!raw.is_object()) return InvalidError("table metadata must be a JSON object");
  TableMetadata md;
  Status err;
  Reader r(raw, "/");
  auto version = r.Int("format-version", true, err);
  if (!err.ok()) return err;
  if (*version < 1 || *version > 3)
    return InvalidError("table metadata: cannot read unsupported /format-version " +
                        std::to_string(*version) + " (converge reads versions 1 to 3)");
  md.format_version = static_cast<int>(*version);
  md.table_uuid = r.Str("table-uuid", md.format_version >= 2, err).value_or("");
  md.location = r.Str("location", true, err).value_or("");
  md.last_sequence_number = r.Int("last-sequence-number", md.format_version >= 2, err).value_or(0);
  md.last_updated_ms = r.Int("last-updated-ms", true, err).value_or(0);
  ParseSchemas(r, raw, md, err);
  ParseSpecsAndOrders(r, md, err);
  r.Int("last-column-id", true, err);
  if (md.format_version >= 2) r.Int("last-partition-id", true, err);
  if (md.format_version >= 3) r.Int("next-row-id", true, err);
  if (const json* props = r.Get("properties")) {
    if (!props->is_object()) {
      Reader::Fail(err, "/properties must be a map");
    } else {
      for (const auto& [k, v] : props->items()) {
        if (!v.is_string())
          Reader::Fail(err, "/properties/" + k + " must be a string");
        else
          md.properties[k] = v.get<std::string>();
      }
    }
  }
  if (auto cur = r.Int("current-snapshot-id", false, err); cur && *cur != -1)
    md.current_snapshot_id = *cur;
  if (const json* snaps = r.Array("snapshots", false, err)) {
    for (size_t i = 0; i < snaps->size(); ++i)
      md.snapshots.push_back(
          ParseSnapshot((*snaps)[i], "/snapshots/" + std::to_string(i), md.format_version, err));
  }
  if (const json* refs = r.Get("refs")) ParseRefs(*refs, md, err);
  if (!err.ok()) return err;

  std::set<int64_t> ids;
  for (const Snapshot& s : md.snapshots)
    if (!ids.insert(s.id).second)
      return InvalidError("table metadata: snapshot " + std::to_string(s.id) +
                          " is listed twice in /snapshots");
  if (md.current_snapshot_id && md.FindSnapshot(*md.current_snapshot_id) == nullptr)
    return InvalidError("table metadata: /current-snapshot-id " +
                        std::to_string(*md.current_snapshot_id) + " names no snapshot");
  auto main = md.refs.find("main");
  if (main == md.refs.end()) {
    if (md.current_snapshot_id)
      md.refs["main"] =
          SnapshotRef{SnapshotRef::Type::kBranch, *md.current_snapshot_id, {}, {}, {}};
  } else {
    if (!main->second.is_branch())
      return InvalidError("table metadata: /refs/main must be a branch");
    if (md.current_snapshot_id != main->second.snapshot_id)
      return InvalidError("table metadata: /refs/main (" +
                          std::to_string(main->second.snapshot_id) +
                          ") differs from /current-snapshot-id");
  }
  for (const auto& [name, ref] : md.refs)
    if (md.FindSnapshot(ref.snapshot_id) == nullptr)
      return InvalidError("table metadata: /refs/" + name + " points at snapshot " +
                          std::to_string(ref.snapshot_id) + ", which is not in /snapshots");
  md.raw = raw;
  return md;
}

Result<TableMetadata> ParseMetadataText(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidError("table metadata is not valid JSON");
  return ParseMetadata(j);
}

}  // namespace converge::iceberg
