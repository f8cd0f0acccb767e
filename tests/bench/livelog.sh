#!/usr/bin/env bash
# livelog.sh (`make bench`): many viewers of one busy run's live log, through nginx, on a
# private stack. A producer POSTs BENCH_LOG_RATE single events a second to one run through
# the API (build/…/sse-load --run, up to 16 requests in flight), and BENCH_LOG_VIEWERS
# streams watch the run's project as the dashboard does, each viewer in one of two ways:
#   frame   the dashboard today: the events a run.event frame carries go straight into
#           the log; only a truncated frame is fetched
#   fetch   the dashboard before frames carried events: every run.event is followed by
#           GET /api/v1/runs/{run}/events?after=<newest> (one request per viewer at a time,
#           one more queued while it is out)
# Per round: the API requests the viewers make a second, the delivery latency of each
# event to each viewer (from its POST being sent to its content reaching the viewer), the
# producer's achieved rate and POST time, the events a viewer lost, and the CPU of
# runwatch-sse, nginx's workers, runwatch-api's workers and PostgreSQL over the
# publishing (% of one core). Modes alternate round by round; medians are reported.
# Then what the frame's size costs the hub alone: the same streams, events published
# straight to Redis (pub.c) at the same rate, padded so the frames are as big as an
# ids-only run.event and as one carrying an event (BENCH_LOG_PADS: bytes of padding).
# Knobs: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_LOG_VIEWERS (1000), BENCH_LOG_RATE (100),
# BENCH_LOG_MODES ("frame fetch"; "" skips that part), BENCH_LOG_PADS ("50 320"; "" skips that part),
# BENCH_LOG_DRAIN (30 s for the viewers to catch up),
# RUNWATCH_BIN_DIR (the stack's binaries), BENCH_SSE_LOAD (the load client, default the one
# in RUNWATCH_BIN_DIR: give it to measure an older build's binaries with this client).
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
VIEWERS=${BENCH_LOG_VIEWERS:-1000}
RATE=${BENCH_LOG_RATE:-100}
DRAIN=${BENCH_LOG_DRAIN:-30}
read -r -a MODES <<<"${BENCH_LOG_MODES-frame fetch}"
read -r -a PADS <<<"${BENCH_LOG_PADS-50 320}"
for v in DURATION ROUNDS VIEWERS RATE DRAIN; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
for m in "${MODES[@]}"; do
    [[ $m == frame || $m == fetch ]] || die "BENCH_LOG_MODES: frame or fetch, got '$m'"
done
for p in "${PADS[@]}"; do
    [[ "$p" =~ ^[0-9]+$ ]] || die "BENCH_LOG_PADS: whole numbers, got '$p'"
done
BIN=${RUNWATCH_BIN_DIR:-$BENCH_REPO/build/release}
LOAD=${BENCH_SSE_LOAD:-$BIN/sse-load}
[[ -x "$LOAD" ]] || die "$LOAD not found (make build)"

export RUNWATCH_ADMIN_EMAIL=bench@runwatch.test
RUNWATCH_ADMIN_PASSWORD=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
export RUNWATCH_ADMIN_PASSWORD
# Every stream here is one token's: no per-token cap (RUNWATCH_SSE_STREAMS_PER_USER).
export RUNWATCH_SSE_STREAMS_PER_USER=0
bench_start_stack

api POST /api/v1/auth/login "{\"email\":\"$RUNWATCH_ADMIN_EMAIL\",\"password\":\"$RUNWATCH_ADMIN_PASSWORD\"}" \
    -c "$TMP/jar" >/dev/null
PROJECT=$(api POST /api/v1/projects '{"slug":"livelog","name":"Live log"}' -b "$TMP/jar" | field id)
VIEW=$(api POST /api/v1/projects/livelog/tokens '{"name":"viewers","scopes":["read"]}' -b "$TMP/jar" | field token)
WRITE=$(api POST /api/v1/projects/livelog/tokens '{"name":"producer","scopes":["write"]}' -b "$TMP/jar" | field token)
[[ "$PROJECT" =~ ^[0-9]+$ && "$VIEW" == rw_* && "$WRITE" == rw_* ]] || die "seeding failed"

# The processes whose CPU each round reads: the hub, nginx's workers, the API's workers
# (the master's children) and every PostgreSQL process (the postmaster's children).
HUB=$(cat "$RUNWATCH_VAR_DIR/run/sse.pid")
NGINX=$(pgrep -P "$(cat "$RUNWATCH_VAR_DIR/run/nginx.pid")" | tr '\n' ' ')
APIW=$(pgrep -P "$(cat "$RUNWATCH_VAR_DIR/run/api.pid")" | tr '\n' ' ')
PG=$(pgrep -P "$(head -n 1 "$RUNWATCH_VAR_DIR/pg/postmaster.pid")" | tr '\n' ' ')
cpu_args=(--cpu-pid "$HUB")
for p in $NGINX $APIW $PG; do cpu_args+=(--cpu-pid "$p"); done

val() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
# The CPU of a set of pids in a round's output, as % of one core over the publishing.
cpu_pct() { # file pids…
    local f=$1 ms=0 p v
    shift
    for p in "$@"; do
        v=$(val "$f" "cpu_ms.$p")
        ms=$((ms + ${v:-0}))
    done
    awk -v ms="$ms" -v s="$DURATION" 'BEGIN { printf "%.1f", ms / (s * 10) }'
}

declare -A R=()
add() { R[$1]+="$2 "; }
for ((r = 1; r <= ROUNDS; r++)); do
    for m in "${MODES[@]}"; do
        run=$(api POST /api/v1/runs '{"kind":"livelog-bench"}' -H "Authorization: Bearer $WRITE" | field id)
        [[ -n "$run" ]] || die "could not create a run"
        out=$TMP/$m-$r.txt
        log "round $r/$ROUNDS: $m ($VIEWERS viewers, $RATE events/s, ${DURATION}s)"
        if ! "$LOAD" --url "$BASE" --token "$VIEW" --project "$PROJECT" \
            --redis "redis://127.0.0.1:$RUNWATCH_REDIS_PORT" --run "$run" --write-token "$WRITE" \
            --viewer "$m" --clients "$VIEWERS" --rate "$RATE" --seconds "$DURATION" --hold 1 \
            --drain "$DRAIN" "${cpu_args[@]}" >"$out" 2>"$out.err"; then
            FAILED+=("$m round $r: $(grep -E '^(failed|closed_early|post_failed|fetch_failed|events_expected|events_received) ' "$out" | tr '\n' ' ')")
            sed 's/^/    /' "$out.err" >&2
        fi
        for k in fetches_per_s latency_p50_ms latency_p99_ms posts_per_s post_ms_mean events_missed frame_bytes_avg; do
            add "$m.$k" "$(val "$out" "$k")"
        done
        # shellcheck disable=SC2086 # word lists of pids
        {
            add "$m.hub" "$(cpu_pct "$out" "$HUB")"
            add "$m.hub_us" "$(awk -v ms="$(val "$out" "cpu_ms.$HUB")" -v f="$(val "$out" frames_received)" \
                'BEGIN { printf "%.2f", (f > 0 ? ms * 1000 / f : 0) }')"
            add "$m.nginx" "$(cpu_pct "$out" $NGINX)"
            add "$m.api" "$(cpu_pct "$out" $APIW)"
            add "$m.pg" "$(cpu_pct "$out" $PG)"
        }
    done
done

# The hub alone: frames of each size, rounds interleaved.
for ((r = 1; r <= ROUNDS; r++)); do
    for p in "${PADS[@]}"; do
        out=$TMP/pad$p-$r.txt
        log "round $r/$ROUNDS: hub, $VIEWERS streams x $RATE/s, frames padded by $p bytes"
        if ! "$LOAD" --url "$BASE" --token "$VIEW" --project "$PROJECT" \
            --redis "redis://127.0.0.1:$RUNWATCH_REDIS_PORT" --clients "$VIEWERS" --rate "$RATE" \
            --seconds "$DURATION" --hold 1 --pad "$p" --cpu-pid "$HUB" >"$out" 2>"$out.err"; then
            FAILED+=("pad $p round $r: $(grep -E '^(failed|closed_early|frames_expected|frames_received) ' "$out" | tr '\n' ' ')")
            sed 's/^/    /' "$out.err" >&2
        fi
        for k in latency_p50_ms latency_p99_ms frame_bytes_avg frames_per_s; do
            add "pad$p.$k" "$(val "$out" "$k")"
        done
        add "pad$p.hub" "$(cpu_pct "$out" "$HUB")"
        add "pad$p.hub_us" "$(awk -v ms="$(val "$out" "cpu_ms.$HUB")" -v f="$(val "$out" frames_received)" \
            'BEGIN { printf "%.2f", (f > 0 ? ms * 1000 / f : 0) }')"
    done
done

med() { # key
    local -a a
    read -r -a a <<<"${R[$1]}"
    median "${a[@]}"
}
echo
echo "Runwatch live-log benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
bench_machine
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min load average at the end: the machine is shared)"
((${#MODES[@]})) && echo "command:  sse-load --url $BASE --token … --project $PROJECT --redis … --run RUN --write-token … --viewer MODE --clients $VIEWERS --rate $RATE --seconds $DURATION --drain $DRAIN --cpu-pid …"
if ((${#MODES[@]})); then
    echo
    printf '%-7s %10s %8s %8s %8s %8s %6s %8s %7s %9s %8s %7s %7s\n' "viewer" "API req/s" "p50 ms" "p99 ms" \
        "posts/s" "POST ms" "lost" "frame B" "hub %" "hub us/fr" "nginx %" "api %" "pg %"
    for m in "${MODES[@]}"; do
        printf '%-7s %10.1f %8.1f %8.1f %8.1f %8.1f %6.0f %8.0f %7.1f %9.2f %8.1f %7.1f %7.1f\n' "$m" \
            "$(med "$m.fetches_per_s")" "$(med "$m.latency_p50_ms")" "$(med "$m.latency_p99_ms")" \
            "$(med "$m.posts_per_s")" "$(med "$m.post_ms_mean")" "$(med "$m.events_missed")" \
            "$(med "$m.frame_bytes_avg")" "$(med "$m.hub")" "$(med "$m.hub_us")" "$(med "$m.nginx")" \
            "$(med "$m.api")" "$(med "$m.pg")"
    done
    echo "medians of $ROUNDS rounds; API req/s: the viewers' requests while the producer ran; p50/p99: POST sent -> content at the viewer;"
    echo "lost: events a viewer never got (per round, all viewers); CPU: % of one core over the publishing;"
    echo "hub us/fr: the hub's CPU per frame delivered"
    for m in "${MODES[@]}"; do
        echo "per round $m: API req/s ${R[$m.fetches_per_s]}; p99 ${R[$m.latency_p99_ms]}; hub % ${R[$m.hub]}"
    done
fi
if ((${#PADS[@]})); then
    echo
    echo "command:  sse-load --url $BASE --token … --project $PROJECT --redis … --clients $VIEWERS --rate $RATE --seconds $DURATION --pad BYTES --cpu-pid $HUB"
    printf '%-22s %8s %10s %8s %8s %7s %9s\n' "hub alone, $VIEWERS x $RATE/s" "frame B" "frames/s" "p50 ms" "p99 ms" "hub %" "hub us/fr"
    for p in "${PADS[@]}"; do
        printf '%-22s %8.0f %10.0f %8.1f %8.1f %7.1f %9.2f\n' "padded by $p B" "$(med "pad$p.frame_bytes_avg")" \
            "$(med "pad$p.frames_per_s")" "$(med "pad$p.latency_p50_ms")" "$(med "pad$p.latency_p99_ms")" \
            "$(med "pad$p.hub")" "$(med "pad$p.hub_us")"
    done
    for p in "${PADS[@]}"; do
        echo "per round padded by $p: hub % ${R[pad$p.hub]}; p99 ${R[pad$p.latency_p99_ms]}"
    done
fi
if ((${#FAILED[@]})); then
    echo
    for f in "${FAILED[@]}"; do echo "FAILED: $f"; done
    exit 1
fi
