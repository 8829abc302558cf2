#include "reconcilers/iceberg/evaluate.h"

namespace converge::iceberg {

namespace {

std::optional<int64_t> IntProperty(const TableMetadata& t, const std::string& key) {
  auto it = t.properties.find(key);
  if (it == t.properties.end()) return std::nullopt;
  try {
    size_t used = 0;
    int64_t v = std::stoll(it->second, &used);
    if (used != it->second.size()) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<Task> TaskNamed(const std::string& name) {
  for (Task t : {Task::kCompact, Task::kExpireSnapshots, Task::kRemoveOrphanFiles})
    if (name == TaskName(t)) return t;
  return std::nullopt;
}

json VerdictJson(const TaskVerdict& v) {
  return {{"task", TaskName(v.task)}, {"reasons", v.reasons}};
}

}  // namespace

std::string LastRunProperty(Task task) {
  return std::string("converge.maintenance.") + TaskName(task) + ".last-run-ms";
}
std::string LastSnapshotProperty(Task task) {
  return std::string("converge.maintenance.") + TaskName(task) + ".last-snapshot-id";
}

std::string FailuresProperty(Task task) {
  return std::string("converge.maintenance.") + TaskName(task) + ".failures";
}
std::string FailuresRevisionProperty(Task task) {
  return std::string("converge.maintenance.") + TaskName(task) + ".failures-revision";
}
std::string LastErrorProperty(Task task) {
  return std::string("converge.maintenance.") + TaskName(task) + ".last-error";
}

std::string AttemptsProperty(Task task) {
  return std::string("converge.maintenance.") + TaskName(task) + ".attempts";
}

int64_t AttemptCount(const TableMetadata& t, Task task) {
  auto n = IntProperty(t, AttemptsProperty(task));
  return n && *n > 0 ? *n : 0;
}

int64_t FailureCount(const TableMetadata& t, Task task, const std::string& revision) {
  auto rev = t.properties.find(FailuresRevisionProperty(task));
  if (rev == t.properties.end() || rev->second != revision) return 0;
  auto n = IntProperty(t, FailuresProperty(task));
  return n && *n > 0 ? *n : 0;
}

json RecordFailureUpdate(const TableMetadata& t, Task task, const std::string& revision,
                         const std::string& message) {
  std::string msg = message.size() > 512 ? message.substr(0, 509) + "..." : message;
  return {{"action", "set-properties"},
          {"updates",
           {{FailuresProperty(task), std::to_string(FailureCount(t, task, revision) + 1)},
            {FailuresRevisionProperty(task), revision},
            {LastErrorProperty(task), msg},
            {AttemptsProperty(task), std::to_string(AttemptCount(t, task) + 1)}}}};
}

json ResumeUpdate(const TableMetadata& t) {
  json updates = json::object();
  for (Task task : {Task::kCompact, Task::kExpireSnapshots, Task::kRemoveOrphanFiles})
    if (auto n = IntProperty(t, FailuresProperty(task)); n && *n > 0)
      updates[FailuresProperty(task)] = "0";
  if (updates.empty()) return json();
  return {{"action", "set-properties"}, {"updates", updates}};
}

json RecordRunUpdate(const TableMetadata& t, Task task, int64_t now_ms,
                     std::optional<int64_t> main) {
  json updates = {{LastRunProperty(task), std::to_string(now_ms)},
                  {kLastTaskProperty, TaskName(task)},
                  {FailuresProperty(task), "0"},
                  {AttemptsProperty(task), std::to_string(AttemptCount(t, task) + 1)}};
  if (main) updates[LastSnapshotProperty(task)] = std::to_string(*main);
  return {{"action", "set-properties"}, {"updates", updates}};
}

FactsEvaluation EvaluateFacts(const FactsInput& in) {
  const TableMetadata& t = *in.table;
  const TablePolicy& p = *in.policy;
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(in.now.time_since_epoch()).count();
  EvaluateInput e;
  e.triggers = p.triggers;
  e.min_interval_ms = p.min_interval_ms;
  e.now_ms = now_ms;
  if (auto it = t.properties.find(kLastTaskProperty); it != t.properties.end())
    e.last_fired = TaskNamed(it->second);
  TableChange since_compaction;
  std::vector<TaskVerdict> suspended;
  for (Task task : p.Tasks()) {
    if (int64_t n = FailureCount(t, task, p.revision); n >= p.suspend_after_failures) {
      std::string why = std::string(TaskName(task)) + " is suspended after " + std::to_string(n) +
                        " consecutive failures";
      if (auto e = t.properties.find(LastErrorProperty(task)); e != t.properties.end())
        why += " (last: " + e->second + ")";
      suspended.push_back({task, false, {why}});
      continue;
    }
    TaskInput ti;
    ti.task = task;
    ti.last_run_ms = IntProperty(t, LastRunProperty(task));
    ti.change = ChangeSince(t, IntProperty(t, LastSnapshotProperty(task)),
                            ti.last_run_ms.value_or(INT64_MIN));
    if (ti.last_run_ms && (!e.table_last_run_ms || *ti.last_run_ms > *e.table_last_run_ms))
      e.table_last_run_ms = ti.last_run_ms;
    if (task == Task::kCompact) since_compaction = ti.change;
    e.tasks.push_back(std::move(ti));
  }
  if (p.compaction) {
    e.small_files = in.small_files != nullptr
                        ? *in.small_files
                        : EstimateSmallFiles(since_compaction, p.compaction->target_file_size_bytes);
  }
  FactsEvaluation out;
  static_cast<Evaluation&>(out) = Evaluate(e);
  out.suspended = std::move(suspended);
  return out;
}

json EvaluatePolicy(const FactsInput& in) {
  FactsEvaluation ev = EvaluateFacts(in);
  json fired = json::array(), not_fired = json::array(), suspended = json::array();
  for (const auto& v : ev.fired) fired.push_back(VerdictJson(v));
  for (const auto& v : ev.not_fired) not_fired.push_back(VerdictJson(v));
  for (const auto& v : ev.suspended) suspended.push_back(VerdictJson(v));
  return {{"fired", fired},
          {"not_fired", not_fired},
          {"suspended", suspended},
          {"rate_limited", ev.rate_limited},
          {"next_check_ms", ev.next_check_ms}};
}

}  // namespace converge::iceberg
