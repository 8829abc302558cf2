"""converge against the sandbox's YARN emulator, end to end with the built binary.

Assumes the emulator mounts the active ResourceManager at /yarn and a standby at /yarn-standby
(307 to the active one except /ws/v1/cluster/info); skipped when the sandbox has no yarn mount.
The Backend lists the standby first, so every test also exercises HA discovery. Covered: create,
a second plan with nothing to do, a flex is a `scale` (no upgrade), a launch-command change with
a new version is an upgrade, a stop, and a prune. The lead adds the rest of issue 13's list
(upgrade disabled, never-ready rollback, kill -9 after a create POST, YarnApplication).
"""

import time
import unittest

import harness


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


class YarnServiceTest(harness.SandboxTestCase):

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


if __name__ == "__main__":
    unittest.main()
