#!/usr/bin/env python3
"""Regenerates the seed corpora fuzz/corpus/<target>/seed-* from examples/, the backends' test
fixtures and upstream examples (wrapped in the converge envelope), plus hand-written hostile
inputs (deep nesting, alias bombs, huge numbers, invalid UTF-8, NUL bytes, unterminated quotes,
tabs). Inputs that once broke a target live next to them as regress-* and are never rewritten.
Run from anywhere: python3 fuzz/make_seeds.py"""
import glob
import hashlib
import json
import os
import sys
import zlib

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
MAX_SEED_BYTES = 16384 # keep the checked-in corpus small

HOSTILE = {
    "deep-flow-seq": b"spec: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "deep-flow-map": b"spec: " + b"{a: " * 3000 + b"1" + b"}" * 3000 + b"\n",
    "deep-block": b"".join(b"  " * i + b"a:\n" for i in range(400)),
    "deep-seq-dash": b"- " * 3000 + b"x\n",
    "alias-bomb": b"a: &a [x, x, x, x, x, x, x, x, x]\n"
    + b"".join(b"%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n"
               % ((98 + i,) * 2 + (97 + i,) * 9) for i in range(8)),
    "alias-self-merge": b"base: &b {x: 1}\nspec:\n  <<: *b\n  y: *b\n  z: [*b, *b]\n",
    "huge-int": b"apiVersion: converge/v1\nkind: Thing\nmetadata: {name: a}\n"
    b"spec: {a: 99999999999999999999999999, b: -9223372036854775809, c: 0xFFFFFFFFFFFFFFFFFF,"
    b" d: 9223372036854775808, e: -9223372036854775808, f: 0o7777777777777777777777777}\n",
    "huge-float": b"apiVersion: converge/v1\nkind: Thing\nmetadata: {name: a}\n"
    b"spec: {a: 1e999999, b: -1e-999999, c: .inf, d: .NaN, e: 1.7976931348623157e308,"
    b" f: !!float 1e400, g: !!int 1.5}\n",
    "invalid-utf8": b"apiVersion: converge/v1\nkind: Thing\nmetadata: {name: \xff\xfe}\n",
    "overlong-utf8": b"metadata: {name: \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80}\n",
    "nul-byte": b"apiVersion: converge/v1\nkind: Thing\x00\nmetadata: {name: a}\n",
    "unterminated-double": b"apiVersion: converge/v1\nkind: Thing\nmetadata: {name: a}\n"
    b"spec:\n  cmd: \"sleep 3600\n  cpus: 1\n",
    "unterminated-single-doc2": b"---\nkind: Thing\n---\nkind: 'Thing\nmetadata: {name: b}\n",
    "tabs": b"apiVersion: converge/v1\nkind: Thing\nmetadata:\n\tname: a\n",
    "block-scalar-eof": b"apiVersion: converge/v1\nkind: Thing\nmetadata: {name: a}\n"
    b"spec:\n  script: |\n    echo hi",
    "flow-then-more": b"{apiVersion: converge/v1, kind: Thing}\n{b: 2}\n",
    "pointer-keys": b"apiVersion: converge/v1\nkind: Thing\nmetadata: {name: a}\n"
    b"spec: {\"a/b\": {\"~0\": [1, {\"~1/~\": 2}]}, \"\": 3, \"a.b\": 4, \"\xc3\xa9\": 5}\n",
    "duplicates": b"apiVersion: converge/v1\nkind: Thing\nmetadata: {name: a, name: b}\n"
    b"---\napiVersion: converge/v1\nkind: Thing\nmetadata: {name: a}\n"
    b"---\napiVersion: converge/v1\nkind: Thing\nmetadata: {name: a, backend: nope}\n",
    "complex-keys": b"? [a, b]\n: 1\n? {c: d}\n: 2\n",
    "tags": b"a: !!binary aGVsbG8=\nb: !custom x\nc: !!str 1\nd: !!null ''\ne: !<tag:x> y\n",
    "backend-thing": b"apiVersion: converge/v1\nkind: Backend\nmetadata: {name: t}\n"
    b"spec: {type: thing, url: 'http://x', auth: {type: basic, username: u,"
    b" password: {fromEnv: P}}, healthTimeout: 5m, pollInterval: 250ms}\n"
    b"---\napiVersion: converge/v1\nkind: Thing\nmetadata: {name: a, backend: t}\nspec: {}\n",
    "directives": b"%YAML 1.2\n%TAG !e! tag:example.com,2000:\n--- !e!x\na: 1\n...\n---\n",
    "many-docs": b"---\n" * 500,
}


# The SageMaker kinds the examples do not show (the Create* requests, minus the name member).
SAGEMAKER_SPECS = {
    "ProcessingJob": {
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "AppSpecification": {"ImageUri": "img:1", "ContainerEntrypoint": ["python3", "p.py"]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1,
                                                  "InstanceType": "ml.m5.large",
                                                  "VolumeSizeInGB": 10}},
        "ProcessingInputs": [{"InputName": "in", "S3Input": {
            "S3Uri": "s3://b/in/", "LocalPath": "/opt/ml/processing/in",
            "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Environment": {"A": "1"},
    },
    "TransformJob": {
        "ModelName": "churn-model",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                           "S3Uri": "s3://b/x/"}},
                           "ContentType": "text/csv", "SplitType": "Line"},
        "TransformOutput": {"S3OutputPath": "s3://b/out/"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 2},
        "MaxConcurrentTransforms": 4, "BatchStrategy": "MultiRecord",
    },
    "HyperParameterTuningJob": {
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {"ContinuousParameterRanges": [
                {"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}]}},
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "OutputDataConfig": {"S3OutputPath": "s3://b/m/"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                               "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600}},
    },
}


def wrap(kind, name, spec, backend_doc):
    doc = {"apiVersion": "converge/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    return (backend_doc + "---\n" + text).encode()


def backend_doc(backend):
    path = os.path.join(ROOT, "examples", backend, "backend.yaml")
    return open(path).read() if os.path.exists(path) else ""


def fixtures(pattern):
    for path in sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True)):
        try:
            value = json.load(open(path))
        except ValueError:
            continue
        if isinstance(value, dict) and value:
            yield path, value


# Avro object container files in Iceberg's v2 manifest schemas (format/spec.md), written by a
# minimal encoder below (no Avro library needed): seeds for fuzz/iceberg_manifests.cc.
def zz(n):
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def avro_bytes(b):
    return zz(len(b)) + b


def encode(schema, v):
    if isinstance(schema, list):  # union: v is (branch, value)
        return zz(v[0]) + encode(schema[v[0]], v[1])
    t = schema if isinstance(schema, str) else schema["type"]
    if t == "null":
        return b""
    if t == "boolean":
        return b"\x01" if v else b"\x00"
    if t in ("int", "long"):
        return zz(v)
    if t in ("string", "bytes"):
        return avro_bytes(v.encode() if isinstance(v, str) else v)
    if t == "record":
        return b"".join(encode(f["type"], v[f["name"]]) for f in schema["fields"])
    if t == "array":
        return (zz(len(v)) + b"".join(encode(schema["items"], x) for x in v) if v else b"") + b"\x00"
    if isinstance(t, (dict, list)):
        return encode(t, v)
    raise ValueError(t)


def container(schema, records, codec="null", per_block=2):
    sync = hashlib.md5(json.dumps(schema).encode()).digest()
    meta = {"avro.schema": json.dumps(schema).encode(), "avro.codec": codec.encode(),
            "format-version": b"2"}
    out = b"Obj\x01" + zz(len(meta)) + b"".join(avro_bytes(k.encode()) + avro_bytes(v)
                                               for k, v in meta.items()) + b"\x00" + sync
    for i in range(0, len(records), per_block):
        chunk = records[i:i + per_block]
        data = b"".join(encode(schema, r) for r in chunk)
        if codec == "deflate":
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            data = c.compress(data) + c.flush()
        out += zz(len(chunk)) + avro_bytes(data) + sync
    return out


def opt(t, fid, name):
    return {"name": name, "type": ["null", t], "default": None, "field-id": fid}


MANIFEST_ENTRY = {"type": "record", "name": "manifest_entry", "fields": [
    {"name": "status", "type": "int", "field-id": 0},
    opt("long", 1, "snapshot_id"), opt("long", 3, "sequence_number"),
    opt("long", 4, "file_sequence_number"),
    {"name": "data_file", "field-id": 2, "type": {"type": "record", "name": "r2", "fields": [
        {"name": "content", "type": "int", "field-id": 134},
        {"name": "file_path", "type": "string", "field-id": 100},
        {"name": "file_format", "type": "string", "field-id": 101},
        {"name": "partition", "field-id": 102, "type": {"type": "record", "name": "r102", "fields": [
            opt({"type": "int", "logicalType": "date"}, 1000, "ts_day"),
            opt("int", 1001, "ts_hour"), opt("string", 1002, "region")]}},
        {"name": "record_count", "type": "long", "field-id": 103},
        {"name": "file_size_in_bytes", "type": "long", "field-id": 104}]}}]}

MANIFEST_FILE = {"type": "record", "name": "manifest_file", "fields": [
    {"name": "manifest_path", "type": "string", "field-id": 500},
    {"name": "manifest_length", "type": "long", "field-id": 501},
    {"name": "partition_spec_id", "type": "int", "field-id": 502},
    {"name": "content", "type": "int", "field-id": 517},
    {"name": "sequence_number", "type": "long", "field-id": 515},
    {"name": "min_sequence_number", "type": "long", "field-id": 516},
    {"name": "added_snapshot_id", "type": "long", "field-id": 503},
    {"name": "added_files_count", "type": "int", "field-id": 504},
    {"name": "added_rows_count", "type": "long", "field-id": 512},
    opt({"type": "array", "element-id": 508, "items": {"type": "record", "name": "r508", "fields": [
        {"name": "contains_null", "type": "boolean", "field-id": 509},
        opt("boolean", 518, "contains_nan"), opt("bytes", 510, "lower_bound"),
        opt("bytes", 511, "upper_bound")]}}, 507, "partitions")]}


def manifest_seeds():
    def entry(status, snap, path, day, size):
        return {"status": status, "snapshot_id": snap, "sequence_number": (0, None),
                "file_sequence_number": (0, None),
                "data_file": {"content": 0, "file_path": path, "file_format": "PARQUET",
                              "partition": {"ts_day": day, "ts_hour": (1, 498888),
                                            "region": (1, "eu")},
                              "record_count": 10, "file_size_in_bytes": size}}
    entries = [entry(1, (0, None), "s3://b/t/data/a.parquet", (1, 20787), 1 << 20),
               entry(0, (1, 5), "s3://b/t/data/b.parquet", (1, -1), 600 << 20),
               entry(2, (1, 6), "s3://b/t/data/c.parquet", (0, None), 1)]
    lists = [{"manifest_path": "s3://b/t/metadata/m%d.avro" % i, "manifest_length": 4000,
              "partition_spec_id": 0, "content": i % 2, "sequence_number": 3 + i,
              "min_sequence_number": 1, "added_snapshot_id": 7, "added_files_count": 2,
              "added_rows_count": 20,
              "partitions": (1, [{"contains_null": False, "contains_nan": (1, False),
                                  "lower_bound": (1, b"\x33\x51\x00\x00"),
                                  "upper_bound": (0, None)}])} for i in range(3)]
    return {
        "manifest": container(MANIFEST_ENTRY, entries),
        "manifest-deflate": container(MANIFEST_ENTRY, entries, "deflate"),
        "manifest-list": container(MANIFEST_FILE, lists),
        "manifest-list-deflate": container(MANIFEST_FILE, lists, "deflate", per_block=3),
        "empty-manifest": container(MANIFEST_ENTRY, []),
    }


METADATA_HOSTILE = {
    "deep-array": b"[" * 5000 + b"]" * 5000,
    "deep-object": b'{"a":' * 3000 + b"1" + b"}" * 3000,
    "huge-numbers": b'{"format-version": 99999999999999999999, "last-sequence-number": -1e999,'
                    b' "current-snapshot-id": 9223372036854775808}',
    "snapshot-cycle": b'{"format-version": 2, "table-uuid": "u", "location": "s3://b",'
                      b' "current-snapshot-id": 1, "snapshots": [{"snapshot-id": 1,'
                      b' "parent-snapshot-id": 2, "timestamp-ms": 1, "manifest-list": "m"},'
                      b' {"snapshot-id": 2, "parent-snapshot-id": 1, "timestamp-ms": 1,'
                      b' "manifest-list": "m"}], "refs": {"main": {"snapshot-id": 3,'
                      b' "type": "branch"}}}',
    "wrong-types": b'{"format-version": "2", "snapshots": {}, "refs": [], "properties": {"a": 1},'
                   b' "partition-specs": [{"spec-id": "x", "fields": [null]}]}',
    "invalid-utf8": b'{"location": "\xff\xfe"}',
    "nul": b'{"location": "a\u0000b"}\x00',
}


def main():
    seeds = {t: {} for t in ("loader", "marathon_app", "sagemaker_specs", "yarn_specs",
                             "iceberg_specs", "iceberg_manifests", "iceberg_metadata")}
    for path in sorted(glob.glob(os.path.join(ROOT, "examples", "**", "*.yaml"), recursive=True)):
        rel = os.path.relpath(path, os.path.join(ROOT, "examples"))
        data = open(path, "rb").read()
        seeds["loader"]["example-" + rel.replace("/", "_")] = data
        backend = rel.split("/")[0]
        target = {"marathon": "marathon_app", "sagemaker": "sagemaker_specs",
                  "yarn": "yarn_specs", "iceberg": "iceberg_specs"}.get(backend)
        if target:
            seeds[target]["example-" + rel.split("/", 1)[1].replace("/", "_")] = data
    for name, data in HOSTILE.items():
        seeds["loader"]["hostile-" + name] = data
    mb, yb = backend_doc("marathon"), backend_doc("yarn")
    for path, spec in fixtures("reconcilers/marathon/testdata/diff/*/desired.json"):
        seeds["marathon_app"]["testdata-" + path.split("/")[-2]] = wrap("App", "/a", spec, mb)
    for path, spec in fixtures("reconcilers/marathon/upstream/raml/v2/examples/app*.json"):
        seeds["marathon_app"]["upstream-" + os.path.basename(path)] = wrap("App", "/a", spec, mb)
    for path, spec in fixtures("reconcilers/yarn/testdata/diff/*/desired.json"):
        seeds["yarn_specs"]["testdata-" + path.split("/")[-2]] = wrap("YarnService", "s", spec, yb)
    for path, spec in fixtures("reconcilers/yarn/upstream/services-examples/*.json"):
        seeds["yarn_specs"]["upstream-" + os.path.basename(path)] = wrap("YarnService", "s", spec, yb)
    for path, spec in fixtures("reconcilers/yarn/upstream/rm-rest-examples/submit-*.json"):
        seeds["yarn_specs"]["upstream-" + os.path.basename(path)] = wrap(
            "YarnApplication", "a", spec, yb)
    for name, data in manifest_seeds().items():
        seeds["iceberg_manifests"][name] = data
    for path in sorted(glob.glob(os.path.join(ROOT, "reconcilers/iceberg/upstream/table-metadata/*.json"))):
        seeds["iceberg_metadata"]["upstream-" + os.path.basename(path)] = open(path, "rb").read()
    for name, data in METADATA_HOSTILE.items():
        seeds["iceberg_metadata"]["hostile-" + name] = data
    sb = backend_doc("sagemaker")
    for kind, spec in SAGEMAKER_SPECS.items():
        seeds["sagemaker_specs"]["kind-" + kind] = wrap(kind, "job", spec, sb)
    for target, files in seeds.items():
        out = os.path.join(CORPUS, target)
        os.makedirs(out, exist_ok=True)
        for old in glob.glob(os.path.join(out, "seed-*")):
            os.remove(old)
        seen = set()
        for name, data in sorted(files.items()):
            digest = hashlib.sha1(data).hexdigest()
            if digest in seen or len(data) > MAX_SEED_BYTES:
                continue
            seen.add(digest)
            with open(os.path.join(out, "seed-" + name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(seen)} seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
