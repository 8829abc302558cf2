// The YARN emulator served in-process on an ephemeral port (active RM at /yarn, standby at
// /yarn-standby, admin routes at /_admin/yarn), with a fake wall clock the tests advance.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "reconcilers/yarn/emulator.h"

namespace converge::yarn {

struct YarnResp {
  int status = 0;
  nlohmann::json body;
  std::string raw;
  httplib::Headers headers;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class YarnEmulatorTest : public ::testing::Test {
 protected:
  static constexpr int kStep = 100;  // transition_ms

  void TearDown() override { StopServer(); }

  void StartServer(EmulatorOptions options = {}) {
    options.now_ms = [this] { return now_.load(); };
    if (options.transition_ms == 500) options.transition_ms = kStep;
    emulator_ = std::make_unique<Emulator>(options);
    server_ = std::make_unique<httplib::Server>();
    emulator_->Mount(*server_, "/yarn");
    emulator_->MountAdmin(*server_, "/_admin/yarn");
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
  }

  void StopServer() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    client_.reset();
    server_.reset();
    emulator_.reset();
  }

  void Advance(int64_t ms) { now_ += ms; }

  // `path` is absolute (e.g. "/yarn/ws/v1/cluster/apps").
  YarnResp Call(const std::string& method, const std::string& path, const std::string& body = "") {
    httplib::Result r(nullptr, httplib::Error::Unknown);
    const char* type = "application/json";
    if (method == "GET") r = client_->Get(path.c_str());
    if (method == "POST") r = client_->Post(path.c_str(), body, type);
    if (method == "PUT") r = client_->Put(path.c_str(), body, type);
    if (method == "DELETE") r = client_->Delete(path.c_str());
    YarnResp out;
    if (!r) {
      ADD_FAILURE() << method << " " << path << ": no response";
      return out;
    }
    out.status = r->status;
    out.raw = r->body;
    out.headers = r->headers;
    out.body = nlohmann::json::parse(r->body, nullptr, false);
    return out;
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // Runs new-application and submit as `user`; returns the application id.
  std::string Submit(const nlohmann::json& extra = nlohmann::json::object(),
                     const std::string& user = "alice") {
    YarnResp id = Call("POST", "/yarn/ws/v1/cluster/apps/new-application?user.name=" + user);
    EXPECT_EQ(id.status, 200) << id.raw;
    std::string app_id = id.body.value("application-id", "");
    nlohmann::json body = {{"application-id", app_id}, {"application-name", "job"}};
    body.update(extra);
    YarnResp r = Call("POST", "/yarn/ws/v1/cluster/apps?user.name=" + user, body.dump());
    EXPECT_EQ(r.status, 202) << r.raw;
    return app_id;
  }

  std::atomic<int64_t> now_{1700000000000};
  std::unique_ptr<Emulator> emulator_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace converge::yarn
