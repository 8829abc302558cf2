"""`type: command` Executors with the built binary against `converge sandbox`: a compaction runs
as a local command (curl asking the sandbox catalog to rewrite the table, as Spark's
rewrite_data_files would) and leaves a replace snapshot; the command gets CONVERGE_JOB and the
Executor's env; a failing command's exit code and stderr are reported and counted, and enough
failures suspend the task; the Executor's timeout kills a command that runs on.
"""

import os
import time
import unittest

import harness
from iceberg_harness import IcebergTestCase, policy_yaml


def rewrite_command(url):
    # The catalog's simulated rewrite_data_files (POST /_admin/iceberg/rewrite); {{ }} are braces.
    body = ('{{"table": "{table}", "min_input_files": {minInputFiles}, '
            '"target_file_size_bytes": {targetFileSizeBytes}}}')
    return ["curl", "-sS", "--fail-with-body", "-X", "POST", "-H",
            "Content-Type: application/json", "-d", body, url + "/_admin/iceberg/rewrite"]


def backends_yaml(url, marker):
    lake = {"type": "iceberg-rest", "url": url + "/iceberg", "pollInterval": "100ms"}
    # Writes its job name and env to `marker`, then fails (stderr names the job).
    failing = ("echo \"$CONVERGE_JOB $MAINT_TIER\" > %s; echo starting >&2; "
               "echo \"rewrite of {table} refused for $CONVERGE_JOB\" >&2; exit 3" % marker)
    return "\n---\n".join([
        harness.document("Backend", "lakehouse", lake),
        harness.document("Executor", "local", {
            "type": "command", "command": rewrite_command(url),
            "env": {"MAINT_TIER": "gold"}, "timeout": "30s"}, backend="lakehouse"),
        harness.document("Executor", "failing", {
            "type": "command", "command": ["/bin/sh", "-c", failing],
            "env": {"MAINT_TIER": "gold"}}, backend="lakehouse"),
        harness.document("Executor", "hanging", {
            "type": "command", "command": ["/bin/sh", "-c", "echo $$ > %s.pid; exec sleep 60"
                                           % marker],
            "timeout": "1s"}, backend="lakehouse"),
    ])


class IcebergCommandExecutorTest(IcebergTestCase):
    SANDBOX_ARGS = ("--iceberg-transition-ms", "0")
    YARN_APP_RUN_MS = None  # no YARN here

    def ws(self, policy):
        ws = self.iceberg_workspace("", policy)
        self.marker = ws.path("marker")
        ws.write("backends.yaml", backends_yaml(self.sandbox.url, self.marker))
        return ws

    def test_a_command_executor_compacts_and_leaves_a_replace_snapshot(self):
        self.append(6)
        ws = self.ws(policy_yaml(triggers={"commitCount": 5},
                                 compaction={"minInputFiles": 5, "executor": "local"}))
        plan = ws.plan_json()
        change = harness.changes_by_name(plan).get("events")
        self.assertIsNotNone(change, plan)
        self.assertIn("compact", change["reason"])
        before = self.main_snapshot(self.metadata())
        out = self.assertRun(ws.apply(timeout=120))[1]
        md = self.metadata()
        main = self.main_snapshot(md)
        self.assertEqual(main["summary"]["operation"], "replace", out)
        self.assertNotEqual(main["snapshot-id"], before["snapshot-id"])
        self.assertLess(int(main["summary"]["total-data-files"]),
                        int(before["summary"]["total-data-files"]))
        self.assertIn("converge.maintenance.compact.last-run-ms", md["properties"])
        self.assertEqual(md["properties"].get("converge.maintenance.compact.failures", "0"), "0")
        self.assertFalse([r for r in md.get("refs", {}) if r.startswith("__converge")], md["refs"])

    def test_a_failing_command_is_reported_counted_and_suspended(self):
        self.append(3)
        policy = dict(triggers={"commitCount": 1}, suspendAfterFailures=2,
                      compaction={"minInputFiles": 2, "executor": "failing"})
        ws = self.ws(policy_yaml(**policy))
        for failures in (1, 2):
            code, out, err = ws.apply(timeout=120)
            self.assertNotEqual(code, 0, out + err)
            text = out + err
            self.assertIn("command /bin/sh failed with exit code 3", text)
            self.assertIn("rewrite of analytics.events refused for iceberg-compact-events-", text)
            props = self.metadata()["properties"]
            self.assertEqual(props.get("converge.maintenance.compact.failures"), str(failures))
            self.assertIn("exit code 3", props.get("converge.maintenance.compact.last-error", ""))
        with open(self.marker) as f:
            job, tier = f.read().split()
        self.assertTrue(job.startswith("iceberg-compact-events-"), job)
        self.assertEqual(tier, "gold")
        # Suspended: skipped with why, and an apply runs nothing.
        plan = ws.plan_json()
        skipped = harness.skipped_by_name(plan).get("events")
        self.assertIsNotNone(skipped, plan)
        self.assertEqual(skipped["status"], "suspended", skipped)
        self.assertIn("compact is suspended after 2 consecutive failures", skipped["reason"])
        os.remove(self.marker)
        self.assertRun(ws.apply(timeout=120))
        self.assertFalse(os.path.exists(self.marker), "a suspended task ran its command")
        # The executor fixed (a policy change): the command compacts, the count goes back to 0.
        policy["compaction"]["executor"] = "local"
        ws.write("policy.yaml", policy_yaml(**policy))
        self.assertRun(ws.apply(timeout=120))
        md = self.metadata()
        self.assertEqual(self.main_snapshot(md)["summary"]["operation"], "replace")
        self.assertEqual(md["properties"].get("converge.maintenance.compact.failures"), "0")

    def test_the_executor_timeout_kills_the_command(self):
        self.append(3)
        ws = self.ws(policy_yaml(triggers={"commitCount": 1},
                                 compaction={"minInputFiles": 2, "executor": "hanging"}))
        started = time.monotonic()
        code, out, err = ws.apply(timeout=60)
        self.assertNotEqual(code, 0, out + err)
        self.assertLess(time.monotonic() - started, 30)
        self.assertIn("still running after 1s; the command was killed", out + err)
        with open(self.marker + ".pid") as f:
            pid = int(f.read())
        for _ in range(200):  # killed (gone, or a zombie until init reaps it)
            try:
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break
            except FileNotFoundError:
                break
            time.sleep(0.05)
        else:
            self.fail("the command's sleep %d still runs" % pid)
        props = self.metadata()["properties"]
        self.assertEqual(props.get("converge.maintenance.compact.failures"), "1")


if __name__ == "__main__":
    unittest.main()
