"""The YARN emulator of `converge sandbox` against the upstream Services API Swagger.

GET /app/v1/services/{name} bodies are validated against the YAML's `Service` definition
(python3-jsonschema, Swagger 2.0 definitions used as JSON-Schema draft 4) where the real server
agrees with its Swagger; every upstream example spec (services-examples/) posts successfully,
and the example PUT bodies are accepted.

The conversions of the Swagger file and the documented exceptions are in yarn_swagger.py.
"""

import glob
import json
import os
import time
import unittest

import jsonschema

from sandbox_util import Sandbox
from yarn_swagger import EXAMPLES, service_schema

USER = "?user.name=compat"
STEP_MS = 20


def load(name):
    with open(os.path.join(EXAMPLES, name)) as f:
        return json.load(f)


# Create requests and Yarnfiles (the other *.request.json files are PUT bodies).
CREATE_FILES = sorted(
    os.path.basename(p) for p in glob.glob(os.path.join(EXAMPLES, "*.json"))
    if not os.path.basename(p).startswith("api-md-")
    or os.path.basename(p).startswith("api-md-create-"))
# Specs whose components of artifact type SERVICE name other services, which must exist first.
PREREQUISITES = {"app-1": ["core-test-app.json"],
                 "external-1": ["core-test-app.json", "core-test-external1.json"]}


class YarnSwaggerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox(extra_args=["--yarn-transition-ms", str(STEP_MS)]).start()
        cls.validator = jsonschema.Draft4Validator(service_schema())
        cls.status_validator = jsonschema.Draft4Validator(service_schema("ServiceStatus"))

    @classmethod
    def tearDownClass(cls):
        code = cls.sandbox.stop()
        assert code == 0, "sandbox exited with %s: %s" % (code, cls.sandbox.stderr())

    def setUp(self):
        self.sandbox.reset()

    def yarn(self, method, path, body=None):
        sep = "&" if "?" in path else "?"
        return self.sandbox.request(method, "/yarn" + path + sep + USER[1:], body)

    def post(self, spec):
        status, _, body = self.yarn("POST", "/app/v1/services", spec)
        self.assertEqual(status, 202, body)
        self.assertEqual(list(self.status_validator.iter_errors(body)), [])
        return body

    def wait_stable(self, name, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            status, _, body = self.yarn("GET", "/app/v1/services/" + name)
            self.assertEqual(status, 200, body)
            if body.get("state") == "STABLE" or time.monotonic() > deadline:
                return body
            time.sleep(STEP_MS / 1000.0)

    def assert_valid(self, body, label):
        errors = ["%s at %s" % (e.message, "/".join(map(str, e.absolute_path)))
                  for e in self.validator.iter_errors(body)]
        self.assertEqual(errors, [], label)

    def test_every_example_spec_posts_and_its_get_matches_the_swagger(self):
        self.assertGreater(len(CREATE_FILES), 10)
        for name in CREATE_FILES:
            with self.subTest(spec=name):
                self.sandbox.reset()
                spec = load(name)
                refs = {c.get("artifact", {}).get("id") for c in spec.get("components", [])
                        if c.get("artifact", {}).get("type") == "SERVICE"}
                for ref in sorted(refs):
                    for pre in PREREQUISITES[ref]:
                        self.post(load(pre))
                self.post(spec)
                body = self.wait_stable(spec["name"])
                self.assertEqual(body["state"], "STABLE", name)
                self.assert_valid(body, name)
                for comp in body["components"]:
                    self.assertEqual(len(comp["containers"]), comp["number_of_containers"])
                    for c in comp["containers"]:
                        self.assertIsInstance(c["launch_time"], int)

    def test_the_example_put_bodies_are_accepted(self):
        self.post(load("api-md-create-hello-world.request.json"))
        self.wait_stable("hello-world")
        steps = [("/components/hello", "api-md-flex-component.request.json", 200),
                 ("", "api-md-flex-service.request.json", 202),
                 ("", "api-md-update-lifetime.request.json", 200),
                 ("", "api-md-stop-service.request.json", 200),
                 ("", "api-md-start-service.request.json", 200)]
        for suffix, name, want in steps:
            status, _, body = self.yarn("PUT", "/app/v1/services/hello-world" + suffix, load(name))
            self.assertEqual(status, want, (name, body))
            self.assertEqual(list(self.status_validator.iter_errors(body)), [], name)
        self.assert_valid(self.wait_stable("hello-world"), "after the PUTs")

    def test_the_upstream_get_examples_validate_with_the_same_exceptions(self):
        # The schema conversion itself: upstream's own GET bodies pass it.
        for name in ("api-md-get-hello-world.response.json",
                     "api-md-get-anti-affinity.response.json"):
            self.assert_valid(load(name), name)

    def test_a_wrong_state_is_caught(self):
        # The converted enums are strict: the check can fail.
        body = load("api-md-get-hello-world.response.json")
        body["state"] = "RUNNING"
        self.assertNotEqual(list(self.validator.iter_errors(body)), [])


if __name__ == "__main__":
    unittest.main()
