// The run lifecycle, the same for every backend (controller/run_lifecycle.h): what a run
// kind's diff, health and rerun mean, and how the executor starts and follows runs through a
// backend's RunDriver.
#include "controller/run_lifecycle.h"

#include <gmock/gmock.h>

#include "tests/common/fake_runs.h"
#include "tests/unit/controller/executor_fixture.h"

namespace converge {
namespace {

using ::testing::HasSubstr;
using test::FakeRunDriver;

KindDef JobKind() {
  KindDef k;
  k.kind = "Job";
  k.lifecycle = Lifecycle::kRun;
  k.run_name_member = "id";
  return k;
}

json JobDoc(const std::string& name) { return {{"id", name}, {"image", "trainer:1"}}; }

LiveObject ObserveOrDie(FakeRunDriver& d, const std::string& base) {
  auto o = runs::Observe(d, JobKind(), {"Job", "train"}, base);
  EXPECT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o.ok() && o->has_value());
  return o.ok() && o->has_value() ? **o : LiveObject{};
}

TEST(RunLifecycleTest, NoRunOfThisRevisionStartsOne) {
  FakeRunDriver d;
  auto o = runs::Observe(d, JobKind(), {"Job", "train"}, "train-aa");
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->has_value());
  DiffResult r = runs::Diff(d, JobKind(), {"Job", "train"}, JobDoc("train-aa"), json());
  EXPECT_EQ(r.action, Action::kRun);
  EXPECT_EQ(r.reason, "no run for this spec revision yet: starts train-aa");
}

TEST(RunLifecycleTest, ARunThatCannotStartIsAPlanError) {
  FakeRunDriver d;
  d.cannot_start = "Model churn is neither a Model spec nor an existing model";
  DiffResult r = runs::Diff(d, JobKind(), {"Job", "train"}, JobDoc("train-aa"), json());
  EXPECT_EQ(r.action, Action::kNoop);
  EXPECT_EQ(r.error, d.cannot_start);
}

TEST(RunLifecycleTest, AFailedRunIsANoticeNotARestart) {
  FakeRunDriver d;
  d.Add("train-aa", RunPhase::kSucceeded, 1);
  d.Add("train-aa-r1", RunPhase::kFailed, 2);
  LiveObject live = ObserveOrDie(d, "train-aa");
  EXPECT_EQ(live.doc["Runs"][0]["Name"], "train-aa-r1");  // newest first
  DiffResult r = runs::Diff(d, JobKind(), {"Job", "train"}, JobDoc("train-aa"), live.doc);
  EXPECT_EQ(r.action, Action::kNoop);
  EXPECT_EQ(r.notice,
            "run train-aa-r1 failed: exit code 1; not restarted until the spec changes or "
            "`converge rerun Job/train`");
  EXPECT_EQ(runs::NoticeStatus(live.doc), runs::kRunFailedStatus);
}

TEST(RunLifecycleTest, ARunningRunIsANoticeAndASucceededOneIsNothing) {
  FakeRunDriver d;
  d.Add("train-aa", RunPhase::kRunning, 1);
  d.script["train-aa"] = {RunPhase::kRunning};
  LiveObject live = ObserveOrDie(d, "train-aa");
  DiffResult r = runs::Diff(d, JobKind(), {"Job", "train"}, JobDoc("train-aa"), live.doc);
  EXPECT_EQ(r.action, Action::kNoop);
  EXPECT_EQ(r.notice, "run train-aa is running");
  EXPECT_EQ(runs::NoticeStatus(live.doc), runs::kRunningStatus);
  FakeRunDriver done;
  done.Add("train-aa", RunPhase::kSucceeded, 1);
  LiveObject ok = ObserveOrDie(done, "train-aa");
  EXPECT_TRUE(runs::Diff(done, JobKind(), {"Job", "train"}, JobDoc("train-aa"), ok.doc).notice.empty());
  // A removed spec: its runs are history, never pruned.
  EXPECT_EQ(runs::Diff(done, JobKind(), {"Job", "train"}, json(), ok.doc).action, Action::kNoop);
}

TEST(RunLifecycleTest, OnlyTheRunsOfThisRevisionAreItsRuns) {
  FakeRunDriver d;
  d.Add("train-aa", RunPhase::kSucceeded, 5);
  d.Add("train-aa-r2", RunPhase::kSucceeded, 5);  // same clock: the higher rerun is newer
  d.Add("train-aa-rx", RunPhase::kFailed, 9);     // not a rerun name
  d.Add("train-aab", RunPhase::kFailed, 9);       // another revision
  LiveObject live = ObserveOrDie(d, "train-aa");
  ASSERT_EQ(live.doc["Runs"].size(), 2u);
  EXPECT_EQ(live.doc["Runs"][0]["Name"], "train-aa-r2");
  EXPECT_TRUE(live.owned);
}

TEST(RunLifecycleTest, RerunTakesTheNextFreeNumber) {
  FakeRunDriver d;
  auto first = runs::DesiredForRerun(d, JobKind(), JobDoc("train-aa"));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)["id"], "train-aa");  // never ran: the revision's own name
  d.Add("train-aa", RunPhase::kFailed, 1);
  d.Add("train-aa-r3", RunPhase::kFailed, 2);
  auto next = runs::DesiredForRerun(d, JobKind(), JobDoc("train-aa"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ((*next)["id"], "train-aa-r4");
  EXPECT_FALSE(runs::DesiredForRerun(d, JobKind(), json::object()).ok());
}

TEST(RunLifecycleTest, HealthOfARun) {
  FakeRunDriver d;
  auto missing = runs::RunHealth(d, JobKind(), JobDoc("train-aa"));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->state, HealthState::kMissing);
  d.Add("train-aa", RunPhase::kRunning, 1);
  d.script["train-aa"] = {RunPhase::kRunning, RunPhase::kFailed};
  EXPECT_EQ(runs::RunHealth(d, JobKind(), JobDoc("train-aa"))->state, HealthState::kProgressing);
  auto failed = runs::RunHealth(d, JobKind(), JobDoc("train-aa"));
  EXPECT_EQ(failed->state, HealthState::kFailed);
  EXPECT_EQ(failed->message, "failed: exit code 1");
}

// ---- The executor with a backend's RunDriver.

class RunExecutorTest : public ExecutorTest {
 protected:
  void SetUp() override {
    ExecutorTest::SetUp();
    rec_.run_kinds = {"Job"};
    rec_.runs = &runs_;
  }
  static PlannedChange Run(const std::string& name) {
    return Change(Action::kRun, {"Job", "train"}, JobDoc(name), json(), "rev-1");
  }
  FakeRunDriver runs_;
};

TEST_F(RunExecutorTest, ARunIsStartedOnceAndWaitedOnUntilItSucceeds) {
  runs_.script["train-aa"] = {RunPhase::kPending, RunPhase::kRunning, RunPhase::kSucceeded};
  ChangeResult r = ApplyOne(Run("train-aa"));
  EXPECT_EQ(r.outcome, Outcome::kApplied) << r.message;
  EXPECT_EQ(runs_.started(), std::vector<std::string>{"train-aa"});
  EXPECT_EQ(runs_.reads(), 3);
  EXPECT_TRUE(rec_.Trace("apply").empty());  // runs go through the driver, not Apply
  EXPECT_FALSE(r.run_in_progress);
}

TEST_F(RunExecutorTest, AFailedRunFailsForGoodWithItsReasonAndIsNotRolledBack) {
  runs_.script["train-aa"] = {RunPhase::kRunning, RunPhase::kFailed};
  ChangeResult r = ApplyOne(Run("train-aa"));
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_TRUE(r.status.terminal());
  EXPECT_THAT(r.message, HasSubstr("exit code 1"));
  EXPECT_TRUE(rec_.Trace("restore").empty());
  EXPECT_FALSE(HoldOn({"Job", "train"}).has_value());
}

TEST_F(RunExecutorTest, NotWaitingForRunsEndsTheChangeOnceStarted) {
  runs_.script["train-aa"] = {RunPhase::kRunning};
  ExecOptions o = Options();
  o.wait_for_runs = false;
  ChangeResult r = ApplyOne(Run("train-aa"), o);
  EXPECT_EQ(r.outcome, Outcome::kApplied);
  EXPECT_TRUE(r.run_in_progress);
  EXPECT_EQ(r.message, "started train-aa");
  EXPECT_EQ(runs_.reads(), 0);
  EXPECT_EQ(clock_.slept(), milliseconds(0));
  EXPECT_EQ(Journal()[0].state, JournalState::kDone);
}

TEST_F(RunExecutorTest, AStartWhoseReplyWasLostIsFoundByItsName) {
  runs_.starts = {{test::UnknownOutcome(), true}};
  ChangeResult r = ApplyOne(Run("train-aa"));
  EXPECT_EQ(r.outcome, Outcome::kApplied) << r.message;
  EXPECT_EQ(runs_.started().size(), 1u);  // never a second start of a run that exists
  EXPECT_THAT(Printed(), HasSubstr("run train-aa had started"));
}

TEST_F(RunExecutorTest, AStartThatDidNotLandIsSentOnceMore) {
  runs_.starts = {{test::UnknownOutcome(), false}};
  ChangeResult r = ApplyOne(Run("train-aa"));
  EXPECT_EQ(r.outcome, Outcome::kApplied) << r.message;
  EXPECT_EQ(runs_.started().size(), 2u);
  EXPECT_THAT(Printed(), HasSubstr("had not started; starting it once more"));
}

}  // namespace
}  // namespace converge
