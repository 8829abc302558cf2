// Marathon emulator: replies, path and query helpers, label selectors.
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include "reconcilers/common/base64.h"
#include "reconcilers/common/emulator/mount.h"
#include "reconcilers/marathon/emulator_internal.h"
#include "specs/base/clock.h"

namespace converge::marathon {
namespace emulator_detail {

Reply JsonReply(int status, const json& body) {
  Reply r;
  r.status = status;
  r.body = body.dump();
  return r;
}

Reply MessageReply(int status, const std::string& message) {
  return JsonReply(status, json{{"message", message}});
}

Reply AppNotFound(const std::string& id) {
  return MessageReply(404, "App '" + id + "' does not exist");
}

json DetailsJson(const std::vector<Violation>& violations) {
  json details = json::array();
  std::map<std::string, size_t> index;
  for (const Violation& v : violations) {
    auto [it, inserted] = index.emplace(v.path, details.size());
    if (inserted) details.push_back({{"path", v.path}, {"errors", json::array()}});
    details[it->second]["errors"].push_back(v.error);
  }
  return details;
}

Reply InvalidJsonReply(const std::vector<Violation>& violations) {
  return JsonReply(400, {{"message", "Invalid JSON"}, {"details", DetailsJson(violations)}});
}

Reply NotValidReply(const std::vector<Violation>& violations) {
  return JsonReply(422, {{"message", "Object is not valid"}, {"details", DetailsJson(violations)}});
}

Reply DeploymentResultReply(int status, const std::string& deployment_id,
                            const std::string& version) {
  Reply r = JsonReply(status, {{"deploymentId", deployment_id}, {"version", version}});
  r.headers.emplace_back("Marathon-Deployment-Id", deployment_id);
  return r;
}

std::string FormatNumber(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string NewUuid(std::mt19937_64& rng) {
  uint64_t hi = rng();
  uint64_t lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", uint32_t(hi >> 32),
                uint32_t((hi >> 16) & 0xffff), uint32_t(hi & 0xffff), uint32_t(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

std::string UrlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<std::string> QueryParam(const httplib::Request& req, const std::string& name) {
  size_t q = req.target.find('?');
  if (q == std::string::npos) return std::nullopt;
  std::string_view query = std::string_view(req.target).substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    size_t eq = part.find('=');
    if (UrlDecode(std::string(part.substr(0, eq))) == name) {
      return eq == std::string_view::npos ? "" : UrlDecode(std::string(part.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool IsTrue(const httplib::Request& req, const char* name, bool default_value) {
  if (!req.has_param(name)) return default_value;
  std::string v = req.get_param_value(name);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return default_value;
}

bool ValidSegment(std::string_view s) {
  if (s == "." || s == "..") return true;
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view label =
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::optional<std::string> ResolvePath(const std::string& raw, const std::string& base) {
  std::vector<std::string> parts;
  auto push_all = [&parts](const std::string& s) -> bool {
    size_t start = 0;
    while (start <= s.size()) {
      size_t slash = s.find('/', start);
      std::string seg =
          s.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      if (!seg.empty() && seg != ".") {
        if (!ValidSegment(seg)) return false;
        if (seg == "..") {
          if (parts.empty()) return false;
          parts.pop_back();
        } else {
          parts.push_back(seg);
        }
      }
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    return true;
  };
  if (raw.empty() || raw[0] != '/') {
    if (!push_all(base)) return std::nullopt;
  }
  if (!push_all(raw)) return std::nullopt;
  std::string out;
  for (const std::string& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::string ParentOf(const std::string& id) {
  size_t slash = id.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return id.substr(0, slash);
}

std::string TaskPrefix(const std::string& id) {
  std::string s = id.size() > 1 ? id.substr(1) : id;
  std::replace(s.begin(), s.end(), '/', '_');
  return s;
}

std::optional<LabelSelector> ParseSelector(const std::string& term) {
  SelectorScanner sc(term);
  LabelSelector sel;
  sel.key = sc.Word();
  if (sel.key.empty()) return std::nullopt;
  if (sc.AtEnd()) return sel;
  auto parse_set = [&]() -> bool {
    if (!sc.Consume("(")) return false;
    while (true) {
      sel.values.push_back(sc.Word());
      if (sc.Consume(")")) return true;
      if (!sc.Consume(",")) return false;
    }
  };
  if (sc.Consume("==")) {
    sel.op = LabelSelector::kEquals;
    sel.values.push_back(sc.Word());
  } else if (sc.Consume("!=")) {
    sel.op = LabelSelector::kNotEquals;
    sel.values.push_back(sc.Word());
  } else if (sc.Consume("notin")) {
    sel.op = LabelSelector::kNotIn;
    if (!parse_set()) return std::nullopt;
  } else if (sc.Consume("in")) {
    sel.op = LabelSelector::kIn;
    if (!parse_set()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (!sc.AtEnd()) return std::nullopt;
  return sel;
}

std::optional<std::vector<LabelSelector>> ParseLabelQuery(const std::string& query) {
  std::vector<std::string> terms;
  std::string current;
  int depth = 0;
  for (size_t i = 0; i < query.size(); ++i) {
    char c = query[i];
    if (c == '\\' && i + 1 < query.size()) {
      current += c;
      current += query[++i];
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      terms.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  terms.push_back(current);
  std::vector<LabelSelector> out;
  for (const std::string& t : terms) {
    auto sel = ParseSelector(t);
    if (!sel) return std::nullopt;
    out.push_back(std::move(*sel));
  }
  return out;
}

}  // namespace emulator_detail

}  // namespace converge::marathon
