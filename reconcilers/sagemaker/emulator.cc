#include "reconcilers/sagemaker/emulator.h"

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

namespace converge::sagemaker {

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
  std::string request_id;
  std::function<void()> observer;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    request_id = impl_->NewRequestId();
    try {
      reply = impl_->Serve(req, path, &mutated);
    } catch (const std::exception& e) {
      reply = Error(500, "InternalFailure", std::string("converge sandbox: ") + e.what());
    }
    observer = impl_->observer;
  }
  res.status = reply.status;
  res.set_header("x-amzn-RequestId", request_id);
  res.set_content(reply.body.dump(-1, ' ', false, json::error_handler_t::replace), kContentType);
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

void Emulator::SetFailingImages(std::vector<std::string> images) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->failing_images = std::set<std::string>(images.begin(), images.end());
}

std::vector<std::string> Emulator::FailingImages() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return {impl_->failing_images.begin(), impl_->failing_images.end()};
}

std::map<std::string, std::string> Emulator::AdminAliases() const {
  return {{"delay-ms", "transition-ms"}};
}

std::string Emulator::FaultTarget(const httplib::Request& req) const {
  return req.get_header_value("X-Amz-Target");
}

void Emulator::AnswerFault(int status, const std::string& body, httplib::Response& res) const {
  std::string text = body;
  if (text.empty()) {
    // An AWS error body: botocore reads the code from "__type".
    text = json{{"__type", status >= 500 ? "InternalFailure" : "ThrottlingException"},
                {"message", "converge sandbox: injected fault"}}
               .dump();
  }
  const bool is_json = !json::parse(text, nullptr, false).is_discarded();
  std::string request_id;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    request_id = impl_->NewRequestId();
  }
  res.status = status;
  res.set_header("x-amzn-RequestId", request_id);
  res.set_content(text, is_json ? kContentType : "text/plain");
}

void Emulator::MountAdmin(httplib::Server& server, const std::string& admin_prefix) {
  const std::string path = admin_prefix + "/requests";
  server.Get(path, [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(json{{"requests", Requests()}}.dump(), "application/json");
  });
  server.Delete(path, [this](const httplib::Request&, httplib::Response& res) {
    ClearRequests();
    res.set_content(json{{"requests", json::array()}}.dump(), "application/json");
  });
}

nlohmann::json Emulator::Requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return json(std::vector<json>(impl_->requests.begin(), impl_->requests.end()));
}

void Emulator::ClearRequests() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->requests.clear();
}

void Emulator::Reset() {
  std::function<void()> observer;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->models.clear();
    impl_->configs.clear();
    impl_->endpoints.clear();
    for (auto& by_name : impl_->jobs) by_name.clear();
    impl_->requests.clear();
    observer = impl_->observer;
  }
  if (observer) observer();
}

nlohmann::json Emulator::ExportState() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Export(impl_->options.now());
}

Status Emulator::ImportState(const nlohmann::json& state) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  try {
    impl_->Import(state, impl_->options.now());
  } catch (const std::exception& e) {
    return InvalidError(std::string("malformed SageMaker emulator state: ") + e.what());
  }
  return Status::Ok();
}

void Emulator::SetMutationObserver(std::function<void()> observer) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->observer = std::move(observer);
}

}  // namespace converge::sagemaker
