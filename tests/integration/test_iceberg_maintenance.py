"""TablePolicy maintenance as users see it, with the built binary against `converge sandbox`:
triggers fire at their threshold and not one commit before; a task that keeps failing is
suspended (shown in the plan, not run) until the policy changes or `converge release`; a long job
renews the table lock, and a lock broken meanwhile stops the wait; two applies at once (two
state directories) maintain the table once; a stale lock is broken and the table maintained.
"""

import time
import unittest

import harness
from iceberg_harness import TABLE_PATH, IcebergTestCase, policy_yaml

BROKEN = "broken-spark-sql"  # a launcher the sandbox's YARN fails (its failing-images knob)


def backends_yaml(url, lock_ttl=None):
    lake = {"type": "iceberg-rest", "url": url + "/iceberg", "pollInterval": "100ms"}
    if lock_ttl:
        lake["lockTtl"] = lock_ttl
    return "\n---\n".join([
        harness.document("Backend", "lakehouse", lake),
        harness.document("Backend", "hadoop", {
            "type": "yarn", "urls": [url + "/yarn"], "auth": {"type": "simple", "user": "deploy"},
            "pollInterval": "100ms"}),
        harness.document("Executor", "spark", {
            "type": "yarn", "backend": "hadoop", "catalog": "lake", "queue": "default",
            "resources": {"memory": "512MiB", "vcores": 1}}, backend="lakehouse"),
        harness.document("Executor", "broken", {
            "type": "yarn", "backend": "hadoop", "catalog": "lake", "queue": "default",
            "sparkSql": BROKEN, "resources": {"memory": "512MiB", "vcores": 1}},
            backend="lakehouse"),
    ])


class IcebergMaintenanceTest(IcebergTestCase):
    def setUp(self):
        super().setUp()
        self.sandbox.admin("POST", "/yarn/failing-images", {"images": [BROKEN]})
        self.addCleanup(lambda: self.sandbox.admin("POST", "/yarn/failing-images", {"images": []}))

    def ws(self, policy, lock_ttl=None):
        return self.iceberg_workspace(backends_yaml(self.sandbox.url, lock_ttl), policy)

    def properties(self):
        return self.metadata().get("properties", {})

    def lock_refs(self, md=None):
        return [r for r in (md or self.metadata()).get("refs", {})
                if r.startswith("__converge_maintenance")]

    def apply_in_background(self, ws):
        p = ws.popen("apply", ws.spec_dir, "--auto-approve")
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        return p

    def wait_locked(self, p):
        for _ in range(600):
            if self.lock_refs():
                return
            self.assertIsNone(p.poll(), "apply ended before taking the lock")
            time.sleep(0.05)
        self.fail("the table was never locked")

    def yarn_apps(self, field="name"):
        _, apps = self.sandbox.request(
            "GET", "/yarn/ws/v1/cluster/apps?applicationTypes=SPARK&user.name=deploy")
        return [a[field] for a in (apps.get("apps") or {}).get("app", [])]

    def wait_killed(self):
        for _ in range(200):
            if self.yarn_apps("state") == ["KILLED"]:
                return
            time.sleep(0.05)
        self.assertEqual(self.yarn_apps("state"), ["KILLED"])

    def events(self, ws):
        plan = ws.plan_json()
        return (harness.changes_by_name(plan).get("events"),
                harness.skipped_by_name(plan).get("events"), plan)

    def test_commit_and_file_count_triggers_fire_at_the_threshold_not_one_commit_before(self):
        ws = self.ws(policy_yaml(triggers={"commitCount": 3},
                                 expireSnapshots={"retainLast": 100}))
        self.append(2, files=1)
        change, skipped, plan = self.events(ws)
        self.assertIsNone(change, plan)
        self.assertIn("2 commits of 3", skipped["reason"])
        self.append(1, files=1)
        change, _, plan = self.events(ws)
        self.assertIsNotNone(change, plan)
        self.assertIn("3 commits", change["reason"])
        ws.write("policy.yaml", policy_yaml(triggers={"dataFileCount": 12},
                                            expireSnapshots={"retainLast": 100}))
        self.append(2, files=4)  # 3 + 8 = 11 data files
        change, skipped, plan = self.events(ws)
        self.assertIsNone(change, plan)
        self.assertIn("11 data files of 12", skipped["reason"])
        self.append(1, files=1)  # 12
        change, _, plan = self.events(ws)
        self.assertIsNotNone(change, plan)
        self.assertIn("12 data files added", change["reason"])

    def test_repeated_failures_suspend_the_task_until_release_or_a_policy_change(self):
        self.append(3)
        policy = dict(triggers={"commitCount": 1}, suspendAfterFailures=2,
                      compaction={"minInputFiles": 2, "executor": "broken"})
        ws = self.ws(policy_yaml(**policy))
        for failures in (1, 2):
            change, _, plan = self.events(ws)
            self.assertIsNotNone(change, plan)
            code, out, err = ws.apply(timeout=120)
            self.assertNotEqual(code, 0, out + err)
            self.assertEqual(self.properties().get("converge.maintenance.compact.failures"),
                             str(failures))
        # Each retry is a new application (the attempt is in its name), never the failed one
        # found again.
        names = self.yarn_apps()
        self.assertEqual(len(names), 2, names)
        self.assertEqual(len(set(names)), 2, names)
        apps = len(names)
        # Suspended: skipped with why and how to resume, in the JSON plan and the text plan;
        # an apply runs nothing.
        change, skipped, plan = self.events(ws)
        self.assertIsNone(change, plan)
        self.assertIsNotNone(skipped, plan)
        self.assertEqual(skipped["status"], "suspended", skipped)
        self.assertIn("compact is suspended after 2 consecutive failures", skipped["reason"])
        self.assertIn("converge release TablePolicy/events", skipped["reason"])
        code, out, err = ws.plan()
        self.assertIn("[suspended]", out, out + err)
        self.assertRun(ws.apply(timeout=120))
        self.assertEqual(len(self.yarn_apps()), apps)  # nothing was submitted
        # `converge release` resumes it.
        code, out, err = self.assertRun(ws.converge("release", "TablePolicy/events", ws.spec_dir))
        self.assertIn("resumed", out)
        change, skipped, plan = self.events(ws)
        self.assertIsNotNone(change, plan)
        self.assertIn("compact", change["reason"])
        # Suspended again; a policy change (here the executor fixed) resumes it too, and the
        # success resets the count.
        for _ in (1, 2):
            self.assertNotEqual(ws.apply(timeout=120)[0], 0)
        self.assertEqual(self.events(ws)[1]["status"], "suspended")
        self.assertEqual(len(set(self.yarn_apps())), apps + 2)  # resumed: new applications
        policy["compaction"]["executor"] = "spark"
        ws.write("policy.yaml", policy_yaml(**policy))
        change, _, plan = self.events(ws)
        self.assertIsNotNone(change, plan)
        self.assertRun(ws.apply(timeout=120))
        self.assertEqual(self.properties().get("converge.maintenance.compact.failures"), "0")

    def test_a_long_job_renews_the_lock_and_releases_it(self):
        self.sandbox.admin("POST", "/yarn/options", {"app_run_ms": 4000})
        self.append(3)
        ws = self.ws(policy_yaml(triggers={"commitCount": 1},
                                 compaction={"minInputFiles": 2, "executor": "spark"}),
                     lock_ttl="2s")
        p = self.apply_in_background(ws)
        self.wait_locked(p)
        tokens = set()
        while p.poll() is None:
            token = self.properties().get("converge.lock.token")
            if token:
                tokens.add(token)
            time.sleep(0.05)
        out, err = p.communicate()
        self.assertEqual(p.returncode, 0, out.decode() + err.decode())
        # Renewed at half the TTL: the token rotated while the 4s job ran; released at the end.
        self.assertGreaterEqual(len(tokens), 2, tokens)
        md = self.metadata()
        self.assertEqual(self.lock_refs(md), [])
        self.assertIn("converge.maintenance.compact.last-run-ms", md["properties"])

    def test_a_lock_broken_while_waiting_stops_the_wait_and_records_nothing(self):
        self.sandbox.admin("POST", "/yarn/options", {"app_run_ms": 60000})
        self.append(3)
        ws = self.ws(policy_yaml(triggers={"commitCount": 1},
                                 compaction={"minInputFiles": 2, "executor": "spark"}),
                     lock_ttl="2s")
        p = self.apply_in_background(ws)
        self.wait_locked(p)
        # Someone breaks the lock (by hand here): both tags and the owner properties go.
        md = self.metadata()
        updates = [{"action": "remove-snapshot-ref", "ref-name": r} for r in self.lock_refs(md)]
        updates.append({"action": "remove-properties", "removals": [
            "converge.lock.owner", "converge.lock.token", "converge.lock.expires-at-ms"]})
        status, body = self.sandbox.request("POST", TABLE_PATH,
                                            {"requirements": [], "updates": updates})
        self.assertEqual(status, 200, body)
        out, err = p.communicate(timeout=60)
        text = out.decode() + err.decode()
        self.assertNotEqual(p.returncode, 0, text)
        self.assertIn("the lock on table analytics.events was lost while waiting", text)
        self.assertIn("the YARN application is being killed", text)
        self.wait_killed()
        props = self.properties()
        self.assertNotIn("converge.maintenance.compact.last-run-ms", props)
        self.assertNotIn("converge.maintenance.compact.failures", props)
        self.assertEqual(self.lock_refs(), [])

    def test_a_job_past_its_timeout_is_killed_and_the_retry_is_a_new_application(self):
        self.sandbox.admin("POST", "/yarn/options", {"app_run_ms": 60000})
        self.append(3)
        ws = self.ws(self.compaction_policy())
        code, out, err = ws.apply("--health-timeout", "2s", timeout=60)
        self.assertNotEqual(code, 0, out + err)
        self.assertIn("still running after 2s; the YARN application is being killed", out + err)
        self.wait_killed()
        props = self.properties()
        self.assertEqual(props.get("converge.maintenance.compact.failures"), "1")
        self.assertEqual(self.lock_refs(), [])
        # The retry runs (a fast job now) as a new application and compacts the table.
        self.sandbox.admin("POST", "/yarn/options", {"app_run_ms": 200})
        self.assertRun(ws.apply(timeout=120))
        names = self.yarn_apps()
        self.assertEqual(len(set(names)), 2, names)
        self.assertTrue(any("-a1" in n for n in names), names)
        self.assertEqual(self.properties().get("converge.maintenance.compact.failures"), "0")

    def compaction_policy(self):
        return policy_yaml(triggers={"commitCount": 1},
                           compaction={"minInputFiles": 2, "executor": "spark"})

    def test_two_applies_at_once_one_maintains_the_other_skips_on_the_lock(self):
        self.sandbox.admin("POST", "/yarn/options", {"app_run_ms": 3000})
        self.append(3)
        first, second = self.ws(self.compaction_policy()), self.ws(self.compaction_policy())
        p = self.apply_in_background(first)
        self.wait_locked(p)
        code, out, err = second.apply(timeout=60)
        self.assertNotEqual(code, 0, out + err)
        self.assertIn("table analytics.events is locked: held by", out + err)
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, out.decode() + err.decode())
        self.assertEqual(len(self.yarn_apps()), 1)
        self.assertEqual(self.lock_refs(), [])

    def test_a_stale_lock_is_broken_and_the_table_maintained(self):
        self.append(3)
        md = self.metadata()
        snap = md["current-snapshot-id"]
        stale = int(time.time() * 1000) - 3600 * 1000  # expired an hour ago
        status, body = self.sandbox.request("POST", TABLE_PATH, {"requirements": [], "updates": [
            {"action": "set-snapshot-ref", "ref-name": "__converge_maintenance", "type": "tag",
             "snapshot-id": snap},
            {"action": "set-snapshot-ref", "ref-name": "__converge_maintenance.crashed",
             "type": "tag", "snapshot-id": snap},
            {"action": "set-properties", "updates": {
                "converge.lock.owner": "converge/crashed", "converge.lock.token": "crashed",
                "converge.lock.expires-at-ms": str(stale)}}]})
        self.assertEqual(status, 200, body)
        ws = self.ws(self.compaction_policy())
        self.assertRun(ws.apply(timeout=120))
        md = self.metadata()
        main = next(s for s in md["snapshots"] if s["snapshot-id"] == md["current-snapshot-id"])
        self.assertEqual(main["summary"]["operation"], "replace")
        self.assertEqual(self.lock_refs(md), [])
        self.assertNotIn("converge.lock.owner", md["properties"])


if __name__ == "__main__":
    unittest.main()
