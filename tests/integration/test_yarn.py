"""converge against the sandbox's YARN emulator, end to end with the built binary.

Assumes the emulator mounts the active ResourceManager at /yarn and a standby at /yarn-standby
(307 to the active one except /ws/v1/cluster/info); skipped when the sandbox has no yarn mount.
The Backend lists the standby first, so every test also exercises HA discovery. Covered: create,
a second plan with nothing to do, a flex is a `scale` (no upgrade), a launch-command change with
a new version is an upgrade, a stop, and a prune; an upgrade that never becomes READY is cancelled
after the Backend's healthTimeout, rolled back and held; upgrades disabled (a plan error, or a
replace with converge/allowReplace); kill -9 after a create whose reply was lost (adopted, no
second POST); `converge watch` creating and flexing a service; an RM failover between two
applies. YarnApplication: one submission per revision, a failed run reported and not
resubmitted until `converge rerun`, an AM above the cluster's maximum refused.
"""

import signal
import time
import unittest

import harness
from test_watch import Watch, wait_until


def backend_yaml(sandbox_url, **extra):
    spec = {"type": "yarn",
            "urls": [sandbox_url + "/yarn-standby", sandbox_url + "/yarn"],
            "auth": {"type": "simple", "user": "deploy"},
            "pollInterval": "100ms", "healthTimeout": "30s"}
    spec.update(extra)
    return harness.document("Backend", "hadoop", spec)


def service_yaml(name="sleepers", sleepers=2, command="sleep 900000", version="1.0.0",
                 state=None, annotations=None):
    spec = {"version": version, "components": [
        {"name": "web", "number_of_containers": 1, "launch_command": "httpd",
         "resource": {"cpus": 1, "memory": "128"},
         "readiness_check": {"type": "HTTP", "properties": {"url": "http://${THIS_HOST}:8080/"}}},
        {"name": "sleeper", "number_of_containers": sleepers, "launch_command": command,
         "resource": {"cpus": 1, "memory": "128"}}]}
    if state:
        spec["state"] = state
    return harness.document("YarnService", name, spec, backend="hadoop", annotations=annotations)


class YarnTestBase(harness.SandboxTestCase):
    """The sandbox with a yarn mount, a workspace with a Backend listing the standby first."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        status, _ = cls.sandbox.request("GET", "/yarn/ws/v1/cluster/info")
        if status != 200:
            cls.sandbox.stop()
            raise unittest.SkipTest("the sandbox has no yarn mount (GET /yarn/ws/v1/cluster/info "
                                    "answered %s)" % status)

    def yarn(self, method, path, body=None):
        sep = "&" if "?" in path else "?"
        return self.sandbox.request(method, "/yarn" + path + sep + "user.name=deploy", body)

    def service(self, name="sleepers"):
        status, body = self.yarn("GET", "/app/v1/services/" + name)
        return body if status == 200 else None

    def ws(self):
        ws = self.workspace(backend=False)
        ws.write("backend.yaml", backend_yaml(self.sandbox.url))
        return ws

    def apply_ok(self, ws, *extra):
        code, out, err = ws.apply(*extra, timeout=120)
        self.assertEqual(code, 0, "apply failed\nstdout: %s\nstderr: %s" % (out, err))
        return out

    def plan_actions(self, ws):
        plan = ws.plan_json()
        return {name: c["action"] for name, c in harness.changes_by_name(plan).items()}


class YarnServiceTest(YarnTestBase):

    def test_create_then_nothing_to_do(self):
        ws = self.ws()
        ws.write("svc.yaml", service_yaml())
        self.assertEqual(self.plan_actions(ws), {"sleepers": "create"})
        self.apply_ok(ws)
        svc = self.service()
        self.assertIsNotNone(svc)
        self.assertEqual(svc["state"], "STABLE")
        props = svc["configuration"]["properties"]
        self.assertEqual(props.get("converge.io/managed-by"), "converge")
        self.assertEqual(self.plan_actions(ws), {})

    def test_flex_is_a_scale_not_an_upgrade(self):
        ws = self.ws()
        ws.write("svc.yaml", service_yaml())
        self.apply_ok(ws)
        ws.write("svc.yaml", service_yaml(sleepers=3))
        self.assertEqual(self.plan_actions(ws), {"sleepers": "scale"})
        self.apply_ok(ws)
        comps = {c["name"]: c for c in self.service()["components"]}
        self.assertEqual(comps["sleeper"]["number_of_containers"], 3)
        self.assertEqual(self.service()["version"], "1.0.0")

    def test_launch_command_change_is_an_upgrade(self):
        ws = self.ws()
        ws.write("svc.yaml", service_yaml())
        self.apply_ok(ws)
        ws.write("svc.yaml", service_yaml(command="sleep 1000"))
        code, out, err = ws.plan()
        self.assertNotEqual(code, 0)
        self.assertIn("needs a new version", out + err)
        ws.write("svc.yaml", service_yaml(command="sleep 1000", version="1.1.0"))
        self.assertEqual(self.plan_actions(ws), {"sleepers": "update"})
        self.apply_ok(ws)
        svc = self.service()
        self.assertEqual(svc["version"], "1.1.0")
        comps = {c["name"]: c for c in svc["components"]}
        self.assertEqual(comps["sleeper"]["launch_command"], "sleep 1000")

    def test_stop_and_prune(self):
        ws = self.ws()
        ws.write("svc.yaml", service_yaml())
        self.apply_ok(ws)
        ws.write("svc.yaml", service_yaml(state="STOPPED"))
        self.apply_ok(ws)
        self.assertEqual(self.service()["state"], "STOPPED")
        ws.remove("svc.yaml")
        self.apply_ok(ws, "--prune")
        deadline = time.time() + 10
        while self.service() is not None and time.time() < deadline:
            time.sleep(0.2)
        self.assertIsNone(self.service())

    def test_created_stopped_is_observed_then_started(self):
        # A service created STOPPED is saved without an RM application: the apps list does not
        # show it, yet the next plan must see it (not a second create), then start it.
        ws = self.ws()
        ws.write("svc.yaml", service_yaml(state="STOPPED"))
        self.assertEqual(self.plan_actions(ws), {"sleepers": "create"})
        self.apply_ok(ws)
        self.assertEqual(self.service()["state"], "STOPPED")
        status, apps = self.yarn("GET", "/ws/v1/cluster/apps?applicationTypes=yarn-service")
        self.assertIsNone(apps.get("apps"), apps)
        self.assertEqual(self.plan_actions(ws), {})
        ws.write("svc.yaml", service_yaml())
        self.assertEqual(self.plan_actions(ws), {"sleepers": "update"})
        self.apply_ok(ws)
        self.assertEqual(self.service()["state"], "STABLE")


class YarnScenarioTest(YarnTestBase):
    """End-to-end scenarios: health timeout and rollback, upgrades disabled, kill -9 after a
    create, `converge watch`, RM failover."""

    def setUp(self):
        super().setUp()
        self.restore_yarn()
        self.addCleanup(self.restore_yarn)

    def restore_yarn(self):
        # /_admin/reset wipes services and apps only: put the knobs back too.
        self.sandbox.admin("POST", "/yarn/failing-images", {"images": []})
        self.sandbox.admin("POST", "/yarn/options", {"upgrade_disabled": False})
        self.sandbox.admin("POST", "/yarn/ha", {"active": "primary"})

    def ws_with(self, **backend):
        ws = self.workspace(backend=False)
        ws.write("backend.yaml", backend_yaml(self.sandbox.url, **backend))
        return ws

    def components(self):
        return {c["name"]: c for c in self.service()["components"]}

    def container_ids(self):
        return sorted(c["id"] for comp in self.service()["components"]
                      for c in comp.get("containers", []))

    def test_never_ready_upgrade_times_out_is_rolled_back_and_held(self):
        ws = self.ws_with(healthTimeout="4s")
        ws.write("svc.yaml", service_yaml())
        self.apply_ok(ws)
        self.sandbox.admin("POST", "/yarn/failing-images", {"images": ["bad-image"]})
        ws.write("svc.yaml", service_yaml(command="bad-image --serve", version="1.1.0"))
        self.assertEqual(self.plan_actions(ws), {"sleepers": "update"})
        code, out, err = ws.apply(timeout=120)
        self.assertEqual(code, 1, out + err)
        self.assertIn("rolled back", out + err)
        self.assertNotIn("Apply complete!", out)
        # the snapshot is back: the old version and command, every container READY again
        deadline = time.time() + 20
        while time.time() < deadline and self.service()["state"] != "STABLE":
            time.sleep(0.2)
        svc = self.service()
        self.assertEqual(svc["state"], "STABLE")
        self.assertEqual(svc["version"], "1.0.0")
        comps = self.components()
        self.assertEqual(comps["sleeper"]["launch_command"], "sleep 900000")
        self.assertTrue(all(c["state"] == "READY" for c in comps["sleeper"]["containers"]),
                        comps["sleeper"]["containers"])
        # held: plan shows it and changes nothing; apply writes nothing
        code, out, err = ws.plan()
        self.assertIn("held", out)
        plan = ws.plan_json()
        self.assertEqual(plan["changes"], [])
        self.assertEqual(harness.skipped_by_name(plan)["sleepers"]["status"], "held")
        applies = [r for r in ws.history() if r["command"] == "apply"]
        self.assertEqual(len(applies), 2, applies)
        self.sandbox.reset_requests()
        self.apply_ok(ws)
        self.assertEqual(self.sandbox.writes(), 0, self.sandbox.requests()["log"])
        self.assertEqual(self.service()["version"], "1.0.0")

    def test_upgrade_disabled_is_a_plan_error_or_with_allow_replace_a_replace(self):
        self.sandbox.admin("POST", "/yarn/options", {"upgrade_disabled": True})
        ws = self.ws_with(upgrade="disabled")
        ws.write("svc.yaml", service_yaml())
        self.apply_ok(ws)
        before = self.service()
        old_ids = self.container_ids()
        self.assertTrue(old_ids)
        ws.write("svc.yaml", service_yaml(command="sleep 1000", version="1.1.0"))
        code, out, err = ws.plan()
        self.assertEqual(code, 1, out + err)
        self.assertIn("upgrade: disabled", out + err)
        self.assertIn("converge/allowReplace", out + err)
        self.sandbox.reset_requests()
        code, out, err = ws.apply(timeout=120)
        self.assertNotEqual(code, 0, out + err)
        self.assertEqual(self.sandbox.writes(), 0, self.sandbox.requests()["log"])
        self.assertEqual(self.service()["id"], before["id"])

        ann = {"converge/allowReplace": "true"}
        ws.write("svc.yaml", service_yaml(command="sleep 1000", version="1.1.0", annotations=ann))
        self.assertEqual(self.plan_actions(ws), {"sleepers": "replace"})
        self.apply_ok(ws)
        svc = self.service()
        self.assertEqual(svc["name"], "sleepers")
        self.assertEqual(svc["state"], "STABLE")
        self.assertEqual(svc["version"], "1.1.0")
        self.assertEqual(self.components()["sleeper"]["launch_command"], "sleep 1000")
        self.assertNotEqual(svc["id"], before["id"], "the service was not re-created")
        self.assertFalse(set(self.container_ids()) & set(old_ids), "containers were not replaced")
        self.assertEqual(self.plan_actions(ws), {})

    def posts(self):
        return [r for r in self.sandbox.requests()["log"]
                if r["method"] == "POST" and r["path"].endswith("/app/v1/services")]

    def test_kill_9_after_a_create_post_then_apply_adopts_without_a_second_post(self):
        ws = self.ws()
        ws.write("svc.yaml", service_yaml())
        # The create is carried out but its reply dropped; the read-back that follows is slowed
        # down so that converge is killed with the create's outcome unknown to it.
        self.sandbox.add_fault(backend="yarn", method="POST", path_regex="^/app/v1/services$",
                               after=True, count=1)
        self.sandbox.add_fault(backend="yarn", method="GET",
                               path_regex="^/app/v1/services/sleepers", latency_ms=3000, count=1)
        proc = ws.popen("apply", ws.spec_dir, "--auto-approve")
        try:
            deadline = time.time() + 30
            while not self.posts() and time.time() < deadline and proc.poll() is None:
                time.sleep(0.05)
            self.assertEqual(len(self.posts()), 1, "no create POST arrived")
            time.sleep(0.3)
            self.assertIsNone(proc.poll(), "apply ended before the kill")
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        self.assertIsNotNone(self.service(), "the killed apply's create did not happen")
        self.sandbox.clear_faults()

        code, out, err = ws.apply(timeout=120)
        self.assertEqual(code, 0, out + err)
        self.assertEqual(len(self.posts()), 1, "a second create POST was sent")
        status, body = self.yarn("GET", "/ws/v1/cluster/apps?applicationTypes=yarn-service")
        apps = (body.get("apps") or {}).get("app", [])
        self.assertEqual([a["name"] for a in apps], ["sleepers"])
        svc = self.service()
        self.assertEqual(svc["state"], "STABLE")
        self.assertEqual(svc["configuration"]["properties"].get("converge.io/managed-by"),
                         "converge")
        runs = {r["run"]: r for r in ws.history()}
        self.assertEqual(runs[min(runs)]["status"], "interrupted", runs)
        self.assertEqual(self.plan_actions(ws), {})

    def test_watch_creates_then_flexes_a_service(self):
        ws = self.ws()
        w = Watch(ws)
        self.addCleanup(lambda: w.proc.poll() is None and w.stop(signal.SIGKILL))
        w.wait_ready()
        ws.write("svc.yaml", service_yaml())
        key = "YarnService/sleepers"
        wait_until(lambda: w.state_of(key) == "synced", timeout=30,
                   what="%s synced: %s" % (key, w.log()[-2000:]))
        self.assertEqual(self.service()["state"], "STABLE")
        ws.write("svc.yaml", service_yaml(sleepers=3))

        def flexed():
            svc = self.service()
            comps = {c["name"]: c for c in (svc or {}).get("components", [])}
            sleeper = comps.get("sleeper", {})
            return sleeper.get("number_of_containers") == 3 and \
                len([c for c in sleeper.get("containers", []) if c["state"] == "READY"]) == 3
        wait_until(flexed, timeout=30, what="sleeper flexed to 3: " + w.log()[-2000:])
        wait_until(lambda: w.state_of(key) == "synced" and w.resource(key)["last_change"],
                   timeout=30, what="status synced after the flex")
        self.assertEqual(self.service()["version"], "1.0.0")
        self.assertEqual(w.stop(), 0, w.log())

    def test_rm_failover_between_two_applies(self):
        ws = self.ws()
        ws.write("svc.yaml", service_yaml())
        self.apply_ok(ws)
        self.sandbox.admin("POST", "/yarn/ha", {"active": "standby"})
        status, info = self.sandbox.request("GET", "/yarn/ws/v1/cluster/info")
        self.assertEqual(info["clusterInfo"]["haState"], "STANDBY", "no failover happened")
        ws.write("svc.yaml", service_yaml(sleepers=3))
        self.assertEqual(self.plan_actions(ws), {"sleepers": "scale"})
        self.sandbox.reset_requests()
        self.apply_ok(ws)
        path = "/yarn-standby/app/v1/services/sleepers?user.name=deploy"
        status, svc = self.sandbox.request("GET", path)
        self.assertEqual(status, 200, svc)
        comps = {c["name"]: c for c in svc["components"]}
        self.assertEqual(comps["sleeper"]["number_of_containers"], 3)
        writes = [r for r in self.sandbox.requests()["log"] if r["method"] in ("PUT", "POST")]
        self.assertTrue(writes and all(r["path"].startswith("/yarn-standby/") for r in writes),
                        writes)


def application_yaml(name="dshell", command="sleep 1", memory=256):
    # A distributed-shell submission, as its client builds it (flags handed to the AM).
    spec = {"queue": "default", "application-type": "YARN",
            "resource": {"memory": memory, "vCores": 1},
            "am-container-spec": {"commands": {"command":
                "{{JAVA_HOME}}/bin/java -Xmx100m org.apache.hadoop.yarn.applications."
                "distributedshell.ApplicationMaster --container_memory 128 --container_vcores 1 "
                "--num_containers 2 --shell_command '%s'" % command}}}
    return harness.document("YarnApplication", name, spec, backend="hadoop")


class YarnApplicationTest(YarnTestBase):
    """YarnApplication on the run lifecycle: one submission per spec revision."""

    def setUp(self):
        super().setUp()
        self.sandbox.admin("POST", "/yarn/failing-images", {"images": []})

    def apps(self):
        status, body = self.yarn("GET", "/ws/v1/cluster/apps?applicationTypes=YARN")
        self.assertEqual(status, 200)
        return (body.get("apps") or {}).get("app", [])

    def test_runs_once_per_revision(self):
        ws = self.ws()
        ws.write("app.yaml", application_yaml())
        self.assertEqual(self.plan_actions(ws), {"dshell": "run"})
        self.apply_ok(ws)
        apps = self.apps()
        self.assertEqual(len(apps), 1)
        self.assertEqual(apps[0]["state"], "FINISHED")
        self.assertEqual(apps[0]["finalStatus"], "SUCCEEDED")
        self.assertTrue(apps[0]["name"].startswith("dshell-"), apps[0]["name"])
        # A second apply submits nothing: the tag finds the earlier submission.
        self.assertEqual(self.plan_actions(ws), {})
        self.apply_ok(ws)
        self.assertEqual(len(self.apps()), 1)
        # A changed spec submits a new run.
        ws.write("app.yaml", application_yaml(command="sleep 2"))
        self.assertEqual(self.plan_actions(ws), {"dshell": "run"})
        self.apply_ok(ws)
        self.assertEqual(len(self.apps()), 2)

    def test_failed_run_is_reported_not_resubmitted_until_rerun(self):
        self.sandbox.admin("POST", "/yarn/failing-images", {"images": ["bad-tool"]})
        ws = self.ws()
        ws.write("app.yaml", application_yaml(command="bad-tool --go"))
        code, out, err = ws.apply(timeout=120)
        self.assertEqual(code, 1, out + err)
        apps = self.apps()
        self.assertEqual(len(apps), 1)
        self.assertIn(apps[0]["state"], ("FAILED", "FINISHED"))
        self.assertTrue(apps[0]["diagnostics"])
        self.assertIn(apps[0]["diagnostics"][:30], out + err)
        plan = ws.plan_json()
        self.assertEqual(plan["changes"], [])
        self.assertEqual([s["status"] for s in plan["skipped"]], ["run-failed"])
        ws.apply(timeout=120)
        self.assertEqual(len(self.apps()), 1)
        self.sandbox.admin("POST", "/yarn/failing-images", {"images": []})
        code, out, err = ws.converge("rerun", "YarnApplication/dshell", ws.spec_dir, timeout=120)
        self.assertEqual(code, 0, out + err)
        names = sorted(a["name"] for a in self.apps())
        self.assertEqual(len(names), 2)
        self.assertTrue(names[1].endswith("-r1"), names)

    def test_am_above_the_maximum_capability_is_refused_not_clamped(self):
        ws = self.ws()
        ws.write("app.yaml", application_yaml(memory=999999))
        code, out, err = ws.apply(timeout=120)
        self.assertEqual(code, 1, out + err)
        self.assertIn("maximum-resource-capability", out + err)
        self.assertEqual(self.apps(), [])

    def test_prune_kills_a_running_application_and_keeps_finished_ones(self):
        self.sandbox.admin("POST", "/yarn/options", {"app_run_ms": 60000})
        try:
            ws = self.ws()
            ws.write("app.yaml", application_yaml())
            # The run goes on past this apply's wait (it is not rolled back, not killed).
            ws.apply("--health-timeout", "1s", timeout=120)
            apps = self.apps()
            self.assertEqual([a["state"] for a in apps], ["RUNNING"])
            ws.remove("app.yaml")
            plan = ws.plan_json("--prune")
            changes = harness.changes_by_name(plan)
            self.assertEqual(changes["dshell"]["action"], "delete", plan)
            self.assertIn("still going", changes["dshell"]["reason"])
            self.assertEqual(self.plan_actions(ws), {})  # without --prune: left alone
            self.apply_ok(ws, "--prune")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.apps()[0]["state"] != "KILLED":
                time.sleep(0.1)
            self.assertEqual(self.apps()[0]["state"], "KILLED")
            # A killed (finished) run is history: nothing more to prune.
            self.assertEqual(harness.changes_by_name(ws.plan_json("--prune")), {})
        finally:
            self.sandbox.admin("POST", "/yarn/options", {"app_run_ms": -1})  # back to the default


if __name__ == "__main__":
    unittest.main()
