"""What the Iceberg integration tests share: the sandbox table they maintain, a TablePolicy for
it, and a SandboxTestCase with the catalog's helpers (the writer simulator, the table's metadata
and main snapshot, a workspace of Backends + one policy)."""

import unittest

import harness

TABLE = "analytics.events"
TABLE_PATH = "/iceberg/v1/namespaces/analytics/tables/events"


def policy_yaml(**spec):
    base = {"table": TABLE, "minInterval": "10m"}
    base.update(spec)
    return harness.document("TablePolicy", "events", base, backend="lakehouse")


class IcebergTestCase(harness.SandboxTestCase):
    SANDBOX_ARGS = ("--yarn-transition-ms", "30", "--iceberg-transition-ms", "0")
    # How long the sandbox's YARN applications (the executors' jobs) run; None: left alone.
    YARN_APP_RUN_MS = 100

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        status, _ = cls.sandbox.request("GET", "/iceberg/v1/config")
        if status == 404:
            cls.sandbox.stop()
            raise unittest.SkipTest("the sandbox has no iceberg mount")

    def setUp(self):
        super().setUp()
        if self.YARN_APP_RUN_MS is not None:
            self.sandbox.admin("POST", "/yarn/options", {"app_run_ms": self.YARN_APP_RUN_MS})
            self.addCleanup(lambda: self.sandbox.admin("POST", "/yarn/options",
                                                       {"app_run_ms": -1}))

    def iceberg_workspace(self, backends, policy):
        ws = self.workspace(backend=False)
        ws.write("backends.yaml", backends)
        ws.write("policy.yaml", policy)
        return ws

    def append(self, commits, files=4, size=1 << 20):
        self.sandbox.admin("POST", "/iceberg/append", {
            "table": TABLE, "commits": commits, "files_per_commit": files,
            "file_size_bytes": size})

    def catalog_headers(self):
        return None  # the sandbox catalog without auth

    def metadata(self):
        status, body = self.sandbox.request("GET", TABLE_PATH, headers=self.catalog_headers())
        self.assertEqual(status, 200, body)
        return body["metadata"]

    def main_snapshot(self, md=None):
        md = md or self.metadata()
        sid = md.get("current-snapshot-id")
        return next(s for s in md["snapshots"] if s["snapshot-id"] == sid)

    def change(self, ws):
        plan = ws.plan_json()
        return harness.changes_by_name(plan).get("events"), plan
