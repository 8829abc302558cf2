// The executor's step machine for one change, against a FakeReconciler, the FakeClock and a real
// store: what the journal, the snapshots, last-applied and the holds say afterwards, the
// ChangeResult the CLI prints, and which backend calls were made in which order.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "tests/unit/controller/executor_fixture.h"

namespace converge {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST_F(ExecutorTest, CreateIsJournalledSnapshottedAndRecordedAsApplied) {
  const ResourceKey a = AppKey("/shop/web");
  ChangeResult r = ApplyOne(Change(Action::kCreate, a, AppDoc("/shop/web", "v1"), json()));

  EXPECT_EQ(r.outcome, Outcome::kApplied) << r.message;
  EXPECT_EQ(r.key, a);
  EXPECT_EQ(r.action, Action::kCreate);
  EXPECT_EQ(r.message, "healthy");
  EXPECT_THAT(rec_.Trace(), ElementsAre("apply create App//shop/web", "health App//shop/web"));
  EXPECT_EQ(rec_.Live(a), AppDoc("/shop/web", "v1"));

  // The journal ends "done" and names the snapshot taken before the call.
  auto journal = Journal();
  ASSERT_EQ(journal.size(), 1u);
  EXPECT_EQ(journal[0].key, "App//shop/web");
  EXPECT_EQ(journal[0].action, "create");
  EXPECT_EQ(journal[0].backend, "fake");
  EXPECT_EQ(journal[0].state, JournalState::kDone);
  EXPECT_EQ(journal[0].snapshot_id, r.snapshot_id);
  // A create snapshots "did not exist", so that a rollback removes the object again.
  auto snaps = SnapshotsOf(a);
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].id, r.snapshot_id);
  EXPECT_TRUE(snaps[0].doc.is_null());
  EXPECT_EQ(snaps[0].reason, "before create");
  EXPECT_EQ(snaps[0].spec_revision, "rev-2");
  EXPECT_EQ(snaps[0].run_id, run_);

  auto la = LastAppliedOf(a);
  ASSERT_TRUE(la.has_value());
  EXPECT_EQ(la->doc, AppDoc("/shop/web", "v1"));
  EXPECT_EQ(la->spec_revision, "rev-2");
  EXPECT_EQ(la->run_id, run_);
  EXPECT_FALSE(HoldOn(a).has_value());
  EXPECT_THAT(Printed(), HasSubstr("App /shop/web: creating...\n"));
  EXPECT_THAT(Printed(), HasSubstr("App /shop/web: created ("));
}

// DESIGN §5.5: the snapshot is in the store, and the journal says in-progress, when the backend
// call is made, so a crash during the call loses nothing.
TEST_F(ExecutorTest, SnapshotIsSavedBeforeTheBackendCall) {
  const ResourceKey a = AppKey("a");
  std::vector<store::Snapshot> snaps_at_call;
  std::vector<store::JournalEntry> journal_at_call;
  rec_.on_apply = [&](const ChangeRequest& req) {
    snaps_at_call = SnapshotsOf(req.key);
    journal_at_call = Journal();
  };
  ChangeResult r = ApplyOne(Update("a"));

  ASSERT_EQ(r.outcome, Outcome::kApplied) << r.message;
  ASSERT_EQ(snaps_at_call.size(), 1u);
  EXPECT_EQ(snaps_at_call[0].doc, AppDoc("a", "v1"));
  EXPECT_EQ(snaps_at_call[0].reason, "before update");
  ASSERT_EQ(journal_at_call.size(), 1u);
  EXPECT_EQ(journal_at_call[0].state, JournalState::kInProgress);
  EXPECT_EQ(journal_at_call[0].snapshot_id, snaps_at_call[0].id);
  EXPECT_EQ(Journal()[0].state, JournalState::kDone);
  EXPECT_EQ(rec_.Live(a), AppDoc("a", "v2"));
}

TEST_F(ExecutorTest, CleanApplyOfANewRevisionReleasesAnOldHold) {
  const ResourceKey a = AppKey("a");
  store::Hold old;
  old.key = a.ToString();
  old.spec_revision = "rev-1";
  old.reason = "rolled back earlier";
  ASSERT_TRUE(store_->PutHold(old).ok());

  ChangeResult r = ApplyOne(Update("a"));
  EXPECT_EQ(r.outcome, Outcome::kApplied) << r.message;
  EXPECT_FALSE(HoldOn(a).has_value());
}

TEST_F(ExecutorTest, HealthTimeoutRestoresTheSnapshotAndHolds) {
  const ResourceKey a = AppKey("a");
  ChangeResult r = ApplyOne(Update("a", "progressing"));

  EXPECT_EQ(r.outcome, Outcome::kRolledBack) << r.message;
  EXPECT_THAT(r.message, HasSubstr("not healthy after 30.0s (tasks starting 0/1)"));
  EXPECT_THAT(r.message, HasSubstr("; rolled back to snapshot " + std::to_string(r.snapshot_id) +
                                   " and held"));
  // Polled every second for the 30 s timeout, without sleeping for real.
  EXPECT_EQ(clock_.slept(), seconds(30));
  for (auto d : clock_.sleeps()) EXPECT_EQ(d, milliseconds(1000));
  EXPECT_EQ(rec_.Count("health", a), 31 + 1);  // 0 s .. 30 s, then once after the restore
  // The snapshot's definition went back, and the object is as it was.
  auto restores = rec_.Trace("restore");
  ASSERT_EQ(restores.size(), 1u);
  for (const auto& c : rec_.calls())
    if (c.op == "restore") EXPECT_EQ(c.doc, AppDoc("a", "v1"));
  EXPECT_EQ(rec_.Live(a), AppDoc("a", "v1"));

  auto hold = HoldOn(a);
  ASSERT_TRUE(hold.has_value());
  EXPECT_EQ(hold->spec_revision, "rev-2");  // a new spec revision lifts it
  EXPECT_EQ(hold->snapshot_id, r.snapshot_id);
  EXPECT_THAT(hold->reason, HasSubstr("rolled back automatically after a failed update"));
  EXPECT_THAT(hold->reason, HasSubstr("not healthy after 30.0s"));
  auto journal = Journal();
  ASSERT_EQ(journal.size(), 1u);
  EXPECT_EQ(journal[0].state, JournalState::kRolledBack);
  EXPECT_EQ(journal[0].detail, r.message);
  EXPECT_FALSE(LastAppliedOf(a).has_value());

  // A progress line every 5 s of the wait, then the rollback.
  const std::string out = Printed();
  EXPECT_THAT(out, HasSubstr("App a: updating... 5.0s elapsed (tasks starting 0/1)"));
  EXPECT_THAT(out, HasSubstr("App a: updating... 25.0s elapsed"));
  EXPECT_THAT(out, HasSubstr("App a: rolling back to snapshot " + std::to_string(r.snapshot_id)));
  EXPECT_THAT(out, HasSubstr("held until the spec changes or `converge release App/a`"));
}

TEST_F(ExecutorTest, FailedHealthStopsTheWaitAtOnce) {
  const ResourceKey a = AppKey("a");
  ChangeResult r = ApplyOne(Update("a", "failed"));

  EXPECT_EQ(r.outcome, Outcome::kRolledBack) << r.message;
  EXPECT_THAT(r.message, HasSubstr("failed after 0.0s: the backend gave up"));
  EXPECT_TRUE(clock_.sleeps().empty());
  EXPECT_THAT(rec_.Trace(),
              ElementsAre("apply update App/a", "health App/a", "restore App/a", "health App/a"));
  EXPECT_TRUE(HoldOn(a).has_value());
}

TEST_F(ExecutorTest, DegradedIsWaitedOnAndMayRecover) {
  const ResourceKey a = AppKey("a");
  rec_.ScriptHealth(a, {Health{HealthState::kDegraded, "1/2 unhealthy"},
                        Health{HealthState::kProgressing, "2/2 starting"},
                        Health{HealthState::kHealthy, "2/2 healthy"}});
  ChangeResult r = ApplyOne(Update("a"));
  EXPECT_EQ(r.outcome, Outcome::kApplied) << r.message;
  EXPECT_EQ(r.message, "2/2 healthy");
  EXPECT_EQ(clock_.slept(), seconds(2));
}

// A health check only reads. When the object settled away from the desired state and says which
// write brings it back (kDiverged + follow_up), the executor reads it and sends that write as a
// step of the change, then waits again; at most three times.
TEST_F(ExecutorTest, DivergedIsBroughtBackByTheFollowUpTheBackendNames) {
  const ResourceKey a = AppKey("a");
  rec_.ScriptHealth(a, {Health{HealthState::kDiverged, "InService, 2 instances", Action::kScale},
                        Health{HealthState::kHealthy, "InService"}});
  ChangeResult r = ApplyOne(Update("a"));
  EXPECT_EQ(r.outcome, Outcome::kApplied) << r.message;
  EXPECT_THAT(rec_.Trace(), ElementsAre("apply update App/a", "health App/a", "get App/a",
                                        "apply scale App/a", "health App/a"));
  EXPECT_THAT(Printed(), HasSubstr("App a: InService, 2 instances; sending a scale"));

  const ResourceKey b = AppKey("b");
  const Health diverged{HealthState::kDiverged, "stuck", Action::kScale};
  rec_.ScriptHealth(b, std::vector<Result<Health>>(10, diverged));
  PlannedChange c = Update("b");
  c.auto_rollback = false;
  r = ApplyOne(c);
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(rec_.Count("apply", b), 4);  // the change and three follow-ups
  EXPECT_THAT(r.message, HasSubstr("still stuck after 3 scales"));
}

TEST_F(ExecutorTest, HealthCheckErrorsAreRetriedUntilTheTimeoutButTerminalOnesStop) {
  const ResourceKey a = AppKey("a"), b = AppKey("b");
  rec_.ScriptHealth(a, {UnavailableError("503"), UnavailableError("503")});
  ChangeResult ra = ApplyOne(Update("a"));
  EXPECT_EQ(ra.outcome, Outcome::kApplied) << ra.message;
  EXPECT_EQ(rec_.Count("health", a), 3);

  rec_.ScriptHealth(b, {Status(Code::kPermission, "token expired")});
  ChangeResult rb = ApplyOne(Update("b"));
  EXPECT_EQ(rb.outcome, Outcome::kRolledBack) << rb.message;
  EXPECT_THAT(rb.message, HasSubstr("token expired"));
  EXPECT_EQ(clock_.slept(), seconds(2));  // only a's two polls
}

TEST_F(ExecutorTest, PollsAtTheSlowerOfItsIntervalAndTheBackends) {
  rec_.poll_interval = seconds(10);
  ChangeResult r = ApplyOne(Update("a", "progressing"));
  EXPECT_EQ(r.outcome, Outcome::kRolledBack);
  EXPECT_EQ(clock_.slept(), seconds(30));
  for (auto d : clock_.sleeps()) EXPECT_EQ(d, seconds(10));
}

// ExecOptions::health_timeout 0 means the backend's healthTimeout, unless the object says it
// takes longer (a training job's StoppingCondition).
TEST_F(ExecutorTest, TimeoutIsTheBackendsUnlessTheObjectNeedsLonger) {
  ExecOptions o = Options();
  o.health_timeout = seconds(0);
  o.parallelism = 1;
  ApplyOne(Update("a", "progressing"), o);
  EXPECT_EQ(clock_.slept(), seconds(60));  // backends_["fake"].health_timeout

  rec_.health_timeout = seconds(3600);
  const auto before = clock_.slept();
  ChangeResult r = ApplyOne(Update("b", "progressing"), o);
  EXPECT_THAT(r.message, HasSubstr("not healthy after 3600.0s"));
  // The rollback waits the backend's timeout: the snapshot is healthy at once here.
  EXPECT_EQ(clock_.slept() - before, seconds(3600));
}

TEST_F(ExecutorTest, AutoRollbackOffLeavesTheChangeInPlace) {
  const ResourceKey a = AppKey("a");
  PlannedChange c = Update("a", "progressing");
  c.auto_rollback = false;
  ChangeResult r = ApplyOne(c);

  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_THAT(r.message, HasSubstr("not healthy after 30.0s"));
  EXPECT_THAT(r.message, HasSubstr("(autoRollback is off)"));
  EXPECT_TRUE(rec_.Trace("restore").empty());
  EXPECT_EQ(rec_.Live(a), AppDoc("a", "v2", "progressing"));
  EXPECT_FALSE(HoldOn(a).has_value());
  EXPECT_FALSE(LastAppliedOf(a).has_value());
  auto journal = Journal();
  ASSERT_EQ(journal.size(), 1u);
  EXPECT_EQ(journal[0].state, JournalState::kFailed);
  EXPECT_EQ(journal[0].detail, r.message);
}

// A definitive failure keeps its code in the result so `converge watch` does not repeat the
// change until the spec changes.
TEST_F(ExecutorTest, AutoRollbackOffKeepsATerminalHealthFailureTerminal) {
  PlannedChange c = Update("a", "failed");
  c.auto_rollback = false;
  ChangeResult r = ApplyOne(c);
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_TRUE(r.status.terminal());
  EXPECT_EQ(r.message.rfind("invalid: failed after 0.0s: the backend gave up", 0), 0u) << r.message;
}

TEST_F(ExecutorTest, RollbackWhoseRestoreFailsIsReportedAndStillHeld) {
  const ResourceKey a = AppKey("a");
  rec_.ScriptRestore(a, {FakeReconciler::Fails(UnavailableError("backend down"))});
  ChangeResult r = ApplyOne(Update("a", "progressing"));

  EXPECT_EQ(r.outcome, Outcome::kRollbackFailed);
  EXPECT_THAT(r.message, HasSubstr("not healthy after 30.0s"));
  EXPECT_THAT(r.message, HasSubstr("; rollback failed: backend down"));
  // Held anyway: re-applying the same spec over a half-rolled-back object would be worse.
  auto hold = HoldOn(a);
  ASSERT_TRUE(hold.has_value());
  EXPECT_EQ(hold->snapshot_id, r.snapshot_id);
  EXPECT_EQ(Journal()[0].state, JournalState::kFailed);
  EXPECT_THAT(Printed(), HasSubstr("App a: rollback failed: backend down"));
}

TEST_F(ExecutorTest, RollbackThatDoesNotBecomeHealthyIsARollbackFailure) {
  const ResourceKey a = AppKey("a");
  // The restore is accepted but nothing changes: the object stays unhealthy.
  rec_.ScriptRestore(a, {FakeReconciler::Write{Status::Ok(), /*lands=*/false}});
  ChangeResult r = ApplyOne(Update("a", "progressing"));

  EXPECT_EQ(r.outcome, Outcome::kRollbackFailed);
  EXPECT_THAT(r.message, HasSubstr("; rollback failed: not healthy after 30.0s"));
  EXPECT_EQ(clock_.slept(), seconds(60));  // the change's wait and the rollback's
  EXPECT_EQ(Journal()[0].state, JournalState::kFailed);
}

TEST_F(ExecutorTest, ApplyErrorsFailTheChangeWithoutHealthWaitOrRollback) {
  const ResourceKey a = AppKey("a"), b = AppKey("b");
  rec_.ScriptApply(a, {FakeReconciler::Fails(InvalidError("image: must not be empty"))});
  rec_.ScriptApply(b, {FakeReconciler::Fails(UnavailableError("503 Service Unavailable"))});
  auto results = Make().Apply(run_, PlanOf({Update("a"), Update("b")}));
  ASSERT_EQ(results.size(), 2u);

  // Terminal and retryable failures are told apart by their code.
  EXPECT_EQ(results[0].status.code(), Code::kInvalid);
  EXPECT_EQ(results[1].status.code(), Code::kUnavailable);
  EXPECT_EQ(results[0].outcome, Outcome::kFailed);
  EXPECT_EQ(results[0].message, "invalid: image: must not be empty");
  EXPECT_EQ(results[1].outcome, Outcome::kFailed);
  EXPECT_EQ(results[1].message, "unavailable: 503 Service Unavailable");
  EXPECT_THAT(rec_.Trace(), ElementsAre("apply update App/a", "apply update App/b"));
  EXPECT_EQ(rec_.Live(a), AppDoc("a", "v1"));
  for (const auto& e : Journal()) {
    EXPECT_EQ(e.state, JournalState::kFailed);
    EXPECT_NE(e.snapshot_id, 0);  // the snapshot was taken all the same
  }
  EXPECT_FALSE(HoldOn(a).has_value());
  EXPECT_FALSE(HoldOn(b).has_value());
  EXPECT_THAT(Printed(), HasSubstr("App a: failed: invalid: image: must not be empty"));
}

// `converge watch` on SIGTERM after the shutdown timeout: the health wait stops, the change is
// journalled interrupted (the write was made; the next start re-plans from live state) and is
// not rolled back.
TEST_F(ExecutorTest, CancelDuringTheHealthWaitInterruptsWithoutRollback) {
  const ResourceKey a = AppKey("a");
  std::atomic<bool> cancel{false};
  clock_.OnSleep([&](milliseconds) { cancel = true; });
  ExecOptions o = Options();
  o.cancel = &cancel;
  ChangeResult r = ApplyOne(Update("a", "progressing"), o);

  EXPECT_EQ(r.outcome, Outcome::kSkipped);
  EXPECT_EQ(r.message, "interrupted while waiting for health: converge is stopping");
  EXPECT_THAT(rec_.Trace(), ElementsAre("apply update App/a", "health App/a"));
  EXPECT_EQ(clock_.sleeps().size(), 1u);
  EXPECT_FALSE(HoldOn(a).has_value());
  EXPECT_FALSE(LastAppliedOf(a).has_value());
  auto journal = Journal();
  ASSERT_EQ(journal.size(), 1u);
  EXPECT_EQ(journal[0].state, JournalState::kInterrupted);
  EXPECT_EQ(journal[0].snapshot_id, r.snapshot_id);
}

TEST_F(ExecutorTest, DeleteRemovesTheObjectAndItsLastApplied) {
  const ResourceKey a = AppKey("a");
  rec_.SetLive(a, AppDoc("a", "v1"));
  store::LastApplied la;
  la.key = a.ToString();
  la.backend = "fake";
  la.doc = AppDoc("a", "v1");
  ASSERT_TRUE(store_->SetLastApplied(la).ok());

  ChangeResult r = ApplyOne(Change(Action::kDelete, a, json(), AppDoc("a", "v1")));
  EXPECT_EQ(r.outcome, Outcome::kApplied) << r.message;
  EXPECT_FALSE(rec_.Live(a).has_value());
  EXPECT_FALSE(LastAppliedOf(a).has_value());
  auto snaps = SnapshotsOf(a);
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].doc, AppDoc("a", "v1"));  // what `converge rollback` can bring back
  EXPECT_EQ(snaps[0].reason, "before delete");
  EXPECT_THAT(Printed(), HasSubstr("App a: deleted ("));
}

TEST_F(ExecutorTest, DeleteThatDoesNotCompleteIsNotRolledBack) {
  const ResourceKey a = AppKey("a");
  rec_.SetLive(a, AppDoc("a", "v1"));
  rec_.ScriptApply(a, {FakeReconciler::Write{Status::Ok(), /*lands=*/false}});
  ChangeResult r = ApplyOne(Change(Action::kDelete, a, json(), AppDoc("a", "v1")));
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_THAT(r.message, HasSubstr("not healthy after 30.0s (still there)"));
  EXPECT_TRUE(rec_.Trace("restore").empty());
  EXPECT_FALSE(HoldOn(a).has_value());
}

TEST_F(ExecutorTest, SnapshotsBeyondTheRetentionArePruned) {
  const ResourceKey a = AppKey("a");
  ExecOptions o = Options();
  o.snapshot_retention = 2;
  for (int i = 0; i < 4; ++i) ApplyOne(Update("a"), o);
  auto snaps = SnapshotsOf(a);
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_GT(snaps[0].id, snaps[1].id);  // the newest two
  EXPECT_EQ(Journal().back().snapshot_id, snaps[0].id);
}

}  // namespace
}  // namespace converge
