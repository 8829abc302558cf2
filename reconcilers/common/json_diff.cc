#include "reconcilers/common/json_diff.h"

#include <algorithm>
#include <map>
#include <utility>

namespace converge::json_diff {
namespace {

// Documents come from hostile YAML (the loader already caps nesting far lower); beyond this depth
// subtrees are compared and reported whole.
constexpr int kMaxDepth = 256;

// One step of a field path: an object member, an array position, or an array element named by
// its key member's value.
struct Segment {
  enum Kind { kMember, kIndex, kMatch } kind = kMember;
  std::string key;  // member name, or the element's key value
  size_t index = 0;

  bool operator<(const Segment& o) const {
    if (kind != o.kind) return kind < o.kind;  // never mixed at one level in practice
    return kind == kIndex ? index < o.index : key < o.key;
  }
};
using Path = std::vector<Segment>;

std::string Dump(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Keys that read well after a dot: env names, member names, variant names.
bool IsPlainKey(const std::string& key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string DisplayPath(const Path& path) {
  std::string out;
  for (const Segment& s : path) {
    if (s.kind == Segment::kIndex) {
      out += "[" + std::to_string(s.index) + "]";
    } else if (s.kind == Segment::kMatch) {
      out += "[" + (IsPlainKey(s.key) ? s.key : Dump(json(s.key))) + "]";
    } else if (IsPlainKey(s.key)) {
      out += (out.empty() ? "" : ".") + s.key;
    } else {
      out += "[" + Dump(json(s.key)) + "]";
    }
  }
  return out;
}

// The member path of Options::ignored / Options::whole: keys only, joined by '.'.
std::string MemberPath(const Path& path) {
  std::string out;
  for (const Segment& s : path) {
    if (s.kind != Segment::kMember) continue;
    out += (out.empty() ? "" : ".") + s.key;
  }
  return out;
}

const json* Find(const json* obj, const std::string& key) {
  if (obj == nullptr || !obj->is_object()) return nullptr;
  auto it = obj->find(key);
  return it == obj->end() ? nullptr : &*it;
}

bool IsNull(const json* v) {
  return v == nullptr || v->is_null();
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

// The elements of `array` by the string value of `key`, or empty when one lacks it or two share
// it (then the array is matched by index).
std::map<std::string, const json*> ByKey(const json& array, const std::string& key) {
  std::map<std::string, const json*> out;
  for (const json& e : array) {
    const json* k = Find(&e, key);
    if (k == nullptr || !k->is_string() || !out.emplace(k->get<std::string>(), &e).second) {
      return {};
    }
  }
  return out;
}

class Differ {
 public:
  explicit Differ(const Options& o) : o_(o), tracking_(!o.ignored.empty() || !o.whole.empty()) {}

  // Records the fields where live `l` does not satisfy desired `d`, as finely as the rules
  // allow. `def` is the server default at this path (nullptr: none).
  void Compare(const json& d, const json* l, const json* def, const std::string& member,
               int depth) {
    if (Skipped()) return;
    if (IsNull(l) && !IsNull(def) && Satisfied(d, def, member, depth)) return;
    if (Satisfied(d, l, member, depth)) return;
    if (depth < kMaxDepth && !Whole() && d.is_object() && (IsNull(l) || l->is_object())) {
      for (const auto& [k, v] : d.items()) {
        Push p(path_, {Segment::kMember, k, 0});
        Compare(v, Find(l, k), Find(def, k), k, depth + 1);
      }
      if (!o_.subset && !IsNull(l)) {
        for (const auto& [k, v] : l->items()) {
          if (d.contains(k)) continue;
          Push p(path_, {Segment::kMember, k, 0});
          Compare(json(), &v, nullptr, k, depth + 1);
        }
      }
      return;
    }
    if (depth < kMaxDepth && !Whole() && d.is_array() && !IsNull(l) && l->is_array()) {
      if (auto keyed = Keyed(d, *l, member); !keyed.first.empty()) {
        for (const auto& [name, e] : keyed.first) {
          Push p(path_, {Segment::kMatch, name, 0});
          auto other = keyed.second.find(name);
          Compare(*e, other == keyed.second.end() ? nullptr : other->second, nullptr, member,
                  depth + 1);
        }
        for (const auto& [name, e] : keyed.second) {
          if (keyed.first.count(name)) continue;
          Push p(path_, {Segment::kMatch, name, 0});
          if (!Skipped()) Record(e, json());  // an element the desired array no longer has
        }
        return;
      }
      if (l->size() == d.size() && HasContainer(d)) {
        for (size_t i = 0; i < d.size(); ++i) {
          Push p(path_, {Segment::kIndex, "", i});
          Compare(d[i], &(*l)[i], nullptr, member, depth + 1);
        }
        return;
      }
    }
    Record(l, d);
  }

  // Members of `last` (applied last time) that `desired` no longer sets: back to `def` (the
  // default of that member, nullptr if none), shown while live still differs. Recurses into
  // objects both documents still have, and into arrays element by element (by key or index).
  void Reset(const json& last, const json& desired, const json* live, const json* def, int depth) {
    if (!last.is_object() || !desired.is_object() || depth > kMaxDepth) return;
    for (const auto& [k, last_value] : last.items()) {
      const json* d = Find(&desired, k);
      const json* l = Find(live, k);
      const json* dk = Find(def, k);
      Push p(path_, {Segment::kMember, k, 0});
      if (Skipped()) continue;
      if (IsNull(d)) {
        json target = dk ? *dk : json();
        const json* effective = IsNull(l) && dk ? dk : l;  // absent live = the default
        if (!Same(effective, &target, depth + 1)) Record(l, target);
      } else if (Whole()) {
        continue;  // compared as one value by Compare
      } else if (last_value.is_object() && d->is_object()) {
        Reset(last_value, *d, l, dk, depth + 1);
      } else if (last_value.is_array() && d->is_array()) {
        ResetElements(last_value, *d, l, k, depth + 1);
      }
    }
  }

  // Every leaf of `v` as a change from nothing (for a create).
  void Leaves(const json& v, const std::string& member, int depth) {
    if (v.is_null() || Skipped()) return;
    if (depth < kMaxDepth && !Whole() && v.is_object() && !v.empty()) {
      for (const auto& [k, x] : v.items()) {
        Push p(path_, {Segment::kMember, k, 0});
        Leaves(x, k, depth + 1);
      }
    } else if (depth < kMaxDepth && !Whole() && v.is_array() && HasContainer(v)) {
      const bool keyed = !Keyed(v, v, member).first.empty();
      for (size_t i = 0; i < v.size(); ++i) {
        Segment s{Segment::kIndex, "", i};
        if (keyed) s = {Segment::kMatch, v[i].at(KeyOf(member)).get<std::string>(), 0};
        Push p(path_, s);
        Leaves(v[i], member, depth + 1);
      }
    } else {
      Record(nullptr, v);
    }
  }

  // The changes sorted by path.
  std::vector<FieldChange> Take() {
    std::stable_sort(changes_.begin(), changes_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<FieldChange> out;
    out.reserve(changes_.size());
    for (auto& [_, c] : changes_) out.push_back(std::move(c));
    return out;
  }

 private:
  using KeyedElements =
      std::pair<std::map<std::string, const json*>, std::map<std::string, const json*>>;

  // Path with one more segment, popped when the guard goes out of scope.
  class Push {
   public:
    Push(Path& path, Segment s) : Push(path, true, std::move(s)) {}
    // Only when `active`: the path is kept only where someone reads it.
    Push(Path& path, bool active, Segment s) : path_(path), active_(active) {
      if (active_) path_.push_back(std::move(s));
    }
    ~Push() {
      if (active_) path_.pop_back();
    }

   private:
    Path& path_;
    bool active_;
  };

  std::string KeyOf(const std::string& member) const {
    return o_.array_key ? o_.array_key(member) : std::string();
  }

  // Both arrays' elements by key when the array of `member` is matched by key and both can be
  // (non-empty, every element keyed, keys distinct); else two empty maps.
  KeyedElements Keyed(const json& a, const json& b, const std::string& member) const {
    const std::string key = KeyOf(member);
    if (key.empty() || a.empty() || b.empty()) return {};
    KeyedElements out{ByKey(a, key), ByKey(b, key)};
    if (out.first.size() != a.size() || out.second.size() != b.size()) return {};
    return out;
  }

  bool Skipped() const { return !o_.ignored.empty() && o_.ignored.count(MemberPath(path_)); }
  bool Whole() const { return !o_.whole.empty() && o_.whole.count(MemberPath(path_)); }

  bool Absent(const json* v) const {
    return IsNull(v) || (o_.empty_is_absent && v->is_structured() && v->empty());
  }

  // Does live value `l` (nullptr = absent) satisfy desired value `d`? Subset mode: only what
  // `d` sets counts. `member` names the member holding `d` (for elements: the array's). Walks
  // the path as it goes, so ignored and whole members are recognised at any depth.
  bool Satisfied(const json& d, const json* l, const std::string& member, int depth) {
    if (Skipped()) return true;
    if (d.is_null()) return o_.subset || Absent(l);
    if (Absent(&d) && Absent(l)) return true;
    if (depth > kMaxDepth || Whole()) return l != nullptr && DeepEqual(d, *l);
    if (IsNull(l)) {
      if (!o_.subset || !d.is_object()) return false;
      for (const auto& [k, v] : d.items()) {
        Push p(path_, tracking_, {Segment::kMember, k, 0});
        if (!Satisfied(v, nullptr, k, depth + 1)) return false;
      }
      return true;
    }
    if (d.is_object()) {
      if (!l->is_object()) return false;
      for (const auto& [k, v] : d.items()) {
        Push p(path_, tracking_, {Segment::kMember, k, 0});
        if (!Satisfied(v, Find(l, k), k, depth + 1)) return false;
      }
      if (!o_.subset) {
        for (const auto& [k, v] : l->items()) {
          if (d.contains(k)) continue;
          Push p(path_, tracking_, {Segment::kMember, k, 0});
          if (!Skipped() && !Absent(&v)) return false;
        }
      }
      return true;
    }
    if (d.is_array()) {
      if (!l->is_array() || l->size() != d.size()) return false;
      if (auto keyed = Keyed(d, *l, member); !keyed.first.empty()) {
        for (const auto& [name, e] : keyed.first) {
          auto other = keyed.second.find(name);
          if (other == keyed.second.end()) return false;
          Push p(path_, tracking_, {Segment::kMatch, name, 0});
          if (!Satisfied(*e, other->second, member, depth + 1)) return false;
        }
        return true;
      }
      for (size_t i = 0; i < d.size(); ++i) {
        Push p(path_, tracking_, {Segment::kIndex, "", i});
        if (!Satisfied(d[i], &(*l)[i], member, depth + 1)) return false;
      }
      return true;
    }
    if (o_.matches_any && o_.matches_any(member, d)) return true;
    if (d.is_number() && l->is_number()) return NumbersEqual(d, *l);
    return d == *l;
  }

  // Equality for resets: numbers by value, empty == absent where the backend says so, objects
  // by member union.
  bool Same(const json* a, const json* b, int depth) const {
    if (Absent(a) && Absent(b)) return true;
    if (IsNull(a) || IsNull(b)) return false;
    if (depth > kMaxDepth) return DeepEqual(*a, *b);
    if (a->is_number() && b->is_number()) return NumbersEqual(*a, *b);
    if (a->is_object() && b->is_object()) {
      for (const auto& [k, v] : a->items()) {
        if (!Same(&v, Find(b, k), depth + 1)) return false;
      }
      for (const auto& [k, v] : b->items()) {
        if (!a->contains(k) && !Absent(&v)) return false;
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

  // Arrays in both last_applied and desired: members removed from an element go away
  // (healthChecks[0].timeoutSeconds). Elements are paired by key where the array is keyed, else
  // by index when both have the same length. Elements have no known defaults.
  void ResetElements(const json& last, const json& desired, const json* live,
                     const std::string& member, int depth) {
    if (auto keyed = Keyed(last, desired, member); !keyed.second.empty()) {
      std::map<std::string, const json*> live_keyed;
      if (!IsNull(live) && live->is_array()) live_keyed = ByKey(*live, KeyOf(member));
      for (const auto& [name, d] : keyed.second) {
        auto l = keyed.first.find(name);
        if (l == keyed.first.end()) continue;
        auto lv = live_keyed.find(name);
        Push p(path_, {Segment::kMatch, name, 0});
        Reset(*l->second, *d, lv == live_keyed.end() ? nullptr : lv->second, nullptr, depth);
      }
      return;
    }
    if (last.size() != desired.size()) return;
    bool live_aligned = !IsNull(live) && live->is_array() && live->size() == desired.size();
    for (size_t i = 0; i < desired.size(); ++i) {
      Push p(path_, {Segment::kIndex, "", i});
      Reset(last[i], desired[i], live_aligned ? &(*live)[i] : nullptr, nullptr, depth);
    }
  }

  // One change at the current path; `before` nullptr = absent.
  void Record(const json* before, const json& after) {
    FieldChange c{DisplayPath(path_), IsNull(before) ? json() : CopyBounded(*before),
                  CopyBounded(after)};
    changes_.push_back({path_, std::move(c)});
  }

  const Options& o_;
  const bool tracking_;  // Satisfied walks the path only when ignored / whole members need it
  Path path_;
  std::vector<std::pair<Path, FieldChange>> changes_;
};

}  // namespace

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

std::vector<FieldChange> Diff(const json& desired, const json& live, const json& last_applied,
                              const Options& options) {
  Differ differ(options);
  const json* def = options.defaults.is_null() ? nullptr : &options.defaults;
  differ.Compare(desired, live.is_null() ? nullptr : &live, def, "", 0);
  if (last_applied.is_object() && desired.is_object()) {
    differ.Reset(last_applied, desired, live.is_null() ? nullptr : &live, def, 0);
  }
  return differ.Take();
}

std::vector<FieldChange> Leaves(const json& doc, const Options& options) {
  Differ differ(options);
  differ.Leaves(doc, "", 0);
  return differ.Take();
}

}  // namespace converge::json_diff
