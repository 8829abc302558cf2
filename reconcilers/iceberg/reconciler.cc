// Observe, Diff, Definition and Restore of TablePolicy (reconciler.h); the apply is in apply.cc.
#include "reconcilers/iceberg/reconciler.h"

#include "reconcilers/iceberg/evaluate.h"
#include "reconcilers/iceberg/metadata.h"
#include "reconcilers/iceberg/small_files.h"

namespace converge::iceberg {

Reconciler::Reconciler(std::unique_ptr<Client> client, std::string instance,
                       ReconcilerOptions options, Clock& clock,
                       std::function<converge::Reconciler*(const std::string&)> peer)
    : client_(std::move(client)),
      instance_(std::move(instance)),
      options_(std::move(options)),
      clock_(clock),
      peer_(std::move(peer)) {
  if (options_.owner.empty()) options_.owner = "converge/" + instance_;
  if (!options_.command_jobs) options_.command_jobs = SystemCommandJobs();
}

void Reconciler::BindSpecs(const std::vector<const Document*>& docs) {
  auto bound = std::make_shared<Bound>();
  for (const Document* d : docs) {
    if (d->kind == kTablePolicyKind) bound->policies[d->name] = Desired(*d);
    if (d->kind == kExecutorKind) bound->executors[d->name] = d->spec.Get();
  }
  std::lock_guard<std::mutex> lock(mu_);
  specs_ = std::move(bound);
}

std::shared_ptr<const Reconciler::Bound> Reconciler::Specs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return specs_;
}

Result<LoadedTable> Reconciler::Load(const TableIdent& table, bool fresh) {
  std::string etag;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto c = cache_.find(table.Dotted()); c != cache_.end() && !fresh) etag = c->second.etag;
  }
  auto loaded = client_->LoadTable(table, etag);
  if (!loaded.ok()) return loaded.status();
  std::lock_guard<std::mutex> lock(mu_);
  if (!loaded->has_value()) return cache_.at(table.Dotted());  // 304: unchanged
  if (!(*loaded)->etag.empty()) cache_[table.Dotted()] = **loaded;
  return **loaded;
}

LiveObject Reconciler::MakeLive(const std::string& policy, const TableIdent& table,
                                const LoadedTable& loaded) const {
  LiveObject o;
  o.key = ResourceKey{kTablePolicyKind, policy};
  o.owned = true;  // a policy owns no object: the table is never created, changed or pruned
  json doc = {{"table", table.Dotted()}, {"metadata-location", loaded.metadata_location}};
  auto md = ParseMetadata(loaded.metadata);
  if (!md.ok()) {
    doc["error"] = md.status().message();
    o.doc = std::move(doc);
    return o;
  }
  doc["table-uuid"] = md->table_uuid;
  doc["main"] = md->current_snapshot_id ? json(*md->current_snapshot_id) : json();
  auto specs = Specs();
  if (auto p = specs->policies.find(policy); p != specs->policies.end()) {
    auto tp = PolicyOf(p->second);
    if (tp.ok()) {
      auto exact = SmallFilesOf(options_.small_files.get(), *md, *tp, table.Dotted());
      FactsInput facts{&*md, &*tp, clock_.WallNow(), exact ? &*exact : nullptr};
      doc["evaluation"] = EvaluatePolicy(facts);
    } else {
      doc["error"] = tp.status().message();
    }
  }
  o.doc = std::move(doc);
  return o;
}

Result<std::vector<LiveObject>> Reconciler::Observe() {
  auto specs = Specs();
  std::vector<LiveObject> out;
  for (const auto& [name, desired] : specs->policies) {
    auto table = TableIdent::Parse(desired["spec"].value("table", ""));
    if (!table.ok()) continue;  // the loader reported it
    auto loaded = Load(*table, /*fresh=*/false);
    if (loaded.status().code() == Code::kNotFound) continue;  // Diff says the table is missing
    if (!loaded.ok()) return loaded.status();
    out.push_back(MakeLive(name, *table, *loaded));
  }
  return out;
}

Result<std::optional<LiveObject>> Reconciler::Get(const ResourceKey& key) {
  if (key.kind != kTablePolicyKind) return std::optional<LiveObject>();
  auto specs = Specs();
  auto p = specs->policies.find(key.name);
  if (p == specs->policies.end()) return std::optional<LiveObject>();
  auto table = TableIdent::Parse(p->second["spec"].value("table", ""));
  if (!table.ok()) return table.status();
  auto loaded = Load(*table, /*fresh=*/true);
  if (loaded.status().code() == Code::kNotFound) return std::optional<LiveObject>();
  if (!loaded.ok()) return loaded.status();
  return std::optional<LiveObject>(MakeLive(key.name, *table, *loaded));
}

json Reconciler::Desired(const Document& doc) const {
  json annotations = json::object();
  for (const auto& [k, v] : doc.annotations) annotations[k] = v;
  return {{"kind", doc.kind}, {"name", doc.name}, {"spec", doc.spec.Get()}, {"annotations", annotations}};
}

Result<TablePolicy> PolicyOf(const json& desired) {
  std::map<std::string, std::string> annotations;
  for (const auto& [k, v] : desired.value("annotations", json::object()).items())
    if (v.is_string()) annotations[k] = v.get<std::string>();
  auto p = ParsePolicy(desired.value("spec", json::object()), annotations);
  if (p.ok()) p->revision = JsonHash(desired.value("spec", json::object())).substr(0, 16);
  return p;
}

json Reconciler::Definition(const json& live) const {
  // The snapshot kept before a change: where `main` was (the evaluation rides along so that
  // the plan's reasons are what was decided on; Restore reads only the table's identity).
  json d = json::object();
  for (const char* m : {"table", "table-uuid", "metadata-location", "main", "evaluation", "error"})
    if (live.contains(m)) d[m] = live[m];
  return d;
}

DiffResult Reconciler::Diff(const json& desired, const json& live, const json&) const {
  DiffResult r;
  if (desired.value("kind", "") != kTablePolicyKind) return r;  // an Executor: configuration only
  const std::string table = desired["spec"].value("table", "");
  if (live.is_null()) {
    r.notice = "table " + table + " does not exist in the catalog: nothing to maintain";
    return r;
  }
  if (live.contains("error")) {
    r.notice = "table " + table + ": its metadata cannot be read: " +
               live["error"].get<std::string>();
    return r;
  }
  const json& ev = live.value("evaluation", json::object());
  std::vector<std::string> fired, waiting, suspended;
  for (const json& t : ev.value("suspended", json::array())) {
    r.suspended.push_back(t.value("task", ""));
    for (const json& why : t.value("reasons", json::array())) suspended.push_back(why);
  }
  if (!suspended.empty())
    suspended.back() += "; it resumes when the policy changes or on `converge release " +
                        std::string(kTablePolicyKind) + "/" + desired.value("name", "") + "`";
  for (const json& t : ev.value("fired", json::array()))
    for (const json& why : t.value("reasons", json::array())) fired.push_back(why);
  for (const json& t : ev.value("not_fired", json::array()))
    for (const json& why : t.value("reasons", json::array())) waiting.push_back(why);
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : "; ") + x;
    return s;
  };
  if (fired.empty()) {
    for (const auto& w : waiting) suspended.push_back(w);
    r.notice = join(suspended);
    return r;
  }
  r.action = Action::kRun;
  r.reason = join(fired);
  if (!suspended.empty()) r.reason += "; " + join(suspended);
  for (const json& t : ev.value("fired", json::array()))
    r.fields.push_back(FieldChange{t.value("task", ""), json(), "run"});
  return r;
}

Result<Health> Reconciler::CheckHealth(const ResourceKey& key, const json&) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = last_result_.find(key.name);
  return Health{HealthState::kHealthy, it == last_result_.end() ? "done" : it->second};
}

Status Reconciler::Restore(const ResourceKey& key, const json& definition) {
  if (definition.is_null() || !definition.contains("main") || definition["main"].is_null())
    return Status::Ok();  // a policy never created anything: nothing to put back
  auto table = TableIdent::Parse(definition.value("table", ""));
  if (!table.ok()) return table.status();
  auto loaded = Load(*table, /*fresh=*/true);
  if (!loaded.ok()) return loaded.status().Annotate("rollback " + key.Display());
  auto md = ParseMetadata(loaded->metadata);
  if (!md.ok()) return md.status();
  const std::string uuid = definition.value("table-uuid", "");
  if (md->table_uuid != uuid)
    return InvalidError("rollback " + key.Display() + ": table " + table->Dotted() +
                        " is not the table of the snapshot (uuid " + md->table_uuid + ", was " +
                        uuid + "): it was dropped and re-created");
  const int64_t main = definition["main"].get<int64_t>();
  if (md->FindSnapshot(main) == nullptr)
    return Status(Code::kNotFound,
                  "rollback " + key.Display() + ": snapshot " + std::to_string(main) +
                      " of table " + table->Dotted() +
                      " has expired (removed by snapshot expiry); main cannot go back to it");
  if (md->current_snapshot_id && *md->current_snapshot_id == main) return Status::Ok();
  json req = {{"requirements", {{{"type", "assert-table-uuid"}, {"uuid", uuid}}}},
              {"updates",
               {{{"action", "set-snapshot-ref"},
                 {"ref-name", "main"},
                 {"type", "branch"},
                 {"snapshot-id", main}}}}};
  auto done = CommitChecked(*table, req, [main](const TableMetadata& m) {
    return m.current_snapshot_id && *m.current_snapshot_id == main;
  });
  return done.status().Annotate("rollback " + key.Display());
}

}  // namespace converge::iceberg
