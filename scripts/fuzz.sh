#!/usr/bin/env bash
# The unit tests that read hostile input and the libFuzzer targets under ASan + UBSan (clang, -O1),
# in a second build directory. Builds only `unit_tests_asan` (tests/CMakeLists.txt: specs, every
# backend's validation and client, the Iceberg readers and sandbox catalog) and the fuzz targets,
# runs `ctest -L asan` once, then every fuzz target (fuzz/<target>.cc, seeds in
# fuzz/corpus/<target>/) for a bounded time,
# and fails on any crash, leak, UBSan report, out-of-memory or per-input timeout, printing the
# reproducer's path and how to re-run it. Run by .ci/run after scripts/test.sh.
#   scripts/fuzz.sh                 unit tests + every target
#   scripts/fuzz.sh loader          only those targets (no unit tests)
# Environment:
#   CONVERGE_FUZZ_SECONDS   time per target (default 30: 7 targets, 2 at a time, 2 min; see
#                           docs/style.md "Fuzzing" for the CI budget)
#   CONVERGE_FUZZ_JOBS      targets run at once (default: the number of cores)
#   CONVERGE_FUZZ_UNIT=0    skip the unit tests
#   CONVERGE_ASAN_BUILD_DIR the build directory (default build-asan/)
set -euo pipefail
CONVERGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$CONVERGE_ROOT/scripts/deps.sh"
converge_install_deps
BUILD="${CONVERGE_ASAN_BUILD_DIR:-$CONVERGE_ROOT/build-asan}"
SECONDS_PER_TARGET="${CONVERGE_FUZZ_SECONDS:-30}"
JOBS="${CONVERGE_FUZZ_JOBS:-$(nproc)}"
RUN_UNIT="${CONVERGE_FUZZ_UNIT:-1}"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$CONVERGE_ROOT"/fuzz/*.cc; do
    grep -q LLVMFuzzerTestOneInput "$f" && targets+=("$(basename "$f" .cc)")
  done
else
  RUN_UNIT=0
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# -O1 with line tables only: readable stacks, and the cheapest build that still optimises.
cmake -S "$CONVERGE_ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" -DCMAKE_CXX_COMPILER=clang++ \
  -DCONVERGE_SANITIZE=ON "${launcher[@]}" >/dev/null
build_targets=()
[ "$RUN_UNIT" = 1 ] && build_targets+=(unit_tests_asan)
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
echo "==> building (ASan + UBSan, $BUILD): ${build_targets[*]}"
cmake --build "$BUILD" -j"$(nproc)" --target "${build_targets[@]}"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
if [ "$RUN_UNIT" = 1 ]; then
  echo "==> unit tests under ASan + UBSan (ctest -L asan)"
  (cd "$BUILD" && ctest -L asan -j"$(nproc)" --output-on-failure --timeout 900) || status=1
fi

# One fuzz target: new inputs go to a scratch corpus under the build directory, the checked-in
# seeds are only read. Prints the reproducer on failure.
run_target() {
  local t="$1" out="$BUILD/fuzz-out/$1"
  rm -rf "$out" "$out.rc" && mkdir -p "$out/corpus"
  if "$BUILD/fuzz/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
       -max_len=16384 -print_final_stats=1 -artifact_prefix="$out/" \
       "$out/corpus" "$CONVERGE_ROOT/fuzz/corpus/$t" >"$out/log" 2>&1; then
    echo "    $t: ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$out/log" |
      grep -o '[0-9]*$') inputs in ${SECONDS_PER_TARGET}s)"
    return 0
  fi
  echo "FAILED fuzz target $t:"
  grep -E 'ERROR: |runtime error:|SUMMARY:|guarantee broken|Test unit written' "$out/log" | head -20
  for a in "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* "$out"/slow-unit-*; do
    [ -e "$a" ] || continue
    echo "    reproducer: $a"
    echo "    re-run:     $BUILD/fuzz/fuzz_$t $a"
  done
  echo "    full log:   $out/log"
  return 1
}

echo "==> fuzzing ${#targets[@]} targets, ${SECONDS_PER_TARGET}s each, $JOBS at a time"
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  (rc=0; run_target "$t" || rc=$?; echo $rc >"$BUILD/fuzz-out/$t.rc") &
done
wait
for t in "${targets[@]}"; do
  [ "$(cat "$BUILD/fuzz-out/$t.rc" 2>/dev/null)" = 0 ] || status=1
done
[ $status -eq 0 ] && echo "==> ASan + UBSan: unit tests and fuzz targets clean"
exit $status
