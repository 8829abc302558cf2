"""Automatic rollback of unhealthy changes, holds, `converge rollback` (resource and run)."""

import unittest

import harness
from harness import app_yaml, changes_by_name, skipped_by_name


class AutoRollbackTest(harness.SandboxTestCase):
    DEPLOY_MS = 250

    def test_unhealthy_update_is_rolled_back_and_held_until_a_new_revision(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/ar/a", image="img/a:1", env={"V": "1"}))
        self.assertApplied(ws)
        self.sandbox.set_unhealthy_images(["img/a:bad"])
        ws.write("a.yaml", app_yaml("/ar/a", image="img/a:bad", env={"V": "1"}))

        code, out, err = self.assertRun(ws.apply("--health-timeout", "3s"), 1, "unhealthy apply")
        self.assertIn("rolled back", out + err)
        self.assertNotIn("Apply complete!", out)
        self.sandbox.wait_for_deployments()
        self.assertImage("/ar/a", "img/a:1")

        # held: plan shows it and does not change it
        code, out, err = self.assertRun(ws.plan())
        self.assertIn("held", out)
        self.assertIn("/ar/a", out)
        plan = ws.plan_json()
        self.assertEqual(plan["changes"], [])
        self.assertEqual(skipped_by_name(plan)["/ar/a"]["status"], "held")
        self.sandbox.reset_requests()
        code, out, err = self.assertRun(ws.apply(), 0, "apply of a held app")
        self.assertEqual(self.sandbox.writes(), 0)
        self.assertImage("/ar/a", "img/a:1")

        # a new revision of the spec releases the hold
        ws.write("a.yaml", app_yaml("/ar/a", image="img/a:2", env={"V": "1"}))
        plan = ws.plan_json()
        self.assertEqual([(c["name"], c["action"]) for c in plan["changes"]], [("/ar/a", "update")])
        self.assertApplied(ws)
        self.assertImage("/ar/a", "img/a:2")
        self.assertNoChanges(ws)

    def test_unhealthy_create_is_removed_again(self):
        ws = self.workspace()
        self.sandbox.set_unhealthy_images(["img/new:bad"])
        ws.write("a.yaml", app_yaml("/ar/new", image="img/new:bad"))
        code, out, err = self.assertRun(ws.apply("--health-timeout", "3s"), 1)
        self.assertIn("rolled back", out + err)
        self.sandbox.wait_for_deployments()
        self.assertIsNone(self.sandbox.app("/ar/new"), "a failed create must be undone")

    def test_autorollback_false_leaves_the_failed_change_in_place(self):
        ws = self.workspace()
        ann = {"converge/autoRollback": "false"}
        ws.write("a.yaml", app_yaml("/ar/off", image="img/off:1", annotations=ann))
        self.assertApplied(ws)
        self.sandbox.set_unhealthy_images(["img/off:bad"])
        ws.write("a.yaml", app_yaml("/ar/off", image="img/off:bad", annotations=ann))
        code, out, err = self.assertRun(ws.apply("--health-timeout", "3s"), 1)
        self.assertIn("autoRollback is off", out + err)
        self.assertNotIn("rolled back to snapshot", out + err)
        self.assertImage("/ar/off", "img/off:bad")
        self.assertNotIn("/ar/off", skipped_by_name(ws.plan_json()), "not held")


class RollbackCommandTest(harness.SandboxTestCase):
    DEPLOY_MS = 250

    def test_rollback_resource_restores_previous_image_and_holds_until_release(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/rb/a", image="img/a:1"))
        self.assertApplied(ws)
        ws.write("a.yaml", app_yaml("/rb/a", image="img/a:2"))
        self.assertApplied(ws)
        self.assertImage("/rb/a", "img/a:2")

        code, out, err = self.assertRun(ws.converge("rollback", "App//rb/a"), 0, "rollback")
        self.sandbox.wait_for_deployments()
        self.assertImage("/rb/a", "img/a:1")

        code, out, err = self.assertRun(ws.plan("--detailed-exitcode"), 0, "plan of a held app")
        self.assertIn("held", out)
        plan = ws.plan_json()
        self.assertEqual(plan["changes"], [])
        self.assertEqual(skipped_by_name(plan)["/rb/a"]["status"], "held")
        self.sandbox.reset_requests()
        self.assertRun(ws.apply(), 0)
        self.assertEqual(self.sandbox.writes(), 0, "apply changed a held app")
        self.assertImage("/rb/a", "img/a:1")

        code, out, err = self.assertRun(ws.converge("release", "App//rb/a"), 0, "release")
        self.assertRun(ws.plan("--detailed-exitcode"), 2, "plan after release")
        plan = ws.plan_json()
        changes = changes_by_name(plan)
        self.assertEqual(changes["/rb/a"]["action"], "update")
        img = [f for f in changes["/rb/a"]["fields"] if f["path"] == "container.docker.image"]
        self.assertEqual((img[0]["before"], img[0]["after"]), ("img/a:1", "img/a:2"))
        self.assertApplied(ws)
        self.assertImage("/rb/a", "img/a:2")

    def test_rollback_run_restores_every_app_of_the_run(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/rr/a", image="img/a:1"))
        ws.write("b.yaml", app_yaml("/rr/b", image="img/b:1", instances=1))
        ws.write("d.yaml", app_yaml("/rr/d", image="img/d:1"))
        self.assertApplied(ws)

        ws.write("a.yaml", app_yaml("/rr/a", image="img/a:2"))
        ws.write("b.yaml", app_yaml("/rr/b", image="img/b:1", instances=3))
        ws.write("c.yaml", app_yaml("/rr/c", image="img/c:1"))
        self.assertApplied(ws)
        self.assertEqual(self.sandbox.app_ids(), ["/rr/a", "/rr/b", "/rr/c", "/rr/d"])
        d_version = self.sandbox.app("/rr/d")["version"]

        runs = ws.history()
        applies = [r for r in runs if r["command"] == "apply"]
        self.assertEqual(len(applies), 2, runs)
        run = max(applies, key=lambda r: r["run"])
        touched = sorted(c["key"] for c in run["changes"])
        self.assertEqual(touched, ["App//rr/a", "App//rr/b", "App//rr/c"])

        code, out, err = self.assertRun(ws.converge("rollback", "--run", run["run"]), 0,
                                        "rollback --run")
        self.sandbox.wait_for_deployments()
        self.assertEqual(self.sandbox.app_ids(), ["/rr/a", "/rr/b", "/rr/d"])
        self.assertImage("/rr/a", "img/a:1")
        self.assertEqual(self.sandbox.app("/rr/b")["instances"], 1)
        self.assertEqual(self.sandbox.app("/rr/d")["version"], d_version, "d was not in the run")

        # everything the rollback restored is held: plan changes none of it
        plan = ws.plan_json()
        self.assertEqual(plan["changes"], [], plan["changes"])
        held = {n for n, s in skipped_by_name(plan).items() if s["status"] == "held"}
        self.assertEqual(held, {"/rr/a", "/rr/b", "/rr/c"})

    def test_rollback_to_a_chosen_snapshot_and_undo_the_rollback(self):
        ws = self.workspace()
        for v in ("1", "2", "3"):
            ws.write("a.yaml", app_yaml("/rt/a", image="img/a:" + v))
            self.assertApplied(ws)
        self.assertImage("/rt/a", "img/a:3")
        snaps = ws.snapshots("App//rt/a")
        (s1,) = [s for s in snaps if harness.image_of(s["doc"]) == "img/a:1"]

        self.assertRun(ws.converge("rollback", "App//rt/a", "--to", s1["id"]), 0)
        self.sandbox.wait_for_deployments()
        self.assertImage("/rt/a", "img/a:1")
        self.assertRun(ws.converge("rollback", "App//rt/a", "--to", "999999"), 1)
        self.assertImage("/rt/a", "img/a:1")

        # the rollback snapshotted img/a:3 first, so rolling back again undoes it
        self.assertRun(ws.converge("rollback", "App//rt/a"), 0)
        self.sandbox.wait_for_deployments()
        self.assertImage("/rt/a", "img/a:3")

    def test_manual_hold_and_release(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/hd/a", image="img/a:1"))
        self.assertApplied(ws)
        code, out, err = self.assertRun(
            ws.converge("hold", "App//hd/a", "--reason", "change freeze"), 0)
        ws.write("a.yaml", app_yaml("/hd/a", image="img/a:2"))
        code, out, err = self.assertRun(ws.plan("--detailed-exitcode"), 0)
        self.assertIn("held", out)
        self.assertIn("change freeze", out)
        self.sandbox.reset_requests()
        self.assertRun(ws.apply(), 0)
        self.assertEqual(self.sandbox.writes(), 0)
        self.assertImage("/hd/a", "img/a:1")
        self.assertRun(ws.converge("release", "App//hd/a"), 0)
        self.assertApplied(ws)
        self.assertImage("/hd/a", "img/a:2")


if __name__ == "__main__":
    unittest.main()
