// Validating Marathon app specs against the AppDefinition JSON Schema: converge's validator
// (RE2 patterns) against Debian's valijson 1.0, for issue 11 item 9 ("libraries over home-made
// code"). Three ways, on the same N specs:
//   BM_Converge        — JsonSchema::Validate, the messages users see (what `converge` runs);
//   BM_ValijsonStock   — valijson as packaged: std::regex for "pattern"/"patternProperties";
//   BM_ValijsonRe2     — valijson with "pattern" moved to a PolyConstraint on SchemaPattern
//                        (valijson 1.0 has no pluggable regex engine; this is the closest), and
//                        "format" dropped as converge does (draft-04 makes it optional).
// valijson's runs decide valid/invalid only; they produce no converge-worded messages.
// Counters: `invalid` (specs found invalid; the corpus has 1 in 10 broken on purpose) and, for
// valijson, `disagree` (specs on which its verdict differs from converge's).
//
// Measured on the shared 2-core box (CPU time, 10,000 apps, 1,000 of them invalid):
//   converge, home-made regex engine (before RE2)   23.6 us/app   hostile 20,000-char id 1,546 us
//   converge on RE2, Validate / IsValid            21.0 / 19.4   hostile id                 51 us
//   valijson stock (std::regex)                      13.5 us/app  hostile id ~21 s; segfault at
//   200k valijson + RE2 PolyConstraint for "pattern"      12.7 us/app  hostile id 50 us
//   converge, one lookup per keyword, no type-name copies: 27.5 -> 19.6 us/app (Validate, the same
//   run of the same machine, issue 15)
// Verdicts agree on all 10,000 apps. valijson was not adopted: see json_schema.h for why.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/constraint_builder.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>
#include <vector>

#include "reconcilers/common/json_schema.h"
#include "reconcilers/marathon/validate.h"

namespace {

using converge::json;

// A realistic spread of apps; every tenth one breaks a rule (a wrong type, an unknown field, a
// bad id, a minimum, an enum), so the error paths are measured too.
json App(int i) {
  static const json kTemplate = json::parse(R"({
    "cmd": "python3 -m http.server $PORT0",
    "env": {"MODE": "prod", "DB": {"secret": "db"}},
    "secrets": {"db": {"source": "/vault/db"}},
    "labels": {"tier": "web"},
    "portDefinitions": [{"port": 0, "protocol": "tcp", "name": "http"}],
    "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0,
                      "gracePeriodSeconds": 30, "intervalSeconds": 10,
                      "maxConsecutiveFailures": 3}],
    "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.2},
    "container": {"type": "DOCKER", "docker": {"image": "registry.example.com/web"},
                  "volumes": [{"containerPath": "/data", "hostPath": "/srv/data",
                               "mode": "RW"}]},
    "constraints": [["hostname", "UNIQUE"]]
  })");
  json app = kTemplate;
  app["id"] = "/bench/team" + std::to_string(i % 50) + "/app" + std::to_string(i);
  app["cpus"] = 0.1 + (i % 4) * 0.25;
  app["mem"] = 64 + (i % 8) * 32;
  app["instances"] = 1 + i % 3;
  app["env"]["SHARD"] = std::to_string(i % 7);
  app["labels"]["team"] = "t" + std::to_string(i % 50);
  app["container"]["docker"]["image"] = "registry.example.com/web:" + std::to_string(i % 10);
  switch (i % 50) {
    case 5:
      app["instances"] = "three";
      break;
    case 15:
      app["contaner"] = json::object();
      break;
    case 25:
      app["id"] = "/Bench/App_" + std::to_string(i);
      break;
    case 35:
      app["mem"] = -1;
      break;
    case 45:
      app["container"]["volumes"][0]["mode"] = "RWX";
      break;
    default:
      break;
  }
  return app;
}

std::vector<json> Corpus(size_t n) {
  std::vector<json> apps;
  apps.reserve(n);
  for (size_t i = 0; i < n; ++i) apps.push_back(App(static_cast<int>(i)));
  return apps;
}

// "pattern" on RE2 for valijson.
class Re2Pattern : public valijson::constraints::PolyConstraint {
 public:
  explicit Re2Pattern(std::shared_ptr<const converge::SchemaPattern> p) : p_(std::move(p)) {}

  bool validate(const valijson::adapters::Adapter& target, const std::vector<std::string>& context,
                valijson::ValidationResults* results) const override {
    if (!target.isString() || p_->Search(target.asString())) return true;
    if (results) results->pushError(context, "Failed to match pattern " + p_->source());
    return false;
  }

 private:
  Constraint* cloneInto(void* ptr) const override { return new (ptr) Re2Pattern(p_); }
  size_t sizeOf() const override { return sizeof(Re2Pattern); }

  std::shared_ptr<const converge::SchemaPattern> p_;
};

class Re2PatternBuilder : public valijson::ConstraintBuilder {
 public:
  valijson::constraints::Constraint* make(const valijson::adapters::Adapter& value) const override {
    auto p = converge::SchemaPattern::Compile(value.asString());
    if (!p.ok()) throw std::runtime_error(p.status().message());
    return new Re2Pattern(std::make_shared<const converge::SchemaPattern>(std::move(p).value()));
  }
};

// Renames "pattern" (as a keyword, not inside "properties") and drops "format".
void ForRe2(json& s, bool is_property_map = false) {
  if (s.is_array()) {
    for (json& e : s) ForRe2(e);
    return;
  }
  if (!s.is_object()) return;
  if (!is_property_map) {
    if (s.contains("pattern") && s["pattern"].is_string()) {
      s["x-re2-pattern"] = s["pattern"];
      s.erase("pattern");
    }
    s.erase("format");
  }
  for (auto& [k, v] : s.items()) {
    bool map = !is_property_map && (k == "properties" || k == "patternProperties" ||
                                    k == "definitions" || k == "dependencies");
    ForRe2(v, map);
  }
}

struct Valijson {
  json doc;
  valijson::Schema schema;

  explicit Valijson(bool re2) : doc(converge::marathon::AppSchema().schema()) {
    if (re2) ForRe2(doc);
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft4);
    if (re2) parser.addConstraintBuilder("x-re2-pattern", new Re2PatternBuilder);
    valijson::adapters::NlohmannJsonAdapter adapter(doc);
    parser.populateSchema(adapter, schema);
  }
};

void BM_Converge(benchmark::State& state) {
  const std::vector<json> apps = Corpus(state.range(0));
  const converge::JsonSchema& schema = converge::marathon::AppSchema();
  size_t invalid = 0;
  for (auto _ : state) {
    invalid = 0;
    for (const json& app : apps) invalid += !schema.Validate(app).empty();
  }
  state.counters["invalid"] = static_cast<double>(invalid);
  state.counters["us_per_app"] = benchmark::Counter(
      static_cast<double>(apps.size()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// The verdict only, as valijson's runs give it.
void BM_ConvergeIsValid(benchmark::State& state) {
  const std::vector<json> apps = Corpus(state.range(0));
  const converge::JsonSchema& schema = converge::marathon::AppSchema();
  size_t invalid = 0;
  for (auto _ : state) {
    invalid = 0;
    for (const json& app : apps) invalid += !schema.IsValid(app);
  }
  state.counters["invalid"] = static_cast<double>(invalid);
  state.counters["us_per_app"] = benchmark::Counter(
      static_cast<double>(apps.size()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void RunValijson(benchmark::State& state, bool re2) {
  const std::vector<json> apps = Corpus(state.range(0));
  const converge::JsonSchema& mine = converge::marathon::AppSchema();
  Valijson v(re2);
  valijson::Validator validator;  // one per run: it caches compiled std::regex objects
  size_t invalid = 0;
  for (auto _ : state) {
    invalid = 0;
    for (const json& app : apps) {
      valijson::adapters::NlohmannJsonAdapter target(app);
      invalid += !validator.validate(v.schema, target, nullptr);
    }
  }
  size_t disagree = 0;
  for (const json& app : apps) {
    valijson::adapters::NlohmannJsonAdapter target(app);
    disagree += validator.validate(v.schema, target, nullptr) != mine.IsValid(app);
  }
  state.counters["invalid"] = static_cast<double>(invalid);
  state.counters["disagree"] = static_cast<double>(disagree);
  state.counters["us_per_app"] = benchmark::Counter(
      static_cast<double>(apps.size()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_ValijsonStock(benchmark::State& state) {
  RunValijson(state, false);
}
void BM_ValijsonRe2(benchmark::State& state) {
  RunValijson(state, true);
}

// One 20,000-character id against Marathon's path pattern.
void BM_HostileId(benchmark::State& state, int engine) {
  json app = App(1);
  app["id"] = "/" + std::string(20000, 'a') + "-";
  const converge::JsonSchema& mine = converge::marathon::AppSchema();
  std::unique_ptr<Valijson> v;
  if (engine > 0) v = std::make_unique<Valijson>(engine == 2);
  valijson::Validator validator;
  for (auto _ : state) {
    if (engine == 0) {
      benchmark::DoNotOptimize(mine.IsValid(app));
    } else {
      valijson::adapters::NlohmannJsonAdapter target(app);
      benchmark::DoNotOptimize(validator.validate(v->schema, target, nullptr));
    }
  }
}

}  // namespace

BENCHMARK(BM_Converge)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConvergeIsValid)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ValijsonStock)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ValijsonRe2)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_HostileId, converge, 0)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_HostileId, valijson_re2, 2)->Unit(benchmark::kMicrosecond);
// valijson with std::regex on the same id takes ~20 s per call (measured once by hand; it
// overflows the stack at 200,000 characters), so it is not a benchmark case.

BENCHMARK_MAIN();
