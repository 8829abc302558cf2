// `type: command` jobs (jobs.h, CommandJobs) on a fake process launcher: what is started with
// which environment, a job of a running name not started twice, what Poll reports (and keeps
// out of its message), and Stop killing the job.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reconcilers/iceberg/jobs.h"

namespace converge::iceberg {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// One fake child: the test decides when it ends and what it wrote.
struct FakeChild {
  std::optional<process::ExitStatus> status;
  std::string stderr_text;
  bool killed = false;
};

class FakeChildProcess : public process::Process {
 public:
  FakeChildProcess(std::shared_ptr<FakeChild> child, int64_t pid) : child_(child), pid_(pid) {}
  int64_t pid() const override { return pid_; }
  std::optional<process::ExitStatus> Poll() override { return child_->status; }
  process::ExitStatus Wait() override { return child_->status.value_or(process::ExitStatus{}); }
  void Kill() override {
    child_->killed = true;
    if (!child_->status) child_->status = process::ExitStatus{0, 9};
  }
  process::Output Stdout() const override { return {}; }
  process::Output Stderr() const override { return {child_->stderr_text, 0}; }

 private:
  std::shared_ptr<FakeChild> child_;
  int64_t pid_;
};

class FakeLauncher : public process::Launcher {
 public:
  Result<std::unique_ptr<process::Process>> Spawn(const process::SpawnOptions& o) override {
    if (!fail.empty()) return UnavailableError(fail);
    spawned.push_back(o);
    children.push_back(std::make_shared<FakeChild>());
    return std::unique_ptr<process::Process>(
        std::make_unique<FakeChildProcess>(children.back(), 1000 + children.size()));
  }
  std::vector<process::SpawnOptions> spawned;
  std::vector<std::shared_ptr<FakeChild>> children;
  std::string fail;
};

class CommandJobsTest : public ::testing::Test {
 protected:
  FakeLauncher launcher_;
  CommandJobs jobs_{launcher_};
  Job job_{"iceberg-compact-events-3", {}};
};

TEST_F(CommandJobsTest, StartsTheArgvWithTheExecutorEnvAndConvergeJob) {
  auto runner = jobs_.Runner({"/opt/compact.sh", "analytics.events"}, {{"JAVA_HOME", "/jvm"}});
  ASSERT_TRUE(runner->Start(job_).ok());
  ASSERT_EQ(launcher_.spawned.size(), 1u);
  const process::SpawnOptions& o = launcher_.spawned[0];
  EXPECT_EQ(o.argv, (std::vector<std::string>{"/opt/compact.sh", "analytics.events"}));
  EXPECT_EQ(o.env, (std::map<std::string, std::string>{{"CONVERGE_JOB", "iceberg-compact-events-3"},
                                                       {"JAVA_HOME", "/jvm"}}));
  EXPECT_EQ(o.stderr_limit, process::kDefaultOutputLimit);
  EXPECT_EQ(o.stdout_limit, process::kDefaultOutputLimit);
}

TEST_F(CommandJobsTest, AJobStillRunningIsNotStartedTwiceAndAnEndedOneRunsAgain) {
  auto runner = jobs_.Runner({"compact"}, {});
  ASSERT_TRUE(runner->Start(job_).ok());
  // Another apply of the same policy on the same table state: the same name, the same job.
  ASSERT_TRUE(jobs_.Runner({"compact"}, {})->Start(job_).ok());
  EXPECT_EQ(launcher_.spawned.size(), 1u);
  auto st = runner->Poll(job_);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->phase, JobPhase::kRunning);
  EXPECT_EQ(st->message, "command compact (pid 1001) running");
  // Another name is another job.
  ASSERT_TRUE(runner->Start(Job{"iceberg-compact-events-4", {}}).ok());
  EXPECT_EQ(launcher_.spawned.size(), 2u);
  EXPECT_EQ(jobs_.running(), 2u);

  launcher_.children[0]->status = process::ExitStatus{0, 0};
  st = runner->Poll(job_);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->phase, JobPhase::kSucceeded);
  EXPECT_EQ(st->message, "command compact succeeded");
  EXPECT_EQ(jobs_.running(), 1u);  // reported once, then forgotten
  // Asked again (nothing of that name runs): a failure, never a wait until the timeout.
  st = runner->Poll(job_);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->phase, JobPhase::kFailed);
  EXPECT_THAT(st->message, HasSubstr("is not running in this converge"));
  // Started again after it ended (a failed task that fires again): a new process.
  ASSERT_TRUE(runner->Start(job_).ok());
  EXPECT_EQ(launcher_.spawned.size(), 3u);
  // Ended but never polled, then started: run again too.
  launcher_.children[2]->status = process::ExitStatus{1, 0};
  ASSERT_TRUE(runner->Start(job_).ok());
  EXPECT_EQ(launcher_.spawned.size(), 4u);
}

TEST_F(CommandJobsTest, AFailureSaysTheExitCodeAndTheTailOfStderrButNoEnvValue) {
  auto runner = jobs_.Runner({"/opt/compact.sh"}, {{"TOKEN", "s3cr3t-value"}, {"N", "1"}});
  ASSERT_TRUE(runner->Start(job_).ok());
  std::string noise;
  for (int i = 0; i < 50; ++i) noise += "progress " + std::to_string(i) + "\n";
  launcher_.children[0]->stderr_text =
      noise + "using token s3cr3t-value\nERROR rewrite failed: 1 file\n";
  launcher_.children[0]->status = process::ExitStatus{3, 0};
  auto st = runner->Poll(job_);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->phase, JobPhase::kFailed);
  EXPECT_THAT(st->message, HasSubstr("command /opt/compact.sh failed with exit code 3: "));
  EXPECT_THAT(st->message, HasSubstr("using token *** | ERROR rewrite failed: 1 file"));
  EXPECT_THAT(st->message, Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(st->message, Not(HasSubstr("progress 10")));  // the tail only
  EXPECT_THAT(st->message, HasSubstr("1 file"));            // a short value ("1") is not redacted
  EXPECT_LT(st->message.size(), 1100u);
}

TEST_F(CommandJobsTest, ASignalIsReported) {
  auto runner = jobs_.Runner({"compact"}, {});
  ASSERT_TRUE(runner->Start(job_).ok());
  launcher_.children[0]->status = process::ExitStatus{0, 15};
  auto st = runner->Poll(job_);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->phase, JobPhase::kFailed);
  EXPECT_EQ(st->message, "command compact failed with signal 15 (SIGTERM)");
}

TEST_F(CommandJobsTest, StopKillsTheJobAndForgetsIt) {
  auto runner = jobs_.Runner({"compact"}, {});
  ASSERT_TRUE(runner->Start(job_).ok());
  auto stopped = runner->Stop(job_, StopReason::kTimeout);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(*stopped, "the command was killed");
  EXPECT_TRUE(launcher_.children[0]->killed);
  EXPECT_EQ(jobs_.running(), 0u);
  EXPECT_TRUE(runner->Stop(job_, StopReason::kTimeout).ok());  // nothing running: a no-op
  ASSERT_TRUE(runner->Start(job_).ok());
  EXPECT_EQ(launcher_.spawned.size(), 2u);
}

TEST_F(CommandJobsTest, ACommandThatCannotStartIsAnErrorNamingTheJob) {
  launcher_.fail = "cannot run /opt/compact.sh: No such file or directory";
  Status st = jobs_.Runner({"/opt/compact.sh"}, {})->Start(job_);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("start maintenance job iceberg-compact-events-3"));
  EXPECT_THAT(st.message(), HasSubstr("No such file or directory"));
  EXPECT_EQ(jobs_.running(), 0u);
}

}  // namespace
}  // namespace converge::iceberg
