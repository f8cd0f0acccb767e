#!/usr/bin/env bash
# Integration tests: start a private stack (PostgreSQL, Redis, runwatch-api,
# runwatch-sse, nginx) on free loopback ports in a temporary directory, run the CUnit
# integration suite against it over HTTP, then stop everything and remove the
# directory, whatever happened. RUNWATCH_SUITES=runs,queue runs only those suites.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
tests_bin=${1:?usage: run.sh path/to/integration-tests}
bin_dir=${RUNWATCH_BIN_DIR:-$repo/build/release}
case "$bin_dir" in /*) ;; *) bin_dir=$repo/$bin_dir ;; esac
case "$tests_bin" in /*) ;; *) tests_bin=$repo/$tests_bin ;; esac

# shellcheck source=tests/lib/ports.sh
. "$repo/tests/lib/ports.sh"

private_stack runwatch-it
tmp=$stack_dir
export RUNWATCH_BIN_DIR=$bin_dir
export RUNWATCH_API_WORKERS=${RUNWATCH_API_WORKERS:-3}
# The first admin (created by the stack's bootstrap) and a login rate high enough for
# the suites yet low enough for the throttling test to trip it.
export RUNWATCH_ADMIN_EMAIL=admin@runwatch.test
export RUNWATCH_ADMIN_PASSWORD=admin-password-for-tests
export RUNWATCH_LOGIN_RATE=20r/s
# Two ad-hoc statements at once (of 3 workers), so the reports suite can run one
# tenant's query beside another's (test_reports.c).
export RUNWATCH_REPORT_CONCURRENCY=2
export RUNWATCH_LOGIN_BURST=40
# The live hub: a short keepalive and a small ring, so the stream suite sees comments and
# reaches past the ring quickly.
export RUNWATCH_SSE_KEEPALIVE_MS=1000
export RUNWATCH_SSE_RING=256
# A small cap of streams per user or token, so the stream suite reaches it cheaply.
export RUNWATCH_SSE_STREAMS_PER_USER=8
# Artifact uploads up to 3 MiB: the artifacts suite sends a file of several 1 MiB slices and
# one past the cap (413) without moving 16 MiB around.
export RUNWATCH_ARTIFACT_MAX_BYTES=3145728
# The identity cache at its longest: no suite runs that long, so a change that holds at
# once can only have been invalidated, never merely expired (test_auth.c).
export RUNWATCH_AUTH_CACHE_S=60
# A publish waits this long for Redis (500 ms in production, fcgi/src/pub.c): a loaded
# machine's slow reply must not drop a live event a suite waits for, which would look like a
# bug. No suite makes Redis hang: one it kills answers at once (connection refused).
export RUNWATCH_REDIS_TIMEOUT_MS=10000
mkdir -p "$tmp/static"
echo '<!doctype html><title>Runwatch</title>' >"$tmp/static/index.html"
# An asset and a source map beside it: the edge suite checks nginx never serves a map.
mkdir -p "$tmp/static/assets"
echo 'console.log("edge")' >"$tmp/static/assets/app-edge.js"
echo '{"version":3}' >"$tmp/static/assets/app-edge.js.map"
cp "$tmp/static/assets/app-edge.js.map" "$tmp/static/app-edge.js.map"
export RUNWATCH_STATIC_DIR=$tmp/static

trap 'private_stack_end $?' EXIT INT TERM

"$repo/deploy/stack.sh" start

# shellcheck disable=SC2153 # set by free_port above
export RUNWATCH_TEST_URL=http://$RUNWATCH_HTTP_HOST:$RUNWATCH_HTTP_PORT
export RUNWATCH_TEST_STACK=$repo/deploy/stack.sh
# Every part runs even when an earlier one fails; the script fails at the end, naming the
# parts that failed. RUNWATCH_SUITES (a developer's shortcut, see the README) runs only the
# suites it names, and then none of the shell parts.
failed=()
part() { # name command…
    local name=$1
    shift
    "$@" || failed+=("$name")
}
# `agl` in RUNWATCH_SUITES names the agent-lightning store's conformance suite (Python,
# tests/agl), which runs beside the CUnit suites; alone, it runs without them.
agl=1
if [ -n "${RUNWATCH_SUITES:-}" ]; then
    case ",$RUNWATCH_SUITES," in *,agl,*) ;; *) agl=0 ;; esac
    only=$(tr ',' '\n' <<<"$RUNWATCH_SUITES" | grep -vx agl | paste -sd, - || true)
    if [ -n "$only" ]; then
        RUNWATCH_SUITES=$only part "CUnit suites" "$tests_bin"
    fi
else
    part "CUnit suites" "$tests_bin"
fi
if ((agl)); then
    part "agl conformance" "$repo/tests/agl/run.sh"
fi
if [ -n "${RUNWATCH_SUITES:-}" ]; then
    echo "RUNWATCH_SUITES=$RUNWATCH_SUITES: skipped the other suites and the shell parts"
else
    # The README's producer walk-through, against the same stack.
    part examples.sh "$repo/tests/integration/examples.sh"
    # The unmodified OpenTelemetry JS exporter, from npm (pinned in tests/otel), against the
    # same stack: what it sends is stored and read back exactly.
    part otel_exporter.sh "$repo/tests/integration/otel_exporter.sh"
    # The fleet simulator (make demo) against the same stack, checked through the database.
    part fleet.sh "$repo/tests/integration/fleet.sh"
    # A stack of its own, on other free ports: what a start remembers (deploy/stack.sh
    # status, demo, stop and the runwatch-api CLI without the ports), the first admin's
    # password file.
    part stack_settings.sh "$repo/tests/integration/stack_settings.sh"
    # deploy/install-deps.sh waits for another apt's lock instead of failing at once.
    part apt_wait.sh "$repo/tests/integration/apt_wait.sh"
fi
if ((${#failed[@]})); then
    echo "integration: failed: ${failed[*]}"
    exit 1
fi
