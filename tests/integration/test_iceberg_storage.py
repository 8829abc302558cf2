"""Exact small-file counts read from the sandbox table's manifests through the Backend's
`storage`, with the built binary: the plan names the partition and its exact count; without
`storage` the same plan says "(estimate)"; the manifests read are cached under the state
directory, so a later process plans from the cache even when the files cannot be read again.
"""

import glob
import json
import os
import re
import unittest

import harness
from iceberg_harness import TABLE, TABLE_PATH, IcebergTestCase, policy_yaml

DAY = "2026-11-30"


def backends_yaml(url, storage):
    lake = {"type": "iceberg-rest", "url": url + "/iceberg", "pollInterval": "100ms"}
    if storage is not None:
        lake["storage"] = storage
    return "\n---\n".join([
        harness.document("Backend", "lakehouse", lake),
        harness.document("Backend", "hadoop", {
            "type": "yarn", "urls": [url + "/yarn"], "auth": {"type": "simple", "user": "deploy"},
            "pollInterval": "100ms"}),
        harness.document("Executor", "spark-on-yarn", {
            "type": "yarn", "backend": "hadoop", "catalog": "lake", "queue": "default",
            "resources": {"memory": "512MiB", "vcores": 1}}, backend="lakehouse"),
    ])


class IcebergStorageTest(IcebergTestCase):
    YARN_APP_RUN_MS = None

    def ws(self, policy, storage=None):
        return self.iceberg_workspace(backends_yaml(self.sandbox.url, storage), policy)

    def ws_storage(self, policy):
        # The sandbox's tables are file:// URIs under its warehouse: `storage: {}` reads them.
        return self.ws(policy, storage={})

    def small_policy(self, threshold):
        return policy_yaml(triggers={"smallFileCount": threshold},
                           compaction={"targetFileSizeBytes": "128MiB", "minInputFiles": 5,
                                       "executor": "spark-on-yarn"})

    def append_day(self, commits, files, size, day=DAY):
        self.sandbox.admin("POST", "/iceberg/append", {
            "table": TABLE, "commits": commits, "files_per_commit": files,
            "file_size_bytes": size, "partition": {"event_date": day}})

    def test_exact_counts_name_the_partition_and_the_estimate_says_so(self):
        self.append_day(3, 40, 1 << 20)               # 120 small files on 2026-11-30
        self.append_day(1, 5, 1 << 20, "2026-11-29")  # 5 on the day before
        self.append_day(1, 2, 200 << 20)              # 2 big files: not small
        ws = self.ws_storage(self.small_policy(100))
        change, plan = self.change(ws)
        self.assertIsNotNone(change, plan)
        self.assertEqual(change["action"], "run")
        # identity(event_date): the partition reads as a date (in the manifest it is day 20787).
        self.assertIn("compact: partition event_date=2026-11-30 has 120 files under 96 MiB",
                      change["reason"])
        self.assertNotIn("estimate", change["reason"])
        # One more than there are: not due, and the exact figure is still what it waits for.
        change, plan = self.change(self.ws_storage(self.small_policy(121)))
        self.assertIsNone(change, plan)
        self.assertIn("no partition with 121 files under 96 MiB", json.dumps(plan))
        self.assertNotIn("estimate", json.dumps(plan))
        # Without storage, the same table is estimated from the snapshot summaries.
        _, plan = self.change(self.ws(self.small_policy(100)))
        self.assertIn("(estimate)", json.dumps(plan))

    def test_the_storage_member_is_validated_at_its_position(self):
        ws = self.ws(self.small_policy(100),
                     storage={"s3": {"endpoint": "minio:9000", "pathStyle": "yes"}})
        code, out, err = ws.converge("validate", ws.spec_dir)
        self.assertNotEqual(code, 0, out + err)
        text = out + err
        self.assertRegex(text, r"backends\.yaml:\d+:\d+: error: .*spec\.storage\.s3\.endpoint: "
                               r"storage\.s3\.endpoint must be an http:// or https:// URL")
        self.assertRegex(text, r"backends\.yaml:\d+:\d+: error: .*spec\.storage\.s3\.pathStyle: "
                               r"expected boolean")

    def test_manifests_read_once_are_planned_from_the_cache(self):
        self.append_day(2, 60, 1 << 20)
        ws = self.ws_storage(self.small_policy(100))
        change, plan = self.change(ws)
        self.assertRegex(change["reason"], r"has 120 files under 96 MiB", plan)
        cached = glob.glob(os.path.join(ws.state_dir, "cache", "iceberg-lakehouse", "*.json"))
        self.assertTrue(cached, "nothing cached under the state directory")
        # The manifests become unreadable; a new process still plans exactly, from the cache.
        md = self.metadata()
        manifest_list = next(s for s in md["snapshots"]
                             if s["snapshot-id"] == md["current-snapshot-id"])["manifest-list"]
        path = re.sub(r"^file://", "", manifest_list)
        os.rename(path, path + ".away")
        self.addCleanup(os.rename, path + ".away", path)
        change, plan = self.change(ws)
        self.assertIsNotNone(change, plan)
        self.assertRegex(change["reason"], r"has 120 files under 96 MiB")
        self.assertNotIn("estimate", change["reason"])

if __name__ == "__main__":
    unittest.main()
