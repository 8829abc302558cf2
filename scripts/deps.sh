#!/usr/bin/env bash
# Installs the Debian packages converge needs to build, test and benchmark — only the missing
# ones. Sourced by demo.sh and test.sh; safe to run again.
set -euo pipefail

CONVERGE_DEBS=(
  build-essential cmake ninja-build pkg-config git curl
  libyaml-cpp-dev libcurl4-openssl-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libsqlite3-dev libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libcpp-httplib-dev
  libre2-dev libvalijson-dev libavro-dev  # libavro-dev: Iceberg manifest lists and manifests
  zlib1g-dev  # Iceberg: deflate Avro blocks are inflated (and bounded) before Avro C reads them
  python3 python3-marathon python3-jsonschema python3-yaml python3-requests python3-botocore python3-boto3
  python3-avro  # tests/compat: reads back the Iceberg sandbox catalog's manifests
  nodejs  # tests/compat/test_iceberg_npm_clients.py: iceberg-js, icebird (`npm ci` at test time;
          # npm is Debian's `npm` package, or bundled with NodeSource's nodejs as on the CI image)
  chromium chromium-driver python3-selenium  # tests/browser: the status page in headless chromium
  zsh fish  # tests/integration/test_completion.py: the zsh and fish scripts run in those shells
  clang libclang-rt-14-dev  # scripts/fuzz.sh: ASan + UBSan builds and libFuzzer (libclang_rt.fuzzer)
)

converge_install_deps() {
  local missing=()
  for p in "${CONVERGE_DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  local log="${TMPDIR:-/tmp}/converge-apt.$$.log"
  echo "==> installing ${#missing[@]} Debian packages (log: $log): ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  # Quiet unless it fails: apt's output goes to the log, which is shown on a failure.
  if ! { $sudo apt-get update -q &&
         DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
           "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "apt-get failed (log: $log)" >&2
    return 1
  fi
  rm -f "$log"
}

# converge_build BUILD_DIR [TARGET...]: configures BUILD_DIR and builds the targets named, or
# everything (the binary, the test binaries and the benchmarks) when none are.
converge_build() {
  local build_dir="$1"
  shift
  cmake -S "$CONVERGE_ROOT" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  if [ $# -gt 0 ]; then
    cmake --build "$build_dir" -j"$(nproc)" --target "$@"
  else
    cmake --build "$build_dir" -j"$(nproc)"
  fi
}
