"""The Iceberg REST catalog of `converge sandbox` against the upstream OpenAPI and format spec.

Responses (config, namespaces, load table, commit, errors) are validated against the component
schemas of reconcilers/iceberg/upstream/open-api/rest-catalog-open-api.yaml (OpenAPI 3.1: the
schemas are JSON Schema 2020-12; the `oneOf` of PrimitiveTypeValue is read as `anyOf`, since an
integer literal matches both its int and long branches — NOTES.md §1.2), and the request bodies
this test sends against the request schemas, so both sides are spec-shaped. The OpenAPI
TableMetadata is structural only, so the v2 required fields of format/spec.md are checked too.

The manifest lists and manifests the emulator wrote are read back with python3-avro; their
Avro schemas' field ids and names are checked against the tables of format/spec.md (parsed from
the file, not copied here), with every field the spec requires in v2 present.
"""

import copy
import json
import os
import re
import shutil
import tempfile
import unittest

import avro.datafile
import avro.io
import jsonschema
import yaml

from sandbox_util import Sandbox

HERE = os.path.dirname(os.path.abspath(__file__))
UPSTREAM = os.path.join(os.environ.get("CONVERGE_SOURCE_DIR", os.path.join(HERE, "..", "..")),
                        "reconcilers", "iceberg", "upstream")

# format/spec.md, "Table Metadata Fields": required in v2.
V2_METADATA_REQUIRED = [
    "format-version", "table-uuid", "location", "last-sequence-number", "last-updated-ms",
    "last-column-id", "schemas", "current-schema-id", "partition-specs", "default-spec-id",
    "last-partition-id", "sort-orders", "default-sort-order-id"]


def openapi():
    with open(os.path.join(UPSTREAM, "open-api", "rest-catalog-open-api.yaml")) as f:
        spec = yaml.safe_load(f)
    prim = spec["components"]["schemas"]["PrimitiveTypeValue"]
    if "oneOf" in prim:
        prim["anyOf"] = prim.pop("oneOf")
    return spec


def validator(spec, name):
    root = copy.copy(spec)
    root["$ref"] = "#/components/schemas/" + name
    return jsonschema.Draft202012Validator(root)


def spec_field_tables():
    """{table key: {field id: (name, required in v2)}} from format/spec.md's field tables."""
    with open(os.path.join(UPSTREAM, "format", "spec.md")) as f:
        lines = f.read().splitlines()
    tables, current, v2 = [], None, None
    field = re.compile(r"\*\*`(\d+)\s+(\w+)`\*\*")
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if "Field id, name" in line:
            v2 = next((i for i, c in enumerate(cells) if c.startswith("v2")), None)
            current = {} if v2 is not None else None  # a table of another format version
            if current is not None:
                tables.append(current)
            continue
        if current is None:
            continue
        if not line.strip().startswith("|"):
            current = None
            continue
        for i, c in enumerate(cells):
            m = field.search(c)
            if m:
                current[int(m.group(1))] = (m.group(2), cells[v2] == "_required_")
                break

    def find(fid, name):
        return next(t for t in tables if t.get(fid, (None,))[0] == name)
    return {"manifest_entry": find(0, "status"), "data_file": find(100, "file_path"),
            "manifest_file": find(500, "manifest_path"), "field_summary": find(509, "contains_null")}


def avro_fields(schema, name):
    """The fields of the record named `name` anywhere in an Avro schema (JSON)."""
    found = []

    def walk(s):
        if isinstance(s, list):
            for x in s:
                walk(x)
        elif isinstance(s, dict):
            if s.get("type") == "record" and s.get("name") == name:
                found.append(s["fields"])
            for v in s.values():
                walk(v)
    walk(schema)
    return found[0]


class IcebergOpenApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.spec = openapi()
        cls.fields = spec_field_tables()
        cls.warehouse = tempfile.mkdtemp(prefix="converge-iceberg-compat-")
        cls.sandbox = Sandbox(extra_args=["--iceberg-warehouse", cls.warehouse]).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.sandbox.stop()
        shutil.rmtree(cls.warehouse, ignore_errors=True)
        assert code == 0, "sandbox exited with %s: %s" % (code, cls.sandbox.stderr())

    def setUp(self):
        self.sandbox.reset()

    def valid(self, name, body):
        errors = sorted(validator(self.spec, name).iter_errors(body), key=lambda e: e.path)
        self.assertEqual([], ["%s: %s" % (list(e.path), e.message) for e in errors[:5]], name)

    def ice(self, method, path, body=None, headers=None):
        if body is not None:
            self.valid({"/v1/namespaces": "CreateNamespaceRequest",
                        "/v1/namespaces/db/tables": "CreateTableRequest"}.get(
                            path, "CommitTableRequest"), body)
        return self.sandbox.request(method, "/iceberg" + path, body, headers)

    def append(self, table, commits, files, size=1000):
        return self.sandbox.admin("POST", "/iceberg/append",
                                  {"table": table, "commits": commits, "files_per_commit": files,
                                   "file_size_bytes": size})

    def test_config_namespaces_and_errors_match_the_schemas(self):
        status, _, config = self.ice("GET", "/v1/config?warehouse=w")
        self.assertEqual(200, status)
        self.valid("CatalogConfig", config)
        self.assertIn("GET /v1/{prefix}/namespaces/{namespace}/tables/{table}", config["endpoints"])

        status, _, created = self.ice("POST", "/v1/namespaces",
                                      {"namespace": ["db"], "properties": {"owner": "compat"}})
        self.assertEqual(200, status)
        self.valid("CreateNamespaceResponse", created)
        self.ice("POST", "/v1/namespaces", {"namespace": ["db", "sub"]})
        status, _, listed = self.ice("GET", "/v1/namespaces")
        self.valid("ListNamespacesResponse", listed)
        self.assertEqual([["db"]], listed["namespaces"])
        status, _, loaded = self.ice("GET", "/v1/namespaces/db%1Fsub")
        self.valid("GetNamespaceResponse", loaded)
        self.assertEqual(["db", "sub"], loaded["namespace"])

        status, _, err = self.ice("GET", "/v1/namespaces/missing")
        self.assertEqual(404, status)
        self.valid("IcebergErrorResponse", err)
        self.assertEqual("NoSuchNamespaceException", err["error"]["type"])

    def test_create_load_and_commit_match_the_schemas(self):
        self.ice("POST", "/v1/namespaces", {"namespace": ["db"]})
        create = {"name": "t", "schema": {"type": "struct", "schema-id": 0, "fields": [
            {"id": 1, "name": "id", "required": True, "type": "long"},
            {"id": 2, "name": "day", "required": False, "type": "date"}]},
            "partition-spec": {"spec-id": 0, "fields": [
                {"source-id": 2, "transform": "identity", "name": "day"}]},
            "properties": {"owner": "compat"}}
        status, _, result = self.ice("POST", "/v1/namespaces/db/tables", create)
        self.assertEqual(200, status, result)
        self.valid("LoadTableResult", result)
        status, _, tables = self.ice("GET", "/v1/namespaces/db/tables")
        self.valid("ListTablesResponse", tables)

        self.append("db.events", 3, 2)
        status, headers, loaded = self.ice("GET", "/v1/namespaces/db/tables/events")
        self.assertEqual(200, status)
        self.valid("LoadTableResult", loaded)
        meta = loaded["metadata"]
        for key in V2_METADATA_REQUIRED:
            self.assertIn(key, meta)
        for snap in meta["snapshots"]:
            self.valid("Snapshot", snap)
        self.assertTrue(headers.get("ETag"))

        first, current = meta["snapshots"][0]["snapshot-id"], meta["current-snapshot-id"]
        commit = {"requirements": [
            {"type": "assert-table-uuid", "uuid": meta["table-uuid"]},
            {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": current}],
            "updates": [{"action": "remove-snapshots", "snapshot-ids": [first]},
                        {"action": "set-properties", "updates": {"expired": "1"}}]}
        status, _, committed = self.ice("POST", "/v1/namespaces/db/tables/events", commit)
        self.assertEqual(200, status, committed)
        self.valid("CommitTableResponse", committed)
        self.assertEqual(2, len(committed["metadata"]["snapshots"]))

        commit["requirements"][1]["snapshot-id"] = first  # stale: 409
        status, _, err = self.ice("POST", "/v1/namespaces/db/tables/events", commit)
        self.assertEqual(409, status)
        self.valid("IcebergErrorResponse", err)
        self.assertEqual("CommitFailedException", err["error"]["type"])

    def read_avro(self, uri):
        path = uri[len("file://"):]
        with open(path, "rb") as f:
            reader = avro.datafile.DataFileReader(f, avro.io.DatumReader())
            meta = {k: v.decode() for k, v in reader.meta.items()}
            records = list(reader)
        return json.loads(meta["avro.schema"]), meta, records

    def check_fields(self, avro_record_fields, table, what):
        spec = self.fields[table]
        ids = {}
        for f in avro_record_fields:
            self.assertIn("field-id", f, "%s.%s has no field-id" % (what, f["name"]))
            ids[f["field-id"]] = f["name"]
            self.assertIn(f["field-id"], spec, "%s: field id %s is not in the spec" % (what, f["field-id"]))
            self.assertEqual(spec[f["field-id"]][0], f["name"], "%s: field id %s" % (what, f["field-id"]))
        for fid, (name, required) in spec.items():
            if required:
                self.assertIn(fid, ids, "%s: v2 requires %s %s" % (what, fid, name))

    def test_manifest_lists_and_manifests_follow_the_format_spec(self):
        self.append("db.events", 2, 3, 1000)
        rewrite = self.sandbox.admin("POST", "/iceberg/rewrite",
                                     {"table": "db.events", "target_file_size_bytes": 10000,
                                      "min_input_files": 2})
        self.assertEqual(6, rewrite["rewritten_data_files_count"])
        _, _, loaded = self.ice("GET", "/v1/namespaces/db/tables/events")
        meta = loaded["metadata"]
        current = next(s for s in meta["snapshots"] if s["snapshot-id"] == meta["current-snapshot-id"])
        schema, list_meta, manifests = self.read_avro(current["manifest-list"])
        self.check_fields(avro_fields(schema, "manifest_file"), "manifest_file", "manifest_file")
        self.check_fields(avro_fields(schema, "r508"), "field_summary", "field_summary")
        self.assertEqual(str(current["snapshot-id"]), list_meta["snapshot-id"])
        self.assertEqual(str(current["sequence-number"]), list_meta["sequence-number"])
        self.assertEqual("2", list_meta["format-version"])

        live, deleted = [], []
        for mf in manifests:
            self.assertEqual(os.path.getsize(mf["manifest_path"][len("file://"):]),
                             mf["manifest_length"])
            schema, m_meta, entries = self.read_avro(mf["manifest_path"])
            self.check_fields(avro_fields(schema, "manifest_entry"), "manifest_entry", "manifest_entry")
            self.check_fields(avro_fields(schema, "r2"), "data_file", "data_file")
            for key in ("schema", "schema-id", "partition-spec", "partition-spec-id", "format-version",
                        "content"):
                self.assertIn(key, m_meta)
            self.assertEqual(json.loads(m_meta["partition-spec"]), meta["partition-specs"][0]["fields"])
            self.assertEqual(mf["added_files_count"], sum(e["status"] == 1 for e in entries))
            self.assertEqual(mf["deleted_files_count"], sum(e["status"] == 2 for e in entries))
            for e in entries:
                (deleted if e["status"] == 2 else live).append(e)
        self.assertEqual(6, len(deleted))
        self.assertEqual(1, len(live))
        data = live[0]["data_file"]
        self.assertEqual(6000, data["file_size_in_bytes"])
        self.assertEqual(6000, os.path.getsize(data["file_path"][len("file://"):]))
        self.assertIn("event_date", data["partition"])
        self.assertEqual(int(current["summary"]["total-data-files"]), len(live))


if __name__ == "__main__":
    unittest.main()
