"""A TablePolicy under `converge watch`, as an operator sees it in /status and /metrics: a policy
whose triggers do not hold is synced and says what it waits for; commits past the threshold make
the next resync run the maintenance (never counted as drift); a task that keeps failing is shown
as suspended, with one gauge per suspended task, until the policy changes."""

import re
import unittest

import harness
from iceberg_harness import IcebergTestCase, policy_yaml
from test_iceberg_maintenance import BROKEN, backends_yaml
from test_watch import Watch, wait_until

KEY = "TablePolicy/events"


class IcebergWatchTest(IcebergTestCase):
    def setUp(self):
        super().setUp()
        self.sandbox.admin("POST", "/yarn/failing-images", {"images": [BROKEN]})
        self.addCleanup(lambda: self.sandbox.admin("POST", "/yarn/failing-images", {"images": []}))

    def start(self, ws):
        w = Watch(ws, "--resync", "1s")
        self.addCleanup(lambda: w.proc.poll() is None and w.stop())
        w.wait_ready()
        return w

    def properties(self):
        return self.metadata().get("properties", {})

    def test_waiting_is_synced_and_a_trigger_runs_on_the_resync_never_as_drift(self):
        ws = self.iceberg_workspace(
            backends_yaml(self.sandbox.url),
            policy_yaml(triggers={"commitCount": 3},
                        compaction={"minInputFiles": 2, "executor": "spark"}))
        self.append(2)
        w = self.start(ws)
        # Settled on the first pass; the resync then shows what it waits for.
        r = wait_until(lambda: "2 commits of 3" in (w.resource(KEY) or {}).get("reason", "") and
                       w.resource(KEY), what="the policy on /status: " + w.log()[-2000:])
        self.assertEqual(r["state"], "synced", r)  # waiting is in sync, not "not-pruned"
        self.assertEqual(r["suspended_tasks"], [])
        self.assertNotIn("converge.maintenance.compact.last-run-ms", self.properties())
        # Past the threshold: the next resync runs the compaction.
        self.append(1)
        wait_until(lambda: "converge.maintenance.compact.last-run-ms" in self.properties(),
                   what="the compaction to run: " + w.log()[-2000:])
        self.assertEqual(self.main_snapshot()["summary"]["operation"], "replace")
        wait_until(lambda: w.state_of(KEY) == "synced", what="synced after the run")
        metrics = w.metrics()
        self.assertIn("converge_drifted_resources 0", metrics)
        self.assertNotIn("drift detected", w.log())
        self.assertEqual(w.stop(), 0, w.log())

    def test_a_task_that_keeps_failing_is_suspended_with_a_gauge_per_task(self):
        ws = self.iceberg_workspace(
            backends_yaml(self.sandbox.url),
            policy_yaml(triggers={"commitCount": 1}, suspendAfterFailures=2,
                        compaction={"minInputFiles": 2, "executor": "broken"}))
        self.append(3)
        w = self.start(ws)
        r = wait_until(lambda: w.state_of(KEY) == "suspended" and w.resource(KEY),
                       what="the policy to be suspended: " + w.log()[-3000:])
        self.assertEqual(r["suspended_tasks"], ["compact"], r)
        self.assertIn("compact is suspended after 2 consecutive failures", r["reason"])
        self.assertEqual(self.properties().get("converge.maintenance.compact.failures"), "2")
        gauge = re.findall(r'^converge_suspended\{([^}]*)\} (\S+)$', w.metrics(), re.M)
        self.assertEqual(len(gauge), 1, gauge)
        self.assertIn('resource="TablePolicy/events"', gauge[0][0])
        self.assertIn('task="compact"', gauge[0][0])
        self.assertEqual(gauge[0][1], "1")
        # A policy change resumes it (here the executor fixed, so it runs and succeeds); the
        # gauge goes.
        ws.write("policy.yaml", policy_yaml(triggers={"commitCount": 1}, suspendAfterFailures=2,
                                            compaction={"minInputFiles": 2, "executor": "spark"}))
        wait_until(lambda: self.properties().get("converge.maintenance.compact.failures") == "0",
                   what="the fixed policy to run: " + w.log()[-3000:])
        wait_until(lambda: not re.search(r"^converge_suspended\{", w.metrics(), re.M),
                   what="the gauge to go")
        self.assertEqual(w.resource(KEY)["suspended_tasks"], [])
        self.assertEqual(w.stop(), 0, w.log())


if __name__ == "__main__":
    unittest.main()
