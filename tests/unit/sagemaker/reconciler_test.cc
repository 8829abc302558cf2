#include "reconcilers/registry.h"
#include "reconcilers/sagemaker/reconciler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace converge::sagemaker {
void RegisterBackend(BackendRegistry& registry);  // register.cc
namespace {

// Canned answers per operation; records every call.
class FakeApi : public Api {
 public:
  std::map<std::string, std::function<Result<json>(const json&)>> ops;
  std::vector<std::pair<std::string, json>> calls;

  Result<json> Call(const std::string& op, const json& input) override {
    calls.push_back({op, input});
    auto it = ops.find(op);
    // Like a SageMaker-compatible service without Search: the reconciler falls back to List.
    if (it == ops.end() && op == "Search") return InvalidError("UnknownOperationException");
    if (it == ops.end()) return NotFoundError(op + " not faked");
    return it->second(input);
  }
  Status ListAll(const std::string& op, json input, const std::string& member,
                 const std::function<Status(json&)>& visit) override {
    auto r = Call(op, input);
    if (!r.ok()) return r.status();
    for (auto& e : (*r)[member]) CONVERGE_RETURN_IF_ERROR(visit(e));
    return Status::Ok();
  }
  long RequestCount() const override { return static_cast<long>(calls.size()); }
  long WriteCount() const override { return 0; }
};

Document Doc(const std::string& kind, const std::string& name, json spec) {
  Document d;
  d.kind = kind;
  d.name = name;
  d.backend = "sm";
  d.spec = std::move(spec);
  return d;
}

struct World {
  std::vector<Document> docs;
  FakeApi* api = nullptr;
  std::unique_ptr<Reconciler> rec;

  explicit World(const std::string& image = "repo/churn:1", int count = 2, double weight = 0.9) {
    docs.push_back(Doc("Model", "churn", {{"ExecutionRoleArn", "arn:aws:iam::123456789012:role/r"},
                                          {"PrimaryContainer", {{"Image", image}}}}));
    docs.push_back(Doc("EndpointConfig", "churn",
                       {{"ProductionVariants",
                         {{{"VariantName", "blue"},
                           {"ModelName", "churn"},
                           {"InstanceType", "ml.m5.large"},
                           {"InitialInstanceCount", count},
                           {"InitialVariantWeight", weight}}}}}));
    docs.push_back(Doc("Endpoint", "churn", {{"EndpointConfigName", "churn"}}));
    docs.push_back(Doc("TrainingJob", "train", {{"RoleArn", "arn:aws:iam::123456789012:role/r"}}));
    auto a = std::make_unique<FakeApi>();
    api = a.get();
    rec = std::make_unique<Reconciler>(std::move(a), "converge");
    std::vector<const Document*> ptrs;
    for (const auto& d : docs) ptrs.push_back(&d);
    rec->BindSpecs(ptrs);
  }
  json Desired(size_t i) const { return rec->Desired(docs[i]); }
};

TEST(SageMakerNamesTest, ContentAddressedNames) {
  World a, same, image("repo/churn:2"), scaled("repo/churn:1", 5, 0.5);
  const std::string model = a.Desired(0)["ModelName"];
  EXPECT_EQ(SpecNameOfLive(model), "churn");
  EXPECT_EQ(model, same.Desired(0)["ModelName"]);
  EXPECT_NE(model, image.Desired(0)["ModelName"]);
  // The config references the model's live name, so a new model means a new config...
  EXPECT_EQ(a.Desired(1)["ProductionVariants"][0]["ModelName"], model);
  EXPECT_NE(a.Desired(1)["EndpointConfigName"], image.Desired(1)["EndpointConfigName"]);
  // ...but counts and weights are not part of the config's identity.
  EXPECT_EQ(a.Desired(1)["EndpointConfigName"], scaled.Desired(1)["EndpointConfigName"]);
  EXPECT_EQ(a.Desired(2)["EndpointName"], "churn");
  EXPECT_EQ(a.Desired(2)["EndpointConfigName"], a.Desired(1)["EndpointConfigName"]);
  // Ownership tags, and nothing private on the wire.
  json wire = WireRequest(a.Desired(2));
  EXPECT_FALSE(wire.contains("converge"));
  EXPECT_EQ(wire["Tags"][0]["Key"], kManagedByTag);
}

TEST(SageMakerNamesTest, SpecNameOfLive) {
  EXPECT_EQ(SpecNameOfLive("churn-model-0a1b2c3d"), "churn-model");
  EXPECT_EQ(SpecNameOfLive("train-0a1b2c3d-r12"), "train");
  EXPECT_EQ(SpecNameOfLive("churn"), "");
  EXPECT_EQ(SpecNameOfLive("churn-0A1B2C3D"), "");
  EXPECT_EQ(SpecNameOfLive("-0a1b2c3d"), "");
}

TEST(SageMakerDiffTest, ImmutableKinds) {
  World w;
  json want = w.Desired(0);
  auto none = w.rec->Diff(want, json(), json());
  EXPECT_EQ(none.action, Action::kCreate);
  json live = {{"Versions", {{{"Name", want["ModelName"]}, {"CreationTime", 1}}}}};
  EXPECT_EQ(w.rec->Diff(want, live, json()).action, Action::kNoop);

  World v2("repo/churn:2");
  auto d = v2.rec->Diff(v2.Desired(0), live, want);
  EXPECT_EQ(d.action, Action::kReplace);
  ASSERT_GE(d.fields.size(), 2u);
  EXPECT_EQ(d.fields[0].path, "ModelName");
  EXPECT_EQ(d.fields[1].path, "PrimaryContainer.Image");
  EXPECT_EQ(d.fields[1].before, "repo/churn:1");
  EXPECT_EQ(d.fields[1].after, "repo/churn:2");
  EXPECT_NE(d.reason.find("keeps " + want["ModelName"].get<std::string>()), std::string::npos);
  EXPECT_EQ(w.rec->Diff(json(), live, json()).action, Action::kDelete);
}

json LiveEndpoint(const std::string& config, int count, double weight) {
  return {{"EndpointName", "churn"},
          {"EndpointConfigName", config},
          {"EndpointStatus", "InService"},
          {"ProductionVariants",
           {{{"VariantName", "blue"},
             {"DesiredInstanceCount", count},
             {"CurrentInstanceCount", count},
             {"DesiredWeight", weight},
             {"CurrentWeight", weight}}}}};
}

TEST(SageMakerDiffTest, EndpointUpdateScaleNoop) {
  World w;
  json want = w.Desired(2);
  const std::string cfg = want["EndpointConfigName"];
  EXPECT_EQ(w.rec->Diff(want, json(), json()).action, Action::kCreate);
  EXPECT_EQ(w.rec->Diff(want, LiveEndpoint(cfg, 2, 0.9), json()).action, Action::kNoop);
  auto up = w.rec->Diff(want, LiveEndpoint("churn-00000000", 2, 0.9), json());
  EXPECT_EQ(up.action, Action::kUpdate);
  EXPECT_EQ(up.fields[0].path, "EndpointConfigName");

  World scaled("repo/churn:1", 5, 0.5);
  auto sc = scaled.rec->Diff(scaled.Desired(2), LiveEndpoint(cfg, 2, 0.9), json());
  EXPECT_EQ(sc.action, Action::kScale);
  ASSERT_EQ(sc.fields.size(), 2u);
  // Paths name the variant as every SageMaker diff does (ProductionVariants[blue].ModelName).
  EXPECT_EQ(sc.fields[0].path, "ProductionVariants[blue].DesiredInstanceCount");
  EXPECT_EQ(sc.fields[0].after, 5);
}

TEST(SageMakerRunsTest, JobsAreRunsListedReadAndStartedByName) {
  World w;
  json want = w.Desired(3);
  const std::string base = want["TrainingJobName"];
  ASSERT_NE(w.rec->Runs(), nullptr);
  // NameContains is a substring match: only <base> and <base>-r<N> of this kind are its runs
  // (the run lifecycle filters "-r<N>"; the driver drops names that do not start with <base>).
  w.api->ops["ListTrainingJobs"] = [&](const json& in) -> Result<json> {
    EXPECT_EQ(in["NameContains"], base);
    return json{{"TrainingJobSummaries",
                 {{{"TrainingJobName", base}, {"TrainingJobStatus", "Completed"}, {"CreationTime", 1}},
                  {{"TrainingJobName", base + "-r1"}, {"TrainingJobStatus", "Failed"}, {"CreationTime", 2}},
                  {{"TrainingJobName", "x" + base}, {"TrainingJobStatus", "InProgress"}, {"CreationTime", 3}}}}};
  };
  w.api->ops["DescribeTrainingJob"] = [&](const json& in) -> Result<json> {
    return json{{"TrainingJobName", in["TrainingJobName"]}, {"TrainingJobStatus", "Failed"},
                {"SecondaryStatus", "Failed"}, {"FailureReason", "AlgorithmError: out of memory"}};
  };
  auto runs = w.rec->ListRuns("TrainingJob", base);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].phase, RunPhase::kSucceeded);
  EXPECT_EQ((*runs)[1].phase, RunPhase::kFailed);
  EXPECT_EQ((*runs)[1].reason, "AlgorithmError: out of memory");  // the newest failed run's
  EXPECT_EQ((*runs)[1].created_ms, 2000);
  auto one = w.rec->ReadRun("TrainingJob", base + "-r1");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->status, "Failed/Failed");
  // Starting a run whose name exists is success: the name carries the revision.
  w.api->ops["CreateTrainingJob"] = [](const json&) -> Result<json> {
    return Status(Code::kConflict, "ResourceInUse");
  };
  EXPECT_TRUE(w.rec->StartRun("TrainingJob", want).ok());
  EXPECT_FALSE(w.rec->StartRun("Endpoint", want).ok());
  // Jobs are runs (never rolled back); endpoints are resources.
  BackendRegistry registry;
  RegisterBackend(registry);
  EXPECT_EQ(registry.FindKind("TrainingJob")->lifecycle, Lifecycle::kRun);
  EXPECT_EQ(registry.FindKind("Endpoint")->lifecycle, Lifecycle::kResource);
  EXPECT_EQ(registry.FindKind("TrainingJob")->run_name_member, "TrainingJobName");
}

TEST(SageMakerDiffTest, DependenciesFollowReferences) {
  World w;
  auto cfg = w.rec->Dependencies(w.Desired(1));
  ASSERT_EQ(cfg.size(), 1u);
  EXPECT_EQ(cfg[0].ToString(), "Model/churn");
  auto ep = w.rec->Dependencies(w.Desired(2));
  ASSERT_EQ(ep.size(), 1u);
  EXPECT_EQ(ep[0].ToString(), "EndpointConfig/churn");
  // A live endpoint (for deletes) names its config's live name.
  auto live = w.rec->Dependencies(LiveEndpoint("churn-0a1b2c3d", 1, 1));
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].ToString(), "EndpointConfig/churn");
}

TEST(SageMakerObserveTest, OwnershipByTagAndVersionsNewestFirst) {
  World w;
  w.api->ops["ListModels"] = [](const json&) -> Result<json> {
    return json{{"Models",
                 {{{"ModelName", "churn-00000001"}, {"ModelArn", "arn:m1"}, {"CreationTime", 10}},
                  {{"ModelName", "churn-00000002"}, {"ModelArn", "arn:m2"}, {"CreationTime", 20}},
                  {{"ModelName", "other-00000003"}, {"ModelArn", "arn:m3"}, {"CreationTime", 30}},
                  {{"ModelName", "handmade"}, {"ModelArn", "arn:m4"}, {"CreationTime", 40}}}}};
  };
  w.api->ops["ListTags"] = [](const json& in) -> Result<json> {
    if (in["ResourceArn"] == "arn:m3")
      return json{{"Tags", {{{"Key", kManagedByTag}, {"Value", "someone-else"}}}}};
    return json{{"Tags",
                 {{{"Key", kManagedByTag}, {"Value", "converge"}}, {{"Key", kNameTag}, {"Value", "churn"}}}}};
  };
  for (const char* op : {"ListEndpointConfigs", "ListEndpoints", "ListTrainingJobs"})
    w.api->ops[op] = [](const json&) -> Result<json> {
      return json{{"EndpointConfigs", json::array()}, {"Endpoints", json::array()},
                  {"TrainingJobSummaries", json::array()}};
    };
  auto live = w.rec->Observe();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].key.ToString(), "Model/churn");
  EXPECT_EQ((*live)[0].doc["Versions"][0]["Name"], "churn-00000002");
  EXPECT_EQ((*live)[0].doc["Versions"].size(), 2u);
  // "handmade" cannot be converge's (no hash suffix): its tags are never fetched.
  for (const auto& [op, in] : w.api->calls)
    if (op == "ListTags") EXPECT_NE(in["ResourceArn"], "arn:m4");
  // Tags of immutable objects are cached: a second observe lists but does not re-tag.
  size_t before = w.api->calls.size();
  ASSERT_TRUE(w.rec->Observe().ok());
  size_t tag_calls = 0;
  for (size_t i = before; i < w.api->calls.size(); ++i) tag_calls += w.api->calls[i].first == "ListTags";
  EXPECT_EQ(tag_calls, 0u);
}

TEST(SageMakerObserveTest, ObservedConfigsDependOnTheModelsOfEveryVersion) {
  // A removed config spec is deleted before its models: the observed versions document carries
  // the models each retained version uses (described once; configs are immutable).
  World w;
  w.api->ops["ListEndpointConfigs"] = [](const json&) -> Result<json> {
    return json{{"EndpointConfigs",
                 {{{"EndpointConfigName", "churn-00000001"}, {"EndpointConfigArn", "arn:c1"}, {"CreationTime", 10}},
                  {{"EndpointConfigName", "churn-00000002"}, {"EndpointConfigArn", "arn:c2"}, {"CreationTime", 20}}}}};
  };
  w.api->ops["DescribeEndpointConfig"] = [](const json& in) -> Result<json> {
    std::string model = in["EndpointConfigName"] == "churn-00000001" ? "old-0000000a" : "new-0000000b";
    return json{{"ProductionVariants", {{{"VariantName", "v"}, {"ModelName", model}}}}};
  };
  w.api->ops["ListTags"] = [](const json&) -> Result<json> {
    return json{{"Tags",
                 {{{"Key", kManagedByTag}, {"Value", "converge"}}, {{"Key", kNameTag}, {"Value", "churn"}}}}};
  };
  for (const char* op : {"ListModels", "ListEndpoints", "ListTrainingJobs"})
    w.api->ops[op] = [](const json&) -> Result<json> {
      return json{{"Models", json::array()}, {"Endpoints", json::array()},
                  {"TrainingJobSummaries", json::array()}};
    };
  auto live = w.rec->Observe();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  ASSERT_EQ(live->size(), 1u);
  auto deps = w.rec->Dependencies((*live)[0].doc);
  ASSERT_EQ(deps.size(), 2u);
  EXPECT_EQ(deps[0].ToString(), "Model/new");
  EXPECT_EQ(deps[1].ToString(), "Model/old");
  size_t describes = 0;
  ASSERT_TRUE(w.rec->Observe().ok());
  for (const auto& [op, in] : w.api->calls) describes += op == "DescribeEndpointConfig";
  EXPECT_EQ(describes, 2u);  // once per config version, not per observe
}

TEST(SageMakerHealthTest, InServiceOnTheRightConfigWithOldCountsIsScaled) {
  // UpdateEndpoint back to an old config deploys the counts that config was created with; the
  // endpoint should run the wanted ones. Health only reads: it says the endpoint diverged and
  // that a scale brings it back; the executor sends that scale (Apply) as a step of the change.
  World w("repo/churn:1", 4, 0.9);
  json want = w.Desired(2);
  const std::string cfg = want["EndpointConfigName"];
  json live = LiveEndpoint(cfg, 2, 0.9);
  int scales = 0;
  w.api->ops["DescribeEndpoint"] = [&](const json&) -> Result<json> { return live; };
  w.api->ops["UpdateEndpointWeightsAndCapacities"] = [&](const json& in) -> Result<json> {
    EXPECT_EQ(in["DesiredWeightsAndCapacities"][0]["DesiredInstanceCount"], 4);
    ++scales;
    live = LiveEndpoint(cfg, 4, 0.9);
    return json::object();
  };
  auto h = w.rec->CheckHealth({"Endpoint", "churn"}, want);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->state, HealthState::kDiverged);
  EXPECT_EQ(h->follow_up, Action::kScale);
  EXPECT_EQ(scales, 0);  // a health check never writes
  ASSERT_TRUE(w.rec->Apply({{"Endpoint", "churn"}, Action::kScale, want, live}).ok());
  EXPECT_EQ(scales, 1);
  h = w.rec->CheckHealth({"Endpoint", "churn"}, want);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->state, HealthState::kHealthy);
  // SageMaker's own rollback (InService on another config) is a failure, not a wait.
  live = LiveEndpoint("churn-00000000", 4, 0.9);
  EXPECT_EQ(w.rec->CheckHealth({"Endpoint", "churn"}, want)->state, HealthState::kFailed);
}

TEST(SageMakerApplyTest, AnEndpointCreatedMeanwhileBySomeoneElseIsNotAdopted) {
  World w;
  json want = w.Desired(2);
  w.api->ops["CreateEndpoint"] = [](const json&) -> Result<json> {
    return Status(Code::kConflict, "Cannot create already existing endpoint");
  };
  std::string running = want["EndpointConfigName"];
  w.api->ops["DescribeEndpoint"] = [&](const json&) -> Result<json> {
    return json{{"EndpointName", "churn"}, {"EndpointArn", "arn:e"}, {"EndpointStatus", "InService"},
                {"EndpointConfigName", running}};
  };
  std::string owner = "someone-else";
  w.api->ops["ListTags"] = [&](const json&) -> Result<json> {
    return json{{"Tags", {{{"Key", kManagedByTag}, {"Value", owner}}}}};
  };
  ChangeRequest c;
  c.key = {"Endpoint", "churn"};
  c.action = Action::kCreate;
  c.desired = want;
  Status s = w.rec->Apply(c);
  EXPECT_EQ(s.code(), Code::kInvalid) << s.ToString();
  owner = "converge";  // our own earlier attempt whose answer was lost: fine
  EXPECT_TRUE(w.rec->Apply(c).ok());
  running = "churn-00000000";  // ours, but not what this change creates: plan again
  EXPECT_EQ(w.rec->Apply(c).code(), Code::kConflict);
}

TEST(SageMakerApplyTest, ModelGarbageCollectionStopsWhenAConfigCannotBeRead) {
  World w;
  w.api->ops["ListModels"] = [](const json&) -> Result<json> {
    json models = json::array();
    for (int i = 1; i <= 5; ++i)
      models.push_back({{"ModelName", "churn-0000000" + std::to_string(i)},
                        {"ModelArn", "arn:m" + std::to_string(i)},
                        {"CreationTime", i}});
    return json{{"Models", models}};
  };
  w.api->ops["ListEndpointConfigs"] = [](const json&) -> Result<json> {
    return json{{"EndpointConfigs",
                 {{{"EndpointConfigName", "churn-0000000c"}, {"EndpointConfigArn", "arn:c"},
                   {"CreationTime", 1}}}}};
  };
  w.api->ops["ListTags"] = [](const json&) -> Result<json> {
    return json{{"Tags",
                 {{{"Key", kManagedByTag}, {"Value", "converge"}}, {{"Key", kNameTag}, {"Value", "churn"}}}}};
  };
  w.api->ops["DescribeEndpointConfig"] = [](const json&) -> Result<json> {
    return Status(Code::kPermission, "AccessDenied");
  };
  w.api->ops["CreateModel"] = [](const json&) -> Result<json> { return json::object(); };
  ChangeRequest c;
  c.key = {"Model", "churn"};
  c.action = Action::kReplace;
  c.desired = w.Desired(0);
  EXPECT_TRUE(w.rec->Apply(c).ok());  // the create succeeded; the collection is best effort
  for (const auto& [op, _] : w.api->calls) EXPECT_NE(op, "DeleteModel");
}

TEST(SageMakerHealthTest, JobsWaitTheirStoppingCondition) {
  // The kind's timeout (the executor waits the larger of it and the backend's healthTimeout).
  json job = {{"StoppingCondition", {{"MaxRuntimeInSeconds", 7200}}}};
  EXPECT_EQ(RunTimeout(job), std::chrono::seconds(7200 + 900));
  EXPECT_EQ(RunTimeout(json::object()), std::nullopt);  // the backend's healthTimeout
}

// ----- prune protection -------------------------------------------------------------------

json TagsWith(const std::string& prune_value) {
  json tags = {{{"Key", kManagedByTag}, {"Value", "converge"}}, {{"Key", kNameTag}, {"Value", "churn"}},
               {{"Key", "team"}, {"Value", "ml"}}};
  if (!prune_value.empty()) tags.push_back({{"Key", kPruneTag}, {"Value", prune_value}});
  return tags;
}

// A world whose models churn-00000001 (old) and the desired version carry `tags_of(arn)`.
void FakeModels(World& w, const std::string& desired_name, std::function<json(const json&)> tags_of) {
  w.api->ops["ListModels"] = [desired_name](const json&) -> Result<json> {
    return json{{"Models",
                 {{{"ModelName", "churn-00000001"}, {"ModelArn", "arn:old"}, {"CreationTime", 1}},
                  {{"ModelName", desired_name}, {"ModelArn", "arn:new"}, {"CreationTime", 2}}}}};
  };
  w.api->ops["ListTags"] = [tags_of](const json& in) -> Result<json> {
    return json{{"Tags", tags_of(in["ResourceArn"])}};
  };
  for (const char* op : {"ListEndpointConfigs", "ListEndpoints", "ListTrainingJobs"})
    w.api->ops[op] = [](const json&) -> Result<json> {
      return json{{"EndpointConfigs", json::array()}, {"Endpoints", json::array()},
                  {"TrainingJobSummaries", json::array()}};
    };
}

const LiveObject* Find(const std::vector<LiveObject>& objects, const std::string& key) {
  for (const auto& o : objects)
    if (o.key.ToString() == key) return &o;
  return nullptr;
}

const json kTeamTag = json::parse(R"([{"Key": "team", "Value": "ml"}])");

TEST(SageMakerPruneTest, AnnotationTravelsAsATagAndObserveReportsIt) {
  World w;
  w.docs[0].spec.Edit()["Tags"] = kTeamTag;
  w.docs[0].annotations["converge/prune"] = "false";
  json want = w.rec->Desired(w.docs[0]);
  EXPECT_NE(std::find(want["Tags"].begin(), want["Tags"].end(),
                      json{{"Key", kPruneTag}, {"Value", "false"}}),
            want["Tags"].end());
  // The tag is not part of the content: annotating a spec makes no new model.
  EXPECT_EQ(want["ModelName"], w.Desired(0)["ModelName"]) << "same content, same name";

  const std::string name = want["ModelName"];
  std::string old_tag = "", new_tag = "false";
  FakeModels(w, name, [&](const json& arn) { return TagsWith(arn == "arn:old" ? old_tag : new_tag); });
  auto live = w.rec->Observe();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  const LiveObject* model = Find(*live, "Model/churn");
  ASSERT_NE(model, nullptr);
  EXPECT_TRUE(model->prune_protected);
  // Every retained version gets the spec's protection; nothing is planned once they have it.
  DiffResult d = w.rec->Diff(want, model->doc, json());
  EXPECT_EQ(d.action, Action::kUpdate);
  ASSERT_EQ(d.fields.size(), 1u);
  EXPECT_EQ(d.fields[0].path, "Versions[churn-00000001].Tags[\"converge.io/prune\"]");
  EXPECT_EQ(d.fields[0].after, "false");

  // Without the tag on any version, the model is not protected.
  World plain;
  FakeModels(plain, name, [](const json&) { return TagsWith(""); });
  auto unprotected = plain.rec->Observe();
  ASSERT_TRUE(unprotected.ok());
  EXPECT_FALSE(Find(*unprotected, "Model/churn")->prune_protected);
}

TEST(SageMakerPruneTest, AnnotationAddedLaterTagsEveryVersionAndRemovedUntagsThem) {
  World w;
  w.docs[0].spec.Edit()["Tags"] = kTeamTag;
  w.docs[0].annotations["converge/prune"] = "false";
  json want = w.rec->Desired(w.docs[0]);
  const std::string name = want["ModelName"];
  FakeModels(w, name, [](const json&) { return TagsWith(""); });  // created before the annotation
  w.api->ops["AddTags"] = [](const json&) -> Result<json> { return json::object(); };
  w.api->ops["DeleteTags"] = [](const json&) -> Result<json> { return json::object(); };
  auto live = w.rec->Get({"Model", "churn"});
  ASSERT_TRUE(live.ok() && live->has_value());
  EXPECT_FALSE((**live).prune_protected);
  DiffResult d = w.rec->Diff(want, (**live).doc, json());
  ASSERT_EQ(d.action, Action::kUpdate);
  EXPECT_EQ(d.fields[0].path, "Tags");
  ChangeRequest c{{"Model", "churn"}, Action::kUpdate, want, (**live).doc};
  ASSERT_TRUE(w.rec->Apply(c).ok());
  std::set<std::string> tagged;
  for (const auto& [op, in] : w.api->calls)
    if (op == "AddTags") {
      EXPECT_EQ(in["Tags"], json::parse(R"([{"Key": "converge.io/prune", "Value": "false"}])"));
      tagged.insert(in["ResourceArn"].get<std::string>());
    }
  EXPECT_EQ(tagged, (std::set<std::string>{"arn:new", "arn:old"}));

  // The annotation goes: the tag goes from every version, and the user's tags stay.
  World w2;
  w2.docs[0].spec.Edit()["Tags"] = kTeamTag;
  FakeModels(w2, name, [](const json&) { return TagsWith("false"); });
  w2.api->ops["DeleteTags"] = [](const json&) -> Result<json> { return json::object(); };
  auto protected_live = w2.rec->Get({"Model", "churn"});
  ASSERT_TRUE(protected_live.ok() && protected_live->has_value());
  EXPECT_TRUE((**protected_live).prune_protected);
  json unannotated = w2.Desired(0);
  DiffResult d2 = w2.rec->Diff(unannotated, (**protected_live).doc, json());
  ASSERT_EQ(d2.action, Action::kUpdate);
  ChangeRequest c2{{"Model", "churn"}, Action::kUpdate, unannotated, (**protected_live).doc};
  ASSERT_TRUE(w2.rec->Apply(c2).ok());
  std::set<std::string> untagged;
  for (const auto& [op, in] : w2.api->calls) {
    EXPECT_NE(op, "AddTags");
    if (op == "DeleteTags") {
      EXPECT_EQ(in["TagKeys"], json::array({kPruneTag}));
      untagged.insert(in["ResourceArn"].get<std::string>());
    }
  }
  EXPECT_EQ(untagged, (std::set<std::string>{"arn:new", "arn:old"}));
}

TEST(SageMakerPruneTest, EndpointTagIsSyncedInPlace) {
  World w;
  w.docs[2].annotations["converge/prune"] = "false";
  json want = w.rec->Desired(w.docs[2]);
  json live = LiveEndpoint(want["EndpointConfigName"], 2, 0.9);
  live["EndpointArn"] = "arn:e";
  live["Tags"] = json::array();
  DiffResult d = w.rec->Diff(want, live, json());
  EXPECT_EQ(d.action, Action::kUpdate);
  ASSERT_EQ(d.fields.size(), 1u);
  EXPECT_EQ(d.fields[0].path, "Tags");
  w.api->ops["AddTags"] = [](const json&) -> Result<json> { return json::object(); };
  ASSERT_TRUE(w.rec->Apply({{"Endpoint", "churn"}, Action::kUpdate, want, live}).ok());
  ASSERT_EQ(w.api->calls.size(), 1u);
  EXPECT_EQ(w.api->calls[0].first, "AddTags");
  // Observed with the tag: protected, and nothing more to do.
  w.api->ops["DescribeEndpoint"] = [&](const json&) -> Result<json> { return live; };
  w.api->ops["ListTags"] = [](const json&) -> Result<json> {
    return json{{"Tags", {{{"Key", kManagedByTag}, {"Value", "converge"}},
                          {{"Key", kPruneTag}, {"Value", "false"}}}}};
  };
  auto got = w.rec->Get({"Endpoint", "churn"});
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((**got).prune_protected);
  EXPECT_EQ(w.rec->Diff(want, (**got).doc, json()).action, Action::kNoop);
}

}  // namespace
}  // namespace converge::sagemaker
