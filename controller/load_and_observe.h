// Loading the specs and observing the backends, overlapped. As soon as the files that mention
// kind Backend are loaded (LoadSpecs' OnBackendsLoaded), the backends are connected and the ones
// whose Observe needs no specs (Reconciler::ObserveNeedsSpecs: Marathon's one list of every app)
// are observed while the other files load; the rest are observed after BindSpecs, as always.
//
// The outcome is the one of LoadSpecs, ConnectBackends, BindSpecs and ObserveAll in turn. When
// the Backend documents of the whole load are not the early ones (a duplicate Backend name, a
// Backend that references a missing one...), the early connection and observations are dropped
// and everything after the load is done again.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "controller/backends.h"
#include "specs/loader.h"

namespace converge {

struct LoadedWorld {
  LoadResult specs;
  BackendSet backends;                                 // connected, specs bound
  std::map<std::string, std::vector<LiveObject>> live;  // per backend
};

// Fills `out.specs` whatever happens; a connection or observation error is returned (as
// ConnectBackends / ObserveAll report it) with `out.specs` loaded.
Status LoadAndObserve(const std::string& dir, const KindRegistry& registry,
                      const std::string& instance, Clock& clock, const ConnectOptions& options,
                      LoadedWorld& out);

}  // namespace converge
