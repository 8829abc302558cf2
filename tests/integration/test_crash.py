"""Concurrency and failure: the state lock, kill -9 mid-apply, backend faults."""

import os
import select
import signal
import subprocess
import time
import unittest

import harness
from harness import app_yaml


def wait_for_line(proc, needle, timeout):
    """Reads proc.stderr until a line containing `needle` appears; returns everything read."""
    buf = b""
    deadline = time.monotonic() + timeout
    fd = proc.stderr.fileno()
    while needle.encode() not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("no %r from converge within %ss; stderr so far: %s" % (
                needle, timeout, buf.decode(errors="replace")))
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError("converge exited (code %s) before %r; stderr: %s" % (
                    proc.wait(), needle, buf.decode(errors="replace")))
            buf += chunk
    return buf.decode(errors="replace")


class ConcurrencyTest(harness.SandboxTestCase):
    DEPLOY_MS = 300

    def test_second_apply_on_the_same_state_dir_is_refused_naming_the_holder(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/lk/a", image="img/a:1"))
        self.sandbox.set_deploy_ms(4000)
        first = ws.popen("apply", ws.spec_dir, "--auto-approve")
        self.addCleanup(_reap, first)
        wait_for_line(first, "creating...", timeout=20)

        # read-only commands still work while the apply runs
        code, out, err = self.assertRun(ws.plan(), 0, "plan during an apply")

        start = time.monotonic()
        ws.write("b.yaml", app_yaml("/lk/b", image="img/b:1"))
        code, out, err = self.assertRun(ws.apply(timeout=15), 1, "second apply")
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, 3.0, "the second apply did not fail fast")
        self.assertIn("locked", out + err)
        self.assertIn(str(first.pid), out + err)
        code, out, err = self.assertRun(ws.converge("hold", "App//lk/a"), 1, "hold during apply")
        self.assertIn("locked", out + err)

        out, err = first.communicate(timeout=30)
        self.assertEqual(first.returncode, 0, "first apply: %s %s" % (out, err))
        self.assertIn(b"Apply complete!", out)
        # the refused apply wrote nothing: only the first apply's one create
        self.assertEqual(self.sandbox.writes(), 1, self.sandbox.requests()["log"])
        self.assertEqual(self.sandbox.app_ids(), ["/lk/a"])

        # the lock is released when the holder finishes
        self.sandbox.set_deploy_ms(self.DEPLOY_MS)
        self.assertApplied(ws)
        self.assertEqual(self.sandbox.app_ids(), ["/lk/a", "/lk/b"])


class KillTest(harness.SandboxTestCase):
    DEPLOY_MS = 300

    def test_kill_9_mid_apply_then_apply_converges_without_duplicates(self):
        ws = self.workspace()
        apps = {"/kill/a": ("img/a:1", 1, {"N": "a"}), "/kill/b": ("img/b:1", 2, {"N": "b"}),
                "/kill/c": ("img/c:1", 1, {"N": "c"}), "/kill/d": ("img/d:1", 3, {"N": "d"})}
        for app_id, (image, instances, env) in apps.items():
            ws.write(app_id.split("/")[-1] + ".yaml",
                     app_yaml(app_id, image=image, instances=instances, env=env))
        self.sandbox.set_deploy_ms(3000)

        proc = ws.popen("apply", ws.spec_dir, "--auto-approve", "--parallelism", "2")
        self.addCleanup(_reap, proc)
        wait_for_line(proc, "creating...", timeout=20)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        self.assertLess(len(self.sandbox.app_ids()), len(apps), "killed too late to test much")

        self.sandbox.set_deploy_ms(self.DEPLOY_MS)
        code, out, err = self.assertApplied(ws)
        self.assertIn("interrupted", err)

        live = self.sandbox.apps()
        ids = [a["id"] for a in live]
        self.assertEqual(sorted(ids), sorted(apps), "each app exactly once")
        for a in live:
            image, instances, env = apps[a["id"]]
            self.assertEqual(harness.image_of(a), image)
            self.assertEqual(a["instances"], instances)
            self.assertEqual(a["env"], env)
            self.assertEqual(a["labels"].get("converge.io/managed-by"), "converge")

        runs = {r["run"]: r for r in ws.history()}
        killed = min(runs)
        self.assertEqual(runs[killed]["status"], "interrupted", runs[killed])
        self.assertNotEqual(runs[max(runs)]["status"], "interrupted")

        self.sandbox.reset_requests()
        code, out, err = self.assertRun(ws.apply(), 0, "third apply")
        self.assertEqual(self.sandbox.writes(), 0, self.sandbox.requests()["log"])
        self.assertNoChanges(ws)

    # A change interrupted by kill -9 gets its last-applied record on the next apply (settle), so
    # a member later removed from the spec is reset (it used to stay live for good: "No
    # changes." forever).
    def test_member_removed_after_an_interrupted_create_is_reset(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/kill/e", image="img/e:1", env={"KEEP": "1", "DROP": "2"}))
        self.sandbox.set_deploy_ms(3000)
        proc = ws.popen("apply", ws.spec_dir, "--auto-approve")
        self.addCleanup(_reap, proc)
        wait_for_line(proc, "creating...", timeout=20)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.sandbox.set_deploy_ms(self.DEPLOY_MS)
        self.assertRun(ws.apply(), 0, "apply after the kill")
        self.assertEqual(self.sandbox.app("/kill/e")["env"], {"KEEP": "1", "DROP": "2"})

        ws.write("a.yaml", app_yaml("/kill/e", image="img/e:1", env={"KEEP": "1"}))
        code, out, err = ws.plan("--detailed-exitcode")
        self.assertEqual(code, 2, "plan after removing env.DROP:\n%s%s" % (out, err))
        self.assertIn("- env.DROP", out)
        self.assertApplied(ws)
        self.assertEqual(self.sandbox.app("/kill/e")["env"], {"KEEP": "1"})


class FaultTest(harness.SandboxTestCase):
    DEPLOY_MS = 200

    def test_transient_503_on_list_is_retried(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/ft/a", image="img/a:1"))
        self.sandbox.add_fault(method="GET", path_regex="^/v2/apps$", status=503, count=2)
        code, out, err = self.assertRun(ws.plan("--detailed-exitcode"), 2, "plan through 503s")
        self.assertIn("App /ft/a", out)
        (rule,) = self.sandbox.faults()
        self.assertEqual(rule["fired"], 2)
        statuses = [e["status"] for e in self.sandbox.requests()["log"]
                    if e["path"] == "/marathon/v2/apps"]
        self.assertEqual(statuses, [503, 503, 200])

    def test_transient_503_on_put_is_retried(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/ft/p", image="img/p:1"))
        self.sandbox.add_fault(method="PUT", path_regex="^/v2/apps", status=503, count=2)
        self.assertApplied(ws)
        self.assertImage("/ft/p", "img/p:1")
        puts = [e["status"] for e in self.sandbox.requests()["log"] if e["method"] == "PUT"]
        self.assertEqual(puts[:2], [503, 503])
        self.assertLess(puts[2], 300)
        self.assertNoChanges(ws)

    def test_update_waits_out_a_running_deployment(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/ft/d", image="img/d:1", env={"E": "1"}))
        self.assertApplied(ws)
        # a deployment started by someone else is still running when converge updates the app
        self.sandbox.set_deploy_ms(1500)
        live = self.sandbox.app("/ft/d")
        self.sandbox.put_app("/ft/d", {"id": "/ft/d", "instances": 2, "cpus": 0.1, "mem": 32,
                                       "container": live["container"], "env": {"E": "1"},
                                       "labels": live["labels"]}, force=False)
        ws.write("a.yaml", app_yaml("/ft/d", image="img/d:2", env={"E": "1"}))
        self.sandbox.reset_requests()
        self.assertApplied(ws, "--health-timeout", "20s")
        puts = [e["status"] for e in self.sandbox.requests()["log"] if e["method"] == "PUT"]
        self.assertIn(409, puts, "the deployment was over before converge's update")
        self.assertLess(puts[-1], 300)
        self.assertImage("/ft/d", "img/d:2")
        self.assertEqual(self.sandbox.app("/ft/d")["instances"], 1)

    def test_persistent_500_on_put_fails_the_apply_and_the_journal_says_so(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/ft/b", image="img/b:1"))
        self.assertApplied(ws)
        ws.write("a.yaml", app_yaml("/ft/b", image="img/b:2"))
        self.sandbox.add_fault(method="PUT", path_regex="^/v2/apps", status=500, rate=1.0)

        code, out, err = self.assertRun(ws.apply(timeout=90), 1, "apply against failing PUTs")
        self.assertIn("Apply finished with errors", out)
        self.assertIn("/ft/b", out)
        self.assertIn("500", out + err)
        self.sandbox.clear_faults()
        self.assertImage("/ft/b", "img/b:1")

        runs = ws.history()
        last = max(runs, key=lambda r: r["run"])
        self.assertEqual(last["status"], "failed")
        (change,) = [c for c in last["changes"] if c["key"] == "App//ft/b"]
        self.assertEqual(change["state"], "failed", change)

        # once the backend recovers the next apply converges
        self.assertApplied(ws)
        self.assertImage("/ft/b", "img/b:2")


def _reap(proc):
    if proc.poll() is None:
        proc.kill()
    try:
        proc.communicate(timeout=10)
    except (subprocess.TimeoutExpired, ValueError):
        pass


if __name__ == "__main__":
    unittest.main()
