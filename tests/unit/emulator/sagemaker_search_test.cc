// Observing SageMaker in O(kinds) requests: the emulator's Search (paging, filters, record
// shapes of the embedded botocore model) and the reconciler reading models and endpoints
// through it, over the real JSON 1.1 client and an in-process emulator — drift seen on the next
// observe, immutable objects' tags and models cached (in memory and across processes), writes
// of converge read directly, throttling retried, a service without Search still observed.
#include <filesystem>
#include <set>

#include "reconcilers/sagemaker/client.h"
#include "reconcilers/sagemaker/reconciler.h"
#include "tests/common/fake_transport.h"
#include "tests/common/temp_dir.h"
#include "tests/unit/emulator/sagemaker_emulator_fixture.h"

namespace converge::sagemaker {
namespace {
using namespace emulator_test;  // NOLINT: the shared fixture

std::vector<std::string> Names(const json& results, const char* resource, const char* member) {
  std::vector<std::string> out;
  for (const json& r : results) {
    const json& o = std::string(resource) == "Model" ? r["Model"]["Model"] : r[resource];
    out.push_back(o[member]);
  }
  return out;
}

TEST_F(SageMakerEmulatorTest, SearchPagesModelsWithTheirTags) {
  for (int i = 0; i < 5; ++i) {
    Advance(1000);
    ASSERT_EQ(CreateModel("m" + std::to_string(i), "repo/churn:1",
                          {{"Tags", {{{"Key", "team"}, {"Value", i % 2 ? "a" : "b"}}}}})
                  .status,
              200);
  }
  json in = {{"Resource", "Model"},
             {"SortBy", "CreationTime"},
             {"SortOrder", "Ascending"},
             {"MaxResults", 2}};
  std::vector<std::string> all;
  int pages = 0;
  while (true) {
    Resp r = Call("Search", in);  // the answer is checked against SearchResponse
    ASSERT_EQ(r.status, 200) << r.body;
    ++pages;
    for (const auto& n : Names(r.body["Results"], "Model", "ModelName")) all.push_back(n);
    if (!r.body.contains("NextToken")) break;
    in["NextToken"] = r.body["NextToken"];
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(all, (std::vector<std::string>{"m0", "m1", "m2", "m3", "m4"}));
  Resp r = Call("Search", {{"Resource", "Model"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Names(r.body["Results"], "Model", "ModelName"),
            (std::vector<std::string>{"m4", "m3", "m2", "m1", "m0"}))  // newest first by default
      << r.body;
  EXPECT_EQ(r.body["Results"][0]["Model"]["Model"]["Tags"],
            json::parse(R"([{"Key": "team", "Value": "b"}])"));
  EXPECT_EQ(r.body["Results"][0]["Model"]["Model"]["PrimaryContainer"]["Image"], "repo/churn:1");

  // Filters on tags, combined by And (default) or Or.
  r = Call("Search",
           {{"Resource", "Model"},
            {"SearchExpression",
             {{"Filters", {{{"Name", "Tags.team"}, {"Operator", "Equals"}, {"Value", "a"}}}}}}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Names(r.body["Results"], "Model", "ModelName"), (std::vector<std::string>{"m3", "m1"}));
  r = Call(
      "Search",
      {{"Resource", "Model"},
       {"SearchExpression",
        {{"Operator", "Or"},
         {"Filters",
          {{{"Name", "ModelName"}, {"Value", "m0"}}, {{"Name", "ModelName"}, {"Value", "m4"}}}}}}});
  EXPECT_EQ(Names(r.body["Results"], "Model", "ModelName"), (std::vector<std::string>{"m4", "m0"}));

  // The service's limits: MaxResults 1-100, a valid token, a known resource type.
  EXPECT_EQ(Call("Search", {{"Resource", "Model"}, {"MaxResults", 101}}).code(),
            "ValidationException");
  EXPECT_EQ(Call("Search", {{"Resource", "Model"}, {"NextToken", "bogus"}}).code(),
            "ValidationException");
  EXPECT_EQ(Call("Search", {{"Resource", "Widget"}}).code(), "ValidationException");
  EXPECT_EQ(Call("Search", json::object()).code(), "ValidationException");  // Resource required
}

TEST_F(SageMakerEmulatorTest, SearchEndpointsCarryVariantsAndTags) {
  Serving();  // model m, config c, endpoint ep
  Advance(1000);
  ASSERT_EQ(Call("AddTags", {{"ResourceArn", std::string(kArn) + "endpoint/ep"},
                             {"Tags", {{{"Key", "team"}, {"Value", "ml"}}}}})
                .status,
            200);
  Resp r = Call("Search", {{"Resource", "Endpoint"}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.body["Results"].size(), 1u);
  const json& e = r.body["Results"][0]["Endpoint"];
  json d = Describe("ep");
  for (const char* m : {"EndpointName", "EndpointArn", "EndpointConfigName", "EndpointStatus",
                        "ProductionVariants", "CreationTime", "LastModifiedTime"})
    EXPECT_EQ(e[m], d[m]) << m;
  EXPECT_EQ(e["Tags"], json::parse(R"([{"Key": "team", "Value": "ml"}])"));
  // A model's record lists the endpoints that serve it.
  r = Call("Search", {{"Resource", "Model"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["Results"][0]["Model"]["Endpoints"][0]["EndpointName"], "ep");
}

// ----- the reconciler over the client and the emulator ---------------------------------------

class ClientApi : public Api {
 public:
  explicit ClientApi(std::unique_ptr<Client> c) : c_(std::move(c)) {}
  Result<json> Call(const std::string& op, const json& in) override { return c_->Call(op, in); }
  Status ListAll(const std::string& op, json in, const std::string& member,
                 const std::function<Status(json&)>& visit) override {
    return c_->ListAll(op, std::move(in), member, visit);
  }
  long RequestCount() const override { return c_->RequestCount(); }
  long WriteCount() const override { return c_->WriteCount(); }

 private:
  std::unique_ptr<Client> c_;
};

Document Doc(const std::string& kind, const std::string& name, json spec) {
  Document d;
  d.kind = kind;
  d.name = name;
  d.backend = "sm";
  d.spec = std::move(spec);
  return d;
}

class SageMakerSearchObserveTest : public SageMakerEmulatorTest {
 protected:
  SageMakerSearchObserveTest() {
    transport_.SetHandler([this](const http::Request& req) -> Result<http::Response> {
      std::string target;
      for (const auto& [k, v] : req.headers)
        if (k == "X-Amz-Target") target = v;
      if (!search_ && target == "SageMaker.Search")
        return test::Answer(400, R"({"__type": "UnknownOperationException", "message": "no"})");
      httplib::Request raw = RawRequest(target, req.body);
      httplib::Response res;
      emu_->Handle(raw, res, "/");
      http::Response out;
      out.status = res.status;
      out.body = res.body;
      for (const auto& [k, v] : res.headers) {
        std::string lower = k;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers[lower] = v;
      }
      return out;
    });
    for (int i = 0; i < 3; ++i) {
      const std::string n = "svc" + std::to_string(i);
      docs_.push_back(
          Doc("Model", n,
              {{"ExecutionRoleArn", kRole}, {"PrimaryContainer", {{"Image", "repo/svc:1"}}}}));
      docs_.push_back(Doc("EndpointConfig", n,
                          {{"ProductionVariants",
                            {{{"VariantName", "main"},
                              {"ModelName", n},
                              {"InstanceType", "ml.m5.large"},
                              {"InitialInstanceCount", 1},
                              {"InitialVariantWeight", 1.0}}}}}));
      docs_.push_back(Doc("Endpoint", n, {{"EndpointConfigName", n}}));
    }
  }

  std::unique_ptr<Reconciler> NewReconciler(std::string cache_file = "") {
    ClientOptions co;
    co.region = "eu-west-1";
    co.endpoint = "http://sandbox.local:8080/sagemaker";
    auto client = std::make_unique<Client>(co, clock_, transport_.Borrow());
    auto api = std::make_unique<ClientApi>(std::move(client));
    sagemaker::Options o;
    o.clock = &clock_;
    o.cache_file = std::move(cache_file);
    auto rec = std::make_unique<Reconciler>(std::move(api), "converge", o);
    std::vector<const Document*> ptrs;
    for (const auto& d : docs_) ptrs.push_back(&d);
    rec->BindSpecs(ptrs);
    return rec;
  }

  // Creates what the specs want, as converge would (the same requests), and lets it settle.
  void Converge(Reconciler& rec) {
    for (const auto& d : docs_) {
      const KindSpec* k = FindKind(d.kind);
      Resp r = Call(k->create_op, WireRequest(rec.Desired(d)));
      ASSERT_EQ(r.status, 200) << d.kind << " " << r.body;
      Advance(10);
    }
    Advance(5000);
  }

  // Observes and diffs every spec: the actions that are not no-ops, as "Kind/name action".
  std::set<std::string> Drift(Reconciler& rec, std::vector<LiveObject>* live_out = nullptr) {
    auto live = rec.Observe();
    EXPECT_TRUE(live.ok()) << live.status().ToString();
    std::set<std::string> out;
    if (!live.ok()) return out;
    for (const auto& d : docs_) {
      json live_doc;
      for (const auto& o : *live)
        if (o.key.kind == d.kind && o.key.name == d.name) live_doc = o.doc;
      auto diff = rec.Diff(rec.Desired(d), live_doc, json());
      if (diff.action != Action::kNoop)
        out.insert(d.kind + "/" + d.name + " " + ActionName(diff.action));
    }
    if (live_out) *live_out = std::move(*live);
    return out;
  }

  std::vector<std::string> Ops(size_t from) {
    std::vector<std::string> out;
    auto reqs = transport_.requests();
    for (size_t i = from; i < reqs.size(); ++i)
      for (const auto& [k, v] : reqs[i].headers)
        if (k == "X-Amz-Target") out.push_back(v.substr(10));
    return out;
  }

  test::FakeTransport transport_;
  std::vector<Document> docs_;
  bool search_ = true;
};

TEST_F(SageMakerSearchObserveTest, SteadyStateCostsOneSearchOrListPerKind) {
  auto rec = NewReconciler();
  Converge(*rec);
  EXPECT_EQ(Drift(*rec), std::set<std::string>());
  // Cold: the configs' tags and models are read once (they are no Search resource).
  EXPECT_EQ(Ops(0),
            (std::vector<std::string>{
                "Search", "ListEndpointConfigs", "ListTags", "DescribeEndpointConfig", "ListTags",
                "DescribeEndpointConfig", "ListTags", "DescribeEndpointConfig", "Search"}));
  size_t before = transport_.request_count();
  EXPECT_EQ(Drift(*rec), std::set<std::string>());
  EXPECT_EQ(Ops(before), (std::vector<std::string>{"Search", "ListEndpointConfigs", "Search"}));
}

TEST_F(SageMakerSearchObserveTest, AnEndpointEditedOutOfBandIsDriftOnTheNextObserve) {
  auto rec = NewReconciler();
  Converge(*rec);
  ASSERT_EQ(Drift(*rec), std::set<std::string>());
  // Someone scales svc1 by hand and tags svc2.
  ASSERT_EQ(Call("UpdateEndpointWeightsAndCapacities",
                 {{"EndpointName", "svc1"},
                  {"DesiredWeightsAndCapacities",
                   {{{"VariantName", "main"}, {"DesiredInstanceCount", 4}}}}})
                .status,
            200);
  Resp d = Call("DescribeEndpoint", {{"EndpointName", "svc2"}});
  ASSERT_EQ(Call("AddTags", {{"ResourceArn", d.body["EndpointArn"]},
                             {"Tags", {{{"Key", "team"}, {"Value", "x"}}}}})
                .status,
            200);
  Advance(5000);
  size_t before = transport_.request_count();
  std::vector<LiveObject> live;
  auto drift = Drift(*rec, &live);
  EXPECT_EQ(drift, (std::set<std::string>{"Endpoint/svc1 scale", "Endpoint/svc2 update"}));
  EXPECT_EQ(Ops(before), (std::vector<std::string>{"Search", "ListEndpointConfigs", "Search"}));

  // converge scales it back: what it wrote is read directly (the Search index may lag).
  json desired = rec->Desired(docs_[5]);
  json live_ep;
  for (const auto& o : live)
    if (o.key.ToString() == "Endpoint/svc1") live_ep = o.doc;
  ASSERT_TRUE(rec->Apply({{"Endpoint", "svc1"}, Action::kScale, desired, live_ep}).ok());
  Advance(5000);
  before = transport_.request_count();
  drift = Drift(*rec);
  EXPECT_EQ(drift, (std::set<std::string>{"Endpoint/svc2 update"}));
  auto ops = Ops(before);
  EXPECT_NE(std::find(ops.begin(), ops.end(), "DescribeEndpoint"), ops.end());
}

TEST_F(SageMakerSearchObserveTest, ConfigCacheSurvivesProcessesAndIsInvalidated) {
  test::TempDir dir;
  const std::string cache = dir.path() + "/sagemaker-sm.json";
  auto first = NewReconciler(cache);
  Converge(*first);
  ASSERT_EQ(Drift(*first), std::set<std::string>());
  ASSERT_TRUE(std::filesystem::exists(cache));

  // Another process: nothing read per object.
  auto second = NewReconciler(cache);
  size_t before = transport_.request_count();
  EXPECT_EQ(Drift(*second), std::set<std::string>());
  EXPECT_EQ(Ops(before), (std::vector<std::string>{"Search", "ListEndpointConfigs", "Search"}));

  // svc0's config is deleted and re-created under its name with another model: a new
  // CreationTime, so its cached models and tags no longer count.
  const std::string cfg0 = first->LiveName("EndpointConfig", "svc0");
  ASSERT_EQ(Call("DeleteEndpointConfig", {{"EndpointConfigName", cfg0}}).status, 200);
  Advance(1000);
  json again = WireRequest(first->Desired(docs_[1]));
  again["ProductionVariants"][0]["ModelName"] = first->LiveName("Model", "svc1");
  ASSERT_EQ(Call("CreateEndpointConfig", again).status, 200);
  // And a user tag is put on svc2's config by hand: seen once the cached tags expire (5 min).
  const std::string cfg2 = first->LiveName("EndpointConfig", "svc2");
  Resp c2 = Call("DescribeEndpointConfig", {{"EndpointConfigName", cfg2}});
  ASSERT_EQ(Call("AddTags", {{"ResourceArn", c2.body["EndpointConfigArn"]},
                             {"Tags", {{{"Key", "team"}, {"Value", "x"}}}}})
                .status,
            200);
  auto third = NewReconciler(cache);
  before = transport_.request_count();
  std::vector<LiveObject> live;
  EXPECT_EQ(Drift(*third, &live), std::set<std::string>());
  EXPECT_EQ(Ops(before), (std::vector<std::string>{"Search", "ListEndpointConfigs", "ListTags",
                                                   "DescribeEndpointConfig", "Search"}));
  for (const auto& o : live) {
    if (o.key.ToString() == "EndpointConfig/svc0")
      EXPECT_EQ(o.doc["Versions"][0]["Models"], json::array({first->LiveName("Model", "svc1")}));
  }

  Advance(301 * 1000);
  auto fourth = NewReconciler(cache);
  EXPECT_EQ(Drift(*fourth), (std::set<std::string>{"EndpointConfig/svc2 update"}));
}

TEST_F(SageMakerSearchObserveTest, ThrottledSearchIsRetried) {
  auto rec = NewReconciler();
  Converge(*rec);
  transport_.Script(
      {test::Answer(400, R"({"__type": "ThrottlingException", "message": "Rate exceeded"})"),
       test::Answer(400, R"({"__type": "ThrottlingException", "message": "Rate exceeded"})")});
  size_t before = transport_.request_count();
  EXPECT_EQ(Drift(*rec), std::set<std::string>());
  auto ops = Ops(before);
  ASSERT_GE(ops.size(), 3u);
  EXPECT_EQ(ops[0], "Search");
  EXPECT_EQ(ops[1], "Search");
  EXPECT_EQ(ops[2], "Search");
}

TEST_F(SageMakerSearchObserveTest, WithoutSearchTheListCallsGiveTheSameState) {
  search_ = false;
  auto rec = NewReconciler();
  Converge(*rec);
  EXPECT_EQ(Drift(*rec), std::set<std::string>());
  size_t before = transport_.request_count();
  EXPECT_EQ(Drift(*rec), std::set<std::string>());
  auto ops = Ops(before);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Search"), 0) << "not asked again";
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "DescribeEndpoint"), 3);
}

}  // namespace
}  // namespace converge::sagemaker
