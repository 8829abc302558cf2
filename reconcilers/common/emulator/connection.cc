#include "reconcilers/common/emulator/connection.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>

namespace converge::emulator {
namespace {

int PortOf(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return -1;
}

}  // namespace

bool ResetConnection(const httplib::Request& req) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  bool done = false;
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t local_len = sizeof local;
    socklen_t peer_len = sizeof peer;
    if (getsockname(int(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    if (getpeername(int(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    if (PortOf(local) != req.local_port || PortOf(peer) != req.remote_port) continue;
    linger l{1, 0};
    setsockopt(int(fd), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    shutdown(int(fd), SHUT_RDWR);
    done = true;
    break;
  }
  closedir(dir);
  return done;
}

void DropConnection(const httplib::Request& req, httplib::Response& res) {
  if (ResetConnection(req)) {
    res.status = 500;
    return;
  }
  res.status = 200;
  res.set_content_provider(1024, "application/json",
                           [](size_t, size_t, httplib::DataSink&) { return false; });
}

}  // namespace converge::emulator
