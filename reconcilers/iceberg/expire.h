// expireSnapshots, computed as data: which snapshots a run removes and why, which it keeps and by
// which ref and rule, and the one commit that does it. Pure: metadata and `now` in, a plan out.
// What it promises (format/spec.md "Snapshot Retention Policy", with Iceberg's Java behaviour
// where the spec is silent):
//  * A ref's head — branch or tag — is never removed, and neither is anything a retained branch's
//    own retention protects: walking the branch's ancestry from its head, a snapshot is kept
//    while it is one of the branch's first `min-snapshots-to-keep` or younger than its
//    `max-snapshot-age-ms`; the walk stops at the first snapshot that is neither.
//  * A branch without its own settings uses the run's defaults: the policy's retainLast /
//    maxSnapshotAge when set, else the table properties `history.expire.min-snapshots-to-keep` /
//    `history.expire.max-snapshot-age-ms`, else Iceberg's defaults 1 and 5 days.
//  * Tags protect only their snapshot. Refs other than `main` (and converge's lock tags) whose
//    head is older than their `max-ref-age-ms` (else `history.expire.max-ref-age-ms`; unset =
//    never) are expired refs: removed in the same commit, and they protect nothing.
//  * Snapshots on no ref's ancestry (staged, or left by an expired ref) are kept while younger than
//    the default max age.
//  * The commit asserts the table uuid and `main`, and also every ref the plan relied on, so a
//    ref moved or re-pointed meanwhile fails the commit (409) instead of losing its snapshots. A
//    ref *created* meanwhile by someone else cannot be asserted (requirements name refs) — the
//    table lock is what keeps concurrent maintenance away.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/iceberg/metadata.h"

namespace converge::iceberg {

struct ExpireOptions {
  std::optional<int64_t> max_snapshot_age_ms;  // the policy's maxSnapshotAge
  std::optional<int> retain_last;              // the policy's retainLast
};

struct ExpireDecision {
  int64_t snapshot_id = 0;
  int64_t timestamp_ms = 0;
  // Why: for a removal one reason ("older than 5d and beyond the last 10 of branch main"); for
  // a kept snapshot every ref and rule that keeps it ("head of branch main", "tag audit",
  // "branch main: one of the last 10", "branch dev: younger than 2d").
  std::vector<std::string> reasons;
};

struct ExpiredRef {
  std::string name;
  int64_t snapshot_id = 0;
  std::string reason;  // "tag audit: head is 40d old, max-ref-age-ms 30d"
};

struct ExpirePlan {
  std::vector<ExpireDecision> remove;  // oldest first
  std::vector<ExpireDecision> keep;    // newest first
  std::vector<ExpiredRef> expired_refs;
  int64_t default_max_age_ms = 0;
  int default_min_snapshots = 0;

  bool empty() const { return remove.empty() && expired_refs.empty(); }
  std::vector<int64_t> RemoveIds() const;
};

ExpirePlan PlanExpiry(const TableMetadata& table, const ExpireOptions& options, int64_t now_ms);

// The CommitTableRequest that performs `plan` on `table`:
// {"requirements": [assert-table-uuid, assert-ref-snapshot-id for main and every retained ref],
//  "updates": [remove-snapshot-ref per expired ref..., remove-snapshots]}.
// An empty plan gives an empty update list (do not send it).
json ExpireCommit(const TableMetadata& table, const ExpirePlan& plan);

}  // namespace converge::iceberg
