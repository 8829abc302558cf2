#!/usr/bin/env bash
# Builds and runs the benchmarks (bench/). Numbers, not pass/fail: see the closing notes.
set -euo pipefail
CONVERGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$CONVERGE_ROOT/scripts/deps.sh"
converge_install_deps
BUILD="${CONVERGE_BUILD_DIR:-$CONVERGE_ROOT/build}"
converge_build "$BUILD"
"$BUILD/bench/plan_bench" --benchmark_counters_tabular=true "$@"
# converge watch: one changed file re-planned among 10,000 vs a full plan; file write -> first
# backend request latency of the real binary (p50/p99 over 200 changes).
"$BUILD/bench/watch_bench" --benchmark_counters_tabular=true "$@"
# YARN: requests per steady-state plan of 10 and 100 services (RM apps list + a GET per service).
"$BUILD/bench/yarn_bench" --benchmark_counters_tabular=true "$@"
# SageMaker: requests/time of a steady-state plan of 10/100/1,000 endpoints + configs + models,
# observe: list (per-object reads, as before) vs search (cold and warm cache).
"$BUILD/bench/sagemaker_bench" --benchmark_counters_tabular=true "$@"
# Parallel apply: 100 / 1,000 changed Marathon apps with 1 s deployments at --parallelism 10 / 50
# against the floor ceil(N / P) x 1 s, direct and behind a 20 ms proxy.
"$BUILD/bench/apply_bench" --benchmark_counters_tabular=true "$@"
# Iceberg: requests per steady-state plan of 100 policies (ETag 304s); plan time of a 10,000-file
# table with manifests read, cold / warm cache directory / warm memory, vs the Avro read floor.
"$BUILD/bench/iceberg_bench" --benchmark_counters_tabular=true "$@"
