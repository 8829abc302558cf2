#include "controller/watch/metrics.h"

#include <gtest/gtest.h>

namespace converge::watch {
namespace {

TEST(MetricsTest, ExpositionFormat) {
  Metrics m;
  m.DeclareCounter("converge_reconciles_total", "Resources reconciled");
  m.DeclareGauge("converge_workqueue_depth", "Keys queued");
  m.DeclareHistogram("converge_reconcile_duration_seconds", "Pass duration", {0.1, 1});
  m.Inc("converge_reconciles_total", {{"result", "success"}});
  m.Inc("converge_reconciles_total", {{"result", "success"}}, 2);
  m.Inc("converge_reconciles_total", {{"result", "error"}});
  m.Set("converge_workqueue_depth", 3);
  m.Observe("converge_reconcile_duration_seconds", 0.05);
  m.Observe("converge_reconcile_duration_seconds", 0.5);
  m.Observe("converge_reconcile_duration_seconds", 7);
  EXPECT_EQ(m.Exposition(),
            "# HELP converge_reconcile_duration_seconds Pass duration\n"
            "# TYPE converge_reconcile_duration_seconds histogram\n"
            "converge_reconcile_duration_seconds_bucket{le=\"0.1\"} 1\n"
            "converge_reconcile_duration_seconds_bucket{le=\"1\"} 2\n"
            "converge_reconcile_duration_seconds_bucket{le=\"+Inf\"} 3\n"
            "converge_reconcile_duration_seconds_sum 7.55\n"
            "converge_reconcile_duration_seconds_count 3\n"
            "# HELP converge_reconciles_total Resources reconciled\n"
            "# TYPE converge_reconciles_total counter\n"
            "converge_reconciles_total{result=\"error\"} 1\n"
            "converge_reconciles_total{result=\"success\"} 3\n"
            "# HELP converge_workqueue_depth Keys queued\n"
            "# TYPE converge_workqueue_depth gauge\n"
            "converge_workqueue_depth 3\n");
  EXPECT_EQ(m.Value("converge_reconciles_total", {{"result", "success"}}), 3);
  EXPECT_EQ(m.HistogramCount("converge_reconcile_duration_seconds"), 3u);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(FormatLabels({{"a", "x\"y\\z\nw"}, {"b", "ok"}}), "a=\"x\\\"y\\\\z\\nw\",b=\"ok\"");
}

TEST(MetricsTest, ClearGaugeDropsOldSeries) {
  Metrics m;
  m.Set("g", {{"state", "old"}}, 1);
  m.ClearGauge("g");
  m.Set("g", {{"state", "new"}}, 2);
  EXPECT_EQ(m.Exposition(), "# TYPE g gauge\ng{state=\"new\"} 2\n");
}

}  // namespace
}  // namespace converge::watch
