#!/usr/bin/env bash
# compare_paint.sh (`make bench`): the compare view's first paint for BENCH_COMPARE_RUNS runs
# (50) of BENCH_COMPARE_POINTS points each (10,000) in real Chromium, measured, never
# asserted. A private stack serves the built frontend; tests/bench/compare_paint.mjs makes
# project "bench", the runs and their train/loss series (POST /runs/{run}/metrics in
# batches of 10,000), then loads /p/bench/compare?runs=… in rounds and prints the time
# from navigation to the overlaid chart drawn with every run's (downsampled) series.
# Knobs: BENCH_COMPARE_RUNS (50), BENCH_COMPARE_POINTS (10000), BENCH_ROUNDS (5),
# BENCH_DIST (default frontend/dist), RUNWATCH_BIN_DIR. Figures go to docs/PERFORMANCE.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${BENCH_COMPARE_RUNS:-50}
POINTS=${BENCH_COMPARE_POINTS:-10000}
if ! [[ "$RUNS" =~ ^[0-9]+$ ]] || ((RUNS < 2 || RUNS > 50)); then
    die "BENCH_COMPARE_RUNS must be a whole number from 2 to 50 (the compare view's limit)"
fi
if ! [[ "$POINTS" =~ ^[0-9]+$ ]] || ((POINTS < 10 || POINTS > 100000)); then
    die "BENCH_COMPARE_POINTS must be a whole number from 10 to 100000"
fi
bench_start_dashboard_stack "${BENCH_DIST:-}"
BENCH_URL=$BASE BENCH_COMPARE_RUNS=$RUNS BENCH_COMPARE_POINTS=$POINTS node "$BENCH_REPO/tests/bench/compare_paint.mjs"
