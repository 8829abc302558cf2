#!/usr/bin/python3
"""Extracts the part of the SageMaker service model converge uses from Debian's python3-botocore.

Writes reconcilers/sagemaker/model/service-subset.json: the model's metadata, the operations
below (input/output/errors) and every shape reachable from them, with documentation stripped.
The result is checked in and embedded in the binary (reconcilers/sagemaker/model.cc); regenerate
it with `/usr/bin/python3 scripts/gen_sagemaker_model.py` after a botocore upgrade.
The model is Apache-2.0 (see /usr/share/doc/python3-botocore/copyright).
"""
import json
import os
import sys

import botocore

OPERATIONS = [
    "CreateModel", "DescribeModel", "DeleteModel", "ListModels",
    "CreateEndpointConfig", "DescribeEndpointConfig", "DeleteEndpointConfig", "ListEndpointConfigs",
    "CreateEndpoint", "DescribeEndpoint", "UpdateEndpoint", "UpdateEndpointWeightsAndCapacities",
    "DeleteEndpoint", "ListEndpoints",
    "CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob", "ListTrainingJobs",
    "CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob", "ListProcessingJobs",
    "CreateTransformJob", "DescribeTransformJob", "StopTransformJob", "ListTransformJobs",
    "CreateHyperParameterTuningJob", "DescribeHyperParameterTuningJob",
    "StopHyperParameterTuningJob", "ListHyperParameterTuningJobs",
    "AddTags", "ListTags", "DeleteTags",
    "Search",
]
# Search answers many resource types; converge reads only endpoints and models (Observe, see
# docs/backends/sagemaker.md), so the records keep only those members (the rest of SearchRecord
# pulls in hundreds of shapes: experiments, pipelines, feature groups, ...).
TRIM = {
    "SearchRecord": ["Endpoint", "Model"],
    "ModelDashboardModel": ["Model", "Endpoints"],
}
DROP = {"documentation", "deprecated", "deprecatedMessage", "box", "sensitive"}


def main():
    src = os.path.join(os.path.dirname(botocore.__file__), "data", "sagemaker", "2017-07-24",
                       "service-2.json")
    with open(src) as f:
        model = json.load(f)
    shapes = model["shapes"]
    keep = {}

    def visit(name):
        if name in keep:
            return
        shape = {k: v for k, v in shapes[name].items() if k not in DROP}
        if name in TRIM:
            shape["members"] = {k: v for k, v in shape["members"].items() if k in TRIM[name]}
        for m in shape.get("members", {}).values():
            for k in DROP:
                m.pop(k, None)
        keep[name] = shape
        for m in shape.get("members", {}).values():
            visit(m["shape"])
        for k in ("member", "key", "value"):
            if k in shape:
                visit(shape[k]["shape"])

    ops = {}
    for op in OPERATIONS:
        o = model["operations"][op]
        ops[op] = {k: o[k] for k in ("name", "http", "input", "output", "errors") if k in o}
        for k in ("input", "output"):
            if k in o:
                visit(o[k]["shape"])
        for e in o.get("errors", []):
            visit(e["shape"])
    out = {
        "source": "botocore %s data/sagemaker/2017-07-24/service-2.json (subset)" % botocore.__version__,
        "metadata": model["metadata"],
        "operations": ops,
        "shapes": dict(sorted(keep.items())),
    }
    dest = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reconcilers",
                        "sagemaker", "model", "service-subset.json")
    with open(dest, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print("%s: %d operations, %d shapes, %d bytes" % (os.path.normpath(dest), len(ops), len(keep),
                                                       os.path.getsize(dest)), file=sys.stderr)


if __name__ == "__main__":
    main()
