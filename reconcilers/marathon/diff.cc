#include "reconcilers/marathon/diff.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>
#include <vector>

namespace converge::marathon {
namespace {

// Documents come from hostile YAML (the loader already caps nesting far lower); beyond this depth
// subtrees are compared and reported whole.
constexpr int kMaxDepth = 256;

// One step of a field path: an object key or an array index.
struct Segment {
  bool is_index = false;
  std::string key;
  size_t index = 0;

  bool operator<(const Segment& o) const {
    if (is_index != o.is_index) return is_index;  // never mixed at one level in practice
    return is_index ? index < o.index : key < o.key;
  }
};
using Path = std::vector<Segment>;

// Path with one more segment, popped when the guard goes out of scope.
class Push {
 public:
  Push(Path& path, const std::string& key) : path_(path) { path_.push_back({false, key, 0}); }
  Push(Path& path, size_t index) : path_(path) { path_.push_back({true, "", index}); }
  ~Push() { path_.pop_back(); }

 private:
  Path& path_;
};

std::string Dump(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Keys that read well after a dot: env names, Marathon member names.
bool IsPlainKey(const std::string& key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// container.docker.image, env.LOG_LEVEL, healthChecks[0].path, labels["converge.io/managed-by"]
std::string DisplayPath(const Path& path) {
  std::string out;
  for (const Segment& s : path) {
    if (s.is_index) {
      out += "[" + std::to_string(s.index) + "]";
    } else if (IsPlainKey(s.key)) {
      out += (out.empty() ? "" : ".") + s.key;
    } else {
      out += "[" + Dump(json(s.key)) + "]";
    }
  }
  return out;
}

const json* Find(const json* obj, const std::string& key) {
  if (obj == nullptr || !obj->is_object()) return nullptr;
  auto it = obj->find(key);
  return it == obj->end() ? nullptr : &*it;
}

bool IsAbsent(const json* v) {
  return v == nullptr || v->is_null();
}

// Marathon omits empty collections (the RAML "omitEmpty" pragma) and returns null for unset
// members, so null, {} and [] all mean "nothing here".
bool IsEmpty(const json* v) {
  return IsAbsent(v) || ((v->is_object() || v->is_array()) && v->empty());
}

bool HasContainer(const json& array) {
  return std::any_of(array.begin(), array.end(),
                     [](const json& e) { return e.is_object() || e.is_array(); });
}

bool NumbersEqual(const json& a, const json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    if (a.is_number_unsigned() != b.is_number_unsigned()) {
      const json& s = a.is_number_unsigned() ? b : a;
      const json& u = a.is_number_unsigned() ? a : b;
      return s.get<int64_t>() >= 0 && static_cast<uint64_t>(s.get<int64_t>()) == u.get<uint64_t>();
    }
    return a == b;
  }
  return a.get<long double>() == b.get<long double>();
}

// Equality with numbers by value, without recursion (values may nest arbitrarily deep).
bool DeepEqual(const json& a, const json& b) {
  std::vector<std::pair<const json*, const json*>> stack = {{&a, &b}};
  while (!stack.empty()) {
    auto [x, y] = stack.back();
    stack.pop_back();
    if (x->is_number() && y->is_number()) {
      if (!NumbersEqual(*x, *y)) return false;
    } else if (x->type() != y->type() || x->size() != y->size()) {
      return false;
    } else if (x->is_object()) {
      for (auto it = x->begin(); it != x->end(); ++it) {
        auto other = y->find(it.key());
        if (other == y->end()) return false;
        stack.push_back({&*it, &*other});
      }
    } else if (x->is_array()) {
      for (size_t i = 0; i < x->size(); ++i) stack.push_back({&(*x)[i], &(*y)[i]});
    } else if (*x != *y) {
      return false;
    }
  }
  return true;
}

// A copy for display; containers nested deeper than `depth_left` become a marker string, so a
// hostile value never makes the (recursive) json copy overflow the stack.
json CopyBounded(const json& v, int depth_left = kMaxDepth) {
  if (!v.is_structured()) return v;
  if (depth_left <= 0) return "(nested too deeply to show)";
  json out = v.is_object() ? json::object() : json::array();
  if (v.is_object()) {
    for (const auto& [k, x] : v.items()) out[k] = CopyBounded(x, depth_left - 1);
  } else {
    for (const json& x : v) out.push_back(CopyBounded(x, depth_left - 1));
  }
  return out;
}

bool IsIntegerZero(const json& v) {
  return v.is_number() && v.get<double>() == 0.0;
}

// A desired 0 for these means "Marathon assigns a port"; `ports` is the deprecated array of them.
bool IsAssignedPortKey(const std::string& key) {
  return key == "servicePort" || key == "port" || key == "hostPort" || key == "containerPort" ||
         key == "ports";
}

// Does live value `l` (nullptr = absent) satisfy desired value `d`? Only what `d` sets counts.
// `key` is the member name holding `d` (for array elements: the array's member name).
bool Satisfied(const json& d, const json* l, const std::string& key, int depth) {
  if (d.is_null()) return true;  // unset
  if (depth > kMaxDepth) return l != nullptr && DeepEqual(d, *l);
  if (IsAbsent(l)) {
    if (d.is_array()) return d.empty();
    if (!d.is_object()) return false;
    for (const auto& [k, v] : d.items()) {
      if (!Satisfied(v, nullptr, k, depth + 1)) return false;
    }
    return true;
  }
  if (d.is_object()) {
    if (!l->is_object()) return false;
    for (const auto& [k, v] : d.items()) {
      if (!Satisfied(v, Find(l, k), k, depth + 1)) return false;
    }
    return true;
  }
  if (d.is_array()) {
    if (!l->is_array() || l->size() != d.size()) return false;
    for (size_t i = 0; i < d.size(); ++i) {
      if (!Satisfied(d[i], &(*l)[i], key, depth + 1)) return false;
    }
    return true;
  }
  if (d.is_number() && l->is_number()) {
    if (IsAssignedPortKey(key) && IsIntegerZero(d)) return true;
    return NumbersEqual(d, *l);
  }
  return d == *l;
}

// Equality for resets: numbers by value, null == {} == [] == absent, objects by key union.
bool Same(const json* a, const json* b, int depth) {
  if (IsEmpty(a) && IsEmpty(b)) return true;
  if (IsAbsent(a) || IsAbsent(b)) return false;
  if (depth > kMaxDepth) return DeepEqual(*a, *b);
  if (a->is_number() && b->is_number()) return NumbersEqual(*a, *b);
  if (a->is_object() && b->is_object()) {
    for (const auto& [k, v] : a->items()) {
      if (!Same(&v, Find(b, k), depth + 1)) return false;
    }
    for (const auto& [k, v] : b->items()) {
      if (!a->contains(k) && !IsEmpty(&v)) return false;
    }
    return true;
  }
  if (a->is_array() && b->is_array()) {
    if (a->size() != b->size()) return false;
    for (size_t i = 0; i < a->size(); ++i) {
      if (!Same(&(*a)[i], &(*b)[i], depth + 1)) return false;
    }
    return true;
  }
  return *a == *b;
}

class Differ {
 public:
  // Records the fields where live `l` does not satisfy desired `d`, as finely as the rules allow.
  void Compare(const json& d, const json* l, const std::string& key, int depth) {
    if (Satisfied(d, l, key, depth)) return;
    if (depth < kMaxDepth && d.is_object() && (IsAbsent(l) || l->is_object())) {
      for (const auto& [k, v] : d.items()) {
        Push p(path_, k);
        Compare(v, Find(l, k), k, depth + 1);
      }
      return;
    }
    if (depth < kMaxDepth && d.is_array() && !IsAbsent(l) && l->is_array() &&
        l->size() == d.size() && HasContainer(d)) {
      for (size_t i = 0; i < d.size(); ++i) {
        Push p(path_, i);
        Compare(d[i], &(*l)[i], key, depth + 1);
      }
      return;
    }
    Record(l, d);
  }

  // Members of `last` (applied last time) that `desired` no longer sets: back to `dflt` (the
  // default of that member, nullptr if none), shown while live still differs. Recurses into
  // objects both documents still have, and into equally long arrays element by element.
  void Reset(const json& last, const json& desired, const json* live, const json* dflt, int depth) {
    if (!last.is_object() || !desired.is_object() || depth > kMaxDepth) return;
    for (const auto& [k, last_value] : last.items()) {
      const json* d = Find(&desired, k);
      const json* l = Find(live, k);
      const json* def = Find(dflt, k);
      Push p(path_, k);
      if (IsAbsent(d)) {
        json target = def ? *def : json();
        const json* effective = IsAbsent(l) && def ? def : l;  // absent live = the default
        if (!Same(effective, &target, depth + 1)) Record(l, target);
      } else if (last_value.is_object() && d->is_object()) {
        Reset(last_value, *d, l, def, depth + 1);
      } else if (last_value.is_array() && d->is_array() && last_value.size() == d->size()) {
        ResetElements(last_value, *d, l, depth + 1);
      }
    }
  }

  // Arrays of the same length in both documents: members removed from an element go away
  // (healthChecks[0].timeoutSeconds). Elements have no known defaults.
  void ResetElements(const json& last, const json& desired, const json* live, int depth) {
    bool live_aligned = !IsAbsent(live) && live->is_array() && live->size() == desired.size();
    for (size_t i = 0; i < desired.size(); ++i) {
      Push p(path_, i);
      Reset(last[i], desired[i], live_aligned ? &(*live)[i] : nullptr, nullptr, depth);
    }
  }

  // Every leaf of `v` as a change from nothing (for a create).
  void Leaves(const json& v, int depth) {
    if (v.is_null()) return;
    if (depth < kMaxDepth && v.is_object() && !v.empty()) {
      for (const auto& [k, x] : v.items()) {
        Push p(path_, k);
        Leaves(x, depth + 1);
      }
    } else if (depth < kMaxDepth && v.is_array() && HasContainer(v)) {
      for (size_t i = 0; i < v.size(); ++i) {
        Push p(path_, i);
        Leaves(v[i], depth + 1);
      }
    } else {
      Record(nullptr, v);
    }
  }

  Path& path() { return path_; }

  // The changes sorted by path.
  std::vector<std::pair<Path, FieldChange>> Take() {
    std::stable_sort(changes_.begin(), changes_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    return std::move(changes_);
  }

 private:
  // One change at the current path; `before` nullptr = absent.
  void Record(const json* before, const json& after) {
    FieldChange c{DisplayPath(path_), IsAbsent(before) ? json() : CopyBounded(*before),
                  CopyBounded(after)};
    changes_.push_back({path_, std::move(c)});
  }

  Path path_;
  std::vector<std::pair<Path, FieldChange>> changes_;
};

// A short rendering of a value for the reason line.
std::string Short(const json& v) {
  std::string s = Dump(v);
  constexpr size_t kMax = 40;
  if (s.size() <= kMax) return s;
  size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return s.substr(0, cut) + "…";
}

// "instances 2 → 4", "cpus 1 → 2", "image and 2 other fields changed".
std::string Reason(const std::vector<std::pair<Path, FieldChange>>& changes) {
  const FieldChange& first = changes.front().second;
  if (changes.size() == 1) {
    if (first.before.is_primitive() && first.after.is_primitive()) {
      return first.path + " " + Short(first.before) + " → " + Short(first.after);
    }
    return first.path + " changed";
  }
  // The image is what people look for first in a plan.
  auto image = std::find_if(changes.begin(), changes.end(), [](const auto& c) {
    return c.second.path == "container.docker.image";
  });
  std::string headline = image != changes.end() ? "image" : first.path;
  size_t others = changes.size() - 1;
  return headline + " and " + std::to_string(others) + " other field" + (others == 1 ? "" : "s") +
         " changed";
}

DiffResult Finish(Action changed_action, std::vector<std::pair<Path, FieldChange>> changes) {
  DiffResult r;
  if (changes.empty()) {
    r.reason = "up to date";
    return r;
  }
  r.action = changed_action;
  r.reason = Reason(changes);
  for (auto& [_, c] : changes) r.fields.push_back(std::move(c));
  return r;
}

}  // namespace

json AppDefinition(const json& live_app_info) {
  static const char* const kServerPopulated[] = {
      "version",      "versionInfo",     "tasksStaged", "tasksRunning",
      "tasksHealthy", "tasksUnhealthy",  "deployments", "readinessCheckResults",
      "tasks",        "lastTaskFailure", "tasksStats",  "taskStats",
      "counts"};
  if (!live_app_info.is_object()) return live_app_info;
  json def = live_app_info;
  for (const char* member : kServerPopulated) def.erase(member);
  for (auto it = def.begin(); it != def.end();) {
    it = it->is_null() ? def.erase(it) : std::next(it);
  }
  return def;
}

json AppDefault(const std::string& member) {
  static const json kDefaults = json::parse(R"json({
    "acceptedResourceRoles": null,
    "args": [],
    "backoffFactor": 1.15,
    "backoffSeconds": 1,
    "constraints": [],
    "cpus": 1,
    "dependencies": [],
    "disk": 0,
    "env": {},
    "executor": "",
    "fetch": [],
    "gpus": 0,
    "healthChecks": [],
    "instances": 1,
    "killSelection": "YOUNGEST_FIRST",
    "labels": {},
    "maxLaunchDelaySeconds": 300,
    "mem": 128,
    "readinessChecks": [],
    "requirePorts": false,
    "secrets": {},
    "unreachableStrategy": {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
    "upgradeStrategy": {"minimumHealthCapacity": 1, "maximumOverCapacity": 1},
    "uris": []
  })json");
  auto it = kDefaults.find(member);
  return it == kDefaults.end() ? json() : *it;
}

DiffResult DiffApp(const json& desired, const json& live, const json& last_applied) {
  if (desired.is_null() && live.is_null()) return Finish(Action::kNoop, {});
  if (desired.is_null()) {
    DiffResult r;
    r.action = Action::kDelete;
    r.reason = "app is not in any spec";
    return r;
  }
  Differ differ;
  if (live.is_null()) {
    differ.Leaves(desired, 0);
    DiffResult r = Finish(Action::kCreate, differ.Take());
    r.action = Action::kCreate;
    r.reason = "app does not exist";
    return r;
  }
  if (!desired.is_object()) {
    differ.Compare(desired, &live, "", 0);
    return Finish(Action::kUpdate, differ.Take());
  }
  for (const auto& [member, value] : desired.items()) {
    Push p(differ.path(), member);
    const json* l = Find(&live, member);
    // Live leaving a member out means Marathon's default; before still shows what live says.
    json def = AppDefault(member);
    if (IsAbsent(l) && !def.is_null() && Satisfied(value, &def, member, 1)) continue;
    differ.Compare(value, l, member, 1);
  }
  if (last_applied.is_object()) {
    json defaults = json::object();
    for (const auto& [member, _] : last_applied.items()) defaults[member] = AppDefault(member);
    differ.Reset(last_applied, desired, &live, &defaults, 0);
  }
  std::vector<std::pair<Path, FieldChange>> changes = differ.Take();
  bool only_instances =
      !changes.empty() && std::all_of(changes.begin(), changes.end(),
                                      [](auto& c) { return c.first.front().key == "instances"; });
  return Finish(only_instances ? Action::kScale : Action::kUpdate, std::move(changes));
}

}  // namespace converge::marathon
