// The Iceberg catalog emulator inside a sandbox::Server on an ephemeral port (as `converge
// sandbox` serves it: /iceberg, /_admin/iceberg), with a fake wall clock, a temporary warehouse
// and state file the tests can restart from.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "controller/sandbox/sandbox.h"
#include "reconcilers/iceberg/emulator.h"

namespace converge::iceberg {

struct IceResp {
  int status = 0;
  nlohmann::json body;
  std::string raw;
  httplib::Headers headers;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  std::string ErrorType() const { return body.is_object() ? body["error"].value("type", "") : ""; }
};

class IcebergEmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("converge-iceberg-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    StopServer();
    std::filesystem::remove_all(dir_);
  }

  void StartServer(EmulatorOptions o = {}) {
    o.now_ms = [this] { return now_.load(); };
    o.sleep_ms = [this](int ms) { slept_ms_ += ms; };
    if (o.warehouse.empty()) o.warehouse = (dir_ / "warehouse").string();
    sandbox::Options opts;
    opts.state_file = (dir_ / "state.json").string();
    opts.emulators.push_back({"iceberg", std::make_unique<Emulator>(o)});
    server_ = std::make_unique<sandbox::Server>(std::move(opts));
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  void StopServer() {
    client_.reset();
    if (server_) server_->Stop();
    server_.reset();
  }

  Emulator& emu() { return server_->Get<Emulator>("iceberg"); }

  IceResp Call(const std::string& method, const std::string& path, const std::string& body = "",
               httplib::Headers headers = {}) {
    httplib::Result r(nullptr, httplib::Error::Unknown);
    const char* type = "application/json";
    for (const auto& [k, v] : extra_headers_) headers.emplace(k, v);
    if (method == "GET") r = client_->Get(path, headers);
    if (method == "HEAD") r = client_->Head(path, headers);
    if (method == "POST") r = client_->Post(path, headers, body, type);
    if (method == "DELETE") r = client_->Delete(path, headers);
    IceResp out;
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

  // Appends `commits` snapshots of `files` files of `size` bytes to `table` (created if missing).
  nlohmann::json Append(const std::string& table, int commits, int files, int64_t size = 1000) {
    nlohmann::json req = {{"table", table},
                          {"commits", commits},
                          {"files_per_commit", files},
                          {"file_size_bytes", size}};
    IceResp r = Call("POST", "/_admin/iceberg/append", req.dump());
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body;
  }

  nlohmann::json Load(const std::string& ns, const std::string& table) {
    IceResp r = Call("GET", "/iceberg/v1/namespaces/" + ns + "/tables/" + table);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body;
  }

  IceResp Commit(const std::string& ns, const std::string& table, const nlohmann::json& body) {
    return Call("POST", "/iceberg/v1/namespaces/" + ns + "/tables/" + table, body.dump());
  }

  std::atomic<int64_t> now_{1796200000000};
  std::atomic<int64_t> slept_ms_{0};
  std::filesystem::path dir_;
  std::unique_ptr<sandbox::Server> server_;
  std::unique_ptr<httplib::Client> client_;
  httplib::Headers extra_headers_;
};

}  // namespace converge::iceberg
