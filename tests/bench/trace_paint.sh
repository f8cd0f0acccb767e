#!/usr/bin/env bash
# trace_paint.sh (`make bench`): the trace view's first paint for a 5,000-span trace in real
# Chromium, measured, never asserted (issue 15 names 1 s as the goal). A private stack
# serves the built frontend; tests/bench/trace_paint.mjs (playwright-core +
# /usr/bin/chromium, headless) makes project "bench", a run and a trace of
# BENCH_TRACE_SPANS spans (5,000) tied to it, sent through POST /v1/traces in batches of
# 500, then loads the trace page and the run's Traces tab in alternating rounds and prints
# the time from navigation to the waterfall's rows in the DOM and to the next frame.
# Knobs: BENCH_TRACE_SPANS (5000), BENCH_ROUNDS (5), BENCH_FRAMES (600), BENCH_DIST (the
# dashboard build to serve, default frontend/dist: to compare two builds, run once with
# each, alternating), RUNWATCH_BIN_DIR. Figures go to docs/PERFORMANCE.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SPANS=${BENCH_TRACE_SPANS:-5000}
if ! [[ "$SPANS" =~ ^[0-9]+$ ]] || ((SPANS < 100 || SPANS > 10000)); then
    die "BENCH_TRACE_SPANS must be a whole number from 100 to 10000 (GET /traces answers at most 10,000)"
fi
bench_start_dashboard_stack "${BENCH_DIST:-}"
BENCH_URL=$BASE BENCH_TRACE_SPANS=$SPANS node "$BENCH_REPO/tests/bench/trace_paint.mjs"
