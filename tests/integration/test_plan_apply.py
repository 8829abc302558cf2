"""plan -> apply -> plan: output formats, idempotence, saved plans, update/scale/reset."""

import json
import os
import shutil
import unittest

import harness
from harness import app_yaml, changes_by_name


class PlanApplyTest(harness.SandboxTestCase):
    DEPLOY_MS = 250

    def test_plan_apply_then_plan_is_empty_and_second_apply_writes_nothing(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/pa/a", image="img/a:1", env={"K": "v"}))
        ws.write("sub/b.yaml", app_yaml("/pa/b", image="img/b:1", instances=2))

        code, out, err = self.assertRun(ws.plan("--detailed-exitcode"), 2, "plan with changes")
        self.assertIn("App /pa/a", out)
        self.assertIn("App /pa/b", out)
        self.assertIn("Plan: 2 to create, 0 to update, 0 to scale, 0 to delete.", out)
        # plan is a dry run: nothing was written
        self.assertEqual(self.sandbox.writes(), 0)
        self.assertEqual(self.sandbox.app_ids(), [])

        code, out, err = self.assertApplied(ws)
        last = [l for l in out.splitlines() if l.strip()][-1]
        self.assertTrue(last.startswith("Apply complete!"), "last line of apply: %r" % last)
        self.assertIn("2 created", last)
        self.assertEqual(self.sandbox.app_ids(), ["/pa/a", "/pa/b"])
        self.assertImage("/pa/a", "img/a:1")
        self.assertEqual(self.sandbox.app("/pa/a")["env"], {"K": "v"})
        self.assertEqual(self.sandbox.app("/pa/b")["instances"], 2)
        self.assertEqual(self.sandbox.app("/pa/a")["labels"].get("converge.io/managed-by"),
                         "converge")

        self.assertNoChanges(ws)

        self.sandbox.reset_requests()
        code, out, err = self.assertRun(ws.apply(), 0, "second apply")
        counters = self.sandbox.requests()
        self.assertEqual(counters["writes"], 0, "second apply wrote: %s" % counters["log"])
        self.assertEqual(set(counters["by_method"]) - {"GET"}, set(), counters["log"])
        self.assertLessEqual(counters["total"], 3, "too many requests: %s" % counters["log"])
        self.assertNotIn("creating", err)

    def test_plan_json_has_the_documented_shape(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/pj/a", image="img/a:1"))
        ws.write("b.yaml", app_yaml("/pj/b", image="img/b:1", instances=1))
        self.assertApplied(ws)
        ws.write("a.yaml", app_yaml("/pj/a", image="img/a:2"))
        ws.write("b.yaml", app_yaml("/pj/b", image="img/b:1", instances=3))
        ws.write("c.yaml", app_yaml("/pj/c", image="img/c:1"))

        plan = ws.plan_json()
        self.assertIn("format_version", plan)
        self.assertIsInstance(plan["format_version"], str)
        self.assertEqual(plan["summary"]["create"], 1)
        self.assertEqual(plan["summary"]["update"], 1)
        self.assertEqual(plan["summary"]["scale"], 1)
        self.assertEqual(plan["summary"]["delete"], 0)
        changes = changes_by_name(plan)
        self.assertEqual(sorted(changes), ["/pj/a", "/pj/b", "/pj/c"])
        for c in plan["changes"]:
            for member in ("kind", "name", "backend", "action", "fields"):
                self.assertIn(member, c)
            self.assertEqual(c["kind"], "App")
            self.assertEqual(c["backend"], "sb")
            for f in c["fields"]:
                self.assertEqual(set(f) >= {"path", "before", "after"}, True, f)
        self.assertEqual(changes["/pj/a"]["action"], "update")
        self.assertEqual(changes["/pj/b"]["action"], "scale")
        self.assertEqual(changes["/pj/c"]["action"], "create")
        img = [f for f in changes["/pj/a"]["fields"] if f["path"] == "container.docker.image"]
        self.assertEqual(img, [{"path": "container.docker.image", "before": "img/a:1",
                                "after": "img/a:2"}])
        inst = [(f["path"], f["before"], f["after"]) for f in changes["/pj/b"]["fields"]]
        self.assertEqual(inst, [("instances", 1, 3)])

    def test_plan_markdown_has_a_table(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/pm/a", image="img/a:1"))
        code, out, err = self.assertRun(ws.converge("plan", ws.spec_dir, "-o", "markdown"))
        lines = out.splitlines()
        table = [l for l in lines if l.startswith("|")]
        self.assertGreaterEqual(len(table), 3, out)  # header, separator, one row
        self.assertRegex(table[1], r"^\|[\s:|-]+\|$")
        self.assertTrue(any("/pm/a" in l and "create" in l for l in table[2:]), out)

    def test_saved_plan_applies_exactly_that_plan(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/ps/a", image="img/a:1"))
        self.assertApplied(ws)
        ws.write("a.yaml", app_yaml("/ps/a", image="img/a:2"))
        plan_file = os.path.join(ws.root, "plan.json")
        code, out, err = self.assertRun(ws.plan("--out", plan_file), 0)
        self.assertTrue(os.path.exists(plan_file))
        with open(plan_file) as f:
            saved = json.load(f)
        self.assertEqual([c["name"] for c in saved["changes"]], ["/ps/a"])

        # The specs move on after the plan was saved; the saved plan is still what is applied.
        ws.write("a.yaml", app_yaml("/ps/a", image="img/a:3"))
        ws.write("b.yaml", app_yaml("/ps/b", image="img/b:1"))
        code, out, err = self.assertRun(
            ws.converge("apply", "--plan", plan_file, "--auto-approve"), 0, "apply --plan")
        self.assertImage("/ps/a", "img/a:2")
        self.assertIsNone(self.sandbox.app("/ps/b"), "apply --plan created an app not in the plan")

    def test_saved_plan_is_refused_when_live_state_changed(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/pst/a", image="img/a:1", env={"X": "1"}))
        self.assertApplied(ws)
        ws.write("a.yaml", app_yaml("/pst/a", image="img/a:2", env={"X": "1"}))
        plan_file = os.path.join(ws.root, "plan.json")
        self.assertRun(ws.plan("--out", plan_file), 0)

        live = self.sandbox.app("/pst/a")
        self.sandbox.put_app("/pst/a", {"id": "/pst/a", "instances": 1, "cpus": 0.1, "mem": 32,
                                        "container": live["container"],
                                        "env": {"X": "changed-by-hand"},
                                        "labels": live["labels"]})
        self.sandbox.wait_for_deployments()
        self.sandbox.reset_requests()
        code, out, err = self.assertRun(
            ws.converge("apply", "--plan", plan_file, "--auto-approve"), 1, "stale apply --plan")
        self.assertIn("stale", out + err)
        self.assertIn("/pst/a", out + err)
        self.assertEqual(self.sandbox.writes(), 0)
        self.assertImage("/pst/a", "img/a:1")
        self.assertEqual(self.sandbox.app("/pst/a")["env"], {"X": "changed-by-hand"})

    def test_image_change_is_an_update_with_a_snapshot_of_the_old_definition(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/pu/a", image="img/a:1"))
        self.assertApplied(ws)
        ws.write("a.yaml", app_yaml("/pu/a", image="img/a:2"))

        plan = ws.plan_json()
        self.assertEqual([(c["name"], c["action"]) for c in plan["changes"]], [("/pu/a", "update")])
        code, out, err = self.assertRun(ws.plan())
        self.assertIn('"img/a:1" -> "img/a:2"', out)

        self.assertApplied(ws)
        self.assertImage("/pu/a", "img/a:2")
        self.assertNoChanges(ws)

        code, out, err = self.assertRun(ws.converge("snapshots", "App//pu/a"))
        self.assertIn("before update", out)
        snaps = ws.snapshots("App//pu/a")
        self.assertGreaterEqual(len(snaps), 1)
        images = [harness.image_of(s["doc"]) for s in snaps if s.get("doc")]
        self.assertIn("img/a:1", images, "no snapshot holds the old image: %s" % snaps)
        newest_update = [s for s in snaps if s["reason"] == "before update"][0]
        self.assertEqual(harness.image_of(newest_update["doc"]), "img/a:1")

    def test_instances_only_change_is_a_scale(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/pc/a", image="img/a:1", instances=1))
        self.assertApplied(ws)
        version_before = self.sandbox.app("/pc/a")["versionInfo"]["lastConfigChangeAt"]
        ws.write("a.yaml", app_yaml("/pc/a", image="img/a:1", instances=3))

        plan = ws.plan_json()
        self.assertEqual([(c["name"], c["action"]) for c in plan["changes"]], [("/pc/a", "scale")])
        self.assertEqual(plan["summary"]["scale"], 1)
        self.assertEqual(plan["summary"]["update"], 0)
        code, out, err = self.assertApplied(ws)
        self.assertIn("1 scaled", out)
        live = self.sandbox.app("/pc/a")
        self.assertEqual(live["instances"], 3)
        self.assertImage("/pc/a", "img/a:1")
        # a scale is not a config change (no restart of the tasks)
        self.assertEqual(live["versionInfo"]["lastConfigChangeAt"], version_before)
        self.assertNoChanges(ws)

    def test_env_key_removed_from_spec_is_reset(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/pe/a", image="img/a:1", env={"KEEP": "1", "DROP": "2"}))
        self.assertApplied(ws)
        self.assertEqual(self.sandbox.app("/pe/a")["env"], {"KEEP": "1", "DROP": "2"})
        ws.write("a.yaml", app_yaml("/pe/a", image="img/a:1", env={"KEEP": "1"}))

        code, out, err = self.assertRun(ws.plan("--detailed-exitcode"), 2)
        drop_lines = [l for l in out.splitlines() if l.strip().startswith("- env.DROP")]
        self.assertEqual(len(drop_lines), 1, out)
        self.assertIn('"2"', drop_lines[0])
        self.assertIn("(default)", drop_lines[0])
        plan = ws.plan_json()
        (change,) = plan["changes"]
        self.assertEqual(change["action"], "update")
        drop = [f for f in change["fields"] if f["path"] == "env.DROP"]
        self.assertEqual(len(drop), 1, change["fields"])
        self.assertEqual(drop[0]["before"], "2")
        self.assertFalse([f for f in change["fields"] if f["path"] == "env.KEEP"])

        self.assertApplied(ws)
        self.assertEqual(self.sandbox.app("/pe/a")["env"], {"KEEP": "1"})
        self.assertNoChanges(ws)

    def test_saved_plan_is_refused_when_the_resource_is_held(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/ph/a", image="img/a:1"))
        self.assertApplied(ws)
        ws.write("a.yaml", app_yaml("/ph/a", image="img/a:2"))
        plan_file = os.path.join(ws.root, "plan.json")
        self.assertRun(ws.plan("--out", plan_file), 0)
        self.assertRun(ws.converge("hold", "App//ph/a", "--reason", "freeze"), 0)
        self.sandbox.reset_requests()
        code, out, err = self.assertRun(
            ws.converge("apply", "--plan", plan_file, "--auto-approve"), 1, "apply --plan (held)")
        self.assertIn("held", out + err)
        self.assertEqual(self.sandbox.writes(), 0)
        self.assertImage("/ph/a", "img/a:1")

    def test_apply_json_result_document(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/pjr/a", image="img/a:1"))
        code, out, err = self.assertRun(
            ws.converge("apply", ws.spec_dir, "--auto-approve", "-o", "json"), 0)
        doc = json.loads(out)  # stdout is only the JSON document
        self.assertIsInstance(doc["run"], int)
        self.assertGreater(doc["run"], 0)
        self.assertEqual(len(doc["results"]), 1)
        r = doc["results"][0]
        self.assertEqual((r["kind"], r["name"], r["action"], r["outcome"]),
                         ("App", "/pjr/a", "create", "applied"))
        self.assertIn("1 created", doc["summary"])
        self.assertImage("/pjr/a", "img/a:1")

    def test_unreachable_backend_is_a_clear_error(self):
        ws = self.workspace(backend=False)
        ws.write("backend.yaml", harness.backend_yaml("http://127.0.0.1:1/marathon"))
        ws.write("a.yaml", app_yaml("/un/a", image="img/a:1"))
        code, out, err = self.assertRun(ws.plan(timeout=60), 1, "plan against a closed port")
        self.assertIn("127.0.0.1:1", out + err)
        self.assertNotIn("Traceback", err)
        code, out, err = self.assertRun(ws.apply(timeout=60), 1, "apply against a closed port")
        self.assertEqual([r["run"] for r in ws.history()], [], "no run without a backend")

    def test_numeric_string_instances_warn_and_converge(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/ns/a", image="img/a:1", instances="2"))
        code, out, err = self.assertRun(ws.converge("validate", ws.spec_dir), 0)
        self.assertRegex(err, r"a\.yaml:\d+:\d+: warning: .*instances")
        self.assertApplied(ws)
        self.assertEqual(self.sandbox.app("/ns/a")["instances"], 2)
        self.assertNoChanges(ws)

    def test_drift_is_planned_back_to_the_spec(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/dr/a", image="img/a:1", instances=2))
        ws.write("b.yaml", app_yaml("/dr/b", image="img/b:1"))
        self.assertApplied(ws)

        # scaled by hand -> scale back; deleted by hand -> create again
        status, body = self.sandbox.marathon("PUT", "/v2/apps/dr/a?force=true", {"instances": 5})
        self.assertLess(status, 300, body)
        status, body = self.sandbox.marathon("DELETE", "/v2/apps/dr/b?force=true")
        self.assertLess(status, 300, body)
        self.sandbox.wait_for_deployments()
        self.assertEqual(self.sandbox.app("/dr/a")["instances"], 5)

        plan = ws.plan_json()
        self.assertEqual(sorted((c["name"], c["action"]) for c in plan["changes"]),
                         [("/dr/a", "scale"), ("/dr/b", "create")])
        (scale,) = [c for c in plan["changes"] if c["name"] == "/dr/a"]
        self.assertEqual([(f["path"], f["before"], f["after"]) for f in scale["fields"]],
                         [("instances", 5, 2)])
        self.assertApplied(ws)
        self.assertEqual(self.sandbox.app("/dr/a")["instances"], 2)
        self.assertImage("/dr/b", "img/b:1")
        self.assertNoChanges(ws)


class ExamplesTest(harness.SandboxTestCase):
    """The shipped examples/marathon specs, the way scripts/demo.sh uses them."""

    DEPLOY_MS = 250

    def test_examples_apply_in_wave_and_dependency_order_and_converge(self):
        ws = self.workspace(backend=False)
        shutil.rmtree(ws.spec_dir)
        shutil.copytree(os.path.join(harness.source_dir(), "examples", "marathon"), ws.spec_dir)
        backend = ws.path("backend.yaml")
        with open(backend) as f:
            text = f.read()
        self.assertIn("http://127.0.0.1:8480/marathon", text)
        ws.write("backend.yaml", text.replace("http://127.0.0.1:8480/marathon",
                                              self.sandbox.marathon_url))

        code, out, err = self.assertRun(ws.converge("validate", ws.spec_dir), 0)
        self.assertIn("Valid:", out)
        self.assertRun(ws.plan("--detailed-exitcode"), 2)
        self.assertApplied(ws)
        ids = ["/analytics/api", "/analytics/ingest", "/shop/web", "/shop/worker"]
        self.assertEqual(self.sandbox.app_ids(), ids)
        puts = [e["path"][len("/marathon/v2/apps"):] for e in self.sandbox.requests()["log"]
                if e["method"] == "PUT"]
        self.assertEqual(sorted(puts), ids, "one write per app")
        # waves: 0 (analytics) before 1 (worker) before 2 (web); api depends on ingest
        self.assertLess(puts.index("/analytics/ingest"), puts.index("/analytics/api"))
        self.assertLess(puts.index("/analytics/api"), puts.index("/shop/worker"))
        self.assertLess(puts.index("/shop/worker"), puts.index("/shop/web"))
        self.assertNoChanges(ws)

        # the change the demo makes: new web image + env, worker scaled
        for rel, old, new in (("shop/web.yaml", "shop/web:1.4.2", "shop/web:1.5.0"),
                              ("shop/web.yaml", "LOG_LEVEL: info", "LOG_LEVEL: debug"),
                              ("shop/worker.yaml", "instances: 2", "instances: 4")):
            with open(ws.path(rel)) as f:
                text = f.read()
            self.assertIn(old, text)
            ws.write(rel, text.replace(old, new))
        plan = ws.plan_json()
        self.assertEqual(sorted((c["name"], c["action"]) for c in plan["changes"]),
                         [("/shop/web", "update"), ("/shop/worker", "scale")])
        self.sandbox.reset_requests()
        self.assertApplied(ws)
        self.assertEqual(self.sandbox.writes(), 2)
        self.assertImage("/shop/web", "registry.example/shop/web:1.5.0")
        self.assertEqual(self.sandbox.app("/shop/web")["env"]["LOG_LEVEL"], "debug")
        self.assertEqual(self.sandbox.app("/shop/worker")["instances"], 4)
        self.assertNoChanges(ws)


if __name__ == "__main__":
    unittest.main()
