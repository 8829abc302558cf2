#include "reconcilers/marathon/emulator.h"

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

// ---------------------------------------------------------------------------------------------
// Emulator
// ---------------------------------------------------------------------------------------------

Emulator::Emulator(EmulatorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Emulator::~Emulator() = default;

void Emulator::Mount(httplib::Server& server, const std::string& prefix) {
  MountUnderPrefix(server, prefix,
                   [this](const httplib::Request& req, httplib::Response& res,
                          const std::string& rest) { Handle(req, res, rest); });
}

void Emulator::Handle(const httplib::Request& req, httplib::Response& res,
                      const std::string& path) {
  Reply reply;
  bool mutated = false;
  std::function<void()> observer;
  try {
    std::lock_guard<std::mutex> lock(impl_->mu);
    SteadyTime now = impl_->options.now();
    mutated = impl_->Advance(now);
    reply = impl_->Route(req, path, now, &mutated);
    observer = impl_->observer;
  } catch (const std::exception& e) {
    reply = MessageReply(500, std::string("emulator error: ") + e.what());
  }
  res.status = reply.status;
  for (const auto& [k, v] : reply.headers) res.set_header(k, v);
  if (!reply.content_type.empty()) res.set_content(reply.body, reply.content_type.c_str());
  if (mutated && observer) observer();
}

void Emulator::SetTransitionMs(int ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->transition_ms = std::max(0, ms);
}

int Emulator::TransitionMs() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->transition_ms;
}

std::map<std::string, std::string> Emulator::AdminAliases() const {
  return {{"deploy-ms", "transition-ms"}, {"unhealthy-images", "failing-images"}};
}

void Emulator::SetFailingImages(std::vector<std::string> images) {
  std::function<void()> observer;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->failing_images = std::set<std::string>(images.begin(), images.end());
    observer = impl_->observer;
  }
  if (observer) observer();
}

std::vector<std::string> Emulator::FailingImages() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return {impl_->failing_images.begin(), impl_->failing_images.end()};
}

void Emulator::Reset() {
  std::function<void()> observer;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->apps.clear();
    impl_->deployments.clear();
    impl_->by_end.clear();
    impl_->service_ports.clear();
    impl_->next_service_port = kServicePortMin;
    impl_->next_host_port = kHostPortMin;
    observer = impl_->observer;
  }
  if (observer) observer();
}

nlohmann::json Emulator::ExportState() const {
  return json::parse(SerializeState());
}

std::string Emulator::SerializeState() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Export(impl_->options.now());
}

Status Emulator::ImportState(const nlohmann::json& state) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  try {
    return impl_->Import(state, impl_->options.now());
  } catch (const std::exception& e) {
    return InvalidError(std::string("malformed emulator state: ") + e.what());
  }
}

void Emulator::SetMutationObserver(std::function<void()> observer) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->observer = std::move(observer);
}

}  // namespace converge::marathon
