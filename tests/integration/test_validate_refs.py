"""`converge validate` offline: references that resolve to no spec are warnings at the member,
`--strict` makes every warning an error (exit 1), and `-o json` carries them with
file/line/column/message/kind. No backend is running: the Backend URLs point at closed ports."""

import json
import unittest

import harness

SAGEMAKER_BACKEND = """apiVersion: converge/v1
kind: Backend
metadata:
  name: ml
spec:
  type: sagemaker
  url: http://127.0.0.1:9/sagemaker
  region: eu-west-1
  auth: {type: none}
"""

OTHER_BACKEND = SAGEMAKER_BACKEND.replace("name: ml", "name: ml-eu")

MODEL = """apiVersion: converge/v1
kind: Model
metadata:
  name: %s
  backend: %s
spec:
  ExecutionRoleArn: arn:aws:iam::123456789012:role/sm
  PrimaryContainer:
    Image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1
"""

# Line 13 holds the second variant's ModelName (column 18), line 23 the EndpointConfigName
# (column 23).
CONFIG_AND_ENDPOINT = """apiVersion: converge/v1
kind: EndpointConfig
metadata:
  name: churn
  backend: ml
spec:
  ProductionVariants:
    - VariantName: blue
      ModelName: churn-blue
      InstanceType: ml.m5.large
      InitialInstanceCount: 1
    - VariantName: green
      ModelName: %s
      InstanceType: ml.m5.large
      InitialInstanceCount: 1
---
apiVersion: converge/v1
kind: Endpoint
metadata:
  name: churn
  backend: ml
spec:
  EndpointConfigName: %s
"""

YARN_BACKEND = """apiVersion: converge/v1
kind: Backend
metadata:
  name: hadoop
spec:
  type: yarn
  url: http://127.0.0.1:9/yarn
"""

# Line 13 holds the artifact id of the SERVICE component (column 37).
YARN_SERVICE = """apiVersion: converge/v1
kind: YarnService
metadata:
  name: %s
spec:
  version: "1.0.0"
  components:
    - name: web
      number_of_containers: 1
      launch_command: sleep 1000
      resource: {cpus: 1, memory: "128"}
    - name: shared
      artifact: {type: SERVICE, id: %s}
"""


class ValidateReferencesTest(unittest.TestCase):
    def workspace(self):
        ws = harness.Workspace()
        self.addCleanup(ws.cleanup)
        return ws

    def validate(self, ws, *extra, code=0):
        result = ws.converge("validate", ws.spec_dir, *extra)
        if result[0] != code:
            self.fail("validate %s: expected exit %d, got %d\n%s\n%s" % (
                " ".join(extra), code, result[0], result[1], result[2]))
        return result

    def sagemaker(self, model="churn-green", config="churn"):
        ws = self.workspace()
        ws.write("backend.yaml", SAGEMAKER_BACKEND)
        ws.write("models.yaml", MODEL % ("churn-blue", "ml") + "---\n" + MODEL % ("churn-green", "ml"))
        ws.write("endpoint.yaml", CONFIG_AND_ENDPOINT % (model, config))
        return ws

    def test_resolved_references_give_no_warning(self):
        _, out, err = self.validate(self.sagemaker())
        self.assertIn("Valid: 5 documents in 3 files.", out)
        self.assertNotIn("warning", err)

    def test_the_examples_resolve_every_reference(self):
        for example in ("sagemaker", "yarn", "marathon", "iceberg"):
            ws = self.workspace()
            code, out, err = ws.converge("validate", harness.source_dir() + "/examples/" + example,
                                         "--strict")
            self.assertEqual(code, 0, example + ": " + err)

    def test_unresolved_references_are_warnings_at_the_member(self):
        ws = self.sagemaker(model="churn-legacy", config="churn-old")
        _, out, err = self.validate(ws)
        self.assertIn("Valid: 5 documents in 3 files, 2 warning(s).", out)
        self.assertRegex(
            err, r"endpoint\.yaml:13:18: warning: EndpointConfig churn \(document 1\): "
                 r"spec\.ProductionVariants\.1\.ModelName: Model \"churn-legacy\" is not a spec "
                 r"here: it must already exist in backend \"ml\"")
        self.assertRegex(
            err, r"endpoint\.yaml:23:23: warning: Endpoint churn \(document 2\): "
                 r"spec\.EndpointConfigName: EndpointConfig \"churn-old\" is not a spec here")

    def test_strict_turns_warnings_into_errors(self):
        ws = self.sagemaker(config="churn-old")
        _, out, err = self.validate(ws, "--strict", code=1)
        self.assertRegex(err, r"endpoint\.yaml:23:23: error: .*EndpointConfig \"churn-old\"")
        self.assertIn("1 error(s) in 1 file(s) (--strict: warnings count as errors).", err)
        self.assertNotIn("Valid", out)

    def test_json_carries_warnings_with_position_and_kind(self):
        ws = self.sagemaker(model="churn-legacy")
        _, out, _ = self.validate(ws, "-o", "json")
        doc = json.loads(out)
        self.assertTrue(doc["valid"])
        self.assertEqual(doc["warnings"], 1)
        [w] = doc["diagnostics"]
        self.assertTrue(w["file"].endswith("endpoint.yaml"), w)
        self.assertEqual((w["line"], w["column"]), (13, 18))
        self.assertEqual((w["severity"], w["kind"]), ("warning", "unresolved-reference"))
        self.assertIn('Model "churn-legacy" is not a spec here', w["message"])
        _, out, _ = self.validate(ws, "-o", "json", "--strict", code=1)
        doc = json.loads(out)
        self.assertFalse(doc["valid"])
        self.assertEqual([(d["severity"], d["kind"]) for d in doc["diagnostics"]],
                         [("error", "unresolved-reference")])

    def test_a_spec_bound_to_another_backend_does_not_resolve(self):
        ws = self.sagemaker(model="churn-eu")
        ws.write("eu.yaml", OTHER_BACKEND + "---\n" + MODEL % ("churn-eu", "ml-eu"))
        _, _, err = self.validate(ws)
        self.assertRegex(err, r"endpoint\.yaml:13:18: warning: .*Model \"churn-eu\" is a spec of "
                              r"backend \"ml-eu\", not of \"ml\": it must already exist in "
                              r"backend \"ml\"")

    def test_numeric_strings_take_the_same_path(self):
        ws = self.workspace()
        ws.write("backend.yaml", harness.backend_yaml("http://127.0.0.1:9"))
        ws.write("app.yaml", harness.app_yaml("/t/a").replace("instances: 1", 'instances: "3"'))
        _, out, err = self.validate(ws)
        self.assertIn("1 warning(s)", out)
        self.assertRegex(err, r"app\.yaml:\d+:\d+: warning: .*numeric string \"3\"")
        _, out, _ = self.validate(ws, "-o", "json")
        [w] = json.loads(out)["diagnostics"]
        self.assertEqual((w["severity"], w["kind"]), ("warning", "numeric-string"))
        _, _, err = self.validate(ws, "--strict", code=1)
        self.assertRegex(err, r"app\.yaml:\d+:\d+: error: .*numeric string \"3\"")

    def test_yarn_service_artifact_names_another_service(self):
        ws = self.workspace()
        ws.write("backend.yaml", YARN_BACKEND)
        ws.write("front.yaml", YARN_SERVICE % ("front", "base"))
        _, out, err = self.validate(ws)
        self.assertRegex(err, r"front\.yaml:13:37: warning: YarnService front \(document 1\): "
                              r"spec\.components\.1\.artifact\.id: YarnService \"base\" is not a "
                              r"spec here")
        base = YARN_SERVICE % ("base", "front")
        ws.write("base.yaml", base[:base.index("    - name: shared")])
        _, out, err = self.validate(ws, "--strict")
        self.assertNotIn("warning", err)

    def iceberg(self, executor="spark", executor_backend="hadoop"):
        ws = self.workspace()
        ws.write("backends.yaml", ICEBERG_BACKENDS)
        ws.write("policy.yaml", TABLE_POLICY % (executor, executor))
        ws.write("executor.yaml", EXECUTOR % executor_backend)
        return ws

    def test_iceberg_executors_resolve(self):
        _, out, err = self.validate(self.iceberg(), "--strict")
        self.assertIn("Valid: 4 documents in 3 files.", out)

    def test_a_policy_naming_no_executor_is_an_error_without_strict(self):
        # Executors exist only as specs: nothing in a backend could answer the name.
        _, out, err = self.validate(self.iceberg(executor="spark-old"), code=1)
        self.assertRegex(err, r"policy\.yaml:8:73: error: TablePolicy analytics\.events \(document "
                              r"1\): spec\.compaction\.executor: Executor \"spark-old\" is not a "
                              r"spec here \(Executors exist only as specs\)")
        self.assertRegex(err, r"policy\.yaml:9:48: error: .*spec\.removeOrphanFiles\.executor")
        self.assertIn("2 error(s) in 1 file(s).", err)

    def test_a_yarn_executor_names_a_backend_of_type_yarn(self):
        _, _, err = self.validate(self.iceberg(executor_backend="lakehouse"), code=1)
        self.assertRegex(err, r"executor\.yaml:7:12: error: Executor spark \(document 1\): "
                              r"spec\.backend: Backend \"lakehouse\" is of type iceberg-rest, not "
                              r"yarn")
        _, _, err = self.validate(self.iceberg(executor_backend="hadoop-eu"), code=1)
        self.assertRegex(err, r"executor\.yaml:7:12: error: .*Backend \"hadoop-eu\" is not a spec "
                              r"here")


ICEBERG_BACKENDS = """apiVersion: converge/v1
kind: Backend
metadata: {name: lakehouse}
spec: {type: iceberg-rest, url: "http://127.0.0.1:9/iceberg"}
---
""" + YARN_BACKEND

# Line 8 holds compaction's executor (column 73), line 9 removeOrphanFiles' (column 48).
TABLE_POLICY = """apiVersion: converge/v1
kind: TablePolicy
metadata:
  name: analytics.events
  backend: lakehouse
spec:
  table: analytics.events
  compaction: {targetFileSizeBytes: 128MiB, minInputFiles: 5, executor: %s}
  removeOrphanFiles: {olderThan: 3d, executor: %s}
  triggers: {commitCount: 10}
"""

# Line 7 holds spec.backend (column 12).
EXECUTOR = """apiVersion: converge/v1
kind: Executor
metadata: {name: spark, backend: lakehouse}
spec:
  type: yarn
  catalog: lake
  backend: %s
"""


if __name__ == "__main__":
    unittest.main()
