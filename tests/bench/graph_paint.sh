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
DIST=${BENCH_DIST:-$BENCH_REPO/frontend/dist}
[[ -f "$DIST/index.html" ]] || die "$DIST is not built (make frontend)"
[[ -d "$BENCH_REPO/frontend/node_modules/playwright-core" ]] || die "playwright-core is not installed (make frontend)"
[[ -x "${RUNWATCH_CHROMIUM:-/usr/bin/chromium}" ]] || die "chromium not found (deploy/install-deps.sh)"

export RUNWATCH_ADMIN_EMAIL=bench@runwatch.test
RUNWATCH_ADMIN_PASSWORD=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
export RUNWATCH_ADMIN_PASSWORD
bench_start_stack
cp -r "$DIST/." "$RUNWATCH_STATIC_DIR/"
chmod -R a+rX "$RUNWATCH_STATIC_DIR"

log "machine: $(nproc) cores, $(uptime | sed 's/.*load average/load average/'); $(/usr/bin/chromium --version 2>/dev/null || true)"
BENCH_URL=$BASE BENCH_GRAPH_RUNS=$RUNS node "$BENCH_REPO/tests/bench/graph_paint.mjs"
