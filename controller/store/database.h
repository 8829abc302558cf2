// Internal to the state store (controller/store/*.cc; users include store.h): the SQLite
// connection with its prepared-statement cache, statements that reset themselves, write
// transactions, row collection, and the error mapping from SQLite and errno codes to Status.
// Everything here is used under Store::mu_ (one connection, one statement at a time).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "controller/store/store.h"

namespace converge::store {

// The current time as ISO-8601 UTC; OrNow(t) is `t`, or the current time when `t` is empty.
std::string Now();
std::string OrNow(const std::string& t);

Status SqliteStatus(sqlite3* db, int rc, const std::string& what);
Status ErrnoStatus(const std::string& what, int err);

// Creates `dir` (and its parents) if missing; the directory itself gets mode 0700 because
// snapshots may hold secrets (environment variables of apps).
Status EnsureDir(const std::string& dir);

// Replaces invalid UTF-8 instead of throwing: no exceptions leave this module.
std::string DumpJson(const json& doc, int indent = -1);

// ---------------------------------------------------------------------------------------------
// A statement borrowed from the cache; reset and unbound when it goes out of scope. Bind errors
// are remembered and reported by the first Step.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_), bind_rc_(o.bind_rc_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt() {
    if (s_ != nullptr) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }

  Stmt& Bind(int i, int64_t v) { return Check(sqlite3_bind_int64(s_, i, v)); }
  Stmt& Bind(int i, const std::string& v) {
    return Check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string(v)); }
  // A null document is stored as SQL NULL.
  Stmt& BindJson(int i, const json& doc) {
    if (doc.is_null()) return Check(sqlite3_bind_null(s_, i));
    return Bind(i, DumpJson(doc));
  }

  // True when a row is available, false when done.
  Result<bool> Step() {
    if (bind_rc_ != SQLITE_OK) return SqliteStatus(db_, bind_rc_, "bind");
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteStatus(db_, rc, sqlite3_sql(s_));
  }
  // Runs a statement that returns no rows.
  Status Run() {
    Result<bool> r = Step();
    return r.ok() ? Status::Ok() : r.status();
  }

  int64_t Int(int c) const { return sqlite3_column_int64(s_, c); }
  std::string Text(int c) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(s_, c));
  }
  Result<json> Json(int c) const {
    if (sqlite3_column_type(s_, c) == SQLITE_NULL) return json(nullptr);
    json doc = json::parse(Text(c), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return InternalError("state store: corrupt JSON document");
    return doc;
  }

 private:
  Stmt& Check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
  }
  sqlite3* db_;
  sqlite3_stmt* s_;
  int bind_rc_ = SQLITE_OK;
};

// The connection and its prepared-statement cache. Used only under Store::mu_.
class Database {
 public:
  explicit Database(sqlite3* db) : db_(db) {}
  ~Database() {
    for (auto& [sql, s] : cache_) sqlite3_finalize(s);
    sqlite3_close_v2(db_);
  }

  Result<Stmt> Prepare(const char* sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* s = nullptr;
      int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
      if (rc != SQLITE_OK) return SqliteStatus(db_, rc, std::string("prepare ") + sql);
      it = cache_.emplace(sql, s).first;
    } else if (sqlite3_stmt_busy(it->second)) {
      // The same cached statement borrowed twice at once would corrupt both uses.
      return InternalError(std::string("state store: statement already in use: ") + sql);
    }
    return Stmt(db_, it->second);
  }

  // For fixed SQL without parameters (pragmas, migrations, transaction control).
  Status Exec(const std::string& sql) {
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::Ok() : SqliteStatus(db_, rc, sql.substr(0, 60));
  }

  int64_t Changes() const { return sqlite3_changes64(db_); }
  int64_t LastId() const { return sqlite3_last_insert_rowid(db_); }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(Database* db) : db_(db) {}
  ~Transaction() {
    if (begun_ && !committed_) (void)db_->Exec("ROLLBACK");
  }
  Status Begin() {
    CONVERGE_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
    begun_ = true;
    return Status::Ok();
  }
  Status Commit() {
    CONVERGE_RETURN_IF_ERROR(db_->Exec("COMMIT"));
    committed_ = true;
    return Status::Ok();
  }

 private:
  Database* db_;
  bool begun_ = false, committed_ = false;
};

// Steps through every row of `s`, appending read(s) to `out`.
template <typename T, typename Reader>
Status CollectRows(Stmt& s, Reader read, std::vector<T>* out) {
  for (;;) {
    Result<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    if constexpr (std::is_same_v<decltype(read(s)), T>) {
      out->push_back(read(s));
    } else {
      auto item = read(s);
      if (!item.ok()) return item.status();
      out->push_back(std::move(item).value());
    }
  }
}

template <typename T, typename Reader>
Result<std::vector<T>> Collect(Stmt& s, Reader read) {
  std::vector<T> out;
  CONVERGE_RETURN_IF_ERROR(CollectRows(s, read, &out));
  return out;
}

// The first row, if any.
template <typename T, typename Reader>
Result<std::optional<T>> CollectOne(Stmt& s, Reader read) {
  Result<std::vector<T>> rows = Collect<T>(s, read);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<T>();
  return std::optional<T>(std::move(rows->front()));
}

// A LIMIT value: `limit`, or -1 (no limit) when limit <= 0.
inline int64_t SqlLimit(int limit) {
  return limit <= 0 ? -1 : limit;
}

}  // namespace converge::store
