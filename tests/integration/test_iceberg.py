"""converge's TablePolicy maintenance against the sandbox's Iceberg catalog and YARN, end to end
with the built binary.

The sandbox's tables are real Iceberg tables on disk; a writer simulator appends small files;
a compaction is a YARN application whose command calls rewrite_data_files on the sandbox table
(the sandbox's YARN hands the command to the catalog when the application succeeds). Covered:
the plan says which task fires and why, apply compacts through YARN and leaves a replace snapshot,
a second plan waits for minInterval, snapshot expiry keeps a tagged snapshot and the last N,
the lock leaves no tag behind, and `converge rollback` puts main back.
"""

import json
import time
import unittest

import harness
from iceberg_harness import TABLE_PATH, IcebergTestCase, policy_yaml


def backends_yaml(url):
    return "\n---\n".join([
        harness.document("Backend", "lakehouse", {"type": "iceberg-rest", "url": url + "/iceberg",
                                                   "pollInterval": "100ms"}),
        harness.document("Backend", "hadoop", {
            "type": "yarn", "urls": [url + "/yarn"], "auth": {"type": "simple", "user": "deploy"},
            "pollInterval": "100ms"}),
        harness.document("Executor", "spark-on-yarn", {
            "type": "yarn", "backend": "hadoop", "catalog": "lake", "queue": "default",
            "resources": {"memory": "512MiB", "vcores": 1}}, backend="lakehouse"),
    ])


class IcebergTest(IcebergTestCase):
    def ws(self, policy):
        return self.iceberg_workspace(backends_yaml(self.sandbox.url), policy)

    def test_compaction_fires_runs_on_yarn_and_leaves_a_replace_snapshot(self):
        self.append(6)
        ws = self.ws(policy_yaml(
            triggers={"commitCount": 5},
            compaction={"targetFileSizeBytes": "128MiB", "minInputFiles": 5,
                        "executor": "spark-on-yarn"}))
        change, plan = self.change(ws)
        self.assertIsNotNone(change, plan)
        self.assertEqual(change["action"], "run")
        self.assertIn("compact", change["reason"])
        self.assertIn("6 commits", change["reason"])
        before = self.main_snapshot()["snapshot-id"]
        out = self.assertRun(ws.apply(timeout=120))[1]
        md = self.metadata()
        main = self.main_snapshot(md)
        self.assertEqual(main["summary"]["operation"], "replace", out)
        self.assertNotEqual(main["snapshot-id"], before)
        # The job ran on YARN, named after the policy and the snapshot it started from.
        status, apps = self.sandbox.request(
            "GET", "/yarn/ws/v1/cluster/apps?applicationTypes=SPARK&user.name=deploy")
        names = [a["name"] for a in (apps.get("apps") or {}).get("app", [])]
        self.assertEqual(len(names), 1, apps)
        self.assertTrue(names[0].startswith("iceberg-compact-events-"), names)
        # The lock is gone; the run is recorded in the table.
        self.assertFalse([r for r in md.get("refs", {}) if r.startswith("__converge")], md["refs"])
        self.assertIn("converge.maintenance.compact.last-run-ms", md["properties"])
        # Nothing is due right after the run; more commits are, but minInterval holds them back.
        change, plan = self.change(ws)
        self.assertIsNone(change, plan)
        self.assertIn("not due", json.dumps(plan.get("skipped", [])))
        self.append(6)
        change, plan = self.change(ws)
        self.assertIsNone(change, plan)
        self.assertIn("next check after minInterval 10m", json.dumps(plan.get("skipped", [])))

    def test_expiry_keeps_tags_and_the_last_n_then_rollback_puts_main_back(self):
        self.append(5, files=1)
        md = self.metadata()
        oldest = min(md["snapshots"], key=lambda s: s["timestamp-ms"])["snapshot-id"]
        status, body = self.sandbox.request("POST", TABLE_PATH, {
            "requirements": [],
            "updates": [{"action": "set-snapshot-ref", "ref-name": "audit", "type": "tag",
                         "snapshot-id": oldest}]})
        self.assertEqual(status, 200, body)
        time.sleep(1.2)
        ws = self.ws(policy_yaml(
            triggers={"commitCount": 3},
            expireSnapshots={"maxSnapshotAge": "1s", "retainLast": 2}))
        change, plan = self.change(ws)
        self.assertEqual(change["action"], "run", plan)
        self.assertIn("expireSnapshots", change["reason"])
        main_before = self.main_snapshot()["snapshot-id"]
        self.assertRun(ws.apply(timeout=60))
        md = self.metadata()
        ids = {s["snapshot-id"] for s in md["snapshots"]}
        self.assertIn(oldest, ids, "a tagged snapshot was expired")
        self.assertIn(main_before, ids)
        self.assertEqual(len(ids), 3, md["snapshots"])  # the last 2 of main + the tag
        # A writer moves main on; rollback puts it back where the snapshot says.
        self.append(1, files=1)
        self.assertNotEqual(self.main_snapshot()["snapshot-id"], main_before)
        self.assertRun(ws.converge("rollback", "TablePolicy/events"))
        self.assertEqual(self.main_snapshot()["snapshot-id"], main_before)

    def test_a_missing_table_is_a_notice_not_an_error(self):
        ws = self.ws(policy_yaml(triggers={"commitCount": 1},
                                 expireSnapshots={"retainLast": 1}))
        code, out, err = ws.plan()
        self.assertEqual(code, 0, out + err)
        self.assertIn("does not exist", out + err)


if __name__ == "__main__":
    unittest.main()
