#!/usr/bin/env bash
# agl.sh (`make bench`): agent-lightning's client loop against the store (docs/AGENT_LIGHTNING.md)
# at BENCH_AGL_ROLLOUTS rollouts in flight at once (1000): enqueue, dequeue, spans, ends,
# waits (tests/bench/agl_loop.py, over BENCH_AGL_THREADS kept-alive connections), checked
# for loss (every rollout succeeded, every span stored), beside nginx's `return 204`
# ceiling measured by wrk in the same run. Prints each phase's calls per second and their
# ratio to the ceiling; figures go to docs/PERFORMANCE.md. Measured, never asserted.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROLLOUTS=${BENCH_AGL_ROLLOUTS:-1000}
SPANS=${BENCH_AGL_SPANS:-5}
THREADS=${BENCH_AGL_THREADS:-32}
DURATION=${BENCH_SECONDS:-5}
for v in ROLLOUTS SPANS THREADS DURATION; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((ROLLOUTS % 10 == 0 && ROLLOUTS > 0)) || die "BENCH_AGL_ROLLOUTS must be a multiple of 10"

bench_start_stack
bin=${RUNWATCH_BIN_DIR:-$BENCH_REPO/build/release}
token=$("$bin/runwatch-api" token create --project agl-bench --name bench --scopes read,write \
    --create-project | tail -n 1)
[[ "$token" == rw_* ]] || die "no token"

bench_machine
bench_wrk return204 "$TMP/wrk.out" -t2 -c64 "-d${DURATION}s" "$BASE/nginx-healthz"
ceiling=$(bench_medians return204 | awk '{ print $1 }')
echo "nginx return 204: $ceiling req/s (wrk -t2 -c64 -d${DURATION}s)"

echo "agent-lightning loop: $ROLLOUTS rollouts, $SPANS spans each, $THREADS connections"
out=$(/usr/bin/python3 "$BENCH_REPO/tests/bench/agl_loop.py" "$BASE/agl/$token" "$ROLLOUTS" \
    "$SPANS" "$THREADS") || {
    printf '%s\n' "$out"
    die "the loop lost something or a call failed"
}
printf '%s\n' "$out" | sed 's/^/  /'
for p in enqueue dequeue span finish; do
    rate=$(awk -v k="${p}_per_s" '$1 == k { print $2 }' <<<"$out")
    echo "$p: $rate calls/s, $(ratio "$rate" "$ceiling") of nginx's ceiling"
done
((${#FAILED[@]} == 0)) || die "wrk: ${FAILED[*]}"
