#include "reconcilers/iceberg/expire.h"

#include <algorithm>
#include <map>
#include <set>

#include "reconcilers/iceberg/lock.h"
#include "reconcilers/iceberg/units.h"

namespace converge::iceberg {
namespace {

constexpr int64_t kDefaultMaxAgeMs = 5LL * 24 * 3600 * 1000;  // Iceberg's 5 days
constexpr int kDefaultMinSnapshots = 1;

std::string RefWord(const std::string& name, const SnapshotRef& ref) {
  return (ref.is_branch() ? "branch " : "tag ") + name;
}

std::string LastN(int n) {
  return n == 1 ? "the last 1" : "the last " + std::to_string(n);
}

}  // namespace

std::vector<int64_t> ExpirePlan::RemoveIds() const {
  std::vector<int64_t> ids;
  for (const ExpireDecision& d : remove) ids.push_back(d.snapshot_id);
  return ids;
}

ExpirePlan PlanExpiry(const TableMetadata& table, const ExpireOptions& options, int64_t now_ms) {
  ExpirePlan plan;
  plan.default_max_age_ms = options.max_snapshot_age_ms.value_or(
      table.PropertyInt("history.expire.max-snapshot-age-ms", kDefaultMaxAgeMs));
  plan.default_min_snapshots = options.retain_last.value_or(static_cast<int>(
      table.PropertyInt("history.expire.min-snapshots-to-keep", kDefaultMinSnapshots)));
  if (plan.default_min_snapshots < 1) plan.default_min_snapshots = 1;
  const int64_t table_max_ref_age = table.PropertyInt("history.expire.max-ref-age-ms", -1);

  std::map<int64_t, std::vector<std::string>> kept;  // snapshot id -> reasons
  std::map<int64_t, std::string> why_not;            // why a walked snapshot was let go
  std::set<int64_t> on_some_ref;                     // on a retained ref's ancestry

  // Refs whose head is too old are expired (never main, never converge's lock).
  std::vector<std::pair<std::string, const SnapshotRef*>> live_refs;
  for (const auto& [name, ref] : table.refs) {
    const Snapshot* head = table.FindSnapshot(ref.snapshot_id);
    int64_t max_ref_age = ref.max_ref_age_ms.value_or(table_max_ref_age);
    if (name != "main" && !IsLockRef(name) && head != nullptr && max_ref_age > 0 &&
        now_ms - head->timestamp_ms > max_ref_age) {
      plan.expired_refs.push_back({name, ref.snapshot_id,
                                   RefWord(name, ref) + ": head is " +
                                       FormatDurationMs(now_ms - head->timestamp_ms) +
                                       " old, max-ref-age-ms " + FormatDurationMs(max_ref_age)});
      continue;
    }
    live_refs.emplace_back(name, &ref);
  }

  for (const auto& [name, ref] : live_refs) {
    const Snapshot* head = table.FindSnapshot(ref->snapshot_id);
    if (head == nullptr) continue;
    kept[head->id].push_back("head of " + RefWord(name, *ref));
    on_some_ref.insert(head->id);
    if (!ref->is_branch()) continue;
    const int64_t max_age = ref->max_snapshot_age_ms.value_or(plan.default_max_age_ms);
    const int min_keep =
        std::max(1, ref->min_snapshots_to_keep.value_or(plan.default_min_snapshots));
    const int64_t older_than = now_ms - max_age;
    std::vector<const Snapshot*> line = table.Ancestry(head->id);
    for (size_t i = 0; i < line.size(); ++i) {
      const Snapshot* s = line[i];
      on_some_ref.insert(s->id);
      bool in_last = static_cast<int>(i) < min_keep;
      bool young = s->timestamp_ms >= older_than;
      if (!in_last && !young) {
        for (size_t j = i; j < line.size(); ++j) {
          on_some_ref.insert(line[j]->id);
          why_not.emplace(line[j]->id, "older than " + FormatDurationMs(max_age) + " and beyond " +
                                           LastN(min_keep) + " of " + RefWord(name, *ref));
        }
        break;
      }
      if (i == 0) continue;  // the head's reason is already there
      if (in_last) kept[s->id].push_back(RefWord(name, *ref) + ": one of " + LastN(min_keep));
      if (young)
        kept[s->id].push_back(RefWord(name, *ref) + ": younger than " + FormatDurationMs(max_age));
    }
  }

  std::map<int64_t, std::string> expired_by;  // snapshot -> the expired ref it was on
  for (const ExpiredRef& r : plan.expired_refs) {
    const SnapshotRef& ref = table.refs.at(r.name);
    size_t depth = ref.is_branch() ? SIZE_MAX : 1;
    for (const Snapshot* s : table.Ancestry(r.snapshot_id, depth))
      expired_by.emplace(s->id, "only on expired " + RefWord(r.name, ref));
  }

  const int64_t default_older_than = now_ms - plan.default_max_age_ms;
  for (const Snapshot& s : table.snapshots) {
    if (!kept.count(s.id) && !on_some_ref.count(s.id) && s.timestamp_ms >= default_older_than)
      kept[s.id].push_back("on no ref, younger than " + FormatDurationMs(plan.default_max_age_ms));
    auto k = kept.find(s.id);
    if (k != kept.end()) {
      plan.keep.push_back({s.id, s.timestamp_ms, k->second});
      continue;
    }
    std::string reason;
    if (auto w = why_not.find(s.id); w != why_not.end()) {
      reason = w->second;
    } else if (auto e = expired_by.find(s.id); e != expired_by.end()) {
      reason = e->second;
    } else {
      reason = "on no ref and older than " + FormatDurationMs(plan.default_max_age_ms);
    }
    plan.remove.push_back({s.id, s.timestamp_ms, {reason}});
  }
  auto by_time = [](const ExpireDecision& a, const ExpireDecision& b) {
    return a.timestamp_ms != b.timestamp_ms ? a.timestamp_ms < b.timestamp_ms
                                            : a.snapshot_id < b.snapshot_id;
  };
  std::sort(plan.remove.begin(), plan.remove.end(), by_time);
  std::sort(plan.keep.begin(), plan.keep.end(),
            [&](const ExpireDecision& a, const ExpireDecision& b) { return by_time(b, a); });
  return plan;
}

json ExpireCommit(const TableMetadata& table, const ExpirePlan& plan) {
  json requirements = json::array();
  requirements.push_back({{"type", "assert-table-uuid"}, {"uuid", table.table_uuid}});
  std::set<std::string> expired;
  for (const ExpiredRef& r : plan.expired_refs) expired.insert(r.name);
  auto assert_ref = [&](const std::string& name, int64_t id) {
    requirements.push_back(
        {{"type", "assert-ref-snapshot-id"}, {"ref", name}, {"snapshot-id", id}});
  };
  // main first (the reconciler's 409 handling keys on it), then the other refs by name.
  if (auto m = table.refs.find("main"); m != table.refs.end()) {
    assert_ref("main", m->second.snapshot_id);
  } else {
    requirements.push_back(
        {{"type", "assert-ref-snapshot-id"}, {"ref", "main"}, {"snapshot-id", nullptr}});
  }
  for (const auto& [name, ref] : table.refs)
    if (name != "main") assert_ref(name, ref.snapshot_id);

  json updates = json::array();
  for (const ExpiredRef& r : plan.expired_refs)
    updates.push_back({{"action", "remove-snapshot-ref"}, {"ref-name", r.name}});
  std::vector<int64_t> ids = plan.RemoveIds();
  if (!ids.empty()) updates.push_back({{"action", "remove-snapshots"}, {"snapshot-ids", ids}});
  return {{"requirements", requirements}, {"updates", updates}};
}

}  // namespace converge::iceberg
