"""What converge sends to YARN, checked against the upstream definitions.

The built binary applies specs to the sandbox's YARN emulator (every upstream example service
that stands alone, then a flex, an upgrade, a stop, a start and a prune; a YarnApplication and
its kill), and the emulator's write log (GET /_admin/yarn/requests: every POST/PUT/DELETE the
active RM answered, with its body) is checked:

* every Services API body validates against the Swagger definition of its path (the `Service`,
  `Component`, `[Component]`, `[Container]` or `Container` schema of
  reconcilers/yarn/upstream/services-api, with the exceptions listed in tests/compat/yarn_swagger.py);
* every ResourceManager submit body uses only members the RM REST reference's tables list
  (reconcilers/yarn/upstream/rm-rest/ResourceManagerRest.md), with their JSON types, and the kill
  body is the reference's;
* every kind of write converge makes was seen, so the checks cannot pass on an empty log.
"""

import glob
import json
import os
import re
import unittest

import jsonschema

import harness
from test_yarn import YarnTestBase, application_yaml, service_yaml
from yarn_swagger import EXAMPLES, UPSTREAM, service_schema  # tests/compat, on harness's path

# Services API write paths (below /app/v1/services) -> the Swagger definition of the body.
SERVICE_BODIES = [
    ("POST", re.compile(r"^/app/v1/services$"), "Service"),
    ("PUT", re.compile(r"^/app/v1/services/[^/]+$"), "Service"),
    ("PUT", re.compile(r"^/app/v1/services/[^/]+/components$"), "ComponentList"),
    ("PUT", re.compile(r"^/app/v1/services/[^/]+/components/[^/]+$"), "Component"),
    ("PUT", re.compile(r"^/app/v1/services/[^/]+/component-instances$"), "ContainerList"),
    ("PUT", re.compile(r"^/app/v1/services/[^/]+/components/[^/]+/component-instances/[^/]+$"),
     "Container"),
]


def schema_for(name, partial=False):
    """The schema of a body. PUT bodies are partial objects: the server does not enforce the
    Swagger's `required` members there, and upstream's own examples send {"state": "STOPPED"},
    {"number_of_containers": 3} and {"lifetime": 3600}."""
    if partial:
        schema = service_schema(name)
        schema["definitions"][name] = dict(schema["definitions"][name])
        schema["definitions"][name].pop("required", None)
        return schema
    if name.endswith("List"):
        item = service_schema(name[:-4])
        return {"type": "array", "items": {"$ref": item["$ref"]},
                "definitions": item["definitions"]}
    return service_schema(name)


def standalone_examples():
    """The upstream service specs (create requests and Yarnfiles) that need no other service:
    name -> spec. Specs whose components are SERVICE artifacts name services that must exist."""
    out = {}
    for path in sorted(glob.glob(os.path.join(EXAMPLES, "*.json"))):
        base = os.path.basename(path)
        if ".response." in base:
            continue
        with open(path) as f:
            spec = json.load(f)
        if "name" not in spec or "version" not in spec:
            continue  # a partial PUT body
        if any(c.get("artifact", {}).get("type") == "SERVICE"
               for c in spec.get("components", [])):
            continue
        out.setdefault(spec["name"], spec)
    return out


def rm_submit_members():
    """The member tables of "Cluster Applications API(Submit Application)" in the RM REST
    reference: {"": {member: type} of the request object, "am-container-spec": {...}, ...}."""
    with open(os.path.join(UPSTREAM, "rm-rest", "ResourceManagerRest.md")) as f:
        text = f.read()
    start = text.index("Cluster Applications API(Submit Application)")
    section = text[start:text.index("**JSON response**", start)]
    tables, current = {}, None
    for line in section.splitlines():
        if "Elements of the POST request object" in line:
            current = tables.setdefault("", {})
            continue
        title = re.match(r"^Elements of the (?:POST request body )?\*([\w-]+)\* object", line)
        if title:
            current = tables.setdefault(title.group(1), {})
            continue
        row = re.match(r"^\|\s*([\w-]+)\s*\|\s*(\w+)\s*\|", line)
        if row and current is not None and row.group(1) != "Item":
            current[row.group(1)] = row.group(2)
    return tables


JSON_TYPES = {"string": str, "int": int, "long": int, "boolean": bool, "float": (int, float),
              "object": (dict, list), "objec": (dict, list)}


def rm_body_errors(body, tables, table="", where=""):
    """Members of a submit body the reference does not list, or of another JSON type."""
    errors = []
    members = tables.get(table, {})
    for k, v in body.items():
        if k not in members:
            errors.append("%s/%s: not a member the RM REST reference lists" % (where, k))
            continue
        want = JSON_TYPES.get(members[k], object)
        if not isinstance(v, want) or (isinstance(v, bool) and want is int):
            errors.append("%s/%s: %r is not a %s" % (where, k, v, members[k]))
        elif isinstance(v, dict) and k in tables and k != "local-resources":
            errors += rm_body_errors(v, tables, k, where + "/" + k)
    return errors


class ConvergeRequestsTest(YarnTestBase):
    SANDBOX_ARGS = ("--yarn-transition-ms", "40")

    def setUp(self):
        super().setUp()
        self.sandbox.admin("DELETE", "/yarn/requests")

    def writes(self):
        return self.sandbox.admin("GET", "/yarn/requests")["requests"]

    def check_service_bodies(self, writes):
        seen = set()
        for w in writes:
            if not w["path"].startswith("/app/v1/services"):
                continue
            if w["method"] == "DELETE":
                self.assertIn(w["body"], ("", None), "a DELETE with a body: %r" % w)
                seen.add(("DELETE", "service"))
                continue
            matches = [d for m, rx, d in SERVICE_BODIES if m == w["method"] and rx.match(w["path"])]
            self.assertEqual(len(matches), 1, "a write the Swagger has no path for: %s %s"
                             % (w["method"], w["path"]))
            errors = sorted(jsonschema.Draft4Validator(
                schema_for(matches[0], partial=w["method"] == "PUT" and matches[0] in
                           ("Service", "Component"))).iter_errors(w["body"]),
                            key=lambda e: list(e.path))
            self.assertEqual([], ["%s: %s" % ("/".join(map(str, e.path)), e.message) for e in errors],
                             "%s %s body against the Swagger %s:\n%s"
                             % (w["method"], w["path"], matches[0], json.dumps(w["body"])[:2000]))
            self.assertLess(w["status"], 400, "the sandbox refused %s %s: %r" %
                            (w["method"], w["path"], w))
            seen.add((w["method"], matches[0]))
        return seen

    def test_service_writes_validate_against_the_swagger(self):
        ws = self.ws()
        examples = standalone_examples()
        self.assertGreaterEqual(len(examples), 10)
        for name, spec in examples.items():
            ws.write("examples/%s.yaml" % name, harness.document("YarnService", name, spec,
                                                                 backend="hadoop"))
        ws.write("svc.yaml", service_yaml())
        self.apply_ok(ws)
        ws.write("svc.yaml", service_yaml(sleepers=3))                      # flex: a scale
        self.apply_ok(ws)
        ws.write("svc.yaml", service_yaml(sleepers=3, command="sleep 1", version="2"))  # upgrade
        self.apply_ok(ws)
        ws.write("svc.yaml", service_yaml(sleepers=3, command="sleep 1", version="2",
                                          state="STOPPED"))
        self.apply_ok(ws)
        ws.write("svc.yaml", service_yaml(sleepers=3, command="sleep 1", version="2"))
        self.apply_ok(ws)
        ws.remove("svc.yaml")
        self.apply_ok(ws, "--prune")
        self.assertIsNone(self.service("sleepers"))

        seen = self.check_service_bodies(self.writes())
        for kind in [("POST", "Service"), ("PUT", "Component"), ("PUT", "Service"),
                     ("DELETE", "service")]:
            self.assertIn(kind, seen, "converge never made this write: %s" % (kind,))
        self.assertTrue({("PUT", "ContainerList"), ("PUT", "ComponentList"),
                         ("PUT", "Container")} & seen, "no instance upgrade was sent: %s" % seen)

    def test_resourcemanager_writes_use_the_reference_members(self):
        ws = self.ws()
        ws.write("app.yaml", application_yaml())
        self.sandbox.admin("POST", "/yarn/options", {"app_run_ms": 60000})
        try:
            ws.apply("--health-timeout", "1s", timeout=120)  # the run goes on past the wait
            ws.remove("app.yaml")
            self.apply_ok(ws, "--prune")                     # kills the running application
        finally:
            self.sandbox.admin("POST", "/yarn/options", {"app_run_ms": -1})

        tables = rm_submit_members()
        self.assertIn("application-tags", tables[""])
        self.assertIn("commands", tables["am-container-spec"])
        kinds = set()
        for w in self.writes():
            path = w["path"]
            if path == "/ws/v1/cluster/apps/new-application":
                kinds.add("new-application")
            elif path == "/ws/v1/cluster/apps":
                self.assertEqual([], rm_body_errors(w["body"], tables), json.dumps(w["body"]))
                self.assertEqual(w["status"], 202, w)
                kinds.add("submit")
            elif re.match(r"^/ws/v1/cluster/apps/[^/]+/state$", path):
                # The reference's only body for this PUT: {"state": "KILLED"}.
                with open(os.path.join(UPSTREAM, "rm-rest-examples",
                                       "app-state-put-killed.request.json")) as f:
                    self.assertEqual(w["body"], json.load(f))
                kinds.add("kill")
        self.assertEqual(kinds, {"new-application", "submit", "kill"})


if __name__ == "__main__":
    unittest.main()
