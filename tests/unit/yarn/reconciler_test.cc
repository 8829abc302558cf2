#include "reconcilers/yarn/reconciler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "reconcilers/yarn/normalise.h"
#include "tests/common/fake_clock.h"
#include "tests/common/fake_transport.h"

namespace converge::yarn {
namespace {

namespace fs = std::filesystem;
using test::Answer;

// ----- golden diffs: reconcilers/yarn/testdata/diff/<case>/{desired,live,expected}.json -------
// A file "upgrade-disabled" in a case means the Backend says `upgrade: disabled`.
// Regenerate with CONVERGE_UPDATE_GOLDEN=1 and review the expected.json changes.

fs::path GoldenRoot() {
  return fs::path(CONVERGE_SOURCE_DIR) / "reconcilers/yarn/testdata/diff";
}

json ReadJson(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

json ToJson(const DiffResult& r) {
  json fields = json::array();
  for (const FieldChange& f : r.fields)
    fields.push_back({{"path", f.path}, {"before", f.before}, {"after", f.after}});
  json out = {{"action", ActionName(r.action)}, {"reason", r.reason}, {"fields", fields}};
  if (!r.error.empty()) out["error"] = r.error;
  return out;
}

std::vector<std::string> GoldenCases() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(GoldenRoot(), ec))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

class YarnDiffGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(YarnDiffGoldenTest, MatchesExpected) {
  const fs::path dir = GoldenRoot() / GetParam();
  const json desired = ReadJson(dir / "desired.json");
  const json live = ReadJson(dir / "live.json");
  const json last =
      fs::exists(dir / "last_applied.json") ? ReadJson(dir / "last_applied.json") : json();
  const bool upgrade = !fs::exists(dir / "upgrade-disabled");
  const json got =
      ToJson(DiffService(desired, live.is_null() ? live : ServiceDefinition(live), last, upgrade));
  const char* update = std::getenv("CONVERGE_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(dir / "expected.json") << got.dump(2) << "\n";
    GTEST_SKIP() << "regenerated " << (dir / "expected.json").string();
  }
  ASSERT_TRUE(fs::exists(dir / "expected.json")) << "run with CONVERGE_UPDATE_GOLDEN=1";
  EXPECT_EQ(got.dump(2), ReadJson(dir / "expected.json").dump(2));
}

INSTANTIATE_TEST_SUITE_P(Cases, YarnDiffGoldenTest, ::testing::ValuesIn(GoldenCases()),
                         [](const auto& info) { return info.param; });

TEST(YarnDiffGoldenSetTest, HasEnoughCases) {
  EXPECT_GE(GoldenCases().size(), 15u);
}

// ----- a small in-memory Services API + RM apps list, for Apply / Observe / health ----------

const std::string kRm = "http://rm:8088/yarn";

struct FakeYarn {
  std::map<std::string, json> services;
  std::map<std::string, json> before_upgrade;  // name -> spec being upgraded from
  bool upgrade_enabled = true;
  bool upgrades_fail = false;
  bool upgrades_hang = false;  // upgraded instances stay UPGRADING (never READY)
  std::vector<std::string> writes;  // "PUT /app/v1/services/x {...}"

  static void Containers(json& svc, const std::string& state) {
    for (json& c : svc["components"]) {
      c["containers"] = json::array();
      for (long i = 0; i < c.value("number_of_containers", 1L); ++i)
        c["containers"].push_back(
            {{"component_instance_name", c["name"].get<std::string>() + "-" + std::to_string(i)},
             {"state", state},
             {"id", "container_" + std::to_string(i)}});
    }
  }
  static http::Response Status(int code, const std::string& diagnostics) {
    return Answer(code, json{{"diagnostics", diagnostics}}.dump());
  }

  Result<http::Response> Handle(const http::Request& r) {
    std::string path = r.url.substr(kRm.size());
    for (const char* u : {"?user.name=deploy", "&user.name=deploy"})
      if (auto q = path.find(u); q != std::string::npos) path.erase(q, std::string(u).size());
    json body = r.body.empty() ? json() : json::parse(r.body);
    if (r.method != "GET")
      writes.push_back(r.method + " " + path + (r.body.empty() ? "" : " ") + r.body);
    if (path == "/ws/v1/cluster/info")
      return Answer(200, R"({"clusterInfo":{"haState":"ACTIVE"}})");
    if (path == "/app/v1/services/version") return Answer(200, R"({"hadoop_version":"3.3.0"})");
    if (path == "/ws/v1/cluster/apps?applicationTypes=yarn-service") {
      if (services.empty()) return Answer(200, R"({"apps": null})");
      json apps = json::array();
      for (const auto& [n, s] : services)
        apps.push_back({{"name", n},
                        {"applicationType", "yarn-service"},
                        {"applicationTags", "name: " + n + ",version: " + s.value("version", "")}});
      return Answer(200, json{{"apps", {{"app", apps}}}}.dump());
    }
    const std::string prefix = "/app/v1/services";
    if (path == prefix && r.method == "POST") {
      std::string n = body["name"];
      if (services.count(n)) return Status(500, "Service name " + n + " is already taken.");
      body["state"] = "STABLE";
      body["id"] = "application_1_0001";
      Containers(body, "READY");
      services[n] = body;
      return Status(202, "Application ID: application_1_0001");
    }
    std::string rest = path.substr(prefix.size() + 1);
    std::string name = rest.substr(0, rest.find('/'));
    std::string sub = rest.size() > name.size() ? rest.substr(name.size()) : "";
    auto it = services.find(name);
    if (it == services.end())
      return r.method == "DELETE" ? Status(400, "Service " + name + " doesn't exist")
                                  : Status(404, "Service " + name + " not found");
    json& svc = it->second;
    if (r.method == "GET" && sub.empty()) return Answer(200, svc.dump());
    if (r.method == "DELETE") {
      services.erase(it);
      return Status(200, "Successfully destroyed service " + name);
    }
    if (sub.rfind("/components/", 0) == 0) {
      std::string comp = sub.substr(12);
      for (json& c : svc["components"])
        if (c["name"] == comp) c["number_of_containers"] = body["number_of_containers"];
      Containers(svc, "READY");
      return Status(200, "Updating component (" + comp + ")");
    }
    if (sub == "/component-instances") {
      for (const json& want : body)
        for (json& c : svc["components"])
          for (json& ct : c["containers"])
            if (ct["component_instance_name"] == want["component_instance_name"])
              ct["state"] = upgrades_hang   ? "UPGRADING"
                            : upgrades_fail ? "FAILED_UPGRADE"
                                            : "READY";
      return Status(202, "Upgrading component instances.");
    }
    std::string state = body.value("state", "");
    if (state == "STOPPED") {
      svc["state"] = "STOPPED";
      return Status(200, "Successfully stopped service " + name);
    }
    if (state == "UPGRADING") {
      if (!upgrade_enabled) return Status(400, "Service upgrade is disabled.");
      before_upgrade[name] = svc;
      json next = body;
      next["state"] = "UPGRADING";
      Containers(next, "READY");
      for (size_t i = 0; i < next["components"].size(); ++i) {
        json& c = next["components"][i];
        bool changed =
            i >= svc["components"].size() ||
            c.value("launch_command", "") != svc["components"][i].value("launch_command", "");
        if (changed)
          for (json& ct : c["containers"]) ct["state"] = "NEEDS_UPGRADE";
      }
      svc = next;
      return Status(202, "Service " + name + " version saved.");
    }
    if (state == "CANCEL_UPGRADING") {
      svc = before_upgrade[name];
      return Status(202, "Service " + name + " cancelling upgrade.");
    }
    if (state == "STARTED") {
      svc["state"] = "STABLE";
      return Status(200, "Service " + name + " is successfully started");
    }
    if (body.contains("lifetime")) {
      svc["lifetime"] = body["lifetime"];
      return Status(200, "lifetime updated");
    }
    return Answer(204);
  }
};

struct World {
  test::FakeClock clock;
  test::FakeTransport fake;
  FakeYarn yarn;
  std::unique_ptr<Reconciler> rec;

  explicit World(bool upgrade_enabled = true) {
    fake.SetHandler([this](const http::Request& r) { return yarn.Handle(r); });
    ClientOptions co;
    co.retry.max_attempts = 1;
    auto client = std::make_unique<Client>(std::vector<std::string>{kRm}, fake.Borrow(), co, clock);
    client->SetUser("deploy");
    ReconcilerOptions ro;
    ro.upgrade_enabled = upgrade_enabled;
    ro.batch_timeout = std::chrono::seconds(20);
    rec = std::make_unique<Reconciler>(std::move(client), "converge", ro, clock);
  }
  json Desired(json spec, std::map<std::string, std::string> annotations = {}) {
    Document d;
    d.kind = "YarnService";
    d.name = "sleeper";
    d.spec = std::move(spec);
    d.annotations = std::move(annotations);
    return rec->Desired(d);
  }
  Status Apply(Action a, const json& desired) {
    json live = yarn.services.count("sleeper") ? yarn.services["sleeper"] : json();
    return rec->Apply(ChangeRequest{{"YarnService", "sleeper"}, a, desired, live});
  }
  int Count(const std::string& prefix) const {
    int n = 0;
    for (const auto& w : yarn.writes) n += w.rfind(prefix, 0) == 0;
    return n;
  }
};

json Spec(int sleepers = 2, const std::string& cmd = "sleep 900000",
          const std::string& version = "1.0.0") {
  json sleeper = {{"name", "sleeper"},
                  {"number_of_containers", sleepers},
                  {"launch_command", cmd},
                  {"resource", {{"cpus", 1}, {"memory", "256"}}}};
  json web = {{"name", "web"}, {"number_of_containers", 1}, {"launch_command", "httpd"}};
  return {{"version", version}, {"components", json::array({sleeper, web})}};
}

TEST(YarnReconcilerTest, DesiredCarriesOwnershipAndAnnotationsInProperties) {
  World w;
  json d = w.Desired(Spec(), {{"converge/prune", "false"}, {"converge/allowReplace", "true"}});
  EXPECT_EQ(d["name"], "sleeper");
  EXPECT_EQ(Property(d, "converge.io/managed-by"), "converge");
  EXPECT_EQ(Property(d, "converge/prune"), "false");
  EXPECT_EQ(Property(d, "converge/allowReplace"), "true");
}

TEST(YarnReconcilerTest, ObserveFindsServicesThroughTheAppsListAndTellsOwnership) {
  World w;
  auto empty = w.rec->Observe();
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->empty());  // {"apps": null}
  ASSERT_TRUE(w.Apply(Action::kCreate, w.Desired(Spec(), {{"converge/prune", "false"}})).ok());
  json other = Spec();
  other["name"] = "theirs";
  w.yarn.services["theirs"] = other;
  auto live = w.rec->Observe();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  ASSERT_EQ(live->size(), 2u);
  std::map<std::string, LiveObject> by;
  for (auto& o : *live) by[o.key.name] = o;
  EXPECT_TRUE(by["sleeper"].owned);
  EXPECT_TRUE(by["sleeper"].prune_protected);
  EXPECT_FALSE(by["theirs"].owned);
  EXPECT_EQ(by["sleeper"].key.kind, "YarnService");
}

TEST(YarnReconcilerTest, ASecondCreateAdoptsOursAndNeverPostsTwice) {
  World w;
  json d = w.Desired(Spec());
  ASSERT_TRUE(w.Apply(Action::kCreate, d).ok());
  // A crash after the POST: the executor plans a create again.
  Status again = w.rec->Apply(ChangeRequest{{"YarnService", "sleeper"}, Action::kCreate, d, {}});
  EXPECT_TRUE(again.ok()) << again.ToString();
  EXPECT_EQ(w.Count("POST /app/v1/services"), 2);  // the second one answered 500 "already taken"
  // Someone else's service of that name is a conflict, not adopted.
  SetProperty(w.yarn.services["sleeper"], "converge.io/managed-by", "other");
  Status st = w.rec->Apply(ChangeRequest{{"YarnService", "sleeper"}, Action::kCreate, d, {}});
  EXPECT_EQ(st.code(), Code::kConflict);
  EXPECT_NE(st.message().find("managed by converge instance other"), std::string::npos);
}

TEST(YarnReconcilerTest, ScaleIsOneComponentPutPerChangedComponent) {
  World w;
  ASSERT_TRUE(w.Apply(Action::kCreate, w.Desired(Spec())).ok());
  w.yarn.writes.clear();
  ASSERT_TRUE(w.Apply(Action::kScale, w.Desired(Spec(3))).ok());
  ASSERT_EQ(w.yarn.writes.size(), 1u);
  EXPECT_EQ(
      w.yarn.writes[0],
      R"(PUT /app/v1/services/sleeper/components/sleeper {"name":"sleeper","number_of_containers":3})");
  auto h = w.rec->CheckHealth({"YarnService", "sleeper"}, w.Desired(Spec(3)));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->state, HealthState::kHealthy);
  EXPECT_EQ(h->message, "component sleeper 3/3 ready, component web 1/1 ready; service STABLE");
}

TEST(YarnReconcilerTest, UpdateUpgradesInBatchesOfMaxUnavailableThenFinalizes) {
  World w;
  ASSERT_TRUE(w.Apply(Action::kCreate, w.Desired(Spec(3))).ok());
  w.yarn.writes.clear();
  json d = w.Desired(Spec(3, "sleep 1000", "1.1.0"), {{"converge/maxUnavailable", "2"}});
  ASSERT_TRUE(w.Apply(Action::kUpdate, d).ok());
  ASSERT_EQ(w.yarn.writes.size(), 4u);
  EXPECT_EQ(w.yarn.writes[0].rfind("PUT /app/v1/services/sleeper {", 0), 0u);
  EXPECT_NE(w.yarn.writes[0].find(R"("state":"UPGRADING")"), std::string::npos);
  EXPECT_EQ(
      w.yarn.writes[1],
      R"(PUT /app/v1/services/sleeper/component-instances [{"component_instance_name":"sleeper-0","state":"UPGRADING"},{"component_instance_name":"sleeper-1","state":"UPGRADING"}])");
  EXPECT_EQ(
      w.yarn.writes[2],
      R"(PUT /app/v1/services/sleeper/component-instances [{"component_instance_name":"sleeper-2","state":"UPGRADING"}])");
  EXPECT_EQ(w.yarn.writes[3], R"(PUT /app/v1/services/sleeper {"state":"STARTED"})");
  auto h = w.rec->CheckHealth({"YarnService", "sleeper"}, d);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->state, HealthState::kHealthy) << h->message;
}

TEST(YarnReconcilerTest, AFailedUpgradeIsCancelledAndHealthSaysFailedUntilRestored) {
  World w;
  ASSERT_TRUE(w.Apply(Action::kCreate, w.Desired(Spec())).ok());
  json before = w.yarn.services["sleeper"];
  w.yarn.upgrades_fail = true;
  json d = w.Desired(Spec(2, "sleep 1000", "1.1.0"));
  ASSERT_TRUE(w.Apply(Action::kUpdate, d).ok());
  EXPECT_EQ(w.Count("PUT /app/v1/services/sleeper {\"state\":\"CANCEL_UPGRADING\"}"), 1);
  auto h = w.rec->CheckHealth({"YarnService", "sleeper"}, d);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->state, HealthState::kFailed);
  EXPECT_NE(h->message.find("sleeper-0 FAILED_UPGRADE"), std::string::npos) << h->message;
  EXPECT_NE(h->message.find("upgrade cancelled"), std::string::npos);
  // The rollback: the cancelled service already is the snapshot, nothing more is written.
  w.yarn.writes.clear();
  ASSERT_TRUE(w.rec->Restore({"YarnService", "sleeper"}, before).ok());
  EXPECT_TRUE(w.yarn.writes.empty());
  auto back = w.rec->CheckHealth({"YarnService", "sleeper"}, ServiceDefinition(before));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, HealthState::kHealthy) << back->message;
}

TEST(YarnReconcilerTest, AnUpgradeRefusedByTheServerTellsHowToConfigureTheBackend) {
  World w;
  ASSERT_TRUE(w.Apply(Action::kCreate, w.Desired(Spec())).ok());
  w.yarn.upgrade_enabled = false;
  Status st = w.Apply(Action::kUpdate, w.Desired(Spec(2, "sleep 1000", "1.1.0")));
  EXPECT_EQ(st.code(), Code::kInvalid);
  EXPECT_NE(st.message().find("Service upgrade is disabled."), std::string::npos);
  EXPECT_NE(st.message().find("upgrade: disabled"), std::string::npos);
}

TEST(YarnReconcilerTest, ReplaceDestroysThenCreates) {
  World w(/*upgrade_enabled=*/false);
  ASSERT_TRUE(w.Apply(Action::kCreate, w.Desired(Spec())).ok());
  w.yarn.writes.clear();
  json d = w.Desired(Spec(2, "sleep 1000"), {{"converge/allowReplace", "true"}});
  EXPECT_EQ(w.rec->Diff(d, w.yarn.services["sleeper"], json()).action, Action::kReplace);
  ASSERT_TRUE(w.Apply(Action::kReplace, d).ok());
  ASSERT_EQ(w.yarn.writes.size(), 2u);
  EXPECT_EQ(w.yarn.writes[0], "DELETE /app/v1/services/sleeper");
  EXPECT_EQ(w.yarn.writes[1].rfind("POST /app/v1/services {", 0), 0u);
  EXPECT_EQ(w.yarn.services["sleeper"]["components"][0]["launch_command"], "sleep 1000");
}

TEST(YarnReconcilerTest, StopStartAndLifetimeAreSinglePuts) {
  World w;
  ASSERT_TRUE(w.Apply(Action::kCreate, w.Desired(Spec())).ok());
  json stopped = Spec();
  stopped["state"] = "STOPPED";
  w.yarn.writes.clear();
  ASSERT_TRUE(w.Apply(Action::kUpdate, w.Desired(stopped)).ok());
  EXPECT_EQ(w.yarn.writes,
            std::vector<std::string>{R"(PUT /app/v1/services/sleeper {"state":"STOPPED"})"});
  auto h = w.rec->CheckHealth({"YarnService", "sleeper"}, w.Desired(stopped));
  EXPECT_EQ(h->state, HealthState::kHealthy);
  w.yarn.writes.clear();
  ASSERT_TRUE(w.Apply(Action::kUpdate, w.Desired(Spec())).ok());
  EXPECT_EQ(w.yarn.writes,
            std::vector<std::string>{R"(PUT /app/v1/services/sleeper {"state":"STARTED"})"});
  json longer = Spec();
  longer["lifetime"] = 3600;
  w.yarn.writes.clear();
  ASSERT_TRUE(w.Apply(Action::kUpdate, w.Desired(longer)).ok());
  EXPECT_EQ(w.yarn.writes,
            std::vector<std::string>{R"(PUT /app/v1/services/sleeper {"lifetime":3600})"});
}

TEST(YarnReconcilerTest, HealthCountsReadyContainersPerComponent) {
  World w;
  ASSERT_TRUE(w.Apply(Action::kCreate, w.Desired(Spec(3))).ok());
  json& svc = w.yarn.services["sleeper"];
  svc["state"] = "STARTED";
  svc["components"][0]["containers"][2]["state"] = "RUNNING_BUT_UNREADY";
  auto h = w.rec->CheckHealth({"YarnService", "sleeper"}, w.Desired(Spec(3)));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->state, HealthState::kProgressing);
  EXPECT_EQ(h->message, "component sleeper 2/3 ready, component web 1/1 ready; service STARTED");
  svc["state"] = "FAILED";
  EXPECT_EQ(w.rec->CheckHealth({"YarnService", "sleeper"}, w.Desired(Spec(3)))->state,
            HealthState::kFailed);
}

TEST(YarnReconcilerTest, DeleteIsIdempotentAndRestoreOfNothingDestroys) {
  World w;
  ASSERT_TRUE(w.Apply(Action::kCreate, w.Desired(Spec())).ok());
  ASSERT_TRUE(w.rec->Restore({"YarnService", "sleeper"}, json()).ok());
  EXPECT_TRUE(w.yarn.services.empty());
  Status again = w.rec->Apply(ChangeRequest{{"YarnService", "sleeper"}, Action::kDelete, {}, {}});
  EXPECT_TRUE(again.ok()) << again.ToString();  // 400 "doesn't exist": already gone
  auto h = w.rec->CheckHealth({"YarnService", "sleeper"}, json());
  EXPECT_EQ(h->state, HealthState::kHealthy);
}

TEST(YarnReconcilerTest, BackendHealthTimeoutBoundsAnUpgradeBatch) {
  // An upgrade batch that never becomes READY must fail within the Backend's healthTimeout (it
  // used to wait the built-in 10 minutes whatever the Backend said).
  BackendConfig cfg;
  cfg.health_timeout = std::chrono::seconds(4);
  cfg.poll_interval = std::chrono::milliseconds(100);
  cfg.spec = {{"upgrade", "disabled"}};
  ReconcilerOptions o = OptionsFromBackend(cfg);
  EXPECT_EQ(o.batch_timeout, std::chrono::seconds(4));
  EXPECT_EQ(o.poll_interval, std::chrono::milliseconds(100));
  EXPECT_FALSE(o.upgrade_enabled);
  // pollInterval unset: the reconciler's own interval.
  cfg.poll_interval = std::chrono::milliseconds(0);
  cfg.spec = json::object();
  o = OptionsFromBackend(cfg);
  EXPECT_EQ(o.poll_interval, ReconcilerOptions().poll_interval);
  EXPECT_TRUE(o.upgrade_enabled);
}

TEST(YarnReconcilerTest, TheChangesTimeoutBoundsAnUpgradeBatch) {
  // `converge apply --health-timeout 3s` reaches the upgrade's own waits: a batch that never
  // becomes READY gives up after 3 s of the fake clock, not the Backend's 20 s.
  World w;
  ASSERT_TRUE(w.Apply(Action::kCreate, w.Desired(Spec())).ok());
  w.yarn.upgrades_hang = true;
  json d = w.Desired(Spec(2, "sleep 1000", "1.1.0"));
  auto start = w.clock.Now();
  ChangeRequest change{{"YarnService", "sleeper"}, Action::kUpdate, d, w.yarn.services["sleeper"],
                       std::chrono::seconds(3)};
  ASSERT_TRUE(w.rec->Apply(change).ok());  // cancelled; the health check reports the failure
  auto waited = w.clock.Now() - start;
  EXPECT_GE(waited, std::chrono::seconds(3));
  EXPECT_LT(waited, std::chrono::seconds(5));
  EXPECT_EQ(w.Count("PUT /app/v1/services/sleeper {\"state\":\"CANCEL_UPGRADING\"}"), 1);
  auto h = w.rec->CheckHealth({"YarnService", "sleeper"}, d);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->state, HealthState::kFailed);
  EXPECT_NE(h->message.find("within 3s"), std::string::npos) << h->message;
}

TEST(YarnReconcilerTest, OtherKindsAreNotSupportedYet) {
  World w;
  Status st = w.rec->Apply(ChangeRequest{{"YarnApplication", "x"}, Action::kRun, {}, {}});
  EXPECT_EQ(st.code(), Code::kInvalid);
  EXPECT_NE(st.message().find("not supported yet"), std::string::npos);
}

}  // namespace
}  // namespace converge::yarn
