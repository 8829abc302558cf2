"""`converge schema` against python3-jsonschema (Draft 7): every document under examples/
validates against the printed schema and against the `-o DIR` index; wrong documents are
rejected; and for a set of documents `converge validate` fails iff the schema rejects, except for
the documented checks a schema cannot express (docs/specs.md, "What only validate checks")."""

import json
import os
import subprocess
import tempfile
import textwrap
import unittest

import jsonschema
import yaml

BIN = os.environ.get("CONVERGE_BIN", "converge")
SRC = os.environ.get("CONVERGE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(SRC, "examples")
CHECKED_IN = os.path.join(EXAMPLES, "converge.schema.json")
MODELINE = "# yaml-language-server: $schema="

# One Backend of every type, for the documents below to name.
BACKENDS = """\
apiVersion: converge/v1
kind: Backend
metadata: {name: m}
spec: {type: marathon, url: "http://127.0.0.1:1/marathon"}
---
apiVersion: converge/v1
kind: Backend
metadata: {name: sm}
spec: {type: sagemaker, region: eu-west-1, auth: {type: aws}}
---
apiVersion: converge/v1
kind: Backend
metadata: {name: y}
spec: {type: yarn, urls: ["http://127.0.0.1:1/yarn"]}
---
apiVersion: converge/v1
kind: Backend
metadata: {name: ice}
spec: {type: iceberg-rest, url: "http://127.0.0.1:1/iceberg"}
"""


def doc(kind, backend, spec, name="x", extra_meta=""):
    return textwrap.dedent("""\
        apiVersion: converge/v1
        kind: %s
        metadata: {name: %s, backend: %s%s}
        spec:
        """) % (kind, name, backend, extra_meta) + textwrap.indent(textwrap.dedent(spec), "  ")


APP = "cmd: sleep 1\ncpus: 0.1\nmem: 32\ninstances: 1\n"
MODEL = "ExecutionRoleArn: arn:aws:iam::123456789012:role/r\nPrimaryContainer: {Image: img}\n"
VARIANT = ("ProductionVariants:\n  - {VariantName: a, ModelName: m1, InitialInstanceCount: %s,"
           " InstanceType: %s}\n")
SERVICE = ("version: '1'\ncomponents:\n  - {name: %s, number_of_containers: 1, launch_command: sleep 1,"
           " resource: {cpus: 1, memory: %s}}\n")
APPLICATION = "am-container-spec: {commands: {command: sleep 1}}\n"
POLICY = "table: a.b\ntriggers: {commitCount: 1}\n"
EXECUTOR = "type: command\ncommand: [%s]\n"

# Accepted by both.
GOOD = {
    "app": doc("App", "m", APP, name="/web"),
    "model": doc("Model", "sm", MODEL),
    "endpoint config": doc("EndpointConfig", "sm", VARIANT % (1, "ml.m5.large")),
    "service, memory as a number": doc("YarnService", "y", SERVICE % ("web", "256")),
    "service, memory as a string": doc("YarnService", "y", SERVICE % ("web", '"256"')),
    "application": doc("YarnApplication", "y", APPLICATION + "resource: {memory: 512, vCores: 1}"),
    "policy, sizes with a space and a fraction": doc(
        "TablePolicy", "ice", POLICY + "compaction: {targetFileSizeBytes: 1.5 GiB, executor: e}")
    + "\n---\n" + doc("Executor", "ice", EXECUTOR % '"true"', name="e"),
    "executor, braces and placeholders": doc("Executor", "ice", EXECUTOR % '"{{x}}", "{table}"'),
}

# Rejected by both: (name, document).
BAD = {
    "unknown kind": doc("Deployment", "m", APP),
    "unsupported apiVersion": doc("App", "m", APP, name="/web").replace("converge/v1", "converge/v2"),
    "unknown envelope member": doc("App", "m", APP, name="/web") + "status: {}\n",
    "label not a string": doc("App", "m", APP, name="/web", extra_meta=", labels: {team: 1}"),
    "marathon: wrong type": doc("App", "m", APP.replace("instances: 1", "instances: many"), "/web"),
    "marathon: int32 out of range": doc(
        "App", "m", APP.replace("instances: 1", "instances: 2147483648"), "/web"),
    "marathon: unknown member": doc("App", "m", APP + "instancez: 1\n", name="/web"),
    "marathon: server-populated member": doc("App", "m", APP + "version: '2020'\n", name="/web"),
    "sagemaker: missing required member": doc("Model", "sm", "PrimaryContainer: {Image: img}\n"),
    "sagemaker: bad enum": doc("EndpointConfig", "sm", VARIANT % (1, "ml.bogus")),
    "sagemaker: below the minimum": doc("EndpointConfig", "sm", VARIANT % (0, "ml.m5.large")),
    "sagemaker: wrong type": doc("EndpointConfig", "sm", VARIANT % ("[1]", "ml.m5.large")),
    "sagemaker: unknown member": doc("Model", "sm", MODEL + "Imgae: x\n"),
    "sagemaker: pattern": doc("Model", "sm", MODEL.replace("arn:aws:iam::123456789012:role/r",
                                                           "not-an-arn")),
    "sagemaker: converge tag": doc("Model", "sm", MODEL + "Tags: [{Key: converge.io/x, Value: v}]\n"),
    "yarn: state": doc("YarnService", "y", SERVICE % ("web", '"256"') + "state: FLEXING\n"),
    "yarn: server-populated": doc("YarnService", "y", SERVICE % ("web", '"256"') + "launch_time: 1\n"),
    "yarn: component name": doc("YarnService", "y", SERVICE % ("Web_1", '"256"')),
    "yarn: memory not whole": doc("YarnService", "y", SERVICE % ("web", "25.5")),
    "yarn: unknown member": doc("YarnService", "y", SERVICE % ("web", '"256"') + "replicas: 2\n"),
    "yarn application: no command": doc("YarnApplication", "y", "queue: default\n"),
    "yarn application: memory 0": doc("YarnApplication", "y", APPLICATION + "resource: {memory: 0}"),
    "yarn application: application-id": doc("YarnApplication", "y",
                                             APPLICATION + "application-id: app_1\n"),
    "iceberg: bad size": doc("TablePolicy", "ice",
                             POLICY + "compaction: {targetFileSizeBytes: 12 parsecs, executor: e}"),
    "iceberg: bare number duration": doc("TablePolicy", "ice", POLICY.replace(
        "commitCount: 1", "interval: 10") + "expireSnapshots: {}\n"),
    "iceberg: no task": doc("TablePolicy", "ice", POLICY),
    "iceberg: no trigger": doc("TablePolicy", "ice", "table: a.b\ntriggers: {}\nexpireSnapshots: {}\n"),
    "iceberg: table without namespace": doc("TablePolicy", "ice",
                                            POLICY.replace("a.b", "events") + "expireSnapshots: {}\n"),
    "iceberg: int32 out of range": doc(
        "TablePolicy", "ice", POLICY + "compaction: {minInputFiles: 2147483648, executor: e}"),
    "iceberg: unknown placeholder": doc("Executor", "ice", EXECUTOR % '"{tabel}"'),
    "iceberg: member of the other executor type": doc(
        "Executor", "ice", EXECUTOR % '"x"' + "backend: y\n"),
    "iceberg: bad lock": doc("TablePolicy", "ice", POLICY + "expireSnapshots: {}\nlock: row\n"),
    "backend: member of another type": BACKENDS.replace(
        "type: marathon,", "type: marathon, region: eu-west-1,"),
    "backend: unknown type": BACKENDS.replace("type: marathon", "type: mesos"),
    "backend: literal secret": BACKENDS.replace(
        "type: marathon,", "type: marathon, auth: {type: basic, username: u, password: hunter2},"),
    "backend: auth type of another backend": BACKENDS.replace(
        "type: marathon,", "type: marathon, auth: {type: aws},"),
    "backend: basic without password": BACKENDS.replace(
        "type: marathon,", "type: marathon, auth: {type: basic, username: u},"),
    "backend: url and urls": BACKENDS.replace('urls: [', 'url: "http://h", urls: ['),
    "backend: yarn without urls": BACKENDS.replace('urls: ["http://127.0.0.1:1/yarn"]', "prune: true"),
    "backend: marathon without url": BACKENDS.replace(', url: "http://127.0.0.1:1/marathon"', ""),
    "backend: bad duration": BACKENDS.replace("type: marathon,", "type: marathon, healthTimeout: soon,"),
    "backend: sagemaker region": BACKENDS.replace("region: eu-west-1", "region: EU_West"),
    "backend: url scheme": BACKENDS.replace('"http://127.0.0.1:1/marathon"', "ftp://h"),
}

# The documented disagreements (docs/specs.md): (name, document, what validate does).
EXCEPTIONS = {
    # validate accepts (converting with a warning); the schema wants the number itself.
    "numeric string": (doc("App", "m", APP.replace("instances: 1", "instances: '3'"), "/web"),
                       "accepts"),
    # Rules between members or documents, or on metadata.name: only validate checks them.
    "name member differs from metadata.name": (doc("Model", "sm", MODEL + "ModelName: other\n"),
                                               "rejects"),
    "metadata.name rule of the kind": (doc("App", "m", APP, name="web"), "rejects"),
    "duplicate component names": (doc("YarnService", "y", (SERVICE % ("web", '"1"')) +
                                      "  - {name: web, number_of_containers: 1, launch_command: x,"
                                      " resource: {cpus: 1, memory: '1'}}\n"), "rejects"),
    "size not a whole number of bytes": (doc(
        "TablePolicy", "ice", POLICY + "compaction: {targetFileSizeBytes: 0.3B, executor: e}"),
        "rejects"),
    "orphan age under a day without the annotation": (doc(
        "TablePolicy", "ice", POLICY + "removeOrphanFiles: {olderThan: 1h, executor: e}"),
        "rejects"),
}


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)


def documents(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]


def errors_of(validator, document):
    return sorted("%s: %s" % ("/".join(map(str, e.absolute_path)), e.message)
                  for e in validator.iter_errors(document))


class SchemaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        r = run("schema")
        assert r.returncode == 0, r.stderr
        cls.text = r.stdout
        cls.schema = json.loads(r.stdout)
        jsonschema.Draft7Validator.check_schema(cls.schema)
        cls.validator = jsonschema.Draft7Validator(cls.schema)
        cls.examples = []
        for root, _, files in os.walk(EXAMPLES):
            for f in sorted(files):
                if f.endswith((".yaml", ".yml")):
                    cls.examples.append(os.path.join(root, f))
        assert cls.examples

    def validate_dir(self, text):
        """`converge validate` on BACKENDS plus `text` (or on `text` alone: a BACKENDS variant)."""
        with tempfile.TemporaryDirectory() as d:
            alone = text.startswith(BACKENDS.split("---")[0].split("spec:")[0])
            with open(os.path.join(d, "backends.yaml"), "w") as f:
                f.write(text if alone else BACKENDS)
            if not alone:
                with open(os.path.join(d, "doc.yaml"), "w") as f:
                    f.write(text)
            return run("validate", d)

    def schema_rejects(self, text):
        return any(errors_of(self.validator, d) for d in documents(text))

    def test_output_is_deterministic_and_sorted(self):
        self.assertEqual(run("schema").stdout, self.text)
        self.assertEqual(json.dumps(self.schema, indent=2, sort_keys=True,
                                    ensure_ascii=False) + "\n", self.text)

    def test_every_example_validates(self):
        for path in self.examples:
            with open(path) as f:
                for i, d in enumerate(documents(f.read())):
                    self.assertEqual(errors_of(self.validator, d), [], "%s document %d" % (path, i + 1))

    def test_examples_carry_the_modeline(self):
        for path in self.examples:
            with open(path) as f:
                first = f.readline().rstrip("\n")
            self.assertTrue(first.startswith(MODELINE), path)
            target = os.path.join(os.path.dirname(path), first[len(MODELINE):])
            self.assertEqual(os.path.realpath(target), os.path.realpath(CHECKED_IN), path)

    def test_checked_in_schema_is_current(self):
        with open(CHECKED_IN) as f:
            self.assertEqual(f.read(), self.text,
                             "examples/converge.schema.json is stale: run scripts/gen_schema.sh")

    def test_output_dir_index_and_kind_files(self):
        with tempfile.TemporaryDirectory() as d:
            r = run("schema", "-o", d)
            self.assertEqual(r.returncode, 0, r.stderr)
            files = sorted(os.listdir(d))
            kinds = self.schema["properties"]["kind"]["enum"]
            self.assertEqual(files, sorted(["converge.schema.json"] +
                                           [k + ".schema.json" for k in kinds]))
            loaded = {}
            for f in files:
                with open(os.path.join(d, f)) as fh:
                    loaded[f] = json.load(fh)
                jsonschema.Draft7Validator.check_schema(loaded[f])

            # Relative $refs resolve against the index's own location, as an editor does: every
            # file of the directory is in the resolver's store under its file:// URI (Debian's
            # jsonschema 4.10 resolves with RefResolver).
            base = "file://" + os.path.abspath(d) + "/"
            store = {base + f: s for f, s in loaded.items()}
            resolver = jsonschema.RefResolver(base + "converge.schema.json",
                                              loaded["converge.schema.json"], store=store)
            index = jsonschema.Draft7Validator(loaded["converge.schema.json"], resolver=resolver)
            for path in self.examples:
                with open(path) as fh:
                    for d_ in documents(fh.read()):
                        self.assertEqual(errors_of(index, d_), [], path)
                        per_kind = jsonschema.Draft7Validator(loaded[d_["kind"] + ".schema.json"])
                        self.assertEqual(errors_of(per_kind, d_), [], path)
            for name, text in BAD.items():
                self.assertTrue(any(errors_of(index, x) for x in documents(text)), name)

    def test_output_dir_that_cannot_be_created_fails(self):
        with tempfile.NamedTemporaryFile() as f:
            r = run("schema", "-o", os.path.join(f.name, "sub"))
            self.assertEqual(r.returncode, 1)
            self.assertIn("cannot create", r.stderr)

    def test_good_documents_pass_both(self):
        for name, text in GOOD.items():
            with self.subTest(name):
                self.assertFalse(self.schema_rejects(text), [errors_of(self.validator, d)
                                                             for d in documents(text)])
                r = self.validate_dir(text)
                self.assertEqual(r.returncode, 0, r.stderr)

    def test_bad_documents_fail_both(self):
        for name, text in BAD.items():
            with self.subTest(name):
                self.assertTrue(self.schema_rejects(text), "the schema accepts it")
                r = self.validate_dir(text)
                self.assertEqual(r.returncode, 1, "validate accepts it: " + r.stdout)

    def test_documented_exceptions_hold(self):
        for name, (text, validate) in EXCEPTIONS.items():
            with self.subTest(name):
                r = self.validate_dir(text)
                self.assertEqual(r.returncode, 1 if validate == "rejects" else 0, r.stderr)
                self.assertEqual(self.schema_rejects(text), validate == "accepts")


if __name__ == "__main__":
    unittest.main()
