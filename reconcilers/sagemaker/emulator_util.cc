// SageMaker emulator: replies, small helpers, validation messages in the service's words.
#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string_view>
#include <utility>

#include "reconcilers/common/aws_sigv4.h"
#include "reconcilers/common/base64.h"
#include "reconcilers/common/emulator/mount.h"
#include "reconcilers/sagemaker/emulator_internal.h"
#include "reconcilers/sagemaker/model.h"
#include "specs/base/ascii.h"

namespace converge::sagemaker {
namespace emulator_detail {

Reply Ok(json body) {
  return {200, std::move(body)};
}

Reply Error(int status, const std::string& code, const std::string& message) {
  return {status, {{"__type", code}, {"message", message}}};
}

Reply Modeled(const std::string& code, const std::string& message) {
  return {400, {{"__type", code}, {"Message", message}}};
}

Reply Validation(const std::string& message) {
  return Error(400, "ValidationException", message);
}

Reply Serialization(const std::string& message) {
  return Error(400, "SerializationException", message);
}

double WallSeconds(WallTime t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count() / 1000.0;
}

std::string Quoted(const std::string& arn) {
  return "\"" + arn + "\"";
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string ResolvedImage(const std::string& image) {
  std::string repo = image;
  size_t at = repo.find('@');
  if (at != std::string::npos) return image;  // already a digest
  size_t colon = repo.rfind(':');
  size_t slash = repo.rfind('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    repo = repo.substr(0, colon);
  }
  return repo + "@sha256:" + Sha256Hex(image);
}

std::string PageToken(size_t offset) {
  return Base64Encode("converge-sandbox/page/" + std::to_string(offset));
}

std::optional<size_t> PageOffset(const std::string& token) {
  auto raw = Base64Decode(token);
  const std::string prefix = "converge-sandbox/page/";
  if (!raw || raw->rfind(prefix, 0) != 0) return std::nullopt;
  std::string digits = raw->substr(prefix.size());
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoul(digits);
}

std::optional<double> ParseTimestamp(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  const std::string s = v.get<std::string>();
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (!s.empty() && end == s.c_str() + s.size()) return d;
  std::tm tm{};
  double seconds = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%lf", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &seconds) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_sec = 0;
  return double(timegm(&tm)) + seconds;
}

std::optional<WallTime> ParseAmzDate(const std::string& s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  std::tm tm{};
  if (std::sscanf(s.c_str(), "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

int JsonDepth(std::string_view text, int limit) {
  int depth = 0;
  int max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max_depth = std::max(max_depth, ++depth);
      if (max_depth > limit) return max_depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return max_depth;
}

const json& Shapes() {
  return ServiceModel()["shapes"];
}

json FilterToShape(const json& obj, const std::string& shape) {
  json out = json::object();
  auto it = Shapes().find(shape);
  if (it == Shapes().end() || !obj.is_object()) return out;
  const json& members = it->value("members", json::object());
  for (const auto& [k, v] : obj.items()) {
    if (members.contains(k)) out[k] = v;
  }
  return out;
}

std::string AwsMemberPath(const json& body, const std::string& pointer) {
  std::string out;
  const json* cur = &body;
  size_t pos = 1;
  while (pos <= pointer.size() && !pointer.empty()) {
    size_t next = pointer.find('/', pos);
    std::string token =
        pointer.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    std::string unescaped;
    for (size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size()) {
        unescaped += token[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        unescaped += token[i];
      }
    }
    if (!out.empty()) out += '.';
    if (cur != nullptr && cur->is_array()) {
      size_t index = std::strtoul(unescaped.c_str(), nullptr, 10);
      out += std::to_string(index + 1) + ".member";
      cur = index < cur->size() ? &(*cur)[index] : nullptr;
    } else {
      std::string member = unescaped;
      if (!member.empty()) {
        member[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(member[0])));
      }
      out += member;
      cur = cur != nullptr && cur->is_object() && cur->contains(unescaped) ? &(*cur)[unescaped]
                                                                           : nullptr;
    }
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return out;
}

std::string AwsValue(const json& body, const std::string& pointer) {
  try {
    const json& v = body.at(json::json_pointer(pointer));
    std::string text = v.is_string() ? v.get<std::string>()
                                     : v.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() > 256) text = text.substr(0, 253) + "...";
    return "'" + text + "'";
  } catch (const std::exception&) {
    return "null";
  }
}

std::string Between(const std::string& s, const std::string& open, const std::string& close) {
  size_t a = s.find(open);
  if (a == std::string::npos) return "";
  a += open.size();
  size_t b = s.find(close, a);
  return b == std::string::npos ? "" : s.substr(a, b - a);
}

std::string NumberText(const json& v) {
  if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()) {
    return std::to_string(static_cast<long long>(v.get<double>()));
  }
  return v.dump();
}

std::string AwsConstraint(const json& body, const PathDiagnostic& d) {
  const std::string& m = d.message;
  const std::string shape_name = Between(m + ")", "(shape ", ")");
  const json* shape = nullptr;
  if (auto it = Shapes().find(shape_name); it != Shapes().end()) shape = &*it;
  const bool sized =
      shape != nullptr && (shape->value("type", "") == "string" ||
                           shape->value("type", "") == "list" || shape->value("type", "") == "map");
  if (m.rfind("missing required field ", 0) == 0) {
    std::string member = Between(m, "missing required field ", " ");
    if (member.empty()) member = m.substr(std::string("missing required field ").size());
    std::string path = AwsMemberPath(body, d.path);
    std::string lower = member;
    if (!lower.empty()) {
      lower[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(lower[0])));
    }
    return "Value null at '" + (path.empty() ? lower : path + "." + lower) +
           "' failed to satisfy constraint: Member must not be null";
  }
  std::string prefix = "Value " + AwsValue(body, d.path) + " at '" + AwsMemberPath(body, d.path) +
                       "' failed to satisfy constraint: ";
  if (shape != nullptr) {
    if (m.find("must match the pattern") != std::string::npos && shape->contains("pattern")) {
      return prefix + "Member must satisfy regular expression pattern: " +
             (*shape)["pattern"].get<std::string>();
    }
    if (m.find("must be one of") != std::string::npos && shape->contains("enum")) {
      std::string set;
      for (const auto& e : (*shape)["enum"])
        set += (set.empty() ? "" : ", ") + e.get<std::string>();
      return prefix + "Member must satisfy enum value set: [" + set + "]";
    }
    bool at_least = m.find("at least") != std::string::npos;
    bool at_most = m.find("at most") != std::string::npos;
    if ((at_least && shape->contains("min")) || (at_most && shape->contains("max"))) {
      std::string bound = NumberText((*shape)[at_least ? "min" : "max"]);
      std::string relation = at_least ? "greater than or equal to " : "less than or equal to ";
      return prefix + (sized ? "Member must have length " : "Member must have value ") + relation +
             bound;
    }
  }
  return prefix + m;
}

bool IsSerializationProblem(const std::string& message) {
  return message.rfind("expected ", 0) == 0 || message.rfind("unknown field", 0) == 0 ||
         message.rfind("integer out of range", 0) == 0 ||
         message.rfind("nested too deeply", 0) == 0 || message.rfind("internal:", 0) == 0;
}

const JobInfo& Info(const Job& j) {
  return kJobInfo[j.kind];
}

std::string Capitalized(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace emulator_detail

}  // namespace converge::sagemaker
