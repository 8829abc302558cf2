// TablePolicy and Executor validation as users see it (file:line:column through the loader),
// the parsed structs, command templates and the Spark procedure calls.
#include "reconcilers/iceberg/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/iceberg/table_builder.h"

namespace converge::iceberg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using test::kMiB;
using test::kDay;

std::string Diags(const std::string& yaml) {
  KindRegistry kinds;
  kinds.Register(kTablePolicyKind, TablePolicyKind());
  kinds.Register(kExecutorKind, ExecutorKind());
  LoadResult r;
  LoadContent("policy.yaml", yaml, kinds, LoadLimits{}, r);
  std::string s;
  for (const auto& d : r.diagnostics) s += d.ToString() + "\n";
  return s;
}

std::string Policy(const std::string& spec, const std::string& annotations = "") {
  return "apiVersion: converge/v1\nkind: TablePolicy\nmetadata: {name: analytics.events, "
         "backend: lakehouse" +
         annotations + "}\nspec:\n" + spec;
}

constexpr char kIssueExample[] = R"(  table: analytics.events
  triggers: {commitCount: 10, dataFileCount: 1000, dataFileSizeBytes: 10GiB, smallFileCount: 100, interval: 24h}
  minInterval: 10m
  compaction: {targetFileSizeBytes: 512MiB, minInputFiles: 5, executor: spark-on-yarn}
  expireSnapshots: {maxSnapshotAge: 5d, retainLast: 10}
  removeOrphanFiles: {olderThan: 3d, executor: spark-on-yarn}
  lock: table
)";

TEST(PolicyTest, TheIssueExampleLoadsAndParses) {
  EXPECT_EQ(Diags(Policy(kIssueExample)), "");
  json spec = {{"table", "analytics.events"},
               {"triggers",
                {{"commitCount", 10},
                 {"dataFileCount", 1000},
                 {"dataFileSizeBytes", "10GiB"},
                 {"smallFileCount", 100},
                 {"interval", "24h"}}},
               {"minInterval", "10m"},
               {"compaction", {{"targetFileSizeBytes", "512MiB"}, {"executor", "spark"}}},
               {"expireSnapshots", {{"maxSnapshotAge", "5d"}, {"retainLast", 10}}},
               {"removeOrphanFiles", {{"executor", "spark"}}}};
  auto p = ParsePolicy(spec);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->table.Dotted(), "analytics.events");
  EXPECT_EQ(p->triggers.commit_count, 10);
  EXPECT_EQ(p->triggers.data_file_size_bytes, 10LL << 30);
  EXPECT_EQ(p->triggers.interval_ms, kDay);
  EXPECT_EQ(p->min_interval_ms, 600000);
  EXPECT_EQ(p->compaction->target_file_size_bytes, 512 * kMiB);
  EXPECT_EQ(p->compaction->min_input_files, 5);  // the default
  EXPECT_EQ(p->expire_snapshots->retain_last, 10);
  EXPECT_EQ(p->remove_orphan_files->older_than_ms, 3 * kDay);  // the default
  EXPECT_TRUE(p->lock);
  EXPECT_THAT(p->Tasks(),
              ElementsAre(Task::kCompact, Task::kExpireSnapshots, Task::kRemoveOrphanFiles));
}

TEST(PolicyTest, ErrorsArePlacedAndSayWhatIsExpected) {
  std::string d = Diags(Policy(R"(  table: events
  triggers: {commitCount: 0, dataFileSizeBytes: 10gb, interval: 24}
  minInterval: soon
  compaction: {targetFileSizeBytes: 512MiB, executr: x}
  lock: maybe
)"));
  EXPECT_THAT(d, HasSubstr("policy.yaml:5:10: error"));  // table
  EXPECT_THAT(d, HasSubstr("expected namespace.table"));
  EXPECT_THAT(d, HasSubstr("policy.yaml:6:27: error"));  // commitCount
  EXPECT_THAT(d, HasSubstr("must be an integer from 1 to"));
  EXPECT_THAT(d, HasSubstr("such as 512MiB"));
  EXPECT_THAT(d, HasSubstr("expected a duration such as 10m, 24h or 5d (a string)"));
  EXPECT_THAT(d, HasSubstr("unknown member \"executr\" of compaction (known: targetFileSizeBytes, "
                           "minInputFiles, executor)"));
  EXPECT_THAT(d, HasSubstr("needs executor"));
  EXPECT_THAT(d, HasSubstr("must be table (the default"));
}

TEST(PolicyTest, SuspendAfterFailuresIsCheckedAtItsPosition) {
  std::string d = Diags(Policy("  table: a.b\n  triggers: {interval: 1h}\n  expireSnapshots: {}\n"
                               "  suspendAfterFailures: 0\n"));
  EXPECT_THAT(d, HasSubstr("policy.yaml:8:25: error"));
  EXPECT_THAT(d, HasSubstr("must be an integer from 1 to 1,000"));
  EXPECT_THAT(Diags(Policy("  table: a.b\n  triggers: {interval: 1h}\n  expireSnapshots: {}\n"
                           "  suspendAfterFailures: 2\n")),
              Not(HasSubstr("error")));
}

TEST(PolicyTest, StructureRules) {
  EXPECT_THAT(Diags(Policy("  table: a.b\n  triggers: {interval: 1h}\n")),
              HasSubstr("needs at least one task"));
  EXPECT_THAT(Diags(Policy("  table: a.b\n  expireSnapshots: {}\n")), HasSubstr("needs triggers"));
  EXPECT_THAT(Diags(Policy("  table: a.b\n  triggers: {}\n  expireSnapshots: {}\n")),
              HasSubstr("needs at least one of commitCount"));
  EXPECT_THAT(Diags(Policy("  table: a.b\n  triggers: {interval: 1h}\n  expireSnapshots: {}\n  "
                           "colour: red\n")),
              HasSubstr("unknown member \"colour\" of a TablePolicy (known: table, triggers,"));
  std::string w =
      Diags(Policy("  table: a.b.c\n  triggers: {smallFileCount: 5}\n  "
                   "expireSnapshots: {retainLast: 0}\n"));
  EXPECT_THAT(w, HasSubstr("warning"));
  EXPECT_THAT(w, HasSubstr("smallFileCount only triggers compaction"));
  EXPECT_THAT(w, HasSubstr("retainLast: must be an integer from 1 to 2,147,483,647"));
  auto multi = ParsePolicy({{"table", "a.b.c"},
                            {"triggers", {{"interval", "1h"}}},
                            {"expireSnapshots", json::object()}});
  ASSERT_TRUE(multi.ok());
  EXPECT_THAT(multi->table.ns, ElementsAre("a", "b"));
  EXPECT_FALSE(multi->expire_snapshots->retain_last.has_value());  // table defaults
}

TEST(PolicyTest, ShortOrphanAgeNeedsTheAnnotation) {
  std::string spec =
      "  table: a.b\n  triggers: {interval: 1h}\n  removeOrphanFiles: {olderThan: 2h, "
      "executor: x}\n";
  EXPECT_THAT(Diags(Policy(spec)), HasSubstr("olderThan 2h is under 1 day"));
  EXPECT_THAT(Diags(Policy(spec)), HasSubstr("converge/allowShortOrphanAge: \"true\""));
  EXPECT_EQ(Diags(Policy(spec, ", annotations: {converge/allowShortOrphanAge: \"true\"}")), "");
  EXPECT_THAT(Diags(Policy(spec, ", annotations: {converge/allowShortOrphanAge: \"yes\"}")),
              HasSubstr("under 1 day"));
  EXPECT_EQ(Diags(Policy("  table: a.b\n  triggers: {interval: 1h}\n  removeOrphanFiles: "
                         "{olderThan: 1d, executor: x}\n")),
            "");
}

std::string Executor(const std::string& spec) {
  return "apiVersion: converge/v1\nkind: Executor\nmetadata: {name: spark-on-yarn, backend: "
         "lakehouse}\nspec:\n" +
         spec;
}

TEST(PolicyTest, Executors) {
  EXPECT_EQ(Diags(Executor("  type: yarn\n  backend: hadoop-prod\n  queue: maintenance\n  "
                           "sparkConf: {spark.sql.catalog.converge.type: rest}\n  resources: "
                           "{memory: 4GiB, vcores: 2}\n")),
            "");
  EXPECT_EQ(Diags(Executor("  type: command\n  command: [compact.sh, \"{table}\", "
                           "\"--target={targetFileSizeBytes}\"]\n  timeout: 2h\n")),
            "");
  EXPECT_THAT(Diags(Executor("  type: yarn\n")), HasSubstr("needs backend"));
  EXPECT_THAT(Diags(Executor("  type: command\n")), HasSubstr("needs command"));
  EXPECT_THAT(Diags(Executor("  type: slurm\n")), HasSubstr("must be yarn or command"));
  EXPECT_THAT(Diags(Executor("  type: command\n  command: [run, \"{tabel}\"]\n")),
              HasSubstr("unknown placeholder {tabel} (known: {table}, {namespace}"));
  EXPECT_THAT(Diags(Executor("  type: command\n  command: [run, \"{table\"]\n")),
              HasSubstr("unterminated placeholder"));
  EXPECT_THAT(Diags(Executor("  type: command\n  command: []\n")), HasSubstr("non-empty list"));
  EXPECT_THAT(Diags(Executor("  type: command\n  command: [x]\n  queue: q\n")),
              HasSubstr("unknown member \"queue\" of a command Executor (known: type, command, "
                        "env, timeout)"));
  EXPECT_THAT(Diags(Executor("  type: yarn\n  backend: h\n  catalog: \"x; DROP\"\n")),
              HasSubstr("must be a Spark identifier"));
}

TEST(PolicyTest, TemplatesAndSparkCalls) {
  auto p = ParsePolicy({{"table", "analytics.events"},
                        {"triggers", {{"interval", "1h"}}},
                        {"compaction", {{"targetFileSizeBytes", "512MiB"}, {"executor", "s"}}},
                        {"removeOrphanFiles", {{"olderThan", "3d"}, {"executor", "s"}}}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto e = ParseExecutor({{"type", "yarn"},
                          {"backend", "hadoop"},
                          {"queue", "maint"},
                          {"sparkConf", {{"spark.x", "{literal}"}}}});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const int64_t now = 20787 * kDay + 10 * 3600 * 1000;  // 2026-11-30T10:00:00Z
  EXPECT_EQ(SparkSql(*p, *e, Task::kCompact, now),
            "CALL converge.system.rewrite_data_files(table => 'analytics.events', options => "
            "map('target-file-size-bytes', '536870912', 'min-input-files', '5'))");
  EXPECT_EQ(SparkSql(*p, *e, Task::kRemoveOrphanFiles, now),
            "CALL converge.system.remove_orphan_files(table => 'analytics.events', older_than => "
            "TIMESTAMP '2026-11-27 10:00:00.000')");
  EXPECT_EQ(SparkSql(*p, *e, Task::kExpireSnapshots, now), "");
  // The cut-off is exact to the millisecond (not rounded to the hour).
  EXPECT_EQ(SparkSql(*p, *e, Task::kRemoveOrphanFiles, now + 7 * 60000 + 31254),
            "CALL converge.system.remove_orphan_files(table => 'analytics.events', older_than => "
            "TIMESTAMP '2026-11-27 10:07:31.254')");
  auto values = PlaceholderValues(*p, *e, Task::kCompact, now, 42);
  auto argv = ExpandCommand(YarnLaunchTemplate(*e), values);
  ASSERT_TRUE(argv.ok()) << argv.status().ToString();
  EXPECT_THAT(*argv, ElementsAre("spark-sql", "--master", "yarn", "--queue", "maint", "--conf",
                                 "spark.x={literal}", "-e", SparkSql(*p, *e, Task::kCompact, now)));
  auto cmd = ExpandCommand(
      {"run", "{namespace}/{tableName}@{snapshotId}", "{{x}}", "--older={olderThanMs}"},
      PlaceholderValues(*p, *e, Task::kRemoveOrphanFiles, now, 42));
  ASSERT_TRUE(cmd.ok());
  EXPECT_THAT(*cmd, ElementsAre("run", "analytics/events@42", "{x}",
                                "--older=" + std::to_string(now - 3 * kDay)));
  EXPECT_FALSE(ExpandCommand({"a}"}, values).ok());
  // Every placeholder the docs promise has a value.
  for (const std::string& ph : kPlaceholders) EXPECT_TRUE(values.count(ph)) << ph;
}

TEST(PolicyTest, ParseReturnsTheFirstError) {
  auto p = ParsePolicy({{"table", "x"}});
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("/table"));
  EXPECT_FALSE(ParseExecutor(json::array()).ok());
  EXPECT_THAT(ParseExecutor({{"type", "yarn"}}).status().message(), Not(IsEmpty()));
}

}  // namespace
}  // namespace converge::iceberg
