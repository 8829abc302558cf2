// A TablePolicy's compaction through a `type: command` Executor, applied by the Iceberg
// reconciler against the sandbox catalog in-process, with a fake process launcher whose "command"
// rewrites the table (or not, or fails, or never ends): the argv and environment it gets, the
// replace snapshot checked afterwards, failures recorded for suspension, a timeout killing it.
#include <gmock/gmock.h>

#include "reconcilers/common/http.h"
#include "reconcilers/iceberg/reconciler.h"
#include "tests/common/fake_clock.h"
#include "tests/unit/emulator/iceberg_emulator_fixture.h"

namespace converge::iceberg {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr int64_t kCmdNowMs = 1796200000000;  // the fixture's catalog clock

// What the fake command does when it is polled the first time: its exit status (nullopt: it
// runs on, forever).
using CmdBehaviour =
    std::function<std::optional<process::ExitStatus>(const process::SpawnOptions&)>;

class CmdProcess : public process::Process {
 public:
  CmdProcess(process::SpawnOptions o, CmdBehaviour run, bool* killed)
      : o_(std::move(o)), run_(std::move(run)), killed_(killed) {}
  int64_t pid() const override { return 4242; }
  std::optional<process::ExitStatus> Poll() override {
    if (!ran_) {
      ran_ = true;
      status_ = run_(o_);
    }
    return status_;
  }
  process::ExitStatus Wait() override { return status_.value_or(process::ExitStatus{}); }
  void Kill() override {
    *killed_ = true;
    if (!status_) status_ = process::ExitStatus{0, 9};
  }
  process::Output Stdout() const override { return {}; }
  process::Output Stderr() const override { return {"starting\nboom: no space left\n", 0}; }

 private:
  process::SpawnOptions o_;
  CmdBehaviour run_;
  bool* killed_;
  bool ran_ = false;
  std::optional<process::ExitStatus> status_;
};

class CmdLauncher : public process::Launcher {
 public:
  Result<std::unique_ptr<process::Process>> Spawn(const process::SpawnOptions& o) override {
    spawned.push_back(o);
    return std::unique_ptr<process::Process>(std::make_unique<CmdProcess>(o, behaviour, &killed));
  }
  CmdBehaviour behaviour;
  std::vector<process::SpawnOptions> spawned;
  bool killed = false;
};

class IcebergCommandExecutorTest : public IcebergEmulatorTest {
 protected:
  void SetUp() override {
    IcebergEmulatorTest::SetUp();
    StartServer();
    Append("analytics.events", 3, 4, 1000);
  }

  // Applies the policy once with an Executor whose spec is `executor`.
  Status ApplyWith(const json& executor) {
    ReconcilerOptions o;
    o.poll_interval = std::chrono::milliseconds(100);
    o.command_jobs = jobs_;
    auto client =
        std::make_unique<Client>("http://127.0.0.1:" + std::to_string(server_->port()) + "/iceberg",
                                 http::NewCurlTransport({}), ClientOptions{}, clock_);
    Reconciler r(std::move(client), "test", o, clock_, nullptr);
    Document policy;
    policy.kind = kTablePolicyKind;
    policy.name = "events";
    policy.spec = {{"table", "analytics.events"},
                   {"triggers", {{"commitCount", 1}}},
                   {"compaction", {{"minInputFiles", 2}, {"executor", "local"}}}};
    Document exec;
    exec.kind = kExecutorKind;
    exec.name = "local";
    exec.spec = executor;
    r.BindSpecs({&policy, &exec});
    ChangeRequest c;
    c.key = ResourceKey{kTablePolicyKind, "events"};
    c.action = Action::kRun;
    c.desired = r.Desired(policy);
    c.timeout = std::chrono::seconds(600);
    return r.Apply(c);
  }

  json Metadata() { return Load("analytics", "events")["metadata"]; }
  std::string Prop(const std::string& k) { return Metadata()["properties"].value(k, ""); }

  // The command: rewrite {table} with {minInputFiles}, through the catalog's simulated Spark.
  CmdBehaviour Rewrites() {
    return [this](const process::SpawnOptions& o) -> std::optional<process::ExitStatus> {
      auto r =
          emu().Rewrite({{"table", o.argv.at(1)}, {"min_input_files", std::stoi(o.argv.at(3))}});
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      return process::ExitStatus{r.ok() ? 0 : 1, 0};
    };
  }

  const json kExecutor = {{"type", "command"},
                          {"command", {"rewrite", "{table}", "{job}", "{minInputFiles}"}},
                          {"env", {{"SPARK_HOME", "/opt/spark"}}}};

  test::FakeClock clock_{
      std::chrono::system_clock::time_point(std::chrono::milliseconds(kCmdNowMs))};
  CmdLauncher launcher_;
  std::shared_ptr<CommandJobs> jobs_ = std::make_shared<CommandJobs>(launcher_);
};

TEST_F(IcebergCommandExecutorTest, TheCommandCompactsAndTheReplaceSnapshotIsChecked) {
  launcher_.behaviour = Rewrites();
  const json before = Metadata();
  Status st = ApplyWith(kExecutor);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(launcher_.spawned.size(), 1u);
  const process::SpawnOptions& o = launcher_.spawned[0];
  const std::string job = "iceberg-compact-events-" + [&] {
    char hex[24];
    std::snprintf(hex, sizeof hex, "%llx",
                  static_cast<unsigned long long>(before["current-snapshot-id"].get<int64_t>()));
    return std::string(hex);
  }();
  EXPECT_EQ(o.argv, (std::vector<std::string>{"rewrite", "analytics.events", job, "2"}));
  EXPECT_EQ(o.env, (std::map<std::string, std::string>{{"CONVERGE_JOB", job},
                                                       {"SPARK_HOME", "/opt/spark"}}));
  json md = Metadata();
  EXPECT_EQ(md["snapshots"].back()["summary"]["operation"], "replace");
  EXPECT_EQ(md["properties"].value("converge.maintenance.compact.failures", "0"), "0");
  EXPECT_NE(md["properties"].value("converge.maintenance.compact.last-run-ms", ""), "");
  EXPECT_EQ(md["refs"].size(), 1u) << md["refs"].dump();  // the lock released: main only
  EXPECT_EQ(jobs_->running(), 0u);
}

TEST_F(IcebergCommandExecutorTest, ACommandThatSucceedsWithoutReplacingIsAFailure) {
  launcher_.behaviour = [](const process::SpawnOptions&) {
    return std::optional<process::ExitStatus>(process::ExitStatus{0, 0});
  };
  Status st = ApplyWith(kExecutor);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("succeeded, but no replace snapshot landed on main"));
  EXPECT_EQ(Prop("converge.maintenance.compact.failures"), "1");
}

TEST_F(IcebergCommandExecutorTest, AFailingCommandIsCountedWithItsExitCodeAndStderr) {
  launcher_.behaviour = [](const process::SpawnOptions&) {
    return std::optional<process::ExitStatus>(process::ExitStatus{3, 0});
  };
  Status st = ApplyWith(kExecutor);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("compact failed: command rewrite failed with exit code 3: "
                                      "starting | boom: no space left"));
  EXPECT_EQ(Prop("converge.maintenance.compact.failures"), "1");
  EXPECT_THAT(Prop("converge.maintenance.compact.last-error"), HasSubstr("exit code 3"));
  EXPECT_EQ(Metadata()["snapshots"].back()["summary"]["operation"], "append");
}

TEST_F(IcebergCommandExecutorTest, TheExecutorTimeoutKillsTheCommand) {
  launcher_.behaviour = [](const process::SpawnOptions&) {
    return std::optional<process::ExitStatus>();  // runs on
  };
  json executor = kExecutor;
  executor["timeout"] = "2s";
  Status st = ApplyWith(executor);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kTimeout);
  EXPECT_THAT(st.message(), HasSubstr("still running after 2s"));
  EXPECT_TRUE(launcher_.killed);
  EXPECT_EQ(jobs_->running(), 0u);
  EXPECT_EQ(Prop("converge.maintenance.compact.failures"), "1");
  EXPECT_EQ(Metadata()["refs"].size(), 1u);  // the lock released
}

}  // namespace
}  // namespace converge::iceberg
