#include "reconcilers/iceberg/triggers.h"

#include <algorithm>

#include "reconcilers/iceberg/units.h"

namespace converge::iceberg {
namespace {

constexpr Task kDeclared[] = {Task::kCompact, Task::kExpireSnapshots, Task::kRemoveOrphanFiles};

// "since the last run" / "so far (never run)".
std::string Since(const TaskInput& t) {
  return t.last_run_ms ? "since the last run" : "so far (never run)";
}

void Add(std::vector<std::string>& out, const std::string& task, const std::string& what) {
  out.push_back(task + ": " + what);
}

// Why a task fires (empty: it does not), and what it waits for.
void Conditions(const EvaluateInput& in, const TaskInput& t, std::vector<std::string>& fire,
                std::vector<std::string>& wait) {
  const Triggers& tr = in.triggers;
  const std::string name = TaskName(t.task);
  const TableChange& c = t.change;
  std::string lower = c.complete ? "" : " (at least: older snapshots expired)";
  if (tr.commit_count) {
    std::string s = FormatCount(c.commits) + (c.commits == 1 ? " commit" : " commits");
    if (c.commits >= *tr.commit_count)
      Add(fire, name, s + " " + Since(t) + " ≥ " + FormatCount(*tr.commit_count) + lower);
    else
      wait.push_back(s + " of " + FormatCount(*tr.commit_count));
  }
  if (tr.data_file_count) {
    std::string s = FormatCount(c.data_files) + (c.data_files == 1 ? " data file" : " data files");
    if (c.data_files >= *tr.data_file_count)
      Add(fire, name, s + " added " + Since(t) + " ≥ " + FormatCount(*tr.data_file_count) + lower);
    else
      wait.push_back(s + " of " + FormatCount(*tr.data_file_count));
  }
  if (tr.data_file_size_bytes) {
    std::string s = FormatBytes(c.data_bytes) + " of data files";
    if (c.data_bytes >= *tr.data_file_size_bytes)
      Add(fire, name,
          s + " added " + Since(t) + " ≥ " + FormatBytes(*tr.data_file_size_bytes) + lower);
    else
      wait.push_back(FormatBytes(c.data_bytes) + " of " + FormatBytes(*tr.data_file_size_bytes));
  }
  if (tr.small_file_count && t.task == Task::kCompact) {
    const SmallFileInfo& sf = in.small_files;
    const PartitionSmallFiles* worst = nullptr;
    int64_t over = 0;
    for (const PartitionSmallFiles& p : sf.partitions) {
      if (p.small_files < *tr.small_file_count) continue;
      ++over;
      if (worst == nullptr || p.small_files > worst->small_files ||
          (p.small_files == worst->small_files && p.partition < worst->partition))
        worst = &p;
    }
    if (worst != nullptr) {
      std::string where = worst->partition.empty()
                              ? (sf.estimate ? "the table has about" : "the table has")
                              : "partition " + worst->partition + " has";
      std::string more = over > 1 ? " (and " + FormatCount(over - 1) +
                                        (over == 2 ? " more partition)" : " more partitions)")
                                  : "";
      Add(fire, name,
          where + " " + FormatCount(worst->small_files) + " files under " +
              FormatBytes(sf.threshold_bytes) + more + (sf.estimate ? " (estimate)" : ""));
    } else {
      wait.push_back("no partition with " + FormatCount(*tr.small_file_count) + " files under " +
                     FormatBytes(sf.threshold_bytes) + (sf.estimate ? " (estimate)" : ""));
    }
  }
  if (tr.interval_ms) {
    if (!t.last_run_ms) {
      Add(fire, name, "never run (interval " + FormatDurationMs(*tr.interval_ms) + ")");
    } else if (in.now_ms - *t.last_run_ms >= *tr.interval_ms) {
      Add(fire, name,
          FormatDurationMs(in.now_ms - *t.last_run_ms) + " since the last run ≥ " +
              FormatDurationMs(*tr.interval_ms));
    } else {
      wait.push_back("interval " + FormatDurationMs(*tr.interval_ms) + " ends at " +
                     FormatTimeMs(*t.last_run_ms + *tr.interval_ms));
    }
  }
}

}  // namespace

const char* TaskName(Task task) {
  switch (task) {
    case Task::kCompact:
      return "compact";
    case Task::kExpireSnapshots:
      return "expireSnapshots";
    case Task::kRemoveOrphanFiles:
      return "removeOrphanFiles";
  }
  return "?";
}

void TableChange::Merge(const TableChange& o) {
  commits += o.commits;
  data_files += o.data_files;
  data_bytes += o.data_bytes;
  delete_files += o.delete_files;
  position_delete_files += o.position_delete_files;
  equality_delete_files += o.equality_delete_files;
  position_delete_records += o.position_delete_records;
  equality_delete_records += o.equality_delete_records;
  complete = complete && o.complete;
}

TableChange ChangeSince(const TableMetadata& table, std::optional<int64_t> since_snapshot_id,
                        int64_t since_ms, const std::string& branch, size_t max_read_back) {
  TableChange c;
  auto ref = table.refs.find(branch);
  if (ref == table.refs.end()) return c;
  std::vector<const Snapshot*> line = table.Ancestry(ref->second.snapshot_id, max_read_back);
  bool by_id = false;
  if (since_snapshot_id)
    for (const Snapshot* s : line) by_id = by_id || s->id == *since_snapshot_id;
  bool reached = false;
  for (const Snapshot* s : line) {
    if (by_id ? s->id == *since_snapshot_id : s->timestamp_ms <= since_ms) {
      reached = true;
      break;
    }
    if (s->operation == "replace") continue;
    c.commits += 1;
    c.data_files += s->SummaryInt("added-data-files");
    c.data_bytes += s->SummaryInt("added-files-size");
    c.delete_files += s->SummaryInt("added-delete-files");
    c.position_delete_files += s->SummaryInt("added-position-delete-files");
    c.equality_delete_files += s->SummaryInt("added-equality-delete-files");
    c.position_delete_records += s->SummaryInt("added-position-deletes");
    c.equality_delete_records += s->SummaryInt("added-equality-deletes");
  }
  if (!reached && !line.empty()) {
    // The walk ended without meeting the last run: exact only when it read the whole history
    // (the oldest snapshot has no parent); an expired parent or the read-back limit make the
    // counters a lower bound.
    c.complete = !line.back()->parent_id && line.size() < max_read_back;
  }
  return c;
}

SmallFileInfo EstimateSmallFiles(const TableChange& c, int64_t target) {
  SmallFileInfo info;
  info.threshold_bytes = SmallFileThreshold(target);
  info.estimate = true;
  if (c.data_files > 0 && c.data_bytes / c.data_files < info.threshold_bytes)
    info.partitions.push_back({"", c.data_files});
  return info;
}

Evaluation Evaluate(const EvaluateInput& in) {
  Evaluation ev;
  if (in.min_interval_ms && in.table_last_run_ms &&
      in.now_ms < *in.table_last_run_ms + *in.min_interval_ms) {
    ev.rate_limited = true;
    ev.next_check_ms = *in.table_last_run_ms + *in.min_interval_ms;
  }
  std::vector<TaskVerdict> due;
  for (Task task : kDeclared) {
    for (const TaskInput& t : in.tasks) {
      if (t.task != task) continue;
      std::vector<std::string> fire, wait;
      Conditions(in, t, fire, wait);
      TaskVerdict v{task, false, {}};
      if (!fire.empty() && ev.rate_limited) {
        v.reasons.push_back(std::string(TaskName(task)) + ": next check after minInterval " +
                            FormatDurationMs(*in.min_interval_ms) + ", at " +
                            FormatTimeMs(ev.next_check_ms) +
                            " (due: " + fire.front().substr(fire.front().find(": ") + 2) + ")");
        ev.not_fired.push_back(std::move(v));
      } else if (!fire.empty()) {
        v.fires = true;
        v.reasons = std::move(fire);
        due.push_back(std::move(v));
      } else {
        std::string w;
        for (const std::string& s : wait) w += (w.empty() ? "" : ", ") + s;
        v.reasons.push_back(std::string(TaskName(task)) + ": not due" +
                            (w.empty() ? "" : " (" + w + ")"));
        ev.not_fired.push_back(std::move(v));
      }
    }
  }
  // Round-robin: start after the task that fired last.
  size_t start = 0;
  if (in.last_fired) {
    auto after = std::find_if(due.begin(), due.end(), [&](const TaskVerdict& v) {
      return static_cast<int>(v.task) > static_cast<int>(*in.last_fired);
    });
    if (after != due.end()) start = static_cast<size_t>(after - due.begin());
  }
  std::rotate(due.begin(), due.begin() + static_cast<long>(start), due.end());
  ev.fired = std::move(due);
  return ev;
}

}  // namespace converge::iceberg
