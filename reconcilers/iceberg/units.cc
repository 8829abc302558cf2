#include "reconcilers/iceberg/units.h"

#include <cstdio>
#include <ctime>
#include <limits>
#include <utility>

namespace converge::iceberg {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// `whole * 10^-frac_digits * mult` as an exact int64, if it is a whole number and fits.
bool Scale(uint64_t digits, int frac_digits, int64_t mult, int64_t* out) {
  __int128 v = static_cast<__int128>(digits) * mult;
  __int128 div = 1;
  for (int i = 0; i < frac_digits; ++i) div *= 10;
  if (v % div != 0) return false;
  v /= div;
  if (v > kMax) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

}  // namespace

Result<int64_t> ParseSize(const json& value) {
  const std::string expected =
      "expected bytes as an integer or a string such as 512MiB, 10GiB or 1.5TB "
      "(units B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)";
  if (value.is_number_unsigned() || value.is_number_integer()) {
    if (value.is_number_integer() && !value.is_number_unsigned() && value.get<int64_t>() < 0)
      return InvalidError("a size must not be negative");
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(kMax))
      return InvalidError("a size must fit in 64 bits");
    return value.get<int64_t>();
  }
  if (!value.is_string()) return InvalidError(expected);
  const std::string s = value.get<std::string>();
  size_t i = 0;
  uint64_t digits = 0;
  int ndigits = 0, frac = 0;
  bool dot = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.' && !dot && ndigits > 0) {
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') break;
    if (++ndigits > 18) return InvalidError("size " + s + " is too large");
    digits = digits * 10 + static_cast<uint64_t>(c - '0');
    if (dot) ++frac;
  }
  if (ndigits == 0 || (dot && frac == 0)) return InvalidError(expected + ", got \"" + s + "\"");
  if (i < s.size() && s[i] == ' ') ++i;
  std::string unit = s.substr(i);
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"B", 1},
      {"KB", 1000LL},
      {"MB", 1000LL * 1000},
      {"GB", 1000LL * 1000 * 1000},
      {"TB", 1000LL * 1000 * 1000 * 1000},
      {"PB", 1000LL * 1000 * 1000 * 1000 * 1000},
      {"KiB", 1LL << 10},
      {"MiB", 1LL << 20},
      {"GiB", 1LL << 30},
      {"TiB", 1LL << 40},
      {"PiB", 1LL << 50},
  };
  for (const auto& [name, mult] : kUnits) {
    if (unit != name) continue;
    int64_t out = 0;
    if (!Scale(digits, frac, mult, &out))
      return InvalidError("size " + s + " is not a whole number of bytes or does not fit 64 bits");
    return out;
  }
  return InvalidError(expected + ", got \"" + s + "\"");
}

Result<int64_t> ParseDurationMs(const std::string& s) {
  const std::string expected =
      "expected a duration such as 10m, 24h, 5d or 1h30m (units ms, s, m, h, d)";
  if (s.empty()) return InvalidError(expected);
  __int128 total = 0;
  size_t i = 0;
  while (i < s.size()) {
    uint64_t n = 0;
    int nd = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (++nd > 15) return InvalidError("duration " + s + " is too long");
      n = n * 10 + static_cast<uint64_t>(s[i++] - '0');
    }
    if (nd == 0) return InvalidError(expected + ", got \"" + s + "\"");
    int64_t mult = 0;
    if (s.compare(i, 2, "ms") == 0) {
      mult = 1, i += 2;
    } else if (i < s.size()) {
      switch (s[i]) {
        case 's':
          mult = 1000;
          break;
        case 'm':
          mult = 60 * 1000;
          break;
        case 'h':
          mult = 3600 * 1000;
          break;
        case 'd':
          mult = 86400LL * 1000;
          break;
        default:
          break;
      }
      if (mult != 0) ++i;
    }
    if (mult == 0) return InvalidError(expected + ", got \"" + s + "\"");
    total += static_cast<__int128>(n) * mult;
    if (total > kMax) return InvalidError("duration " + s + " is too long");
  }
  return static_cast<int64_t>(total);
}

std::string FormatCount(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string FormatBytes(int64_t bytes) {
  static const char* kNames[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  int unit = 0;
  double v = static_cast<double>(bytes) / 1024;
  int64_t div = 1024;
  while (unit < 4 && bytes / div >= 1024) {
    ++unit;
    div *= 1024;
    v /= 1024;
  }
  if (bytes % div == 0) return std::to_string(bytes / div) + " " + kNames[unit];
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f %s", v, kNames[unit]);
  return buf;
}

std::string FormatDurationMs(int64_t ms) {
  if (ms <= 0) return "0s";
  if (ms < 1000 || ms % 1000 != 0) return std::to_string(ms) + "ms";
  int64_t s = ms / 1000;
  std::string out;
  const std::pair<int64_t, const char*> kParts[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  for (const auto& [len, name] : kParts) {
    if (s >= len) {
      out += std::to_string(s / len) + name;
      s %= len;
    }
  }
  return out;
}

std::string FormatTimeMs(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace converge::iceberg
