#!/bin/sh
# Regenerates examples/converge.schema.json (what the examples' modelines point at) from the
# built binary: `converge schema`. compat.test_schema fails when the checked-in file is stale.
# Usage: scripts/gen_schema.sh [path/to/converge]   (default: build/converge)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-${CONVERGE_BIN:-$root/build/converge}}
"$bin" schema > "$root/examples/converge.schema.json.tmp"
mv "$root/examples/converge.schema.json.tmp" "$root/examples/converge.schema.json"
echo "wrote examples/converge.schema.json"
