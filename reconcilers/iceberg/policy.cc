#include "reconcilers/iceberg/policy.h"

#include <algorithm>
#include <limits>

#include "reconcilers/common/json_schema.h"
#include "reconcilers/iceberg/units.h"

namespace converge::iceberg {
namespace {

constexpr int64_t kOneDayMs = 24LL * 3600 * 1000;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

// Collects diagnostics for one object at `base`.
class Checker {
 public:
  Checker(const json& obj, std::string base, std::vector<PathDiagnostic>& out)
      : obj_(obj), base_(std::move(base)), out_(out) {}

  void Err(const std::string& path, const std::string& msg) {
    out_.push_back({path, msg, Severity::kError});
  }
  std::string At(const std::string& key) const { return base_ + "/" + EscapePointerToken(key); }
  const json* Get(const char* key) const {
    auto it = obj_.find(key);
    return it == obj_.end() ? nullptr : &*it;
  }

  // Unknown members, listing the known ones.
  void Known(const std::vector<std::string>& known, const std::string& what) {
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    for (const auto& [k, _] : obj_.items())
      if (std::find(known.begin(), known.end(), k) == known.end())
        Err(At(k), "unknown member \"" + k + "\" of " + what + " (known: " + list + ")");
  }

  std::optional<int64_t> Int(const char* key, int64_t min, int64_t max) {
    const json* v = Get(key);
    if (v == nullptr) return std::nullopt;
    bool ok = v->is_number_integer() &&
              !(v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(kInt64Max));
    if (ok) {
      int64_t n = v->get<int64_t>();
      if (n >= min && n <= max) return n;
    }
    Err(At(key), "must be an integer from " + FormatCount(min) + " to " + FormatCount(max));
    return std::nullopt;
  }
  std::optional<int64_t> Size(const char* key) {
    const json* v = Get(key);
    if (v == nullptr) return std::nullopt;
    Result<int64_t> r = ParseSize(*v);
    if (!r.ok()) {
      Err(At(key), r.status().message());
      return std::nullopt;
    }
    if (*r <= 0) {
      Err(At(key), "must be more than 0 bytes");
      return std::nullopt;
    }
    return *r;
  }
  std::optional<int64_t> Duration(const char* key) {
    const json* v = Get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      Err(At(key), "expected a duration such as 10m, 24h or 5d (a string)");
      return std::nullopt;
    }
    Result<int64_t> r = ParseDurationMs(v->get<std::string>());
    if (!r.ok()) {
      Err(At(key), r.status().message());
      return std::nullopt;
    }
    if (*r <= 0) {
      Err(At(key), "must be longer than 0");
      return std::nullopt;
    }
    return *r;
  }
  std::optional<std::string> Str(const char* key, bool required, const std::string& what) {
    const json* v = Get(key);
    if (v == nullptr) {
      if (required) Err(base_, "needs " + std::string(key) + ": " + what);
      return std::nullopt;
    }
    if (!v->is_string() || v->get<std::string>().empty()) {
      Err(At(key), "must be a non-empty string: " + what);
      return std::nullopt;
    }
    return v->get<std::string>();
  }
  // A member that must be an object; nullptr (with an error if present) otherwise.
  const json* Object(const char* key) {
    const json* v = Get(key);
    if (v == nullptr) return nullptr;
    if (!v->is_object()) {
      Err(At(key), "must be a mapping");
      return nullptr;
    }
    return v;
  }

 private:
  const json& obj_;
  std::string base_;
  std::vector<PathDiagnostic>& out_;
};

// Checks one argv template: a list of strings whose placeholders are all known.
std::vector<std::string> CheckTemplate(const json& v, const std::string& path,
                                       std::vector<PathDiagnostic>& out) {
  std::vector<std::string> argv;
  if (!v.is_array() || v.empty()) {
    out.push_back({path, "must be a non-empty list of strings (an argv template)"});
    return argv;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) {
      out.push_back({path + "/" + std::to_string(i), "must be a string"});
      continue;
    }
    argv.push_back(v[i].get<std::string>());
  }
  std::map<std::string, std::string> probe;
  for (const std::string& p : kPlaceholders) probe[p] = "";
  for (size_t i = 0; i < argv.size(); ++i) {
    auto r = ExpandCommand({argv[i]}, probe);
    if (!r.ok()) out.push_back({path + "/" + std::to_string(i), r.status().message()});
  }
  return argv;
}

std::string Quote(const std::string& s) {  // a SQL string literal
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A literal in a template: braces doubled so ExpandCommand leaves them alone.
std::string Lit(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == '{' || c == '}') ? std::string(2, c) : std::string(1, c);
  return out;
}

bool Identifier(const std::string& s) {
  if (s.empty() || s.size() > 128 || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

std::string SparkTimestamp(int64_t ms) {
  std::string iso = FormatTimeMs(ms);  // 2026-11-27T10:00:00Z
  char frac[8];
  std::snprintf(frac, sizeof(frac), ".%03d", static_cast<int>(((ms % 1000) + 1000) % 1000));
  return iso.substr(0, 10) + " " + iso.substr(11, 8) + frac;
}

}  // namespace

const std::vector<std::string> kPlaceholders = {
    "table",         "namespace", "tableName",   "task",       "catalog", "targetFileSizeBytes",
    "minInputFiles", "olderThan", "olderThanMs", "snapshotId", "sql",     "job"};

std::vector<Task> TablePolicy::Tasks() const {
  std::vector<Task> out;
  if (compaction) out.push_back(Task::kCompact);
  if (expire_snapshots) out.push_back(Task::kExpireSnapshots);
  if (remove_orphan_files) out.push_back(Task::kRemoveOrphanFiles);
  return out;
}

void ValidatePolicy(const json& spec, const std::map<std::string, std::string>& annotations,
                    const std::string& base, std::vector<PathDiagnostic>& out,
                    TablePolicy* parsed) {
  TablePolicy p;
  if (!spec.is_object()) {
    out.push_back({base, "a TablePolicy spec is a mapping (table, triggers, tasks)"});
    return;
  }
  Checker c(spec, base, out);
  c.Known({"table", "triggers", "minInterval", "compaction", "expireSnapshots", "removeOrphanFiles",
           "lock", "suspendAfterFailures"},
          "a TablePolicy");
  if (auto t = c.Str("table", true, "the table as namespace.table (analytics.events)")) {
    auto id = TableIdent::Parse(*t);
    if (id.ok())
      p.table = *id;
    else
      c.Err(c.At("table"), id.status().message());
  }
  if (const json* tr = c.Object("triggers")) {
    Checker t(*tr, c.At("triggers"), out);
    t.Known({"commitCount", "dataFileCount", "dataFileSizeBytes", "smallFileCount", "interval"},
            "triggers");
    p.triggers.commit_count = t.Int("commitCount", 1, kInt64Max);
    p.triggers.data_file_count = t.Int("dataFileCount", 1, kInt64Max);
    p.triggers.data_file_size_bytes = t.Size("dataFileSizeBytes");
    p.triggers.small_file_count = t.Int("smallFileCount", 1, kInt64Max);
    p.triggers.interval_ms = t.Duration("interval");
    if (tr->empty())
      c.Err(c.At("triggers"),
            "needs at least one of commitCount, dataFileCount, "
            "dataFileSizeBytes, smallFileCount, interval");
  } else if (!spec.contains("triggers")) {
    c.Err(base,
          "needs triggers: at least one of commitCount, dataFileCount, dataFileSizeBytes, "
          "smallFileCount, interval");
  }
  p.min_interval_ms = c.Duration("minInterval");
  if (const json* comp = c.Object("compaction")) {
    Checker k(*comp, c.At("compaction"), out);
    k.Known({"targetFileSizeBytes", "minInputFiles", "executor"}, "compaction");
    CompactionSpec cs;
    if (auto v = k.Size("targetFileSizeBytes")) cs.target_file_size_bytes = *v;
    if (auto v = k.Int("minInputFiles", 1, kInt32Max)) cs.min_input_files = *v;
    cs.executor = k.Str("executor", true, "the name of an Executor").value_or("");
    p.compaction = cs;
  }
  if (const json* ex = c.Object("expireSnapshots")) {
    Checker k(*ex, c.At("expireSnapshots"), out);
    k.Known({"maxSnapshotAge", "retainLast"}, "expireSnapshots");
    ExpireSpec es;
    es.max_snapshot_age_ms = k.Duration("maxSnapshotAge");
    if (auto v = k.Int("retainLast", 1, kInt32Max)) es.retain_last = static_cast<int>(*v);
    p.expire_snapshots = es;
  }
  if (const json* orph = c.Object("removeOrphanFiles")) {
    Checker k(*orph, c.At("removeOrphanFiles"), out);
    k.Known({"olderThan", "executor"}, "removeOrphanFiles");
    OrphanSpec os;
    if (auto v = k.Duration("olderThan")) os.older_than_ms = *v;
    auto allow = annotations.find(kAllowShortOrphanAge);
    bool allowed = allow != annotations.end() && allow->second == "true";
    if (os.older_than_ms < kOneDayMs && !allowed)
      k.Err(k.At("olderThan"),
            "olderThan " + FormatDurationMs(os.older_than_ms) +
                " is under 1 day: removing files that young deletes files writers are about to "
                "commit (apache/iceberg#4194); set the annotation " +
                kAllowShortOrphanAge + ": \"true\" if you mean it");
    os.executor = k.Str("executor", true, "the name of an Executor").value_or("");
    p.remove_orphan_files = os;
  }
  if (const json* lock = c.Get("lock")) {
    if (!lock->is_string() || (*lock != "table" && *lock != "none"))
      c.Err(c.At("lock"),
            "must be table (the default: one maintenance per table at a time) or "
            "none");
    else
      p.lock = *lock == "table";
  }
  if (auto n = c.Int("suspendAfterFailures", 1, 1000)) p.suspend_after_failures = static_cast<int>(*n);
  if (p.Tasks().empty())
    c.Err(base, "needs at least one task: compaction, expireSnapshots or removeOrphanFiles");
  if (p.triggers.small_file_count && !p.compaction)
    out.push_back({c.At("triggers") + "/smallFileCount",
                   "smallFileCount only triggers compaction, and this policy has none",
                   Severity::kWarning});
  if (parsed != nullptr) *parsed = std::move(p);
}

void ValidateExecutor(const json& spec, const std::string& base, std::vector<PathDiagnostic>& out,
                      ExecutorSpec* parsed) {
  ExecutorSpec e;
  if (!spec.is_object()) {
    out.push_back({base, "an Executor spec is a mapping (type: yarn | command, ...)"});
    return;
  }
  Checker c(spec, base, out);
  auto type = c.Str("type", true, "yarn or command");
  if (type && *type != "yarn" && *type != "command") {
    c.Err(c.At("type"), "must be yarn or command");
    type.reset();
  }
  if (type == "yarn") {
    e.type = ExecutorSpec::Type::kYarn;
    c.Known({"type", "backend", "queue", "catalog", "sparkSql", "sparkConf", "resources", "command",
             "env", "timeout"},
            "a yarn Executor");
    e.backend = c.Str("backend", true, "the name of a Backend of type yarn").value_or("");
    e.queue = c.Str("queue", false, "a YARN queue").value_or("");
    e.catalog = c.Str("catalog", false, "the Spark catalog name").value_or(e.catalog);
    if (!Identifier(e.catalog))
      c.Err(c.At("catalog"),
            "must be a Spark identifier (letters, digits, _), it is put in the "
            "CALL statement as is");
    e.spark_sql = c.Str("sparkSql", false, "the spark-sql launcher").value_or(e.spark_sql);
    if (const json* conf = c.Object("sparkConf")) {
      for (const auto& [k, v] : conf->items()) {
        if (!v.is_string() && !v.is_number() && !v.is_boolean())
          c.Err(c.At("sparkConf") + "/" + EscapePointerToken(k), "must be a string");
        else
          e.spark_conf[k] = v.is_string() ? v.get<std::string>() : v.dump();
      }
    }
    if (const json* res = c.Object("resources")) {
      Checker r(*res, c.At("resources"), out);
      r.Known({"memory", "vcores"}, "resources");
      if (auto m = r.Size("memory")) e.memory_bytes = *m;
      if (auto v = r.Int("vcores", 1, 1024)) e.vcores = *v;
    }
  } else if (type == "command") {
    c.Known({"type", "command", "env", "timeout"}, "a command Executor");
    if (!spec.contains("command")) c.Err(base, "needs command: the argv template to run");
  }
  if (const json* cmd = c.Get("command")) e.command = CheckTemplate(*cmd, c.At("command"), out);
  if (const json* env = c.Object("env")) {
    for (const auto& [k, v] : env->items()) {
      if (!v.is_string())
        c.Err(c.At("env") + "/" + EscapePointerToken(k), "must be a string");
      else
        e.env[k] = v.get<std::string>();
    }
  }
  e.timeout_ms = c.Duration("timeout");
  if (parsed != nullptr) *parsed = std::move(e);
}

Result<TablePolicy> ParsePolicy(const json& spec,
                                const std::map<std::string, std::string>& annotations) {
  std::vector<PathDiagnostic> out;
  TablePolicy p;
  ValidatePolicy(spec, annotations, "", out, &p);
  for (const PathDiagnostic& d : out)
    if (d.severity == Severity::kError)
      return InvalidError("TablePolicy " + (d.path.empty() ? "spec" : d.path) + ": " + d.message);
  return p;
}

Result<ExecutorSpec> ParseExecutor(const json& spec) {
  std::vector<PathDiagnostic> out;
  ExecutorSpec e;
  ValidateExecutor(spec, "", out, &e);
  for (const PathDiagnostic& d : out)
    if (d.severity == Severity::kError)
      return InvalidError("Executor " + (d.path.empty() ? "spec" : d.path) + ": " + d.message);
  return e;
}

KindInfo TablePolicyKind() {
  KindInfo k;
  k.backend_type = "iceberg-rest";
  k.validate = [](Document& doc, std::vector<PathDiagnostic>& out) {
    ValidatePolicy(doc.spec.Edit(), doc.annotations, "/spec", out);
  };
  k.schema = TablePolicySpecSchema;
  // The executors of compaction and removeOrphanFiles: Executor specs of the same backend.
  k.references = [](const Document& doc) {
    std::vector<SpecReference> out;
    const json spec = doc.spec.Get();
    for (const char* task : {"compaction", "removeOrphanFiles"}) {
      const json t = spec.value(task, json());
      if (t.is_object() && t.value("executor", json()).is_string()) {
        SpecReference r{kExecutorKind, t["executor"].get<std::string>(),
                        std::string("/spec/") + task + "/executor", {}};
        r.spec_only = true;
        out.push_back(std::move(r));
      }
    }
    return out;
  };
  return k;
}

KindInfo ExecutorKind() {
  KindInfo k;
  k.backend_type = "iceberg-rest";
  k.validate = [](Document& doc, std::vector<PathDiagnostic>& out) {
    ValidateExecutor(doc.spec.Edit(), "/spec", out);
  };
  k.schema = ExecutorSpecSchema;
  // A yarn Executor's backend: a Backend spec of type yarn.
  k.references = [](const Document& doc) {
    std::vector<SpecReference> out;
    const json spec = doc.spec.Get();
    if (spec.value("type", json()) == "yarn" && spec.value("backend", json()).is_string()) {
      SpecReference r{"Backend", spec["backend"].get<std::string>(), "/spec/backend", {}};
      r.spec_only = true;
      r.backend_type = "yarn";
      out.push_back(std::move(r));
    }
    return out;
  };
  return k;
}

Result<std::vector<std::string>> ExpandCommand(const std::vector<std::string>& argv,
                                               const std::map<std::string, std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& arg : argv) {
    std::string r;
    for (size_t i = 0; i < arg.size(); ++i) {
      char ch = arg[i];
      if ((ch == '{' || ch == '}') && i + 1 < arg.size() && arg[i + 1] == ch) {
        r += ch;
        ++i;
        continue;
      }
      if (ch == '}')
        return InvalidError("unbalanced \"}\" in \"" + arg + "\" (write }} for a brace)");
      if (ch != '{') {
        r += ch;
        continue;
      }
      size_t end = arg.find('}', i);
      if (end == std::string::npos)
        return InvalidError("unterminated placeholder in \"" + arg + "\" (write {{ for a brace)");
      std::string name = arg.substr(i + 1, end - i - 1);
      auto v = values.find(name);
      if (v == values.end()) {
        std::string known;
        for (const std::string& p : kPlaceholders) known += (known.empty() ? "{" : ", {") + p + "}";
        return InvalidError("unknown placeholder {" + name + "} (known: " + known + ")");
      }
      r += v->second;
      i = end;
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string SparkSql(const TablePolicy& p, const ExecutorSpec& e, Task task, int64_t now_ms) {
  std::string table = Quote(p.table.Dotted());
  if (task == Task::kCompact && p.compaction) {
    return "CALL " + e.catalog + ".system.rewrite_data_files(table => " + table +
           ", options => map('target-file-size-bytes', '" +
           std::to_string(p.compaction->target_file_size_bytes) + "', 'min-input-files', '" +
           std::to_string(p.compaction->min_input_files) + "'))";
  }
  if (task == Task::kRemoveOrphanFiles && p.remove_orphan_files) {
    return "CALL " + e.catalog + ".system.remove_orphan_files(table => " + table +
           ", older_than => TIMESTAMP '" +
           SparkTimestamp(now_ms - p.remove_orphan_files->older_than_ms) + "')";
  }
  return "";  // expireSnapshots runs natively, never on an executor
}

std::map<std::string, std::string> PlaceholderValues(const TablePolicy& p, const ExecutorSpec& e,
                                                     Task task, int64_t now_ms,
                                                     int64_t snapshot_id, const std::string& job) {
  std::string ns;
  for (const std::string& n : p.table.ns) ns += (ns.empty() ? "" : ".") + n;
  std::map<std::string, std::string> v = {{"table", p.table.Dotted()},
                                          {"namespace", ns},
                                          {"tableName", p.table.name},
                                          {"task", TaskName(task)},
                                          {"catalog", e.catalog},
                                          {"snapshotId", std::to_string(snapshot_id)},
                                          {"sql", SparkSql(p, e, task, now_ms)},
                                          {"targetFileSizeBytes", ""},
                                          {"minInputFiles", ""},
                                          {"olderThan", ""},
                                          {"olderThanMs", ""},
                                          {"job", job}};
  if (p.compaction) {
    v["targetFileSizeBytes"] = std::to_string(p.compaction->target_file_size_bytes);
    v["minInputFiles"] = std::to_string(p.compaction->min_input_files);
  }
  if (p.remove_orphan_files) {
    int64_t t = now_ms - p.remove_orphan_files->older_than_ms;
    v["olderThan"] = SparkTimestamp(t);
    v["olderThanMs"] = std::to_string(t);
  }
  return v;
}

std::vector<std::string> YarnLaunchTemplate(const ExecutorSpec& e) {
  if (!e.command.empty()) return e.command;
  std::vector<std::string> argv = {Lit(e.spark_sql), "--master", "yarn"};
  if (!e.queue.empty()) argv.insert(argv.end(), {"--queue", Lit(e.queue)});
  for (const auto& [k, v] : e.spark_conf) argv.insert(argv.end(), {"--conf", Lit(k + "=" + v)});
  argv.insert(argv.end(), {"-e", "{sql}"});
  return argv;
}

}  // namespace converge::iceberg
