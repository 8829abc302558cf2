"""The emulator's bodies against the upstream Marathon spec (reconcilers/marathon/upstream/):
apps it returns validate against jsonschema-1.7/AppDefinition.json, the examples it must reject
are rejected, and response bodies have the members of the upstream examples."""

import json
import os
import unittest

import jsonschema

from sandbox_util import Sandbox, upstream_dir, upstream_example

# Members of AppInfo (raml/v2/types/app.raml) that are status, not definition: the 1.7 schema
# (additionalProperties: false) describes only the definition.
APP_INFO_ONLY = {"tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy", "deployments",
                 "readinessCheckResults", "tasks", "lastTaskFailure", "tasksStats"}


def load_schema():
    with open(os.path.join(upstream_dir(), "jsonschema-1.7", "AppDefinition.json")) as f:
        return json.load(f)


class MarathonSchemaCompatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox(deploy_ms=0).start()
        schema = load_schema()
        cls.validator = jsonschema.Draft4Validator(
            schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)

    @classmethod
    def tearDownClass(cls):
        code = cls.sandbox.stop()
        assert code == 0, "sandbox exited with %s: %s" % (code, cls.sandbox.stderr())

    def setUp(self):
        self.sandbox.reset()

    def call(self, method, path, body=None):
        return self.sandbox.marathon(method, path, body)

    def get_app(self, app_id):
        status, _, body = self.call("GET", "/v2/apps" + app_id)
        self.assertEqual(status, 200, body)
        self.assertEqual(set(body), {"app"})
        return body["app"]

    def assert_valid_definition(self, app, ignore=()):
        definition = {k: v for k, v in app.items() if k not in APP_INFO_ONLY and k not in ignore}
        errors = sorted(self.validator.iter_errors(definition), key=str)
        self.assertEqual(errors, [], "\n".join(
            "%s: %s" % ("/".join(map(str, e.absolute_path)), e.message) for e in errors))

    # ----- apps the emulator returns are valid 1.7 app definitions ---------------------------

    def test_apps_created_from_apps_create_example_validate(self):
        apps = upstream_example("apps_create.json")
        for app in apps:
            self.assertEqual(list(self.validator.iter_errors(app)), [])  # the input is valid
        # Create the dependency first so both orders of creation make sense.
        for app in reversed(apps):
            status, headers, body = self.call("POST", "/v2/apps", app)
            self.assertEqual(status, 201, body)
            self.assertEqual(headers.get("Location"), app["id"])
            self.assert_valid_definition(body)
        for app in apps:
            got = self.get_app(app["id"])
            self.assert_valid_definition(got)
            for key in ("cmd", "cpus", "instances", "mem", "dependencies"):
                if key in app:
                    self.assertEqual(got[key], app[key], key)
            self.assertIn("version", got)
            self.assertIn("versionInfo", got)

    def test_apps_from_multi_app_put_validate(self):
        status, _, body = self.call("PUT", "/v2/apps", upstream_example("apps_create.json"))
        self.assertEqual(status, 200, body)
        self.assertEqual(set(body), set(upstream_example("deployments_result.json")))
        _, _, listing = self.call("GET", "/v2/apps")
        self.assertEqual(len(listing["apps"]), 2)
        for app in listing["apps"]:
            self.assert_valid_definition(app)

    def test_app_created_from_check_http_example_validates(self):
        example = upstream_example("app-check-http-example.json")
        status, _, body = self.call("POST", "/v2/apps", example)
        self.assertEqual(status, 201, body)
        got = self.get_app("/http-index-test")
        self.assertEqual(got["check"], example["check"])
        self.assertEqual(got["portDefinitions"][0]["name"], "http")
        self.assertGreaterEqual(got["portDefinitions"][0]["port"], 10000)
        # `check` (Marathon 1.9+) comes from the example itself and is newer than the 1.7
        # schema; everything the emulator adds must still be valid 1.7.
        self.assert_valid_definition(got, ignore={"check"})

    def test_rich_app_output_validates(self):
        app = {
            "id": "/rich/api",
            "instances": 2,
            "cpus": 0.5,
            "mem": 256,
            "container": {
                "type": "DOCKER",
                "docker": {"image": "nginx:1.25", "network": "BRIDGE",
                           "portMappings": [{"containerPort": 80, "name": "http"}]},
                "volumes": [{"containerPath": "/data", "hostPath": "/srv", "mode": "RW"}],
            },
            "env": {"LOG_LEVEL": "info", "DB_PASSWORD": {"secret": "db"}},
            "secrets": {"db": {"source": "/prod/db/password"}},
            "labels": {"converge.io/managed-by": "converge"},
            "constraints": [["hostname", "UNIQUE"]],
            "uris": ["https://example.com/config.tgz"],
            "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0}],
            "readinessChecks": [{"name": "ready", "portName": "http"}],
            "upgradeStrategy": {"minimumHealthCapacity": 0.5},
            "unreachableStrategy": "disabled",
        }
        self.assertEqual(list(self.validator.iter_errors(app)), [])
        status, _, body = self.call("POST", "/v2/apps", app)
        self.assertEqual(status, 201, body)
        got = self.get_app("/rich/api")
        self.assert_valid_definition(got)
        self.assertEqual(got["networks"], [{"mode": "container/bridge"}])
        self.assertNotIn("network", got["container"]["docker"])
        mapping = got["container"]["portMappings"][0]
        self.assertEqual(mapping["containerPort"], 80)
        self.assertGreaterEqual(mapping["servicePort"], 10000)
        self.assertEqual(got["fetch"][0]["uri"], "https://example.com/config.tgz")
        self.assertNotIn("uris", got)
        self.assertEqual(got["upgradeStrategy"],
                         {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 1})
        status, _, versions = self.call("GET", "/v2/apps/rich/api/versions")
        self.assertEqual(status, 200)
        status, _, version = self.call(
            "GET", "/v2/apps/rich/api/versions/" + versions["versions"][0])
        self.assertEqual(status, 200)
        self.assert_valid_definition(version)

    # ----- what real Marathon rejects --------------------------------------------------------

    def test_app_json_example_with_cmd_and_args_is_rejected(self):
        example = upstream_example("app.json")
        self.assertNotEqual(list(self.validator.iter_errors(example)), [])
        status, _, body = self.call("POST", "/v2/apps", example)
        self.assertEqual(status, 422, body)
        self.assertEqual(body["message"], "Object is not valid")
        self.assertTrue(body["details"])
        for detail in body["details"]:
            self.assertEqual(set(detail), {"path", "errors"})
        self.assertIn({"path": "/", "errors": ["must not specify both cmd and args"]},
                      body["details"])
        status, _, _ = self.call("GET", "/v2/apps/foo")
        self.assertEqual(status, 404)

    def test_error_bodies_have_upstream_shapes(self):
        status, _, body = self.call("GET", "/v2/apps/not_existent")
        self.assertEqual((status, body), (404, {"message": "App '/not_existent' does not exist"}))
        status, _, body = self.call("POST", "/v2/apps", b"{broken")
        self.assertEqual(status, 400)
        self.assertEqual(body["message"], "Invalid JSON")
        status, _, body = self.call("POST", "/v2/apps", {"id": 1, "cmd": "x"})
        self.assertEqual((status, body), (400, {"message": "Invalid JSON", "details": [
            {"path": "/id", "errors": ["error.expected.jsstring"]}]}))
        status, _, body = self.call("POST", "/v2/apps", {
            "id": "/x", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 2}})
        self.assertEqual((status, body), (422, {"message": "Object is not valid", "details": [
            {"path": "/upgradeStrategy/minimumHealthCapacity", "errors": ["is greater than 1"]}]}))
        self.sandbox.admin("POST", "/marathon/deploy-ms", {"ms": 60000})
        try:
            status, headers, created = self.call("POST", "/v2/apps", {"id": "/x", "cmd": "x"})
            self.assertEqual(status, 201)
            deployment = headers["Marathon-Deployment-Id"]
            status, _, body = self.call("POST", "/v2/apps", {"id": "/x", "cmd": "x"})
            self.assertEqual((status, body),
                             (409, {"message": "An app with id [/x] already exists."}))
            status, _, body = self.call("PUT", "/v2/apps/x", {"cmd": "y"})
            self.assertEqual(status, 409)
            self.assertEqual(body, {
                "message": "App is locked by one or more deployments. Override with the option "
                           "'?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.",
                "deployments": [{"id": deployment}]})
        finally:
            self.sandbox.admin("POST", "/marathon/deploy-ms", {"ms": 0})

    # ----- response shapes match the upstream examples ---------------------------------------

    def test_deployment_bodies_match_examples(self):
        self.sandbox.admin("POST", "/marathon/deploy-ms", {"ms": 60000})
        try:
            self.call("POST", "/v2/apps", {"id": "/foo", "cmd": "sleep 1"})
            status, headers, result = self.call("PATCH", "/v2/apps/foo?force=true",
                                                upstream_example("app_patch.json"))
            self.assertEqual(status, 200, result)
            self.assertEqual(set(result), set(upstream_example("deployments_result.json")))
            self.assertEqual(headers["Marathon-Deployment-Id"], result["deploymentId"])
            status, _, deployments = self.call("GET", "/v2/deployments")
            self.assertEqual(status, 200)
            example = upstream_example("deployments.json")[0]
            self.assertEqual(len(deployments), 1)
            got = deployments[0]
            self.assertEqual(set(got), set(example))
            self.assertEqual(got["id"], result["deploymentId"])
            self.assertEqual(got["version"], result["version"])
            self.assertEqual(set(got["steps"][0]), set(example["steps"][0]))
            self.assertEqual(set(got["steps"][0]["actions"][0]),
                             set(example["steps"][0]["actions"][0]))
            self.assertEqual(got["steps"][0]["actions"][0]["action"], "ScaleApplication")
            self.assertEqual(set(got["currentActions"][0]), set(example["currentActions"][0]))
            step_example = upstream_example("deployment_steps.json")
            self.call("POST", "/v2/apps", {"id": "/tools/oauth-server", "cmd": "x"})
            _, _, deployments = self.call("GET", "/v2/deployments")
            started = [d for d in deployments if d["affectedApps"] == ["/tools/oauth-server"]]
            self.assertEqual(started[0]["steps"], step_example["steps"])
        finally:
            self.sandbox.admin("POST", "/marathon/deploy-ms", {"ms": 0})

    def test_app_list_matches_example_members(self):
        self.call("POST", "/v2/apps", {"id": "/myapp", "cmd": "env && sleep 60"})
        status, _, listing = self.call("GET", "/v2/apps")
        self.assertEqual(status, 200)
        example = upstream_example("app_list.json")
        self.assertEqual(set(listing), set(example))
        got = listing["apps"][0]
        # The 2015 example shows deprecated `uris`/`ports` (now `fetch`/`portDefinitions`) and
        # nulls for unset members, which newer Marathon omits.
        expected = {k for k, v in example["apps"][0].items()
                    if v is not None and k not in ("uris", "ports")}
        self.assertEqual(expected - set(got), set())
        self.assertIn("fetch", got)
        self.assertIn("portDefinitions", got)

    def test_tasks_and_info_match_example_members(self):
        self.call("POST", "/v2/apps", {"id": "/minecraft/survival-world", "cmd": "x"})
        status, _, tasks = self.call("GET", "/v2/apps/minecraft/survival-world/tasks")
        self.assertEqual(status, 200)
        example = upstream_example("app_tasks.json")
        self.assertEqual(set(tasks), set(example))
        self.assertEqual(set(example["tasks"][0]) - set(tasks["tasks"][0]), set())
        self.assertTrue(tasks["tasks"][0]["id"].startswith("minecraft_survival-world.instance-"))
        status, _, info = self.call("GET", "/v2/info")
        self.assertEqual(status, 200)
        self.assertEqual(set(upstream_example("info.json")) - set(info), set())


if __name__ == "__main__":
    unittest.main()
