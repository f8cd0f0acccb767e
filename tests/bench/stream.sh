#!/usr/bin/env bash
# stream.sh (`make bench`): the live stream under load, through nginx, on a private stack.
# build/…/sse-load opens SSE streams with a project token and publishes events through
# pub.c (the script runwatch-api runs after COMMIT), timing each frame from publish to
# receipt in the client.
#   idle      BENCH_SSE_IDLE streams (10,000) held BENCH_SSE_HOLD s, then 1 event/s for
#             BENCH_SECONDS s to all of them: resident memory of runwatch-sse and nginx's
#             workers before and after, per stream
#   fanout1   1 stream, 100 events/s: the path's latency without fan-out (the baseline)
#   fanout    BENCH_SSE_CLIENTS streams (1,000), 100 events/s each (100,000 frames/s)
# fanout1 and fanout run BENCH_ROUNDS times, interleaved; medians are reported. A round
# where any stream failed, closed early or missed a frame fails the run.
# Knobs: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_SSE_IDLE (10000), BENCH_SSE_HOLD (5),
# BENCH_SSE_CLIENTS (1000), BENCH_SSE_RATE (100), RUNWATCH_BIN_DIR.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
IDLE=${BENCH_SSE_IDLE:-10000}
HOLD=${BENCH_SSE_HOLD:-5}
CLIENTS=${BENCH_SSE_CLIENTS:-1000}
RATE=${BENCH_SSE_RATE:-100}
for v in DURATION ROUNDS IDLE HOLD CLIENTS RATE; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
LOAD=${RUNWATCH_BIN_DIR:-$BENCH_REPO/build/release}/sse-load
[[ -x "$LOAD" ]] || die "$LOAD not found (make build)"

export RUNWATCH_ADMIN_EMAIL=bench@runwatch.test
RUNWATCH_ADMIN_PASSWORD=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
export RUNWATCH_ADMIN_PASSWORD
# Every stream here is one token's: no per-token cap (RUNWATCH_SSE_STREAMS_PER_USER).
export RUNWATCH_SSE_STREAMS_PER_USER=0
bench_start_stack

api POST /api/v1/auth/login "{\"email\":\"$RUNWATCH_ADMIN_EMAIL\",\"password\":\"$RUNWATCH_ADMIN_PASSWORD\"}" \
    -c "$TMP/jar" >/dev/null
PROJECT=$(api POST /api/v1/projects '{"slug":"live","name":"Live"}' -b "$TMP/jar" | field id)
TOKEN=$(api POST /api/v1/projects/live/tokens '{"name":"watch","scopes":["read"]}' -b "$TMP/jar" | field token)
[[ "$PROJECT" =~ ^[0-9]+$ && "$TOKEN" == rw_* ]] || die "seeding failed"
HUB_PID=$(cat "$RUNWATCH_VAR_DIR/run/sse.pid")
NGINX_PIDS=$(pgrep -P "$(cat "$RUNWATCH_VAR_DIR/run/nginx.pid")" | tr '\n' ' ')
REDIS=redis://127.0.0.1:$RUNWATCH_REDIS_PORT

load() { # out-file sse-load args…
    local out=$1
    shift
    if ! "$LOAD" --url "$BASE" --token "$TOKEN" --project "$PROJECT" --redis "$REDIS" "$@" >"$out" 2>"$out.err"; then
        FAILED+=("sse-load $*: $(grep -E '^(failed|closed_early|frames_expected|frames_received) ' "$out" | tr '\n' ' ')")
        sed 's/^/    /' "$out.err" >&2
    fi
}
val() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# ---------------------------------------------------------------- idle streams

log "idle: $IDLE streams, held ${HOLD}s, then 1 event/s for ${DURATION}s"
rss_args=(--rss-pid "$HUB_PID")
for p in $NGINX_PIDS; do rss_args+=(--rss-pid "$p"); done
load "$TMP/idle.txt" --clients "$IDLE" --rate 1 --seconds "$DURATION" --hold "$HOLD" "${rss_args[@]}"
hub_before=$(val "$TMP/idle.txt" "rss_before_kb.$HUB_PID")
hub_after=$(val "$TMP/idle.txt" "rss_after_kb.$HUB_PID")
ngx_before=0 ngx_after=0
for p in $NGINX_PIDS; do
    ngx_before=$((ngx_before + $(val "$TMP/idle.txt" "rss_before_kb.$p")))
    ngx_after=$((ngx_after + $(val "$TMP/idle.txt" "rss_after_kb.$p")))
done

# ---------------------------------------------------------------- fan-out

declare -A P50S=() P99S=() MAXS=() FPS=()
for ((r = 1; r <= ROUNDS; r++)); do
    for n in fanout1 fanout; do
        c=$CLIENTS
        [[ $n == fanout1 ]] && c=1
        log "round $r/$ROUNDS: $n ($c streams, $RATE events/s, ${DURATION}s)"
        load "$TMP/$n-$r.txt" --clients "$c" --rate "$RATE" --seconds "$DURATION" --hold 1
        P50S[$n]+="$(val "$TMP/$n-$r.txt" latency_p50_ms) "
        P99S[$n]+="$(val "$TMP/$n-$r.txt" latency_p99_ms) "
        MAXS[$n]+="$(val "$TMP/$n-$r.txt" latency_max_ms) "
        FPS[$n]+="$(val "$TMP/$n-$r.txt" frames_per_s) "
    done
done

# ---------------------------------------------------------------- report

per_conn() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (b - a) / n }'; }
echo
echo "Runwatch live-stream benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
bench_machine
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min load average at the end: the machine is shared)"
echo "command:  sse-load --url $BASE --token … --project $PROJECT --redis $REDIS --clients N --rate R --seconds $DURATION"
echo
echo "idle: $(val "$TMP/idle.txt" streaming) of $IDLE streams held (failed $(val "$TMP/idle.txt" failed), closed early $(val "$TMP/idle.txt" closed_early))"
printf '  runwatch-sse RSS  %6d KB -> %6d KB: %s KB a stream\n' "$hub_before" "$hub_after" \
    "$(per_conn "$hub_before" "$hub_after" "$IDLE")"
printf '  nginx workers RSS %6d KB -> %6d KB: %s KB a stream\n' "$ngx_before" "$ngx_after" \
    "$(per_conn "$ngx_before" "$ngx_after" "$IDLE")"
printf '  1 event/s to all: %s frames, p50 %s ms, p99 %s ms, max %s ms\n' \
    "$(val "$TMP/idle.txt" frames_received)" "$(val "$TMP/idle.txt" latency_p50_ms)" \
    "$(val "$TMP/idle.txt" latency_p99_ms)" "$(val "$TMP/idle.txt" latency_max_ms)"
echo
printf '%-34s %12s %10s %10s %10s\n' "fan-out (median of $ROUNDS)" "frames/s" "p50" "p99" "max"
for n in fanout1 fanout; do
    read -r -a a <<<"${P50S[$n]}"
    read -r -a b <<<"${P99S[$n]}"
    read -r -a m <<<"${MAXS[$n]}"
    read -r -a f <<<"${FPS[$n]}"
    label="1 stream x $RATE/s"
    [[ $n == fanout ]] && label="$CLIENTS streams x $RATE/s"
    printf '%-34s %12.0f %7.2f ms %7.2f ms %7.2f ms\n' "$label" "$(median "${f[@]}")" \
        "$(median "${a[@]}")" "$(median "${b[@]}")" "$(median "${m[@]}")"
done
echo "per round p99 (ms): fanout1 ${P99S[fanout1]}; fanout ${P99S[fanout]}"
if ((${#FAILED[@]})); then
    echo
    for f in "${FAILED[@]}"; do echo "FAILED: $f"; done
    exit 1
fi
