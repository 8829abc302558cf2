#include "tests/common/fake_reconciler.h"

#include <algorithm>

namespace converge::test {

Status UnknownOutcome() {
  return UnknownOutcomeError(
      "connection reset by peer after the request was sent: the request may have been carried "
      "out");
}

std::string FakeReconciler::Call::ToString() const {
  if (op == "apply") return op + " " + ActionName(action) + " " + key.ToString();
  return op + (key.kind.empty() ? "" : " " + key.ToString());
}

void FakeReconciler::SetLive(const ResourceKey& key, json doc) {
  std::lock_guard<std::mutex> lock(mu_);
  Land(key, doc);
}

std::optional<json> FakeReconciler::Live(const ResourceKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(key);
  if (it == live_.end()) return std::nullopt;
  return it->second;
}

void FakeReconciler::ScriptApply(const ResourceKey& key, std::vector<Write> writes) {
  std::lock_guard<std::mutex> lock(mu_);
  apply_script_[key] = std::move(writes);
}

void FakeReconciler::ScriptRestore(const ResourceKey& key, std::vector<Write> writes) {
  std::lock_guard<std::mutex> lock(mu_);
  restore_script_[key] = std::move(writes);
}

void FakeReconciler::ScriptHealth(const ResourceKey& key, std::vector<Result<Health>> answers) {
  std::lock_guard<std::mutex> lock(mu_);
  health_script_[key] = std::move(answers);
}

void FakeReconciler::ScriptGet(const ResourceKey& key, std::vector<Status> errors) {
  std::lock_guard<std::mutex> lock(mu_);
  get_script_[key] = std::move(errors);
}

std::vector<FakeReconciler::Call> FakeReconciler::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

std::vector<std::string> FakeReconciler::Trace(const std::string& op) const {
  std::vector<std::string> out;
  for (const Call& c : calls())
    if (op.empty() || c.op == op) out.push_back(c.ToString());
  return out;
}

int FakeReconciler::Count(const std::string& op, const ResourceKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(std::count_if(calls_.begin(), calls_.end(),
                                        [&](const Call& c) { return c.op == op && c.key == key; }));
}

int FakeReconciler::max_concurrent_applies() const {
  std::lock_guard<std::mutex> lock(mu_);
  return max_applying_;
}

BackendFactory FakeReconciler::Factory() const {
  BackendFactory f;
  f.type = type_;
  f.default_poll_interval = poll_interval;
  std::set<std::string> kinds(kinds_.begin(), kinds_.end());
  kinds.insert(run_kinds.begin(), run_kinds.end());
  kinds.insert(maintenance_kinds.begin(), maintenance_kinds.end());
  for (const std::string& kind : kinds) {
    KindDef k;
    k.kind = kind;
    k.lifecycle = run_kinds.count(kind)           ? Lifecycle::kRun
                  : maintenance_kinds.count(kind) ? Lifecycle::kMaintenance
                                                  : Lifecycle::kResource;
    if (k.lifecycle == Lifecycle::kRun) k.run_name_member = "id";
    if (health_timeout) {
      auto t = *health_timeout;
      k.timeout = [t](const json&) { return std::optional<std::chrono::seconds>(t); };
    }
    f.kinds.push_back(std::move(k));
  }
  return f;
}

Result<std::vector<LiveObject>> FakeReconciler::Observe() {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back({"observe", {}, Action::kNoop, json()});
  std::vector<LiveObject> out;
  for (const auto& [key, doc] : live_) out.push_back({key, doc, "", true});
  return out;
}

Result<std::optional<LiveObject>> FakeReconciler::Get(const ResourceKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back({"get", key, Action::kNoop, json()});
  auto s = get_script_.find(key);
  if (s != get_script_.end() && !s->second.empty()) {
    Status err = s->second.front();
    s->second.erase(s->second.begin());
    if (!err.ok()) return err;
  }
  auto it = live_.find(key);
  if (it == live_.end()) return std::optional<LiveObject>();
  return std::optional<LiveObject>(LiveObject{key, it->second, "", true});
}

json FakeReconciler::Desired(const Document& doc) const {
  json d = doc.spec.Get();
  if (!d.is_object()) d = json::object();
  d["id"] = doc.name;
  return d;
}

json FakeReconciler::Definition(const json& live) const {
  json d = live;
  if (d.is_object()) d.erase("status");
  return d;
}

DiffResult FakeReconciler::Diff(const json& desired, const json& live,
                                const json& last_applied) const {
  DiffResult r;
  if (desired.is_null()) {
    if (!live.is_null()) r.action = Action::kDelete;
    return r;
  }
  if (live.is_null()) {
    r.action = Action::kCreate;
    return r;
  }
  json want = Definition(desired), have = Definition(live);
  if (want == have) return r;
  json want_n = want, have_n = have;
  want_n.erase("instances");
  have_n.erase("instances");
  r.action = want_n == have_n ? Action::kScale : Action::kUpdate;
  for (const auto& [k, v] : want.items())
    if (!have.contains(k) || have[k] != v)
      r.fields.push_back({k, have.contains(k) ? have[k] : json(), v});
  return r;
}

FakeReconciler::Write FakeReconciler::NextWrite(std::map<ResourceKey, std::vector<Write>>& scripts,
                                                const ResourceKey& key) {
  auto s = scripts.find(key);
  if (s == scripts.end() || s->second.empty()) return Succeeds();
  Write w = s->second.front();
  s->second.erase(s->second.begin());
  return w;
}

void FakeReconciler::Land(const ResourceKey& key, const json& doc) {
  if (doc.is_null())
    live_.erase(key);
  else
    live_[key] = doc;
}

Status FakeReconciler::Apply(const ChangeRequest& change) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back({"apply", change.key, change.action, change.desired});
    ++writes_;
    max_applying_ = std::max(max_applying_, ++applying_);
  }
  if (on_apply) on_apply(change);
  std::lock_guard<std::mutex> lock(mu_);
  --applying_;
  Write w = NextWrite(apply_script_, change.key);
  if (w.lands) Land(change.key, change.action == Action::kDelete ? json() : change.desired);
  return w.status;
}

Status FakeReconciler::Restore(const ResourceKey& key, const json& definition) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back({"restore", key, Action::kNoop, definition});
    ++writes_;
  }
  if (on_restore) on_restore(key, definition);
  std::lock_guard<std::mutex> lock(mu_);
  Write w = NextWrite(restore_script_, key);
  if (w.lands) Land(key, definition);
  return w.status;
}

Result<Health> FakeReconciler::CheckHealth(const ResourceKey& key, const json& desired) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back({"health", key, Action::kNoop, desired});
  auto s = health_script_.find(key);
  if (s != health_script_.end() && !s->second.empty()) {
    Result<Health> h = s->second.front();
    s->second.erase(s->second.begin());
    return h;
  }
  auto it = live_.find(key);
  if (desired.is_null()) {
    if (it == live_.end()) return Health{HealthState::kHealthy, "gone"};
    return Health{HealthState::kProgressing, "still there"};
  }
  if (it == live_.end()) return Health{HealthState::kMissing, "not found"};
  const std::string said = it->second.value("health", "");
  if (said.empty() || said == "healthy") return Health{HealthState::kHealthy, "healthy"};
  if (said == "progressing") return Health{HealthState::kProgressing, "tasks starting 0/1"};
  if (said == "degraded") return Health{HealthState::kDegraded, "tasks unhealthy 1/2"};
  if (said == "failed") return Health{HealthState::kFailed, "the backend gave up"};
  return Health{HealthState::kMissing, "not found"};
}

long FakeReconciler::RequestCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<long>(calls_.size());
}

long FakeReconciler::WriteCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return writes_;
}

}  // namespace converge::test
