// ASCII helpers for protocol text (header names, INI keys, URL schemes): locale-independent, so a
// Turkish locale cannot turn "I" into a dotless i in an HTTP header name.
#pragma once

#include <string>
#include <string_view>

namespace converge {

inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

inline bool AsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// `s` without leading and trailing ASCII whitespace.
inline std::string_view TrimAsciiSpace(std::string_view s) {
  while (!s.empty() && AsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && AsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace converge
