"""Real Iceberg clients from npm against `converge sandbox`: `iceberg-js` (a REST-catalog client)
lists namespaces, loads a table and commits to it (a guarded commit lands, a failed requirement
is its 409); `icebird` (an Iceberg reader) reads the same table's metadata JSON, manifest list and
manifests from the sandbox's warehouse on disk — the sandbox's tables are what a real reader
accepts, and both clients see what the catalog says.

The packages are pinned in tests/compat/iceberg_npm/package.json + package-lock.json and
installed with `npm ci` at test time into <build>/npm/iceberg-clients (reused while the lock file
is unchanged). Node 20 (Debian's nodejs) runs them. npm that cannot reach its registry is a
failure, not a skip: this test must run in CI.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from sandbox_util import Sandbox

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.join(HERE, "iceberg_npm")


def install_dir():
    binary = os.environ.get("CONVERGE_BIN")
    root = os.path.dirname(os.path.abspath(binary)) if binary else tempfile.gettempdir()
    return os.path.join(root, "npm", "iceberg-clients")


def npm_install():
    """npm ci of the pinned packages, once per lock file; returns the directory."""
    target = install_dir()
    with open(os.path.join(PACKAGE, "package-lock.json")) as f:
        lock = f.read()
    stamp = os.path.join(target, ".lock-installed")
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == lock:
                return target
    os.makedirs(target, exist_ok=True)
    for name in ("package.json", "package-lock.json", "clients.mjs"):
        shutil.copy(os.path.join(PACKAGE, name), target)
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=target,
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError("npm ci failed (is the npm registry reachable?):\n" + r.stdout +
                             r.stderr)
    with open(stamp, "w") as f:
        f.write(lock)
    return target


class IcebergNpmClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = npm_install()
        shutil.copy(os.path.join(PACKAGE, "clients.mjs"), cls.dir)  # the script may be newer
        cls.warehouse = tempfile.mkdtemp(prefix="converge-iceberg-npm-")
        cls.sandbox = Sandbox(extra_args=["--iceberg-warehouse", cls.warehouse]).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.sandbox.stop()
        shutil.rmtree(cls.warehouse, ignore_errors=True)
        assert code == 0, "sandbox exited with %s: %s" % (code, cls.sandbox.stderr())

    def admin(self, path, body):
        status, _, answer = self.sandbox.request("POST", "/_admin/iceberg" + path, body)
        self.assertLess(status, 300, answer)
        return answer

    def run_clients(self, metadata_location):
        name = os.path.basename(metadata_location)
        r = subprocess.run(["node", "clients.mjs", self.sandbox.url + "/iceberg", "analytics",
                            "events", name], cwd=self.dir, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout.strip().splitlines()[-1])

    def test_iceberg_js_and_icebird_accept_the_sandbox_table(self):
        for day, commits in (("2026-11-29", 2), ("2026-11-30", 3)):
            self.admin("/append", {"table": "analytics.events", "commits": commits,
                                   "files_per_commit": 4, "file_size_bytes": 3 << 20,
                                   "partition": {"event_date": day}})
        status, _, loaded = self.sandbox.request("GET", "/iceberg/v1/namespaces/analytics/tables/events")
        self.assertEqual(status, 200, loaded)
        md = loaded["metadata"]
        out = self.run_clients(loaded["metadata-location"])

        # iceberg-js: the namespace, the table, a commit that lands and one that conflicts.
        self.assertIn(["analytics"], out["namespaces"])
        self.assertEqual(out["uuid"], md["table-uuid"])
        self.assertEqual(out["location"], md["location"])
        # Snapshot ids are 63-bit; a JS number holds them only to 2^53 (see clients.mjs).
        self.assertEqual(float(out["currentSnapshotId"]), float(md["current-snapshot-id"]))
        self.assertEqual(out["commitProperty"], "iceberg-js")
        self.assertEqual(out["conflictStatus"], 409)
        status, _, after = self.sandbox.request("GET", "/iceberg/v1/namespaces/analytics/tables/events")
        self.assertEqual(after["metadata"]["properties"].get("npm.client"), "iceberg-js")
        self.assertEqual(after["metadata-location"], out["commitMetadataLocation"])

        # icebird: the metadata and every manifest of the current snapshot, from disk.
        ib = out["icebird"]
        self.assertEqual(ib["uuid"], md["table-uuid"])
        self.assertEqual(ib["formatVersion"], 2)
        self.assertEqual(float(ib["currentSnapshotId"]), float(md["current-snapshot-id"]))
        self.assertEqual(ib["snapshots"], 5)
        self.assertGreaterEqual(out["diskReads"], 2 + ib["manifests"] - 1)
        live = [f for f in ib["files"] if f["status"] != 2 and f["content"] == 0]
        self.assertEqual(len(live), 20, ib["files"][:3])
        days = sorted({json.dumps(f["partition"], sort_keys=True) for f in live})
        self.assertEqual(len(days), 2, days)
        main = next(s for s in md["snapshots"] if s["snapshot-id"] == md["current-snapshot-id"])
        self.assertEqual(int(main["summary"]["total-data-files"]), len(live))
        for f in live:
            self.assertEqual(f["size"], 3 << 20)
            self.assertEqual(f["format"].lower(), "parquet")
            path = f["path"][len("file://"):] if f["path"].startswith("file://") else f["path"]
            self.assertEqual(os.path.getsize(path), f["size"], "placeholder of the recorded size")
            self.assertIsNotNone(f["sequenceNumber"])


if __name__ == "__main__":
    unittest.main()
