"""What converge sends to the Iceberg REST catalog, checked against the upstream OpenAPI, and the
commit outcomes of the issue, with the built binary against `converge sandbox` (OAuth2 auth).

The emulator's write log (GET /_admin/iceberg/requests: every POST/DELETE the catalog answered,
JSON bodies parsed, the token request's form as an object) is validated after an apply that
runs compaction (on YARN), snapshot expiry and the table lock: every commit body against
`CommitTableRequest`, every token request against `OAuthTokenRequest` of
reconcilers/iceberg/upstream/open-api/rest-catalog-open-api.yaml, each commit with an
Idempotency-Key (the catalog advertises idempotency-key-lifetime). Every kind of write converge
makes must be seen, so the checks cannot pass on an empty log.

The YAML says OpenAPI 3.1 but marks some members with 3.0's `nullable: true` (which JSON Schema
2020-12 ignores), among them `AssertRefSnapshotId.snapshot-id`, whose description says null means
"the ref must not exist" — what the lock's acquire sends. Such members are read as also allowing
null (nullable_as_null_type), like the `oneOf` of PrimitiveTypeValue read as `anyOf`.

Commit outcomes (the emulator's commit faults, /_admin/iceberg/commit-faults):
* a writer commits while the expiry is in flight -> the expiry's commit answers 409; converge
  reloads, plans the expiry again and commits it; the writer's snapshot is on main (nothing lost);
* the expiry's commit lands but is answered 502 -> converge reloads, sees it landed and does not
  send it again.
"""

import json
import time
import unittest
import urllib.parse
import urllib.request

import harness
from iceberg_harness import TABLE, TABLE_PATH, IcebergTestCase, policy_yaml
from test_iceberg_emulator_openapi import openapi, validator  # tests/compat, on harness's path

SECRET_ENV = "CONVERGE_TEST_ICEBERG_SECRET"


def nullable_as_null_type(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema: the type also admits null."""
    if isinstance(node, dict):
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for v in node.values():
            nullable_as_null_type(v)
    elif isinstance(node, list):
        for v in node:
            nullable_as_null_type(v)
    return node
COMMIT_PATH = "/v1/namespaces/analytics/tables/events"


def backends_yaml(url):
    return "\n---\n".join([
        harness.document("Backend", "lakehouse", {
            "type": "iceberg-rest", "url": url + "/iceberg", "pollInterval": "100ms",
            "auth": {"type": "oauth2", "clientId": "sandbox-client",
                     "clientSecret": {"fromEnv": SECRET_ENV}}}),
        harness.document("Backend", "hadoop", {
            "type": "yarn", "urls": [url + "/yarn"], "auth": {"type": "simple", "user": "deploy"},
            "pollInterval": "100ms"}),
        harness.document("Executor", "spark-on-yarn", {
            "type": "yarn", "backend": "hadoop", "catalog": "lake", "queue": "default",
            "resources": {"memory": "512MiB", "vcores": 1}}, backend="lakehouse"),
    ])


class IcebergRequestsTest(IcebergTestCase):
    SANDBOX_ARGS = ("--yarn-transition-ms", "30", "--iceberg-transition-ms", "0",
                    "--iceberg-auth", "oauth2")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.spec = nullable_as_null_type(openapi())

    def token(self):
        form = urllib.parse.urlencode({"grant_type": "client_credentials",
                                       "client_id": "sandbox-client",
                                       "client_secret": "sandbox-secret"}).encode()
        req = urllib.request.Request(self.sandbox.url + "/iceberg/v1/oauth/tokens", data=form,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())["access_token"]

    def catalog_headers(self):
        return {"Authorization": "Bearer " + self.token()}

    def ws(self, **spec):
        ws = self.iceberg_workspace(backends_yaml(self.sandbox.url), policy_yaml(**spec))
        ws.env[SECRET_ENV] = "sandbox-secret"
        return ws

    def writes(self):
        return self.sandbox.admin("GET", "/iceberg/requests")["requests"]

    def commits(self):
        return [w for w in self.writes() if w["method"] == "POST" and w["path"] == COMMIT_PATH]

    def valid(self, name, body):
        errors = sorted(validator(self.spec, name).iter_errors(body), key=lambda e: list(e.path))
        self.assertEqual([], ["%s: %s" % (list(e.path), e.message) for e in errors[:5]],
                         "%s: %s" % (name, json.dumps(body)[:2000]))

    def expiry_ws(self):
        self.append(5, files=1)
        time.sleep(1.2)
        return self.ws(triggers={"commitCount": 3},
                       expireSnapshots={"maxSnapshotAge": "1s", "retainLast": 2})

    def test_every_request_converge_sends_validates_against_the_openapi(self):
        self.append(6)
        time.sleep(1.2)
        ws = self.ws(triggers={"commitCount": 5},
                     compaction={"targetFileSizeBytes": "128MiB", "minInputFiles": 5,
                                 "executor": "spark-on-yarn"},
                     expireSnapshots={"maxSnapshotAge": "1s", "retainLast": 2})
        self.sandbox.admin("DELETE", "/iceberg/requests")
        self.assertRun(ws.apply(timeout=120))
        writes = self.writes()
        actions, tokens = set(), 0
        for w in writes:
            if w["path"] == "/v1/oauth/tokens":
                tokens += 1
                self.assertEqual(w["content_type"], "application/x-www-form-urlencoded")
                self.valid("OAuthTokenRequest", w["body"])
                self.assertEqual(w["status"], 200, w)
                continue
            self.assertEqual((w["method"], w["path"]), ("POST", COMMIT_PATH), w)
            self.valid("CommitTableRequest", w["body"])
            self.assertTrue(w["idempotency_key"], w)
            self.assertEqual(w["status"], 200, w)
            for u in w["body"]["updates"]:
                actions.add(u["action"] + ("" if u["action"] != "set-snapshot-ref" else
                                           ":" + u["type"]))
        self.assertGreaterEqual(tokens, 1, writes)
        # The lock (a tag, with owner and expiry in properties), the expiry, the release with
        # the runs recorded: every write converge makes was seen.
        for a in ("set-snapshot-ref:tag", "set-properties", "remove-snapshots",
                  "remove-snapshot-ref", "remove-properties"):
            self.assertIn(a, actions, writes)
        md = self.metadata()
        self.assertEqual(md["snapshots"][-1]["summary"]["operation"], "replace")

    def test_a_writer_commit_during_expiry_is_a_409_handled_and_nothing_is_lost(self):
        ws = self.expiry_ws()
        self.sandbox.admin("POST", "/iceberg/commit-faults", {
            "table": TABLE, "update": "remove-snapshots",
            "append_before": {"files_per_commit": 1, "file_size_bytes": 1 << 20}})
        self.sandbox.admin("DELETE", "/iceberg/requests")
        self.assertRun(ws.apply(timeout=60))
        expiries = [c for c in self.commits()
                    if any(u["action"] == "remove-snapshots" for u in c["body"]["updates"])]
        self.assertEqual([c["status"] for c in expiries], [409, 200], expiries)
        md = self.metadata()
        writer = max(md["snapshots"], key=lambda s: s["sequence-number"])
        self.assertEqual(writer["summary"]["operation"], "append")
        self.assertEqual(md["current-snapshot-id"], writer["snapshot-id"],
                         "the writer's commit is not on main")
        main = [s for s in md["snapshots"]]
        self.assertEqual(len(main), 2, "retainLast 2 after the writer's commit: %s" % main)

    def test_a_commit_answered_502_that_landed_is_not_repeated(self):
        ws = self.expiry_ws()
        before = {s["snapshot-id"] for s in self.metadata()["snapshots"]}
        self.sandbox.admin("POST", "/iceberg/commit-faults", {
            "table": TABLE, "update": "remove-snapshots", "status": 502})
        self.sandbox.admin("DELETE", "/iceberg/requests")
        self.assertRun(ws.apply(timeout=60))
        expiries = [c for c in self.commits()
                    if any(u["action"] == "remove-snapshots" for u in c["body"]["updates"])]
        self.assertEqual([c["status"] for c in expiries], [502], expiries)
        after = {s["snapshot-id"] for s in self.metadata()["snapshots"]}
        self.assertEqual(len(after), 2, after)
        self.assertTrue(after < before)


if __name__ == "__main__":
    unittest.main()
