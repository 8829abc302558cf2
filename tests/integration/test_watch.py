"""`converge watch` against a real sandbox: files and commits applied, broken files, drift,
holds, the writer lock, signals. Every wait polls with a generous deadline (loaded CI machines),
never a fixed sleep that the assertion depends on."""

import json
import os
import re
import signal
import subprocess
import time
import unittest
import urllib.error
import urllib.request

import harness
from harness import app_yaml

DEADLINE = 60  # seconds; generous on purpose (2 shared cores)


def wait_until(predicate, timeout=DEADLINE, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))


class Watch:
    """A running `converge watch` on a workspace; stderr (the log) goes to a file."""

    def __init__(self, ws, *extra):
        self.ws = ws
        self.log_path = os.path.join(ws.root, "watch-%d.log" % time.monotonic_ns())
        self.log_file = open(self.log_path, "wb")
        args = ["watch", ws.spec_dir, "--state-dir", ws.state_dir, "--listen", "127.0.0.1:0",
                "--debounce", "50ms"] + [str(a) for a in extra]
        self.proc = subprocess.Popen(ws.command(*args), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.log_file,
                                     env=ws._env())
        match = wait_until(lambda: self._listening() or self._exited(), what="watch to listen")
        if self.proc.poll() is not None:
            raise AssertionError("watch exited %s: %s" % (self.proc.returncode, self.log()))
        self.url = match

    def _listening(self):
        # text: `listening url=http://…`; JSON: `"msg":"listening","ts":…,"url":"http://…"`
        m = re.search(r"listening.*?(http://127\.0\.0\.1:\d+)", self.log())
        return m.group(1) if m else None

    def _exited(self):
        return self.proc.poll() is not None

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def get(self, path):
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def status(self):
        code, body = self.get("/status")
        return json.loads(body)

    def resource(self, key):
        for r in self.status()["resources"]:
            if r["key"] == key:
                return r
        return None

    def state_of(self, key):
        r = self.resource(key)
        return r and r["state"]

    def metrics(self):
        return self.get("/metrics")[1]

    def wait_ready(self):
        wait_until(lambda: self.get("/readyz")[0] == 200, what="/readyz: " + self.log()[-2000:])

    def wait_log(self, needle, timeout=DEADLINE):
        return wait_until(lambda: needle in self.log(), timeout=timeout,
                          what="%r in the watch log" % needle)

    def stop(self, sig=signal.SIGTERM, timeout=DEADLINE):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("watch did not stop after %s: %s" % (sig, self.log()))
        self.log_file.close()
        return code


class WatchTestCase(harness.SandboxTestCase):
    DEPLOY_MS = 200

    def start(self, ws, *extra):
        w = Watch(ws, *extra)
        self.addCleanup(lambda: w.proc.poll() is None and w.stop(signal.SIGKILL))
        return w

    def wait_image(self, app_id, image, timeout=DEADLINE):
        wait_until(lambda: harness.image_of(self.sandbox.app(app_id)) == image, timeout=timeout,
                   what="%s to run %s" % (app_id, image))


class FileWatchTest(WatchTestCase):
    def test_file_written_is_applied_and_status_and_metrics_follow(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/w/a", image="img/a:1"))
        w = self.start(ws)
        w.wait_ready()
        self.wait_image("/w/a", "img/a:1")
        self.assertEqual(w.state_of("App//w/a"), "synced")

        # a new file in a new directory, written in place
        ws.write("team/deeper/b.yaml", app_yaml("/w/b", image="img/b:1"))
        self.wait_image("/w/b", "img/b:1")
        # an atomic rename over an existing file (what editors and git do)
        tmp = ws.path(".a.yaml.swp")
        with open(tmp, "w") as f:
            f.write(app_yaml("/w/a", image="img/a:2"))
        os.rename(tmp, ws.path("a.yaml"))
        self.wait_image("/w/a", "img/a:2")
        wait_until(lambda: w.state_of("App//w/a") == "synced" and
                   w.resource("App//w/a")["last_change"], what="status synced")
        self.assertEqual(harness.image_of(self.sandbox.app("/w/b")), "img/b:1")

        self.assertEqual(w.get("/healthz"), (200, "ok\n"))
        metrics = w.metrics()
        for name in ("converge_reconciles_total{result=\"success\"}",
                     "converge_reconcile_duration_seconds_bucket",
                     "converge_workqueue_depth{state=\"ready\"}",
                     "converge_drifted_resources",
                     "converge_backend_operations_total{backend=\"sb\",op=\"apply\",status=\"ok\"}",
                     "converge_backend_requests_total{backend=\"sb\",code=\"200\"}",
                     "converge_last_successful_sync_timestamp_seconds"):
            self.assertIn(name, metrics)
        self.assertEqual(w.stop(), 0, w.log())
        # runs recorded as `watch` in the journal, every change done
        runs = ws.history("--limit", "50")
        self.assertTrue(runs)
        for r in runs:
            self.assertEqual(r["command"], "watch")
            self.assertEqual(r["status"], "succeeded", r)

    def test_a_concurrent_apply_is_refused_naming_the_watch(self):
        ws = self.workspace()
        w = self.start(ws)
        w.wait_ready()
        code, out, err = ws.apply()
        self.assertEqual(code, 1)
        self.assertIn("locked", out + err)
        self.assertIn(str(w.proc.pid), out + err)
        self.assertEqual(w.stop(), 0)

    def test_json_logs(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/w/j", image="img/j:1"))
        w = self.start(ws, "--log-format", "json")
        w.wait_ready()
        self.wait_image("/w/j", "img/j:1")
        self.assertEqual(w.stop(), 0)
        lines = [json.loads(l) for l in w.log().splitlines() if l.strip()]
        self.assertTrue(all({"ts", "level", "msg"} <= set(l) for l in lines))
        self.assertTrue(any(l.get("component") == "executor" for l in lines))


class BrokenFileTest(WatchTestCase):
    def test_broken_file_is_reported_blocks_prunes_and_other_files_still_apply(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/br/a", image="img/a:1"))
        ws.write("b.yaml", app_yaml("/br/b", image="img/b:1"))
        ws.write("c.yaml", app_yaml("/br/c", image="img/c:1"))
        w = self.start(ws, "--prune")
        w.wait_ready()
        self.assertEqual(self.sandbox.app_ids(), ["/br/a", "/br/b", "/br/c"])

        ws.write("b.yaml", "apiVersion: converge/v1\nkind: App\nmetadata: {name: [\n")
        ws.remove("c.yaml")
        w.wait_log("spec error")
        ws.write("a.yaml", app_yaml("/br/a", image="img/a:2"))
        self.wait_image("/br/a", "img/a:2")  # other files still applied
        st = wait_until(lambda: (lambda s: s if s["failed_files"] else None)(w.status()),
                        what="failed file in /status")
        self.assertTrue(any(f.endswith("b.yaml") for f in st["failed_files"]), st)
        self.assertTrue(any("b.yaml" in e for e in st["spec_errors"]), st)
        wait_until(lambda: w.state_of("App//br/c") == "failed", what="c reported, not pruned")
        self.assertIn("not pruned", w.resource("App//br/c")["reason"])
        # nothing pruned while a file is broken
        self.assertEqual(self.sandbox.app_ids(), ["/br/a", "/br/b", "/br/c"])
        self.assertEqual(harness.image_of(self.sandbox.app("/br/b")), "img/b:1")

        # fixed: the pending prune goes ahead
        ws.write("b.yaml", app_yaml("/br/b", image="img/b:1"))
        wait_until(lambda: self.sandbox.app_ids() == ["/br/a", "/br/b"], what="c pruned")
        self.assertEqual(w.stop(), 0)

    def test_held_resources_are_skipped_and_shown_as_held(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/hd/a", image="img/a:1"))
        self.assertApplied(ws)
        self.assertRun(ws.converge("hold", "App//hd/a", "--reason", "investigating"))
        ws.write("a.yaml", app_yaml("/hd/a", image="img/a:2"))
        w = self.start(ws)
        w.wait_ready()
        wait_until(lambda: w.state_of("App//hd/a") == "held", what="held in /status")
        self.assertIn("investigating", w.resource("App//hd/a")["reason"])
        self.assertEqual(harness.image_of(self.sandbox.app("/hd/a")), "img/a:1")
        self.assertEqual(w.stop(), 0)


class CommittedOnlyTest(WatchTestCase):
    def git(self, ws, *args):
        p = subprocess.run(["git", "-C", ws.spec_dir, "-c", "user.email=t@example.com", "-c",
                            "user.name=t"] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=True)
        return p.stdout.decode().strip()

    def test_a_commit_is_applied_and_an_uncommitted_edit_is_not(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/git/a", image="img/a:1"))
        self.git(ws, "init", "-q")
        self.git(ws, "add", ".")
        self.git(ws, "commit", "-qm", "one")
        first = self.git(ws, "rev-parse", "HEAD")
        w = self.start(ws, "--committed-only")
        w.wait_ready()
        self.wait_image("/git/a", "img/a:1")
        self.assertEqual(w.status()["commit"], first)

        # uncommitted edits: nothing happens
        ws.write("a.yaml", app_yaml("/git/a", image="img/a:2"))
        ws.write("b.yaml", app_yaml("/git/b", image="img/b:1"))
        self.sandbox.reset_requests()
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            self.assertEqual(self.sandbox.writes(), 0, self.sandbox.requests()["log"])
            time.sleep(0.1)
        self.assertEqual(self.sandbox.app_ids(), ["/git/a"])

        # the commit moves the ref: applied
        self.git(ws, "add", "a.yaml")
        self.git(ws, "commit", "-qm", "two")
        second = self.git(ws, "rev-parse", "HEAD")
        self.wait_image("/git/a", "img/a:2")
        self.assertIsNone(self.sandbox.app("/git/b"))  # still uncommitted
        wait_until(lambda: w.status()["commit"] == second, what="status commit")
        self.assertEqual(w.stop(), 0)

        runs = ws.history()
        self.assertEqual(runs[0]["git_commit"], second)
        snaps = ws.snapshots("App//git/a")
        self.assertEqual(snaps[0]["git_commit"], second)

    def test_work_tree_mode_waits_while_git_rewrites_the_tree(self):
        # A checkout holds .git/index.lock while it rewrites files: the watch waits for it.
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/lock/a", image="img/a:1"))
        self.git(ws, "init", "-q")
        self.git(ws, "add", ".")
        self.git(ws, "commit", "-qm", "one")
        w = self.start(ws)
        w.wait_ready()
        self.wait_image("/lock/a", "img/a:1")
        lock = os.path.join(ws.spec_dir, ".git", "index.lock")
        open(lock, "w").close()
        ws.write("a.yaml", app_yaml("/lock/a", image="img/a:2"))
        time.sleep(1.5)  # well past the 50ms debounce and the 1s cap
        self.assertEqual(harness.image_of(self.sandbox.app("/lock/a")), "img/a:1")
        os.remove(lock)
        self.wait_image("/lock/a", "img/a:2")
        self.assertEqual(w.stop(), 0)

    def test_committed_only_needs_a_git_work_tree(self):
        ws = self.workspace()
        code, out, err = ws.converge("watch", ws.spec_dir, "--state-dir", ws.state_dir,
                                     "--committed-only", "--listen", "off")
        self.assertEqual(code, 1)
        self.assertIn("git work tree", err)


class DriftTest(WatchTestCase):
    def drift(self, app_id, image):
        live = self.sandbox.app(app_id)
        definition = {k: v for k, v in live.items()
                      if k in ("id", "instances", "cpus", "mem", "container", "labels", "env")}
        definition["container"]["docker"]["image"] = image
        self.sandbox.put_app(app_id, definition)

    def test_drift_is_reported_or_healed_per_setting(self):
        ws = self.workspace()
        ws.write("report.yaml", app_yaml("/dr/report", image="img/r:1"))
        ws.write("heal.yaml", app_yaml("/dr/heal", image="img/h:1",
                                       annotations={"converge/self-heal": "true"}))
        w = self.start(ws, "--resync", "1s")
        w.wait_ready()
        self.wait_image("/dr/report", "img/r:1")
        self.wait_image("/dr/heal", "img/h:1")

        self.drift("/dr/report", "img/r:hand")
        self.drift("/dr/heal", "img/h:hand")
        wait_until(lambda: w.state_of("App//dr/report") == "drifted", what="drift reported")
        self.assertIn("container.docker.image", w.resource("App//dr/report")["reason"])
        self.wait_image("/dr/heal", "img/h:1")  # healed (annotation)
        # reported only: the hand-made change stays
        self.assertEqual(harness.image_of(self.sandbox.app("/dr/report")), "img/r:hand")
        wait_until(lambda: "converge_drifted_resources 1" in w.metrics(), what="drift metric")
        self.assertIn("drift detected", w.log())
        self.assertEqual(w.stop(), 0)

        # with --self-heal the global setting heals it
        w = self.start(ws, "--resync", "1s", "--self-heal")
        w.wait_ready()
        self.wait_image("/dr/report", "img/r:1")
        self.assertEqual(w.stop(), 0)


class SignalTest(WatchTestCase):
    DEPLOY_MS = 200

    def test_sigterm_mid_apply_finishes_the_change_and_exits_0(self):
        ws = self.workspace()
        w = self.start(ws)
        w.wait_ready()
        self.sandbox.set_deploy_ms(3000)
        ws.write("a.yaml", app_yaml("/sig/a", image="img/a:1"))
        w.wait_log("creating...")
        self.assertEqual(w.stop(signal.SIGTERM), 0, w.log())
        self.assertIn("created", w.log())
        runs = ws.history()
        self.assertEqual(runs[0]["status"], "succeeded", runs)
        self.assertEqual(runs[0]["changes"][0]["state"], "done")

    def test_sigterm_past_the_shutdown_timeout_journals_the_change_and_next_start_converges(self):
        ws = self.workspace()
        w = self.start(ws, "--shutdown-timeout", "1s")
        w.wait_ready()
        self.sandbox.set_deploy_ms(6000)
        ws.write("a.yaml", app_yaml("/sig/b", image="img/b:1"))
        w.wait_log("creating...")
        start = time.monotonic()
        self.assertEqual(w.stop(signal.SIGTERM), 0, w.log())
        self.assertLess(time.monotonic() - start, 20)
        runs = ws.history()
        self.assertEqual(runs[0]["status"], "interrupted", runs)
        self.assertEqual(runs[0]["changes"][0]["state"], "interrupted", runs)
        # next start converges: no second create, the app settles and is recorded
        writes_before = self.sandbox.writes()
        w2 = self.start(ws)
        w2.wait_ready()
        wait_until(lambda: w2.state_of("App//sig/b") == "synced", what="synced after restart")
        self.assertEqual(self.sandbox.writes(), writes_before, self.sandbox.requests()["log"])
        self.assertEqual(self.sandbox.app_ids(), ["/sig/b"])
        self.assertEqual(w2.stop(signal.SIGINT), 0)
        self.assertNoChanges(ws)

    def test_sighup_reloads(self):
        ws = self.workspace()
        w = self.start(ws)
        w.wait_ready()
        w.proc.send_signal(signal.SIGHUP)
        w.wait_log("SIGHUP")
        wait_until(lambda: w.log().count("resync") >= 2, what="a resync after SIGHUP")
        self.assertEqual(w.get("/healthz")[0], 200)
        self.assertEqual(w.stop(), 0)


class ListenTest(WatchTestCase):
    def test_non_loopback_listen_needs_listen_any(self):
        ws = self.workspace()
        code, out, err = ws.converge("watch", ws.spec_dir, "--state-dir", ws.state_dir,
                                     "--listen", "0.0.0.0:0")
        self.assertEqual(code, 1)
        self.assertIn("--listen-any", err)

    def test_once_converges_and_exits(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/once/a", image="img/a:1"))
        code, out, err = ws.converge("watch", ws.spec_dir, "--state-dir", ws.state_dir, "--once",
                                     "--listen", "off", timeout=DEADLINE)
        self.assertEqual(code, 0, err)
        self.assertEqual(self.sandbox.app_ids(), ["/once/a"])

    def test_once_exits_1_when_the_backends_cannot_be_reached(self):
        ws = self.workspace(backend=False)
        # A port nobody listens on: connection refused, retried with backoff, then an error.
        ws.write("backend.yaml", harness.backend_yaml("http://127.0.0.1:9/marathon"))
        ws.write("a.yaml", app_yaml("/once/b", image="img/b:1"))
        start = time.monotonic()
        code, out, err = ws.converge("watch", ws.spec_dir, "--state-dir", ws.state_dir, "--once",
                                     "--listen", "off", timeout=DEADLINE)
        self.assertEqual(code, 1, err)
        self.assertIn("could not be observed", err)
        self.assertLess(time.monotonic() - start, DEADLINE)


if __name__ == "__main__":
    unittest.main()
