// Fault rules of the emulator scaffold: what `POST /_admin/faults` adds and how a rule is matched
// against a request and fired (controller/sandbox/sandbox.h documents every member).
//
// A rule matches a request by backend (a mounted emulator's name or "*"), method, a regex searched
// in the path below the mount, and the emulator's FaultTarget; `count` and `rate` (a seeded RNG,
// so a test run is repeatable) decide whether it fires. Rules are tried in order; the first that
// fires applies. Thread-safe.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "specs/base/status.h"

namespace converge::emulator {

struct FaultRule {
  int id = 0;
  std::string backend = "*";
  std::string method = "*";
  std::string path_regex;
  std::regex regex;
  std::string target;  // exact FaultTarget of the request; "" = any
  int status = 0;      // 0 = no answer of its own (latency, a reset or "after" only)
  int count = -1;      // remaining fires; -1 = unlimited
  double rate = 1.0;
  int latency_ms = 0;
  std::string retry_after;
  std::string body;
  bool reset_connection = false;  // drop the connection instead of routing the request
  bool after = false;             // route the request (state changes), then drop the connection
  int fired = 0;

  nlohmann::json ToJson() const;
};

// Parses an admin fault body. `backends` are the names a rule may name besides "*".
Result<FaultRule> ParseFaultRule(const nlohmann::json& body,
                                 const std::vector<std::string>& backends);

// What a request is matched on.
struct FaultRequest {
  std::string backend;  // mounted name; "" = outside every mount
  std::string method;
  std::string path;  // below the mount
  std::string target;
};

class FaultRules {
 public:
  explicit FaultRules(std::vector<std::string> backends) : backends_(std::move(backends)) {}

  // Parses and appends a rule; the answer is the rule as GET lists it.
  Result<nlohmann::json> Add(const nlohmann::json& body);
  nlohmann::json List() const;  // {"faults": [...]}
  size_t Clear();               // also reseeds the RNG
  // The first rule that fires for `req` (its fire counted), or nullopt.
  std::optional<FaultRule> Fire(const FaultRequest& req);

 private:
  static constexpr uint64_t kSeed = 0x5eed;
  const std::vector<std::string> backends_;
  mutable std::mutex mu_;
  std::vector<FaultRule> rules_;
  int next_id_ = 1;
  std::mt19937_64 rng_{kSeed};
};

}  // namespace converge::emulator
