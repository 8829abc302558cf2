#!/usr/bin/env python3
"""Fails (exit 1) when an #include points up the layers. Run by every build (target check_layers).

Layers, lowest first; a file may include its own layer and the layers below it:
  base      specs/base/
  specs     specs/
  common    reconcilers/common/, reconcilers/*.h (the Reconciler interface and the registry)
  backend   reconcilers/<type>/  (never another backend's folder)
  controller controller/ (not cli/), which never names a backend folder
  cli       controller/cli/      (never a backend folder either: backends come from the registry)
Tests and benchmarks may include anything.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# Known exceptions being removed (each names why). Keep empty.
ALLOW = set()
RANK = {"base": 0, "specs": 1, "common": 2, "backend": 3, "controller": 4, "cli": 5}


def layer(path):
    """(layer, backend-or-None) of a source path relative to the root, or None if unlayered."""
    parts = path.split("/")
    if path.startswith("specs/base/"):
        return ("base", None)
    if parts[0] == "specs":
        return ("specs", None)
    if parts[0] == "reconcilers":
        if len(parts) == 2 or parts[1] == "common":
            return ("common", None)
        return ("backend", parts[1])
    if path.startswith("controller/cli/"):
        return ("cli", None)
    if parts[0] == "controller":
        return ("controller", None)
    return None


def main(root):
    errors = []
    for top in ("specs", "reconcilers", "controller"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if not f.endswith((".h", ".cc")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), root)
                me = layer(rel)
                with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                for m in INCLUDE.finditer(text):
                    inc = m.group(1)
                    other = layer(inc)
                    if other is None or me is None or rel in ALLOW:
                        continue
                    line = text.count("\n", 0, m.start()) + 1
                    if other[0] == "backend" and me[0] != "backend":
                        errors.append(f"{rel}:{line}: includes {inc}: only the registry may know "
                                      "a backend (a backend folder is reached through "
                                      "reconcilers/registry.h)")
                    elif other[0] == "backend" and other[1] != me[1]:
                        errors.append(f"{rel}:{line}: includes {inc}: one backend never includes "
                                      "another")
                    elif RANK[other[0]] > RANK[me[0]]:
                        errors.append(f"{rel}:{line}: includes {inc}: layer {me[0]} may not include "
                                      f"layer {other[0]} (layers: base → specs → common → backend "
                                      "→ controller → cli)")
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
