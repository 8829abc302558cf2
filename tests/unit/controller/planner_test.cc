// Planner rules (the safety contract, docs/architecture.md) with a fake backend whose diff compares whole documents.
#include "controller/planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "controller/render.h"
#include "tests/common/fake_clock.h"

namespace converge {
namespace {

class FakeReconciler : public Reconciler {
 public:
  Result<std::vector<LiveObject>> Observe() override { return std::vector<LiveObject>{}; }
  Result<std::optional<LiveObject>> Get(const ResourceKey&) override {
    return std::optional<LiveObject>();
  }
  json Desired(const Document& doc) const override { return doc.spec.Get(); }
  json Definition(const json& live) const override { return live; }
  DiffResult Diff(const json& desired, const json& live, const json&) const override {
    if (desired.is_null() && live.is_null()) return {};
    if (desired.is_null()) return {Action::kDelete, {}, "no spec"};
    if (live.is_null()) return {Action::kCreate, {{"image", json(), desired["image"]}}, "new"};
    if (desired == live) return {};
    if (desired.value("image", "") == live.value("image", ""))
      return {Action::kScale, {{"instances", live["instances"], desired["instances"]}}, "scale"};
    return {Action::kUpdate, {{"image", live["image"], desired["image"]}}, "image changed"};
  }
  Status Apply(const ChangeRequest&) override { return Status::Ok(); }
  Result<Health> CheckHealth(const ResourceKey&, const json&) override { return Health{}; }
  Status Restore(const ResourceKey&, const json&) override { return Status::Ok(); }
  long RequestCount() const override { return 0; }
  long WriteCount() const override { return 0; }
};

Document App(const std::string& name, const std::string& image, int instances = 1, int wave = 0) {
  Document d;
  d.kind = "App";
  d.name = name;
  d.backend = "m";
  d.spec = {{"image", image}, {"instances", instances}};
  d.pos = SourcePos{"apps.yaml", 1, 1};
  d.revision = "rev-" + name + image + std::to_string(instances);
  if (wave) d.annotations["converge/wave"] = std::to_string(wave);
  return d;
}

LiveObject Live(const std::string& name, const std::string& image, int instances = 1,
                bool owned = true) {
  return LiveObject{{"App", name}, {{"image", image}, {"instances", instances}}, "", owned};
}

struct Fixture {
  LoadResult specs;
  FakeReconciler rec;
  PlanInputs in;
  PlanOptions opts;
  test::FakeClock clock;
  Fixture() {
    opts.clock = &clock;
    BackendConfig cfg;
    cfg.name = "m";
    cfg.type = "fake";
    in.specs = &specs;
    in.backends["m"] = cfg;
    in.reconcilers["m"] = &rec;
    in.live["m"] = {};
  }
  Plan Run() { return ComputePlan(in, opts); }
};

std::vector<std::string> Actions(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& c : p.changes) out.push_back(std::string(ActionName(c.action)) + " " + c.key.name);
  return out;
}

TEST(Planner, CreateUpdateScaleNoop) {
  Fixture f;
  f.specs.documents = {App("/a", "x:1"), App("/b", "y:2"), App("/c", "z:1", 3), App("/d", "d:1")};
  f.in.live["m"] = {Live("/b", "y:1"), Live("/c", "z:1", 1), Live("/d", "d:1")};
  Plan p = f.Run();
  EXPECT_THAT(Actions(p), ::testing::ElementsAre("create /a", "update /b", "scale /c"));
  EXPECT_EQ(p.changes[0].fingerprint, "absent");
  EXPECT_NE(p.changes[1].fingerprint, "absent");
  EXPECT_EQ(p.resources, 4u);
  EXPECT_EQ(SummaryLine(p), "Plan: 1 to create, 1 to update, 1 to scale, 0 to delete.");
}

// A large set is planned on every core; the plan is the one a document-by-document pass makes:
// each list in document order (the changes then ordered as always), nothing lost or doubled.
TEST(Planner, ALargeSetPlansTheSameAsOneDocumentAtATime) {
  Fixture f;
  const int n = 3000;
  std::vector<std::string> settled, unmanaged;
  for (int i = 0; i < n; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "/app%04d", (i * 7919) % n);  // not in name order
    f.specs.documents.push_back(App(name, "img:1", 1 + i % 2));
    switch (i % 4) {
      case 0: break;  // create
      case 1: f.in.live["m"].push_back(Live(name, "img:0", 1 + i % 2)); break;  // update
      case 2:  // matches, no last-applied row: settled
        f.in.live["m"].push_back(Live(name, "img:1", 1 + i % 2));
        settled.push_back(name);
        break;
      case 3:  // someone else's object in the way
        f.in.live["m"].push_back(Live(name, "img:1", 1, /*owned=*/false));
        unmanaged.push_back(name);
        break;
    }
  }
  Plan p = f.Run();
  EXPECT_EQ(p.resources, static_cast<size_t>(n));
  ASSERT_EQ(p.changes.size(), static_cast<size_t>(n / 2));
  EXPECT_EQ(p.Summary().at("create"), n / 4);
  EXPECT_EQ(p.Summary().at("update"), n / 4);
  for (size_t i = 1; i < p.changes.size(); ++i) EXPECT_LT(p.changes[i - 1].key, p.changes[i].key);
  std::vector<std::string> got_settled, got_unmanaged;
  for (const auto& s : p.settle) got_settled.push_back(s.key.name);
  for (const auto& e : p.errors) got_unmanaged.push_back(e.key.substr(4));  // "App/<name>"
  EXPECT_EQ(got_settled, settled);
  EXPECT_EQ(got_unmanaged, unmanaged);
  EXPECT_EQ(p.settle[0].desired.Get()["image"], "img:1");
}

TEST(Planner, OrphansNeedPrune) {
  Fixture f;
  f.in.live["m"] = {Live("/old", "o:1"), Live("/foreign", "f:1", 1, /*owned=*/false)};
  Plan p = f.Run();
  EXPECT_TRUE(p.changes.empty());
  ASSERT_EQ(p.skipped.size(), 1u);  // the unowned app is not ours: not even mentioned
  EXPECT_EQ(p.skipped[0].status, "not-pruned");
  f.opts.prune = true;
  EXPECT_THAT(Actions(f.Run()), ::testing::ElementsAre("delete /old"));
}

TEST(Planner, BackendPruneTrueEnablesDeletes) {
  Fixture f;
  f.in.backends["m"].prune = true;
  f.in.live["m"] = {Live("/old", "o:1")};
  EXPECT_THAT(Actions(f.Run()), ::testing::ElementsAre("delete /old"));
}

TEST(Planner, FailedFileBlocksEveryDelete) {
  Fixture f;
  f.opts.prune = true;
  f.specs.failed_files.insert("broken.yaml");
  f.specs.documents = {App("/a", "x:2")};
  f.in.live["m"] = {Live("/a", "x:1"), Live("/old", "o:1")};
  Plan p = f.Run();
  EXPECT_THAT(Actions(p), ::testing::ElementsAre("update /a"));
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].status, "unknown-desired-state");
}

TEST(Planner, PruneProtectedIsWhatTheReconcilerReports) {
  // The same rule for every backend: the planner reads the fact, never a backend's document.
  Fixture f;
  f.opts.prune = true;
  LiveObject keep = Live("/keep", "k:1");
  keep.prune_protected = true;  // a Marathon label or a SageMaker tag, as the reconciler saw it
  LiveObject labelled = Live("/labelled", "l:1");
  labelled.doc["labels"] = {{"converge/prune", "false"}};  // not reported as protected: pruned
  f.in.live["m"] = {keep, labelled};
  Plan p = f.Run();
  EXPECT_THAT(Actions(p), ::testing::ElementsAre("delete /labelled"));
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].key.name, "/keep");
  EXPECT_EQ(p.skipped[0].status, "protected");
  EXPECT_THAT(p.skipped[0].reason, ::testing::HasSubstr("converge/prune"));
}

TEST(Planner, MaxDeletesIsAnError) {
  Fixture f;
  f.opts.prune = true;
  f.opts.max_deletes = 2;
  f.in.live["m"] = {Live("/a", "1"), Live("/b", "1"), Live("/c", "1")};
  Plan p = f.Run();
  EXPECT_TRUE(p.HasErrors());
  EXPECT_THAT(p.errors.at(0).Text(), ::testing::HasSubstr("more than --max-deletes 2"));
}

TEST(Planner, HeldUntilTheSpecChanges) {
  Fixture f;
  Document d = App("/a", "x:2");
  f.specs.documents = {d};
  f.in.live["m"] = {Live("/a", "x:1")};
  f.in.holds["App//a"] = HoldInfo{d.revision, "rolled back"};
  Plan p = f.Run();
  EXPECT_TRUE(p.changes.empty());
  EXPECT_EQ(p.skipped.at(0).status, "held");
  f.in.holds["App//a"].revision = "an older revision";
  EXPECT_THAT(Actions(f.Run()), ::testing::ElementsAre("update /a"));
  f.in.holds["App//a"].revision = "*";  // converge hold: until release
  EXPECT_TRUE(f.Run().changes.empty());
}

TEST(Planner, UnownedExistingObjectIsAnErrorNotATakeover) {
  Fixture f;
  f.specs.documents = {App("/a", "x:2")};
  f.in.live["m"] = {Live("/a", "x:1", 1, /*owned=*/false)};
  Plan p = f.Run();
  EXPECT_TRUE(p.changes.empty());
  EXPECT_THAT(p.errors.at(0).Text(), ::testing::HasSubstr("converge import App//a"));
  f.in.last_applied["App//a"] = LastAppliedDoc{json::object(), ""};  // imported
  EXPECT_THAT(Actions(f.Run()), ::testing::ElementsAre("update /a"));
}

TEST(Planner, OrderIsWavesThenNameAndDeletesLastReversed) {
  Fixture f;
  f.opts.prune = true;
  f.specs.documents = {App("/z", "1", 1, 0), App("/b", "1", 1, 2), App("/a", "1", 1, 2),
                       App("/m", "1", 1, 1)};
  f.in.live["m"] = {Live("/old1", "1"), Live("/old2", "1")};
  EXPECT_THAT(Actions(f.Run()),
              ::testing::ElementsAre("create /z", "create /m", "create /a", "create /b",
                                     "delete /old2", "delete /old1"));
}

TEST(PlanJson, RoundTrips) {
  Fixture f;
  f.specs.documents = {App("/a", "x:1")};
  Plan p = f.Run();
  json j = PlanToJson(p);
  EXPECT_EQ(j["format_version"], kPlanFormatVersion);
  EXPECT_EQ(j["summary"]["create"], 1);
  EXPECT_EQ(j["changes"][0]["fields"][0]["path"], "image");
  auto back = PlanFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->changes.size(), 1u);
  EXPECT_EQ(back->changes[0].fingerprint, "absent");
  EXPECT_FALSE(PlanFromJson(json{{"x", 1}}).ok());
  j["format_version"] = "9.0";
  EXPECT_FALSE(PlanFromJson(j).ok());
}

// `plan -o json` is written a change at a time: byte for byte the document PlanToJson builds,
// whatever the plan holds (changes, skips, settles, errors, diagnostics) or lacks.
TEST(PlanJson, StreamedIsTheDocumentDumped) {
  auto streamed = [](const Plan& p) {
    std::ostringstream out;
    WritePlanJson(p, out);
    return out.str();
  };
  Fixture f;
  EXPECT_EQ(f.Run().created_at, "2026-01-01T00:00:00.000Z");  // the planner's clock, not the machine's
  EXPECT_EQ(streamed(f.Run()), PlanToJson(f.Run()).dump(2));  // nothing at all
  f.opts.prune = false;
  f.specs.documents = {App("/shop/new", "new:1"), App("/shop/web", "web:2"),
                       App("/shop/same", "same:1"), App("/shop/worker", "w:1", 4)};
  f.in.live["m"] = {Live("/shop/web", "web:1"), Live("/shop/same", "same:1"),
                    Live("/shop/worker", "w:1", 2), Live("/gone", "g:1")};
  Plan p = f.Run();
  p.diagnostics.push_back(Diagnostic{Severity::kWarning, SourcePos{"a \"b\".yaml", 3, 7}, "document 1",
                                     "line one\nline two \u00e9", ""});
  p.errors.push_back(PlanError{PlanError::Kind::kTooManyDeletes, "App//x", "f.yaml:1:1", "no"});
  ASSERT_FALSE(p.changes.empty());
  ASSERT_FALSE(p.skipped.empty());
  ASSERT_FALSE(p.settle.empty());
  EXPECT_EQ(streamed(p), PlanToJson(p).dump(2));
  EXPECT_EQ(json::parse(streamed(p)), PlanToJson(p));
}

// Golden rendering: text (no colour) and Markdown of one plan with every kind of line.
TEST(Render, Golden) {
  Fixture f;
  f.specs.documents = {App("/shop/new", "new:1"), App("/shop/web", "web:2"),
                       App("/shop/worker", "w:1", 4)};
  f.in.live["m"] = {Live("/shop/web", "web:1"), Live("/shop/worker", "w:1", 2), Live("/gone", "g:1")};
  Plan p = f.Run();
  std::string text = RenderPlanText(p, RenderOptions{false});
  std::string md = RenderPlanMarkdown(p);
  std::string dir = std::string(CONVERGE_SOURCE_DIR) + "/tests/unit/controller/testdata/";
  auto check = [&](const std::string& name, const std::string& got) {
    std::string path = dir + name;
    if (std::getenv("CONVERGE_UPDATE_GOLDEN")) std::ofstream(path) << got;
    std::ifstream in(path);
    std::stringstream want;
    want << in.rdbuf();
    EXPECT_EQ(got, want.str()) << "golden " << path << " differs (CONVERGE_UPDATE_GOLDEN=1 updates it)";
  };
  check("plan.txt", text);
  check("plan.md", md);
  EXPECT_EQ(RenderPlanText(p, RenderOptions{true}).find("\033[32m+") != std::string::npos, true);
}

}  // namespace
}  // namespace converge

namespace converge {
namespace {

class DepReconciler : public FakeReconciler {
 public:
  std::vector<ResourceKey> Dependencies(const json& doc) const override {
    std::vector<ResourceKey> out;
    if (doc.is_object() && doc.contains("deps"))
      for (const auto& d : doc["deps"]) out.push_back({"App", d.get<std::string>()});
    return out;
  }
};

TEST(Planner, DependenciesRunFirstAndAreDeletedLast) {
  Fixture f;
  DepReconciler dep;
  f.in.reconcilers["m"] = &dep;
  f.opts.prune = true;
  Document api = App("/a-api", "1");
  api.spec.Edit()["deps"] = {"/z-db"};
  Document web = App("/b-web", "1");
  web.spec.Edit()["deps"] = {"/a-api"};
  f.specs.documents = {web, api, App("/z-db", "1")};
  LiveObject old_api = Live("/old-api", "1");
  old_api.doc["deps"] = {"/old-db"};
  f.in.live["m"] = {Live("/old-db", "1"), old_api};
  Plan p = f.Run();
  EXPECT_THAT(Actions(p), ::testing::ElementsAre("create /z-db", "create /a-api", "create /b-web",
                                                 "delete /old-api", "delete /old-db"));
  EXPECT_EQ(p.changes[2].stage, 2);
}

// Desired states computed from other specs (as SageMaker's content-addressed names are): the
// bound model content stands in for the bound specs.
class RefReconciler : public DepReconciler {
 public:
  std::string model_content = "m:1";
  std::vector<ResourceKey> References(const Document& doc) const override {
    return Dependencies(doc.spec.Get());
  }
  json Desired(const Document& doc) const override {
    json d = doc.spec.Get();
    if (doc.spec.Get().contains("deps")) d["model"] = model_content;
    return d;
  }
};

TEST(Planner, ARevisionCoversWhatReferencedSpecsPutInTheDesiredState) {
  Fixture f;
  RefReconciler ref;
  f.in.reconcilers["m"] = &ref;
  Document model = App("/model", "m:1");
  Document endpoint = App("/endpoint", "e:2");
  endpoint.spec.Edit()["deps"] = {"/model"};
  f.specs.documents = {model, endpoint};
  f.in.live["m"] = {Live("/model", "m:1"), Live("/endpoint", "e:1")};
  Plan p = f.Run();
  ASSERT_EQ(p.changes.size(), 1u);
  const std::string held_at = p.changes[0].revision;
  EXPECT_NE(held_at, endpoint.revision);
  // Held after a failed rollout: still held while its desired state is the same, even when a
  // referenced spec changes in a way that does not reach it (a tag on the model)...
  f.in.holds["App//endpoint"] = HoldInfo{held_at, "rolled back"};
  f.specs.documents.Mutable(0).revision = "rev-model-tagged";
  EXPECT_TRUE(f.Run().changes.empty());
  // ...and released when the referenced content changes (a fixed model image).
  ref.model_content = "m:2";
  Plan fixed = f.Run();
  ASSERT_EQ(fixed.changes.size(), 1u);
  EXPECT_NE(fixed.changes[0].revision, held_at);
  // Specs without references keep their own revision.
  Fixture plain;
  plain.specs.documents = {model};
  plain.in.live["m"] = {Live("/model", "m:0")};
  EXPECT_EQ(plain.Run().changes.at(0).revision, model.revision);
}

}  // namespace
}  // namespace converge
