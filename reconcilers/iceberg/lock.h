// The table maintenance lock, held in the table itself so that only one maintenance runs per
// table across converge instances and anything else that honours it. Pure: commit bodies to send
// and a reader of loaded metadata; the reconciler sends them and handles 409.
//
// The lock is two tags on the current snapshot S plus three table properties:
//   tag  __converge_maintenance           the lock itself: "must not exist" is the acquire guard
//   tag  __converge_maintenance.<token>   this acquisition's own tag (token unique per acquire)
//   converge.lock.owner / converge.lock.token / converge.lock.expires-at-ms
// Why the second tag: requirements can assert refs but not properties, and a later holder may
// well put its lock tag on the same S. A tag named after our token exists only while *our*
// acquisition stands, so `assert-ref-snapshot-id <token tag> = S` is "the lock is still ours",
// checked by the catalog atomically with the commit — release and renew cannot remove or extend
// a lock that was broken and taken by someone else.
// What it promises:
//  * Acquire: one commit; requirements assert-table-uuid and both tags absent (snapshot-id
//    null); updates two set-snapshot-ref (tags at S) and set-properties. Two acquirers: one
//    wins, the other gets 409.
//  * Release / renew: guarded by both tags still at S. Release removes both tags and the
//    properties. Renew moves expires-at-ms *and rotates the token* (the old token tag is
//    replaced by a new one), so a breaker that saw the old expiry asserts a tag that is gone.
//  * Break: only a lock ReadLock calls kExpired, and only `grace_ms` past its expiry, in one
//    commit that asserts exactly the tags seen (the lock tag at S and the token tag seen) and
//    takes the lock for the breaker: two breakers cannot both win, and a lock renewed meanwhile
//    is not broken (its token tag changed, the commit gets 409).
//  * A table with no snapshot yet has nothing for a tag to point at: acquiring is kNotFound
//    ("no snapshot"), and the reconciler has nothing to compact or expire there; orphan-file
//    removal waits for the first snapshot.
//  * A lock tag without the owner properties (made by hand) reads as kExpired: a lock without an
//    expiry is stale by definition; properties without the tag read as free.
#pragma once

#include <cstdint>
#include <string>

#include "reconcilers/iceberg/metadata.h"

namespace converge::iceberg {

inline constexpr char kLockTag[] = "__converge_maintenance";
inline constexpr char kLockOwnerProperty[] = "converge.lock.owner";
inline constexpr char kLockTokenProperty[] = "converge.lock.token";
inline constexpr char kLockExpiresProperty[] = "converge.lock.expires-at-ms";

// Whether a ref name is one of the lock's tags (expiry never touches them).
bool IsLockRef(const std::string& ref_name);

struct LockRequest {
  std::string owner;  // who holds it, shown to others ("converge@host:pid")
  std::string token;  // unique per acquisition: [A-Za-z0-9._-], 1..64 characters
  int64_t now_ms = 0;
  int64_t ttl_ms = 0;  // > 0
};

struct LockState {
  enum class Kind { kFree, kHeldByUs, kHeldByOther, kExpired };
  Kind kind = Kind::kFree;
  std::string owner;  // "" when free or unknown
  std::string token;
  int64_t expires_at_ms = 0;  // 0 when unknown
  int64_t snapshot_id = 0;    // where the lock tag points
  bool has_token_tag = false;
  // "free", "held by us until 2026-…Z", "held by converge@b until …", "expired at … (held by …)"
  std::string Describe() const;
};

// `our_token`: the token of our acquisition ("" if we hold none). A lock past expires-at-ms is
// kExpired even if it is ours.
LockState ReadLock(const TableMetadata& table, const std::string& our_token, int64_t now_ms);

// The acquire commit (see the header comment), or why it cannot be built: kInvalid for a bad
// request, kNotFound for a table without a snapshot.
Result<json> AcquireCommit(const TableMetadata& table, const LockRequest& request);
// Release our lock (`state` from ReadLock, kHeldByUs or kExpired with our token).
json ReleaseCommit(const TableMetadata& table, const LockState& ours);
// Extend our lock to request.now_ms + request.ttl_ms under the new token `request.token`.
Result<json> RenewCommit(const TableMetadata& table, const LockState& ours,
                         const LockRequest& request);
// Break an expired lock and take it in one commit. kConflict unless `seen` is kExpired and
// now is at least `grace_ms` past its expiry.
Result<json> BreakAndAcquireCommit(const TableMetadata& table, const LockState& seen,
                                   const LockRequest& request, int64_t grace_ms);

}  // namespace converge::iceberg
