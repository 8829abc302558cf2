#include "reconcilers/iceberg/lock.h"

#include "reconcilers/iceberg/units.h"

namespace converge::iceberg {
namespace {

std::string TokenTag(const std::string& token) {
  return std::string(kLockTag) + "." + token;
}

Status CheckRequest(const LockRequest& r) {
  if (r.owner.empty() || r.owner.size() > 200)
    return InvalidError("lock owner must be 1..200 characters");
  if (r.token.empty() || r.token.size() > 64)
    return InvalidError("lock token must be 1..64 characters");
  for (char c : r.token) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return InvalidError("lock token may only hold letters, digits, '.', '_' and '-'");
  }
  if (r.ttl_ms <= 0) return InvalidError("lock ttl must be positive");
  return Status::Ok();
}

json AssertRef(const std::string& ref, const json& id) {
  return {{"type", "assert-ref-snapshot-id"}, {"ref", ref}, {"snapshot-id", id}};
}

json SetTag(const std::string& name, int64_t id) {
  return {{"action", "set-snapshot-ref"}, {"ref-name", name}, {"type", "tag"}, {"snapshot-id", id}};
}

json RemoveRef(const std::string& name) {
  return {{"action", "remove-snapshot-ref"}, {"ref-name", name}};
}

json SetLockProperties(const LockRequest& r) {
  return {{"action", "set-properties"},
          {"updates",
           {{kLockOwnerProperty, r.owner},
            {kLockTokenProperty, r.token},
            {kLockExpiresProperty, std::to_string(r.now_ms + r.ttl_ms)}}}};
}

json Uuid(const TableMetadata& t) {
  return {{"type", "assert-table-uuid"}, {"uuid", t.table_uuid}};
}

}  // namespace

bool IsLockRef(const std::string& name) {
  const std::string tag = kLockTag;
  return name == tag || name.rfind(tag + ".", 0) == 0;
}

std::string LockState::Describe() const {
  std::string who = owner.empty() ? "an unknown holder" : owner;
  std::string until = expires_at_ms > 0 ? " until " + FormatTimeMs(expires_at_ms) : "";
  switch (kind) {
    case Kind::kFree:
      return "free";
    case Kind::kHeldByUs:
      return "held by us" + until;
    case Kind::kHeldByOther:
      return "held by " + who + until;
    case Kind::kExpired:
      return expires_at_ms > 0
                 ? "expired at " + FormatTimeMs(expires_at_ms) + " (held by " + who + ")"
                 : "stale: tag " + std::string(kLockTag) + " without an expiry";
  }
  return "";
}

LockState ReadLock(const TableMetadata& table, const std::string& our_token, int64_t now_ms) {
  LockState st;
  auto tag = table.refs.find(kLockTag);
  if (tag == table.refs.end()) return st;
  st.snapshot_id = tag->second.snapshot_id;
  auto prop = [&](const char* k) {
    auto it = table.properties.find(k);
    return it == table.properties.end() ? std::string() : it->second;
  };
  st.owner = prop(kLockOwnerProperty);
  st.token = prop(kLockTokenProperty);
  st.expires_at_ms = table.PropertyInt(kLockExpiresProperty, 0);
  if (!st.token.empty()) {
    auto tt = table.refs.find(TokenTag(st.token));
    st.has_token_tag = tt != table.refs.end() && tt->second.snapshot_id == st.snapshot_id;
  }
  if (st.expires_at_ms <= 0 || st.owner.empty() || now_ms >= st.expires_at_ms) {
    st.kind = LockState::Kind::kExpired;
  } else if (!our_token.empty() && st.token == our_token && st.has_token_tag) {
    st.kind = LockState::Kind::kHeldByUs;
  } else {
    st.kind = LockState::Kind::kHeldByOther;
  }
  return st;
}

Result<json> AcquireCommit(const TableMetadata& table, const LockRequest& request) {
  CONVERGE_RETURN_IF_ERROR(CheckRequest(request));
  if (!table.current_snapshot_id)
    return NotFoundError("the table has no snapshot yet: there is nothing for the lock tag " +
                         std::string(kLockTag) + " to point at (and nothing to maintain)");
  int64_t s = *table.current_snapshot_id;
  json req = json::array(
      {Uuid(table), AssertRef(kLockTag, nullptr), AssertRef(TokenTag(request.token), nullptr)});
  json upd = json::array(
      {SetTag(kLockTag, s), SetTag(TokenTag(request.token), s), SetLockProperties(request)});
  return json{{"requirements", req}, {"updates", upd}};
}

json ReleaseCommit(const TableMetadata& table, const LockState& ours) {
  json req = json::array({Uuid(table), AssertRef(kLockTag, ours.snapshot_id),
                          AssertRef(TokenTag(ours.token), ours.snapshot_id)});
  json upd =
      json::array({RemoveRef(TokenTag(ours.token)),
                   RemoveRef(kLockTag),
                   {{"action", "remove-properties"},
                    {"removals", {kLockOwnerProperty, kLockTokenProperty, kLockExpiresProperty}}}});
  return {{"requirements", req}, {"updates", upd}};
}

Result<json> RenewCommit(const TableMetadata& table, const LockState& ours,
                         const LockRequest& request) {
  CONVERGE_RETURN_IF_ERROR(CheckRequest(request));
  if (request.token == ours.token) return InvalidError("renewing the lock needs a new token");
  json req = json::array({Uuid(table), AssertRef(kLockTag, ours.snapshot_id),
                          AssertRef(TokenTag(ours.token), ours.snapshot_id),
                          AssertRef(TokenTag(request.token), nullptr)});
  json upd =
      json::array({RemoveRef(TokenTag(ours.token)),
                   SetTag(TokenTag(request.token), ours.snapshot_id), SetLockProperties(request)});
  return json{{"requirements", req}, {"updates", upd}};
}

Result<json> BreakAndAcquireCommit(const TableMetadata& table, const LockState& seen,
                                   const LockRequest& request, int64_t grace_ms) {
  CONVERGE_RETURN_IF_ERROR(CheckRequest(request));
  if (seen.kind != LockState::Kind::kExpired)
    return Status(Code::kConflict, "the lock is " + seen.Describe() + ": it cannot be broken");
  if (seen.expires_at_ms > 0 && request.now_ms < seen.expires_at_ms + grace_ms)
    return Status(Code::kConflict, "the lock " + seen.Describe() + " is within its grace of " +
                                       FormatDurationMs(grace_ms) + ": not broken yet");
  if (!table.current_snapshot_id)
    return NotFoundError("the table has no snapshot: the lock cannot be taken");
  int64_t s = *table.current_snapshot_id;
  json req = json::array({Uuid(table), AssertRef(kLockTag, seen.snapshot_id)});
  json upd = json::array();
  if (seen.has_token_tag) {
    req.push_back(AssertRef(TokenTag(seen.token), seen.snapshot_id));
    upd.push_back(RemoveRef(TokenTag(seen.token)));
  }
  req.push_back(AssertRef(TokenTag(request.token), nullptr));
  upd.push_back(SetTag(kLockTag, s));  // replaces the broken lock's tag
  upd.push_back(SetTag(TokenTag(request.token), s));
  upd.push_back(SetLockProperties(request));
  return json{{"requirements", req}, {"updates", upd}};
}

}  // namespace converge::iceberg
