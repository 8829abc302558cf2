// What converge last applied to each object, and holds (objects pinned after a rollback).
#include "controller/store/database.h"
#include "controller/store/store.h"

namespace converge::store {
namespace {

#define CONVERGE_LAST_APPLIED_COLUMNS "key, backend, doc, spec_revision, applied_at, run_id"
#define CONVERGE_HOLD_COLUMNS "key, spec_revision, snapshot_id, reason, created_at"

Result<LastApplied> ReadLastApplied(const Stmt& s) {
  LastApplied la;
  la.key = s.Text(0);
  la.backend = s.Text(1);
  Result<json> doc = s.Json(2);
  if (!doc.ok()) return doc.status().Annotate("last applied " + la.key);
  la.doc = std::move(doc).value();
  la.spec_revision = s.Text(3);
  la.applied_at = s.Text(4);
  la.run_id = s.Int(5);
  return la;
}

Hold ReadHold(const Stmt& s) {
  Hold h;
  h.key = s.Text(0);
  h.spec_revision = s.Text(1);
  h.snapshot_id = s.Int(2);
  h.reason = s.Text(3);
  h.created_at = s.Text(4);
  return h;
}

}  // namespace

Status Store::SetLastApplied(const LastApplied& la) {
  if (la.key.empty()) return InvalidError("last applied document without a key");
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s =
      db_->Prepare("INSERT OR REPLACE INTO last_applied (" CONVERGE_LAST_APPLIED_COLUMNS
                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!s.ok()) return s.status();
  return s->Bind(1, la.key)
      .Bind(2, la.backend)
      .BindJson(3, la.doc)
      .Bind(4, la.spec_revision)
      .Bind(5, OrNow(la.applied_at))
      .Bind(6, la.run_id)
      .Run();
}

Status Store::DeleteLastApplied(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("DELETE FROM last_applied WHERE key = ?1");
  if (!s.ok()) return s.status();
  return s->Bind(1, key).Run();
}

Result<std::optional<LastApplied>> Store::GetLastApplied(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s =
      db_->Prepare("SELECT " CONVERGE_LAST_APPLIED_COLUMNS " FROM last_applied WHERE key = ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, key);
  return CollectOne<LastApplied>(*s, ReadLastApplied);
}

Result<std::map<std::string, LastApplied>> Store::AllLastApplied() {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("SELECT " CONVERGE_LAST_APPLIED_COLUMNS " FROM last_applied");
  if (!s.ok()) return s.status();
  Result<std::vector<LastApplied>> rows = Collect<LastApplied>(*s, ReadLastApplied);
  if (!rows.ok()) return rows.status();
  std::map<std::string, LastApplied> out;
  for (LastApplied& la : *rows) out.emplace(la.key, std::move(la));
  return out;
}

Result<std::map<std::string, LastAppliedText>> Store::AllLastAppliedText(
    const std::set<std::string>* keys) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("SELECT key, doc, spec_revision FROM last_applied");
  if (!s.ok()) return s.status();
  std::map<std::string, LastAppliedText> out;
  while (true) {
    Result<bool> row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    std::string key = s->Text(0);
    if (keys != nullptr && keys->count(key) == 0) continue;
    LastAppliedText la{s->Text(1), s->Text(2)};
    // The same check as a parsed read, without building the document.
    if (!la.doc.empty() && !json::accept(la.doc))
      return InternalError("state store: corrupt JSON document").Annotate("last applied " + key);
    out.emplace(std::move(key), std::move(la));
  }
  return out;
}

Status Store::PutHold(const Hold& h) {
  if (h.key.empty()) return InvalidError("hold without a key");
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("INSERT OR REPLACE INTO holds (" CONVERGE_HOLD_COLUMNS
                                ") VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!s.ok()) return s.status();
  return s->Bind(1, h.key)
      .Bind(2, h.spec_revision)
      .Bind(3, h.snapshot_id)
      .Bind(4, h.reason)
      .Bind(5, OrNow(h.created_at))
      .Run();
}

Status Store::ReleaseHold(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("DELETE FROM holds WHERE key = ?1");
  if (!s.ok()) return s.status();
  return s->Bind(1, key).Run();
}

Result<std::optional<Hold>> Store::GetHold(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("SELECT " CONVERGE_HOLD_COLUMNS " FROM holds WHERE key = ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, key);
  return CollectOne<Hold>(*s, ReadHold);
}

Result<std::map<std::string, Hold>> Store::AllHolds() {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Stmt> s = db_->Prepare("SELECT " CONVERGE_HOLD_COLUMNS " FROM holds");
  if (!s.ok()) return s.status();
  Result<std::vector<Hold>> rows = Collect<Hold>(*s, ReadHold);
  if (!rows.ok()) return rows.status();
  std::map<std::string, Hold> out;
  for (Hold& h : *rows) out.emplace(h.key, std::move(h));
  return out;
}

#undef CONVERGE_LAST_APPLIED_COLUMNS
#undef CONVERGE_HOLD_COLUMNS

}  // namespace converge::store
