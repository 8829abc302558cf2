// The YarnService upgrade flow (reconciler.h): initiate with the full spec and state UPGRADING,
// upgrade the instances that need it in batches, wait for READY, finalize; cancel on failure.
#include <algorithm>
#include <cctype>

#include "reconcilers/yarn/normalise.h"
#include "reconcilers/yarn/reconciler.h"
#include "specs/base/ascii.h"

namespace converge::yarn {
namespace {

// Instance name -> container state, over every component.
std::map<std::string, std::string> InstanceStates(const json& service) {
  std::map<std::string, std::string> out;
  if (!service.is_object()) return out;
  for (const json& c : service.value("components", json::array())) {
    if (!c.is_object()) continue;
    for (const json& ct : c.value("containers", json::array()))
      if (ct.is_object() && ct.contains("component_instance_name"))
        out[ct.value("component_instance_name", "")] = ct.value("state", "");
  }
  return out;
}

int MaxUnavailable(const json& desired) {
  std::string v = Property(desired, kMaxUnavailableProperty);
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9' || n > 100000) return 1;
    n = n * 10 + (c - '0');
  }
  return n < 1 ? 1 : n;
}

}  // namespace

bool IsUpgradeDisabled(const RmResponse& r) {
  if (r.status != 400) return false;
  std::string m = AsciiLower(ServerMessage(r));
  return m.find("upgrade") != std::string::npos &&
         (m.find("disabled") != std::string::npos || m.find("not enabled") != std::string::npos);
}

Status Reconciler::WaitFor(const std::string& name, const std::string& what, Millis timeout,
                           const std::function<bool(const json& service)>& done) {
  auto deadline = clock_.Now() + timeout;
  while (true) {
    auto s = GetService(name);
    if (!s.ok()) return s.status();
    if (done(s->has_value() ? **s : json())) return Status::Ok();
    if (clock_.Now() >= deadline)
      return TimeoutError(name + ": " + what + " did not happen within " +
                          std::to_string(timeout.count() / 1000) + "s");
    if (!clock_.SleepUnless(options_.poll_interval, options_.cancel))
      return CancelledError(name + ": cancelled while waiting: " + what);
  }
}

Status Reconciler::UpgradeBatch(const std::string& name,
                                const std::vector<std::string>& instances, Millis timeout) {
  json body = json::array();
  for (const auto& i : instances)
    body.push_back({{"component_instance_name", i}, {"state", "UPGRADING"}});
  auto r = client_->Call("PUT", ServicePath(name) + "/component-instances", &body);
  if (!r.ok()) return r.status();
  CONVERGE_RETURN_IF_ERROR(StatusFromResponse(*r).Annotate("upgrade instances of " + name));
  std::string failed;
  std::string progress;
  Status st = WaitFor(name, "instances becoming READY after their upgrade", timeout,
                      [&](const json& s) {
    auto states = InstanceStates(s);
    size_t ready = 0;
    for (const auto& i : instances) {
      const std::string& state = states[i];
      if (state == "FAILED_UPGRADE" || state == "FAILED") failed = i + " " + state;
      ready += state == "READY";
    }
    progress = std::to_string(ready) + "/" + std::to_string(instances.size()) + " ready";
    return !failed.empty() || ready == instances.size();
  });
  if (!st.ok()) return st.Annotate(progress);
  if (!failed.empty()) return Status(Code::kUnavailable, "instance " + failed);
  return Status::Ok();
}

Status Reconciler::Upgrade(const std::string& name, const json& desired, Millis timeout) {
  json body = desired;
  body["state"] = "UPGRADING";
  auto r = client_->Call("PUT", ServicePath(name), &body);
  if (!r.ok()) return r.status();
  if (IsUpgradeDisabled(*r))
    return InvalidError("upgrade " + name + ": the ResourceManager refuses upgrades (" +
                        ServerMessage(*r) +
                        "); set `upgrade: disabled` on the Backend, and the annotation "
                        "converge/allowReplace: \"true\" on the spec to replace the service");
  CONVERGE_RETURN_IF_ERROR(StatusFromResponse(*r).Annotate("upgrade " + name));
  const std::string version = desired.value("version", "");
  std::vector<std::string> todo;
  Status st = WaitFor(name, "the upgrade to start", timeout, [&](const json& s) {
    if (!s.is_object() || s.value("state", "") != "UPGRADING") return false;
    todo.clear();
    for (const auto& [instance, state] : InstanceStates(s))
      if (state == "NEEDS_UPGRADE") todo.push_back(instance);
    return true;
  });
  if (st.ok()) {
    const size_t batch = static_cast<size_t>(MaxUnavailable(desired));
    for (size_t i = 0; i < todo.size() && st.ok(); i += batch) {
      std::vector<std::string> chunk(todo.begin() + i,
                                     todo.begin() + std::min(todo.size(), i + batch));
      st = UpgradeBatch(name, chunk, timeout);
    }
  }
  if (st.code() == Code::kCancelled) return st;
  if (st.ok()) return PutService(name, {{"state", "STARTED"}}, "finalize the upgrade of");
  // A batch failed or timed out: cancel (YARN puts the old version back) and let the health
  // check say so, so that the executor rolls back to the snapshot and holds.
  Status cancel = PutService(name, {{"state", "CANCEL_UPGRADING"}}, "cancel the upgrade of");
  MarkFailed(name,
             "upgrade to version " + version + " failed: " + st.message() +
                 (cancel.ok() ? "; upgrade cancelled" : "; cancel failed: " + cancel.message()));
  return Status::Ok();
}

}  // namespace converge::yarn
