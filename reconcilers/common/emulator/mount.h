// Serving an emulator under a path prefix of the sandbox's HTTP server (cpp-httplib): every
// method on PREFIX and PREFIX/..., the handler gets the rest of the path ("/" for PREFIX).
#pragma once

#include <httplib.h>

#include <functional>
#include <string>
#include <string_view>

namespace converge {

using EmulatorHandler =
    std::function<void(const httplib::Request&, httplib::Response&, const std::string& rest)>;

inline void MountUnderPrefix(httplib::Server& server, const std::string& prefix,
                             EmulatorHandler handle) {
  std::string escaped;  // the prefix is literal text inside a regex
  for (char c : prefix) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) escaped += '\\';
    escaped += c;
  }
  const std::string pattern = escaped + "(/.*)?";
  auto handler = [handle = std::move(handle)](const httplib::Request& req, httplib::Response& res) {
    std::string rest = req.matches.size() > 1 ? std::string(req.matches[1]) : "";
    handle(req, res, rest.empty() ? "/" : rest);
  };
  server.Get(pattern, handler);
  server.Post(pattern, handler);
  server.Put(pattern, handler);
  server.Patch(pattern, handler);
  server.Delete(pattern, handler);
}

}  // namespace converge
