// Internal to the YARN emulator (reconcilers/yarn/emulator*.cc): the model (applications,
// services, containers), the reply helpers and the Impl its files implement together. Not an API.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconcilers/yarn/emulator.h"
#include "specs/base/ascii.h"

namespace converge::yarn {
namespace emulator_detail {

using json = nlohmann::json;

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// An application spends one step in each of NEW, SUBMITTED and ACCEPTED before RUNNING.
constexpr int kAmSteps = 3;
constexpr char kServiceAppType[] = "yarn-service";
constexpr size_t kWriteLogSize = 2000;
// RestApiConstants.ERROR_CODE_APP_NAME_INVALID: the code of a GET of an unknown service.
constexpr int kServiceNotFoundCode = 404004;

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

Reply JsonReply(int status, const json& body);
Reply TextReply(int status, const std::string& text);
// {"RemoteException":{"exception":E,"message":M,"javaClassName":C}} as Jersey's exception
// handler writes it.
Reply RemoteError(int status, const std::string& exception, const std::string& message);
// A Services API ServiceStatus (members left out when empty / 0, as Jackson's NON_NULL does).
json ServiceStatusJson(const std::string& diagnostics, const std::string& state = "", int code = 0,
                       const std::string& uri = "");
Reply StatusReply(int status, const std::string& diagnostics, const std::string& state = "",
                  int code = 0, const std::string& uri = "");

std::string ToUpper(std::string s);
std::vector<std::string> SplitComma(const std::string& s);
// Every value of a query parameter, read from the raw request target (httplib's own parsing
// splits a value at each '=', truncating tags such as `converge.io/managed-by=x`).
std::vector<std::string> QueryValues(const httplib::Request& req, const std::string& name);
// The last value, or "" when absent.
std::string QueryValue(const httplib::Request& req, const std::string& name);
bool HasQuery(const httplib::Request& req, const std::string& name);
// A JSON number or numeric string as an integer (Jackson's coercion); nullopt otherwise.
std::optional<int64_t> AsInteger(const json& v);

// An RM application.
struct App {
  std::string id;
  int seq = 0;
  std::string user, name, queue, type;
  std::vector<std::string> tags;  // lowercased, sorted
  std::string command;            // the AM command line
  int memory = 0, vcores = 0, priority = 0;
  int64_t submitted_ms = 0;
  int64_t run_ms = 0;       // < 0: runs until ended (a service's AM)
  int64_t kill_ms = -1;     // when a kill was requested
  int64_t end_ms = -1;      // a service's app: when its service stopped (FINISHED, ENDED)
  std::string fail_reason;  // set at submission: unknown queue
  std::string service;      // the service it runs ("" for a plain application)
  // A plain application's AM command is offered to the other emulators when it would succeed
  // (Emulator::RunCommand): done once; an error fails the application with that diagnostic.
  bool command_done = false;
  std::string command_error;
};

// What an application reports at a moment.
struct AppView {
  std::string state;
  std::string final_status;
  std::string diagnostics;
  int64_t finished_ms = 0;
  double progress = 0;
};

struct Container {
  int index = 0;          // component instance <component>-<index>
  std::string id;         // container_e01_<ts>_<seq>_01_<n>
  int64_t launch_ms = 0;  // visible from then on, RUNNING_BUT_UNREADY
  std::string version;    // the service version its spec is from
  std::string image;      // launch_command + artifact id of that spec (failing check)
  // An instance upgrade in progress: UPGRADING from up_start_ms for one step.
  int64_t up_start_ms = -1;
  std::string up_version, up_image;
};

struct Component {
  std::string name;
  json spec;  // resolved component spec, without state / containers
  std::vector<Container> containers;
  int next_index = 0;
};

struct Service {
  std::string name, version, user, app_id;
  json spec;  // resolved service spec without components, state, id
  std::vector<Component> comps;
  int64_t created_ms = 0;  // the current application's submission
  bool stopped = false;
  int next_container = 2;  // container 1 is the AM
  // An upgrade: "", UPGRADING, UPGRADING_AUTO_FINALIZE, EXPRESS_UPGRADING, CANCEL_UPGRADING.
  std::string upgrade;
  json target;                          // the full spec the upgrade goes to
  json previous;                        // the full spec before it (for CANCEL_UPGRADING)
  std::set<std::string> upgrade_comps;  // components whose instances need upgrading
};

}  // namespace emulator_detail

using namespace emulator_detail;  // NOLINT: internal to the emulator's files

struct Emulator::Impl {
  explicit Impl(EmulatorOptions o);

  mutable std::mutex mu;
  EmulatorOptions options;
  int64_t cluster_ts = 0;  // the RM's start, in application ids
  int next_app_seq = 1;
  std::set<std::string> issued_ids;  // from new-application, not yet submitted
  std::map<std::string, App> apps;
  std::map<std::string, Service> services;
  std::function<void()> observer;
  emulator::Emulator::CommandRunner command_runner;
  // The last kWriteLogSize writes answered by the active RM, with their bodies (/_admin/yarn/requests).
  std::deque<json> writes;
  // HA roles: "primary" (the RM at prefix is active), "standby" (prefix-standby is), "none".
  std::string active = "primary";

  int64_t Now() const { return options.now_ms(); }
  int64_t Step() const { return options.transition_ms; }
  int64_t RunMs() const;
  bool Failing(const std::string& text) const;

  // emulator_rm.cc
  Reply RouteRm(const httplib::Request& req, const std::string& path, const std::string& base,
                const std::string& user, bool* mutated);
  std::string NewAppId();
  AppView View(const App& app, int64_t now) const;
  json AppJson(const App& app, int64_t now) const;
  App& SubmitServiceApp(Service& s, int64_t now);

  // emulator_services.cc
  Reply RouteServices(const httplib::Request& req, const std::string& path, const std::string& user,
                      bool* mutated);
  Reply CreateService(const json& body, const std::string& user, bool* mutated);
  Reply UpdateService(Service& s, const json& body, bool* mutated);
  Reply DeleteService(const std::string& name, bool* mutated);
  Reply FlexComponent(Service& s, const std::string& comp, const json& body, bool* mutated);
  Reply UpgradeInstances(Service& s, const json& body, const std::string& only_comp, bool* mutated);

  // emulator_model.cc
  // Resolves and validates a posted spec ("" = valid); SERVICE artifacts expand from services
  // that exist.
  std::string Validate(json& spec) const;
  void Load(Service& s, const json& spec);  // spec → comps (containers kept by name)
  json FullSpec(const Service& s) const;    // the spec as stored (no runtime members)
  void Schedule(Service& s, Component& c, int desired, int64_t from);
  void Advance(int64_t now);  // folds finished instance upgrades, finalizes auto upgrades
  std::string ContainerState(const Service& s, const Component& c, const Container& k,
                             int64_t now) const;
  std::string ComponentState(const Service& s, const Component& c, int64_t now) const;
  std::string ServiceState(const Service& s, int64_t now) const;
  json ContainerJson(const Service& s, const Component& c, const Container& k, int64_t now) const;
  json ServiceJson(const Service& s, int64_t now) const;
  int64_t RunningMs(const Service& s) const { return s.created_ms + kAmSteps * Step(); }

  // emulator_persistence.cc
  json Export() const;
  void Import(const json& state);
};

}  // namespace converge::yarn
