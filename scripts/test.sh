#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs unit, integration (the built
# binary against `converge sandbox`) and compatibility tests (python3-marathon, the upstream
# JSON Schema) with CTest.
#   scripts/test.sh              everything
#   scripts/test.sh -L unit      only one label (unit | integration | compat)
set -euo pipefail
CONVERGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$CONVERGE_ROOT/scripts/deps.sh"
converge_install_deps
BUILD="${CONVERGE_BUILD_DIR:-$CONVERGE_ROOT/build}"
converge_build "$BUILD"
cd "$BUILD"
ctest --output-on-failure -j"$(nproc)" --timeout 900 "$@"
