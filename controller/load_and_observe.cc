#include "controller/load_and_observe.h"

#include <algorithm>
#include <future>
#include <utility>

namespace converge {
namespace {

// Backend documents by name and revision: equal lists configure the same backends.
std::vector<std::pair<std::string, std::string>> BackendIdentity(const DocumentList& docs) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Document& d : docs)
    if (d.kind == "Backend") out.emplace_back(d.name, d.revision);
  std::sort(out.begin(), out.end());
  return out;
}

struct Early {
  std::vector<std::pair<std::string, std::string>> identity;
  Result<BackendSet> set = InternalError("not connected");
  Observed observed;
};

}  // namespace

Status LoadAndObserve(const std::string& dir, const KindRegistry& registry,
                      const std::string& instance, Clock& clock, const ConnectOptions& options,
                      LoadedWorld& out) {
  std::future<Early> early;
  out.specs = LoadSpecs(dir, registry, LoadLimits{}, [&](const DocumentList& backends) {
    LoadResult first;
    first.documents = backends;  // shared, not copied
    early = std::async(std::launch::async, [&clock, &options, instance, first = std::move(first)] {
      Early e;
      e.identity = BackendIdentity(first.documents);
      e.set = ConnectBackends(BackendsOf(first), instance, clock, options);
      if (!e.set.ok()) return e;
      for (auto& [name, rec] : e.set->reconcilers)
        if (!rec->ObserveNeedsSpecs()) e.observed.emplace(name, rec->Observe());
      return e;
    });
  });
  Observed observed;
  bool connected = false;
  if (early.valid()) {
    Early e = early.get();
    if (e.set.ok() && e.identity == BackendIdentity(out.specs.documents)) {
      out.backends = std::move(*e.set);
      observed = std::move(e.observed);
      connected = true;
    }
  }
  if (!connected) {
    auto set = ConnectBackends(BackendsOf(out.specs), instance, clock, options);
    if (!set.ok()) return set.status();
    out.backends = std::move(*set);
  }
  BindSpecs(out.backends, out.specs);
  auto live = ObserveAll(out.backends, std::move(observed));
  if (!live.ok()) return live.status();
  out.live = std::move(*live);
  return Status::Ok();
}

}  // namespace converge
