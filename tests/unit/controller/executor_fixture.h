// What the executor tests share: a real store in a temp directory, one FakeReconciler behind a
// Backend named "fake", the FakeClock (health waits take no real time), and the progress lines
// the user would see on stderr, captured. Documents are {"id", "image"}; a desired document
// that carries "health": "progressing" (or "failed", ...) never becomes healthy in the fake.
#pragma once

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/executor.h"
#include "controller/store/store.h"
#include "tests/common/fake_clock.h"
#include "tests/common/fake_reconciler.h"
#include "tests/common/temp_dir.h"

namespace converge {

using std::chrono::milliseconds;
using std::chrono::seconds;
using store::JournalState;
using test::FakeReconciler;

inline ResourceKey AppKey(const std::string& name) {
  return {"App", name};
}

inline json AppDoc(const std::string& name, const std::string& image,
                   const std::string& health = "") {
  json d = {{"id", name}, {"image", image}};
  if (!health.empty()) d["health"] = health;
  return d;
}

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    auto st = store::Store::Open(dir_.path() + "/state");
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(*st);
    auto run = store_->BeginRun("apply", "");
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    run_ = *run;
    out_ = open_memstream(&out_buf_, &out_len_);
    ASSERT_NE(out_, nullptr);
    progress_ = std::make_unique<Progress>(out_);
    BackendConfig cfg;
    cfg.name = "fake";
    cfg.type = "fake";
    cfg.health_timeout = seconds(60);
    backends_["fake"] = cfg;
  }
  void TearDown() override {
    progress_.reset();
    if (out_ != nullptr) fclose(out_);
    free(out_buf_);
  }

  // One worker, 1 s polls, a 30 s health timeout: counts of polls are easy to predict.
  static ExecOptions Options() {
    ExecOptions o;
    o.parallelism = 1;
    o.poll_interval = milliseconds(1000);
    o.health_timeout = seconds(30);
    return o;
  }
  // The registry says what the fake backend registers (its kinds' lifecycles, timeouts, poll).
  Executor Make(ExecOptions o = Options()) {
    registry_ = BackendRegistry();
    registry_.Register(rec_.Factory());
    return Executor(ExecContext{store_.get(), {{"fake", &rec_}}, backends_, &clock_,
                                progress_.get(), &registry_},
                    o);
  }

  // A change as the planner makes it. `live` null: a create; `desired` null: a delete.
  static PlannedChange Change(Action action, const ResourceKey& key, json desired, json live,
                              const std::string& revision = "rev-2") {
    PlannedChange c;
    c.key = key;
    c.backend = "fake";
    c.action = action;
    c.desired = std::move(desired);
    c.live = std::move(live);
    c.revision = action == Action::kDelete ? "" : revision;
    return c;
  }
  // An update of App/<name> from image v1 (live) to v2 (desired, with an optional health).
  PlannedChange Update(const std::string& name, const std::string& health = "") {
    rec_.SetLive(AppKey(name), AppDoc(name, "v1"));
    return Change(Action::kUpdate, AppKey(name), AppDoc(name, "v2", health), AppDoc(name, "v1"));
  }
  static Plan PlanOf(std::vector<PlannedChange> changes) {
    Plan p;
    p.changes = std::move(changes);
    return p;
  }
  ChangeResult ApplyOne(const PlannedChange& c, ExecOptions o = Options()) {
    auto results = Make(o).Apply(run_, PlanOf({c}));
    EXPECT_EQ(results.size(), 1u);
    return results.empty() ? ChangeResult{} : results[0];
  }

  std::vector<store::JournalEntry> Journal() {
    auto j = store_->Journal(run_);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? *j : std::vector<store::JournalEntry>{};
  }
  std::optional<store::Hold> HoldOn(const ResourceKey& key) {
    auto h = store_->GetHold(key.ToString());
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? *h : std::nullopt;
  }
  std::optional<store::LastApplied> LastAppliedOf(const ResourceKey& key) {
    auto la = store_->GetLastApplied(key.ToString());
    EXPECT_TRUE(la.ok()) << la.status().ToString();
    return la.ok() ? *la : std::nullopt;
  }
  std::vector<store::Snapshot> SnapshotsOf(const ResourceKey& key) {
    auto s = store_->Snapshots(key.ToString());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : std::vector<store::Snapshot>{};
  }
  // Everything printed on the progress stream so far.
  std::string Printed() {
    fflush(out_);
    return std::string(out_buf_ == nullptr ? "" : out_buf_, out_len_);
  }

  test::TempDir dir_{"converge-executor"};
  std::unique_ptr<store::Store> store_;
  int64_t run_ = 0;
  FakeReconciler rec_{"fake", {"App", "Job"}};
  BackendRegistry registry_;
  test::FakeClock clock_;
  std::map<std::string, BackendConfig> backends_;
  FILE* out_ = nullptr;
  char* out_buf_ = nullptr;
  size_t out_len_ = 0;
  std::unique_ptr<Progress> progress_;
};

}  // namespace converge
