#!/usr/bin/env bash
# graph_paint.sh (`make bench`): the run graph's first paint for a 5,000-run tree in real
# Chromium, measured, never asserted (issue 18: usable at 5,000 nodes). A private stack
# serves the built frontend; tests/bench/graph_paint.mjs (playwright-core +
# /usr/bin/chromium, headless) makes project "bench" and a tree of BENCH_GRAPH_RUNS runs
# (5,000: a root, ten stages chained by depends_on, the rest under them, half of the stages'
# children in a group each, half a plain fan-out) through POST /runs, then loads the root's
# Graph tab in rounds and prints the time from navigation to the drawn nodes in the DOM and
# to the next frame, and the graph request's time. Knobs: BENCH_GRAPH_RUNS (5000),
# BENCH_ROUNDS (5), BENCH_DIST (the dashboard build, default frontend/dist),
# RUNWATCH_BIN_DIR. Figures go to docs/PERFORMANCE.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${BENCH_GRAPH_RUNS:-5000}
if ! [[ "$RUNS" =~ ^[0-9]+$ ]] || ((RUNS < 100 || RUNS > 10000)); then
    die "BENCH_GRAPH_RUNS must be a whole number from 100 to 10000 (one page of GET /runs/{run}/graph)"
fi
bench_start_dashboard_stack "${BENCH_DIST:-}"
BENCH_URL=$BASE BENCH_GRAPH_RUNS=$RUNS node "$BENCH_REPO/tests/bench/graph_paint.mjs"
