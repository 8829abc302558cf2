// Marathon REST API v2 client (the subset converge needs), on the shared HTTP client.
// Auth: HTTP Basic or DC/OS `Authorization: token=…`. A 409 "locked by deployment" is waited out
// (the running deployment is polled until it is gone, then the call is repeated) up to a limit.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/common/http.h"
#include "specs/backend.h"

namespace converge::marathon {

struct DeploymentRef {
  std::string deployment_id;
  std::string version;
};

struct ClientOptions {
  std::chrono::milliseconds lock_wait{std::chrono::minutes(5)};
  std::chrono::milliseconds poll_interval{500};
  http::RetryPolicy retry;
  http::TransportOptions transport;
};

class Client {
 public:
  Client(std::string base_url, std::unique_ptr<http::Transport> transport,
         const ClientOptions& options, Clock& clock);

  // Builds a client from a Backend: resolves the auth secret (never logged), TLS options.
  static Result<std::unique_ptr<Client>> FromBackend(const BackendConfig& backend,
                                                     const ClientOptions& options, Clock& clock);

  // GET /v2/apps?embed=apps.deployments&embed=apps.counts — one call for every app. The answer
  // is read as a stream: `visit` gets each app as it arrives, and only the app being read is
  // held (neither the body nor the tree of 10,000 apps). When a retry starts the list again
  // after some apps were visited, `restart` is called first: forget what was visited.
  Status ListApps(const std::function<void(json&& app)>& visit,
                  const std::function<void()>& restart);
  // GET /v2/apps/{id}; nullopt when it does not exist.
  Result<std::optional<json>> GetApp(const std::string& id);
  // PUT /v2/apps/{id}?partialUpdate=…&force=…
  Result<DeploymentRef> PutApp(const std::string& id, const json& body, bool partial_update,
                               bool force);
  // DELETE /v2/apps/{id}?force=…
  Result<DeploymentRef> DeleteApp(const std::string& id, bool force);
  // GET /v2/deployments → ids still running.
  Result<std::vector<std::string>> RunningDeployments();

  http::Client& http() { return *http_; }

 private:
  // Sends; on 409 "locked by one or more deployments" waits for those deployments to finish
  // and retries, up to lock_wait.
  Result<http::Response> SendWaitingOutLocks(http::Request req);
  Status ErrorFrom(const http::Request& req, const http::Response& resp) const;
  std::string AppUrl(const std::string& id) const;

  std::string base_url_;
  std::unique_ptr<http::Client> http_;
  ClientOptions options_;
  Clock& clock_;
};

}  // namespace converge::marathon
