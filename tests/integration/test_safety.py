"""Safety rules: broken specs change nothing, pruning rules, ownership/import, secrets."""

import base64
import os
import re
import unittest

import harness
from harness import app_yaml, changes_by_name, skipped_by_name

# A spec file that does not parse; the error is on line 7.
BROKEN_YAML = """apiVersion: converge/v1
kind: App
metadata:
  name: /broken/c
spec:
  instances: 1
   cpus: 1
"""


class BrokenSpecTest(harness.SandboxTestCase):
    DEPLOY_MS = 200

    def setUp(self):
        super().setUp()
        self.ws = self.workspace()
        ws = self.ws
        ws.write("a.yaml", app_yaml("/bs/a", image="img/a:1"))
        ws.write("b.yaml", app_yaml("/bs/b", image="img/b:1"))
        self.assertApplied(ws)
        # pending: an update of a, a create of n, an owned orphan b, and one broken file
        ws.write("a.yaml", app_yaml("/bs/a", image="img/a:2"))
        ws.write("n.yaml", app_yaml("/bs/n", image="img/n:1"))
        ws.remove("b.yaml")
        ws.write("team/broken.yaml", BROKEN_YAML)
        self.sandbox.reset_requests()

    def assertNothingChanged(self):
        counters = self.sandbox.requests()
        self.assertEqual(counters["writes"], 0, counters["log"])
        self.assertEqual(self.sandbox.app_ids(), ["/bs/a", "/bs/b"])
        self.assertImage("/bs/a", "img/a:1")

    def test_validate_names_file_line_column(self):
        code, out, err = self.assertRun(self.ws.converge("validate", self.ws.spec_dir), 1)
        self.assertRegex(err, r"team/broken\.yaml:7:\d+: error")
        self.assertNotRegex(err, r"(?<!team/)\ba\.yaml:\d+:\d+: error")
        self.assertEqual(self.sandbox.requests()["total"], 0, "validate must be offline")

    def test_apply_prune_with_a_broken_file_changes_nothing(self):
        code, out, err = self.assertRun(self.ws.apply("--prune"), 1, "apply --prune")
        self.assertRegex(err, r"team/broken\.yaml:7:\d+")
        self.assertNotIn("Apply complete!", out)
        self.assertNothingChanged()
        self.assertEqual([r["run"] for r in self.ws.history()], [1],
                         "an apply with a spec error must not start a run")

    def test_plan_prune_shows_orphans_as_unknown_desired_state(self):
        code, out, err = self.assertRun(self.ws.plan("--prune"), 1, "plan --prune")
        self.assertIn("unknown-desired-state", out)
        self.assertRegex(out, r"App /bs/b.*unknown-desired-state")
        plan = self.ws.plan_json("--prune", expect_codes=(1,))
        self.assertEqual(skipped_by_name(plan)["/bs/b"]["status"], "unknown-desired-state")
        self.assertEqual([c for c in plan["changes"] if c["action"] == "delete"], [])
        self.assertEqual(plan["summary"]["delete"], 0)
        self.assertNothingChanged()


class PruneTest(harness.SandboxTestCase):
    DEPLOY_MS = 200

    def test_prune_needs_the_flag_and_snapshots_the_deleted_app(self):
        ws = self.workspace()
        ws.write("a.yaml", app_yaml("/pr/a", image="img/a:1"))
        ws.write("b.yaml", app_yaml("/pr/b", image="img/b:1", env={"E": "1"}))
        self.assertApplied(ws)
        ws.remove("b.yaml")

        code, out, err = self.assertRun(ws.plan("--detailed-exitcode"), 0, "plan without --prune")
        self.assertRegex(out, r"App /pr/b.*not-pruned")
        self.assertEqual(skipped_by_name(ws.plan_json())["/pr/b"]["status"], "not-pruned")
        self.sandbox.reset_requests()
        self.assertRun(ws.apply(), 0)
        self.assertEqual(self.sandbox.writes(), 0)
        self.assertEqual(self.sandbox.app_ids(), ["/pr/a", "/pr/b"])

        plan = ws.plan_json("--prune")
        self.assertEqual([(c["name"], c["action"]) for c in plan["changes"]], [("/pr/b", "delete")])
        self.assertEqual(plan["summary"]["delete"], 1)
        code, out, err = self.assertApplied(ws, "--prune")
        self.assertIn("1 deleted", out)
        self.assertEqual(self.sandbox.app_ids(), ["/pr/a"])

        snaps = ws.snapshots("App//pr/b")
        docs = [s["doc"] for s in snaps if s.get("doc")]
        self.assertTrue(any(harness.image_of(d) == "img/b:1" and d.get("env") == {"E": "1"}
                            for d in docs), "no snapshot of the deleted app: %s" % snaps)
        self.assertNoChanges(ws, "--prune")

        # the snapshot brings a pruned app back; it is then held, so prune leaves it alone
        self.assertRun(ws.converge("rollback", "App//pr/b"), 0, "rollback of a pruned app")
        self.sandbox.wait_for_deployments()
        self.assertImage("/pr/b", "img/b:1")
        self.assertEqual(self.sandbox.app("/pr/b")["env"], {"E": "1"})
        plan = ws.plan_json("--prune")
        self.assertEqual(plan["changes"], [])
        self.assertEqual(skipped_by_name(plan)["/pr/b"]["status"], "held")

    def test_max_deletes_refuses_and_deletes_nothing(self):
        ws = self.workspace()
        for n in ("a", "b", "c", "keep"):
            ws.write(n + ".yaml", app_yaml("/md/" + n, image="img/%s:1" % n))
        self.assertApplied(ws)
        for n in ("a", "b", "c"):
            ws.remove(n + ".yaml")
        self.sandbox.reset_requests()

        code, out, err = self.assertRun(ws.apply("--prune", "--max-deletes", "2"), 1)
        self.assertIn("max-deletes", out + err)
        self.assertEqual(self.sandbox.writes(), 0)
        self.assertEqual(self.sandbox.app_ids(), ["/md/a", "/md/b", "/md/c", "/md/keep"])
        self.assertRun(ws.plan("--prune", "--max-deletes", "2"), 1)
        # and the default limit (5) allows three
        self.assertApplied(ws, "--prune")
        self.assertEqual(self.sandbox.app_ids(), ["/md/keep"])

    def test_app_labelled_prune_false_is_never_pruned(self):
        ws = self.workspace()
        ws.write("p.yaml", app_yaml("/pp/keep", image="img/p:1",
                                    labels={"converge/prune": "false"}))
        ws.write("q.yaml", app_yaml("/pp/q", image="img/q:1"))
        self.assertApplied(ws)
        ws.remove("p.yaml")
        ws.remove("q.yaml")

        plan = ws.plan_json("--prune")
        self.assertEqual([(c["name"], c["action"]) for c in plan["changes"]], [("/pp/q", "delete")])
        self.assertEqual(skipped_by_name(plan)["/pp/keep"]["status"], "protected")
        self.assertApplied(ws, "--prune")
        self.assertEqual(self.sandbox.app_ids(), ["/pp/keep"])
        self.assertRun(ws.apply("--prune"), 0)
        self.assertEqual(self.sandbox.app_ids(), ["/pp/keep"])

    def test_unowned_apps_are_never_pruned_and_need_import(self):
        ws = self.workspace()
        self.sandbox.post_app({"id": "/legacy/api", "instances": 1, "cpus": 0.1, "mem": 32,
                               "container": {"type": "DOCKER",
                                             "docker": {"image": "img/legacy:1"}}})
        self.sandbox.wait_for_deployments()
        ws.write("a.yaml", app_yaml("/own/a", image="img/a:1"))
        self.assertApplied(ws, "--prune")

        plan = ws.plan_json("--prune")
        self.assertEqual(plan["changes"], [])
        self.assertNotIn("/legacy/api", skipped_by_name(plan))
        self.assertRun(ws.apply("--prune"), 0)
        self.assertIn("/legacy/api", self.sandbox.app_ids())

        # a spec for it is an error that suggests `converge import`
        ws.write("legacy.yaml", app_yaml("/legacy/api", image="img/legacy:2"))
        code, out, err = self.assertRun(ws.plan(), 1, "plan with an unowned app's spec")
        self.assertIn("converge import", out + err)
        self.sandbox.reset_requests()
        code, out, err = self.assertRun(ws.apply(), 1, "apply with an unowned app's spec")
        self.assertIn("converge import", out + err)
        self.assertEqual(self.sandbox.writes(), 0)
        self.assertImage("/legacy/api", "img/legacy:1")

        # import adopts it (no backend write), then the spec is applied normally
        code, out, err = self.assertRun(ws.converge("import", "App//legacy/api", ws.spec_dir), 0,
                                        "import")
        self.assertEqual(self.sandbox.writes(), 0, "import must not write to the backend")
        snaps = ws.snapshots("App//legacy/api")
        self.assertTrue(any(harness.image_of(s["doc"]) == "img/legacy:1" for s in snaps), snaps)
        plan = ws.plan_json()
        self.assertEqual([(c["name"], c["action"]) for c in plan["changes"]],
                         [("/legacy/api", "update")])
        self.assertApplied(ws)
        self.assertImage("/legacy/api", "img/legacy:2")
        self.assertEqual(self.sandbox.app("/legacy/api")["labels"].get("converge.io/managed-by"),
                         "converge")

        # now it is converge's: without a spec it is pruned
        ws.remove("legacy.yaml")
        self.assertApplied(ws, "--prune")
        self.assertEqual(self.sandbox.app_ids(), ["/own/a"])


SECRET = "s3cr3t-value"


class SecretsTest(harness.SandboxTestCase):
    DEPLOY_MS = 200
    BASIC_AUTH = "u:" + SECRET

    def secret_forms(self):
        return [SECRET.encode(), base64.b64encode(("u:" + SECRET).encode()),
                base64.b64encode(SECRET.encode())]

    def make_ws(self):
        ws = self.workspace(backend=False)
        ws.write("backend.yaml", harness.backend_yaml(
            self.sandbox.marathon_url,
            auth={"type": "basic", "username": "u", "password": {"fromEnv": "SB_PASS"}}))
        ws.write("a.yaml", app_yaml("/sec/a", image="img/a:1"))
        return ws

    def assertNoSecret(self, text, what):
        data = text.encode() if isinstance(text, str) else text
        for form in self.secret_forms():
            self.assertNotIn(form, data, "the secret (%r) appears in %s" % (form, what))

    # Regression: a {fromEnv}/{fromFile} secret reference once aborted converge (a structured
    # binding to a destroyed nlohmann iterator in ValidSecretRef).
    def test_fromenv_password_works_and_is_never_printed_or_stored(self):
        ws = self.make_ws()
        ws.env["SB_PASS"] = SECRET
        outputs = []

        def run(*args, code=0):
            result = self.assertRun(ws.converge(*args), code, " ".join(map(str, args)))
            outputs.append((" ".join(map(str, args)), result[1] + result[2]))
            return result

        run("validate", ws.spec_dir)
        run("plan", ws.spec_dir, "--detailed-exitcode", code=2)
        run("plan", ws.spec_dir, "-o", "json")
        run("plan", ws.spec_dir, "-o", "markdown")
        plan_file = os.path.join(ws.root, "saved-plan.json")
        run("plan", ws.spec_dir, "--out", plan_file)
        run("apply", "--plan", plan_file, "--auto-approve")
        self.assertImage("/sec/a", "img/a:1")
        ws.write("a.yaml", app_yaml("/sec/a", image="img/a:2"))
        run("apply", ws.spec_dir, "--auto-approve", "-o", "json")
        self.assertImage("/sec/a", "img/a:2")
        run("history")
        run("history", "-o", "json")
        run("snapshots", "App//sec/a")
        run("snapshots", "App//sec/a", "-o", "json")
        run("rollback", "App//sec/a")
        self.assertImage("/sec/a", "img/a:1")
        run("release", "App//sec/a")
        run("plan", ws.spec_dir, "--detailed-exitcode", code=2)

        for what, text in outputs:
            self.assertNoSecret(text, "the output of `converge %s`" % what)
        with open(plan_file, "rb") as f:
            self.assertNoSecret(f.read(), "the saved plan")
        files = []
        for root, _, names in os.walk(ws.state_dir):
            for n in names:
                files.append(os.path.join(root, n))
        self.assertTrue(any(f.endswith("state.db") for f in files), files)
        for f in files:
            with open(f, "rb") as fh:
                self.assertNoSecret(fh.read(), "state file " + f)

    def test_missing_or_wrong_password_fails_without_printing_it(self):
        ws = self.make_ws()
        code, out, err = self.assertRun(ws.plan(), 1, "plan without SB_PASS")
        self.assertIn("SB_PASS", out + err)
        code, out, err = self.assertRun(ws.plan(env={"SB_PASS": "wrong-" + SECRET}), 1,
                                        "plan with a wrong password")
        self.assertNoSecret(out + err, "the output of a failed plan")
        self.assertNotIn("wrong-" + SECRET, out + err)
        self.assertIsNone(self.sandbox.app("/sec/a"))

    def test_literal_password_is_a_validation_error(self):
        ws = self.workspace(backend=False)
        ws.write("backend.yaml", "\n".join([
            "apiVersion: converge/v1",
            "kind: Backend",
            "metadata: {name: sb}",
            "spec:",
            "  type: marathon",
            "  url: " + self.sandbox.marathon_url,
            "  auth:",
            "    type: basic",
            "    username: u",
            "    password: s3cr3t",
            ""]))
        ws.write("a.yaml", app_yaml("/sec/lit", image="img/a:1"))
        code, out, err = self.assertRun(ws.converge("validate", ws.spec_dir), 1, "validate")
        self.assertRegex(err, r"backend\.yaml:10:\d+: error")
        self.assertIn("password", err)
        self.sandbox.reset_requests()
        code, out, err = self.assertRun(ws.apply(), 1, "apply with a literal secret")
        self.assertRegex(err, r"backend\.yaml:10:\d+")
        self.assertEqual(self.sandbox.writes(), 0)


if __name__ == "__main__":
    unittest.main()
