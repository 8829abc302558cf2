#include "reconcilers/sagemaker/model.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>

#include "reconcilers/common/json_schema.h"

namespace converge::sagemaker {

extern const std::string_view kServiceModelText;  // generated from model/service-subset.json

namespace {

constexpr size_t kMaxDiagnostics = 100;
constexpr int kMaxDepth = 64;

// JSON pointer token escaping (RFC 6901): map keys may hold '/' or '~'.
std::string PointerToken(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Quote(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

// Patterns are compiled once (RE2, linear time). AWS matches the whole value (Java's
// Matcher.matches), so each is wrapped in ^(?:...)$. Patterns RE2 cannot run in linear time
// (lookahead, lookbehind) or that repeat more than 1000 times are not checked: botocore does not
// check patterns at all, so this is a bonus, never a gap.
const SchemaPattern* PatternFor(const std::string& pattern) {
  static std::mutex mu;
  static std::map<std::string, std::optional<SchemaPattern>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    auto compiled = SchemaPattern::Compile("^(?:" + pattern + ")$");
    std::optional<SchemaPattern> p;
    if (compiled.ok()) p = std::move(compiled).value();
    it = cache.emplace(pattern, std::move(p)).first;
  }
  return it->second ? &*it->second : nullptr;
}

class Checker {
 public:
  Checker(const json& shapes, const ShapeCheckOptions& options, std::vector<PathDiagnostic>& out)
      : shapes_(shapes), options_(options), out_(out) {}

  void Check(json& value, const std::string& shape_name, const std::string& path, int depth,
             bool top) {
    if (full()) return;
    if (depth > kMaxDepth) {
      Add(path, "nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)");
      return;
    }
    auto it = shapes_.find(shape_name);
    if (it == shapes_.end()) {
      Add(path, "internal: shape " + shape_name + " missing from the service model");
      return;
    }
    const json& shape = *it;
    const std::string type = shape.value("type", "");
    if (type == "structure") {
      CheckStructure(value, shape_name, shape, path, depth, top);
    } else if (type == "list") {
      if (!value.is_array()) return Expected(path, "a list", shape_name, value);
      CheckCount(value.size(), shape, path, shape_name, "items");
      for (size_t i = 0; i < value.size() && !full(); ++i)
        Check(value[i], shape["member"]["shape"], path + "/" + std::to_string(i), depth + 1,
              false);
    } else if (type == "map") {
      if (!value.is_object()) return Expected(path, "a mapping", shape_name, value);
      CheckCount(value.size(), shape, path, shape_name, "entries");
      for (auto& [k, v] : value.items()) {
        if (full()) break;
        json key = k;
        Check(key, shape["key"]["shape"], path + "/" + PointerToken(k), depth + 1, false);
        Check(v, shape["value"]["shape"], path + "/" + PointerToken(k), depth + 1, false);
      }
    } else if (type == "string") {
      CheckString(value, shape_name, shape, path);
    } else if (type == "integer" || type == "long") {
      CheckInteger(value, shape_name, shape, path, type);
    } else if (type == "float" || type == "double") {
      if (!value.is_number()) return Expected(path, "a number", shape_name, value);
      CheckRange(value.get<double>(), shape, path, shape_name);
    } else if (type == "boolean") {
      if (!value.is_boolean()) return Expected(path, "true or false", shape_name, value);
    } else if (type == "timestamp") {
      if (!value.is_number() && !value.is_string())
        return Expected(path, "a timestamp (epoch seconds or ISO 8601)", shape_name, value);
    } else if (type == "blob") {
      if (!value.is_string()) return Expected(path, "base64 text", shape_name, value);
    }
  }

 private:
  bool full() const { return out_.size() >= start_ + kMaxDiagnostics; }

  void Add(const std::string& path, std::string message, Severity s = Severity::kError) {
    if (s == Severity::kError && full()) return;
    // The only warning of a shape check is a numeric string converted.
    out_.push_back({path, std::move(message), s, s == Severity::kWarning ? "numeric-string" : ""});
  }

  void Expected(const std::string& path, const std::string& what, const std::string& shape,
                const json& got) {
    Add(path, "expected " + what + " (shape " + shape + "), got " + Quote(got));
  }

  void CheckStructure(json& value, const std::string& shape_name, const json& shape,
                      const std::string& path, int depth, bool top) {
    if (!value.is_object()) return Expected(path, "a mapping", shape_name, value);
    const json& members = shape.contains("members") ? shape["members"] : json::object();
    for (const auto& req : shape.value("required", json::array())) {
      const std::string r = req.get<std::string>();
      if (!value.contains(r)) Add(path, "missing required field " + r + " (shape " + shape_name + ")");
    }
    for (auto& [k, v] : value.items()) {
      if (full()) return;
      auto m = members.find(k);
      if (m == members.end()) {
        bool extra = false;
        if (top)
          for (const auto& e : options_.extra_top_level) extra = extra || e == k;
        if (!extra) Add(path + "/" + PointerToken(k), UnknownMember(k, members, shape_name));
        continue;
      }
      Check(v, (*m)["shape"], path + "/" + PointerToken(k), depth + 1, false);
    }
  }

  // "unknown field "Imgae" in ContainerDefinition (did you mean Image?)": members are
  // case-sensitive PascalCase, and a wrong case is the most common mistake.
  static std::string UnknownMember(const std::string& k, const json& members,
                                   const std::string& shape_name) {
    std::string msg = "unknown field \"" + k + "\" in " + shape_name;
    std::string lower_k;
    for (char c : k) lower_k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& [name, _] : members.items()) {
      std::string lower;
      for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == lower_k) return msg + " (did you mean " + name + "?)";
    }
    if (members.size() <= 12) {
      msg += "; expected one of:";
      for (const auto& [name, _] : members.items()) msg += " " + name;
    }
    return msg;
  }

  void CheckCount(size_t n, const json& shape, const std::string& path,
                  const std::string& shape_name, const char* what) {
    if (shape.contains("min") && n < shape["min"].get<double>())
      Add(path, "needs at least " + shape["min"].dump() + " " + what + " (shape " + shape_name +
                    "), has " + std::to_string(n));
    if (options_.service_constraints && shape.contains("max") && n > shape["max"].get<double>())
      Add(path, "allows at most " + shape["max"].dump() + " " + what + " (shape " + shape_name +
                    "), has " + std::to_string(n));
  }

  void CheckRange(double v, const json& shape, const std::string& path,
                  const std::string& shape_name) {
    if (shape.contains("min") && v < shape["min"].get<double>())
      Add(path, "must be at least " + shape["min"].dump() + " (shape " + shape_name + ")");
    if (options_.service_constraints && shape.contains("max") && v > shape["max"].get<double>())
      Add(path, "must be at most " + shape["max"].dump() + " (shape " + shape_name + ")");
  }

  void CheckInteger(json& value, const std::string& shape_name, const json& shape,
                    const std::string& path, const std::string& type) {
    if (value.is_string() && options_.coerce_numeric_strings) {
      const std::string s = value.get<std::string>();
      int64_t n = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (!s.empty() && ec == std::errc() && end == s.data() + s.size()) {
        Add(path, "numeric string \"" + s + "\" converted to integer", Severity::kWarning);
        value = n;
      }
    }
    if (value.is_number_float()) {
      double d = value.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) value = int64_t(d);
    }
    if (!value.is_number_integer())
      return Expected(path, type == "long" ? "an integer (64-bit)" : "an integer", shape_name,
                      value);
    if (type == "integer") {
      int64_t n = value.is_number_unsigned() &&
                          value.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())
                      ? std::numeric_limits<int64_t>::max()
                      : value.get<int64_t>();
      if (n > std::numeric_limits<int32_t>::max() || n < std::numeric_limits<int32_t>::min())
        return Add(path, "integer out of range for a 32-bit integer (shape " + shape_name + ")");
    }
    CheckRange(value.get<double>(), shape, path, shape_name);
  }

  void CheckString(const json& value, const std::string& shape_name, const json& shape,
                   const std::string& path) {
    if (!value.is_string()) return Expected(path, "a string", shape_name, value);
    const std::string& s = value.get_ref<const std::string&>();
    size_t n = CodePoints(s);
    if (shape.contains("min") && n < shape["min"].get<double>())
      Add(path, "must be at least " + shape["min"].dump() + " characters long (shape " +
                    shape_name + ")");
    if (!options_.service_constraints) return;
    if (shape.contains("max") && n > shape["max"].get<double>()) {
      Add(path, "must be at most " + shape["max"].dump() + " characters long (shape " +
                    shape_name + ")");
      return;  // no pattern check on oversized input
    }
    if (shape.contains("enum")) {
      bool ok = false;
      for (const auto& e : shape["enum"]) ok = ok || e == value;
      if (!ok) {
        std::string msg = "must be one of";
        size_t shown = 0;
        for (const auto& e : shape["enum"]) {
          if (shown++ == 12) {
            msg += " ... (" + std::to_string(shape["enum"].size()) + " values)";
            break;
          }
          msg += (shown == 1 ? " " : ", ") + e.get<std::string>();
        }
        Add(path, msg + " (shape " + shape_name + "), got " + Quote(value));
      }
    }
    if (shape.contains("pattern")) {
      const std::string pattern = shape["pattern"];
      const SchemaPattern* p = PatternFor(pattern);
      if (p && s.size() <= JsonSchema::kMaxPatternInput && !p->Search(s))
        Add(path, "must match the pattern " + pattern + " (shape " + shape_name + "), got " +
                      Quote(value));
    }
  }

  const json& shapes_;
  const ShapeCheckOptions& options_;
  std::vector<PathDiagnostic>& out_;
  size_t start_ = out_.size();
};

}  // namespace

const json& ServiceModel() {
  static const json* const kModel = new json(json::parse(kServiceModelText));
  return *kModel;
}

std::string InputShapeOf(const std::string& operation) {
  const json& ops = ServiceModel()["operations"];
  auto it = ops.find(operation);
  if (it == ops.end() || !it->contains("input")) return "";
  return (*it)["input"]["shape"];
}

std::string OutputShapeOf(const std::string& operation) {
  const json& ops = ServiceModel()["operations"];
  auto it = ops.find(operation);
  if (it == ops.end() || !it->contains("output")) return "";
  return (*it)["output"]["shape"];
}

void ValidateShape(json& value, const std::string& shape, const std::string& base_path,
                   const ShapeCheckOptions& options, std::vector<PathDiagnostic>& out) {
  Checker(ServiceModel()["shapes"], options, out).Check(value, shape, base_path, 0, true);
}

}  // namespace converge::sagemaker
