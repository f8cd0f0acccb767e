#!/usr/bin/env bash
# ident.sh: what the identity cache (RUNWATCH_AUTH_CACHE_S) saves. Two private stacks run
# side by side, identical but for the cache: "off" (0) and "on" (BENCH_CACHE_S, 5). Each
# is seeded with a project, a read-write token and a run; then, BENCH_ROUNDS times, each
# target is measured on both back to back (the order alternating), so the two sides of a
# pair share the machine's load of that moment. wrk sends as the token:
#   get       GET /api/v1/runs/{run}        (BENCH_CONNECTIONS, 16)
#   event1    POST one event                (BENCH_CONNECTIONS, 16)
#   get_c1, event1_c1   the same on one connection (latency without queueing)
# For each measurement it also records PostgreSQL's and runwatch-api's CPU per request
# (utime + stime of their processes, /proc) and the identity lookups answered from the
# caches (runwatch_auth_cache_lookups_total, /metrics). The per-pair ratios are the
# figure to read on a busy machine.
# Knobs: BENCH_SECONDS (3), BENCH_ROUNDS (8), BENCH_CONNECTIONS (16), BENCH_CACHE_S (5),
# RUNWATCH_BIN_DIR. Exits non-zero when a round saw errors. Figures go to
# docs/PERFORMANCE.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-8}
CONNS=${BENCH_CONNECTIONS:-16}
CACHE_S=${BENCH_CACHE_S:-5}
for v in DURATION ROUNDS CONNS CACHE_S; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((CACHE_S > 0)) || die "BENCH_CACHE_S must be above 0 (the \"on\" side)"

export RUNWATCH_ADMIN_EMAIL=bench@runwatch.test
RUNWATCH_ADMIN_PASSWORD=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
export RUNWATCH_ADMIN_PASSWORD

# The "off" stack is lib.sh's; the "on" stack gets a private directory and ports of its
# own, its settings kept in a file for its start and stop.
export RUNWATCH_AUTH_CACHE_S=0
bench_start_stack
ON_ENV=$TMP/on.env
(
    private_stack rwbench-on || exit 1
    mkdir -p "$stack_dir/static"
    cp "$RUNWATCH_STATIC_DIR"/* "$stack_dir/static/"
    chmod 0755 "$stack_dir/static"
    printf 'export RUNWATCH_STATIC_DIR=%q RUNWATCH_AUTH_CACHE_S=%q ON_DIR=%q\n' \
        "$stack_dir/static" "$CACHE_S" "$stack_dir"
    for v in RUNWATCH_VAR_DIR RUNWATCH_HTTP_PORT RUNWATCH_PG_PORT RUNWATCH_REDIS_PORT \
        RUNWATCH_SSE_PORT; do
        printf 'export %s=%q\n' "$v" "${!v}"
    done
) >"$ON_ENV" || die "no private directory or free port for the second stack"
on_stack() { # stack.sh arguments, run against the "on" stack
    (
        # shellcheck disable=SC1090
        . "$ON_ENV"
        "$BENCH_STACK" "$@"
    )
}
ident_cleanup() {
    local rc=$?
    on_stack stop >/dev/null 2>&1 || log "warning: stopping the second stack failed"
    # shellcheck disable=SC1090
    rm -rf "$(. "$ON_ENV" && printf '%s' "$ON_DIR")"
    set +e
    (exit "$rc") # bench_cleanup exits with the status it finds
    bench_cleanup
}
trap ident_cleanup EXIT
log "starting the second stack (cache on)"
on_stack start >/dev/null || die "the second stack did not start"
# shellcheck disable=SC1090
ON_VAR=$(. "$ON_ENV" && printf '%s' "$RUNWATCH_VAR_DIR")
# shellcheck disable=SC1090
ON_BASE=http://127.0.0.1:$(. "$ON_ENV" && printf '%s' "$RUNWATCH_HTTP_PORT")

declare -A BASE_OF=([off]=$BASE [on]=$ON_BASE) VAR_OF=([off]=$RUNWATCH_VAR_DIR [on]=$ON_VAR)
declare -A TOKEN_OF=() RUN_OF=()
for side in off on; do
    log "seeding the $side stack: project, token, run"
    BASE=${BASE_OF[$side]}
    api POST /api/v1/auth/login "{\"email\":\"$RUNWATCH_ADMIN_EMAIL\",\"password\":\"$RUNWATCH_ADMIN_PASSWORD\"}" \
        -c "$TMP/jar-$side" >/dev/null
    api POST /api/v1/projects '{"slug":"bench","name":"Benchmark"}' -b "$TMP/jar-$side" >/dev/null
    TOKEN_OF[$side]=$(api POST /api/v1/projects/bench/tokens '{"name":"bench","scopes":["read","write"]}' \
        -b "$TMP/jar-$side" | field token)
    [[ "${TOKEN_OF[$side]}" == rw_* ]] || die "no token"
    RUN_OF[$side]=$(api POST /api/v1/runs '{"kind":"bench","status":"running"}' \
        -H "Authorization: Bearer ${TOKEN_OF[$side]}" | field id)
    [[ -n "${RUN_OF[$side]}" ]] || die "seeding failed"
    # Warm-up: every worker connects and prepares.
    wrk -t2 "-c$CONNS" -d1s -H "Authorization: Bearer ${TOKEN_OF[$side]}" \
        "$BASE/api/v1/runs/${RUN_OF[$side]}" >/dev/null
done
printf '{"level":"info","message":"step done","data":{"step":1,"loss":0.25}}' >"$TMP/event1.json"
LUA=$(dirname "${BASH_SOURCE[0]}")/post.lua
TICK=$(getconf CLK_TCK)

# cpu_ticks PIDFILE: utime + stime of the process in PIDFILE and of its children.
cpu_ticks() {
    local top p
    top=$(head -n 1 "$1")
    for p in $top $(pgrep -P "$top"); do
        awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true
    done | awk '{ s += $1 } END { print s + 0 }'
}

lookups() { # BASE VAR: "hits misses" from /metrics
    bench_scrape "$1" "$2" | awk '
        /^runwatch_auth_cache_lookups_total\{result="hit"\}/ { h = $2 }
        /^runwatch_auth_cache_lookups_total\{result="miss"\}/ { m = $2 }
        END { print h + 0, m + 0 }'
}

NAMES=(get event1 get_c1 event1_c1)
declare -A LABEL_OF=(
    [get]="GET a run, -c$CONNS"
    [event1]="POST 1 event, -c$CONNS"
    [get_c1]="GET a run, -c1"
    [event1_c1]="POST 1 event, -c1"
)
declare -A PGUS=() APIUS=() HITPCT=() RATIOS=()

measure() { # name side
    local n=$1 side=$2 key="$1@$2" out="$TMP/$1-$2-$r.txt" pg0 api0 pg1 api1 h0 m0 h1 m1 reqs
    local d="-d${DURATION}s" base=${BASE_OF[$2]} var=${VAR_OF[$2]} token=${TOKEN_OF[$2]}
    local run=${RUN_OF[$2]}
    read -r h0 m0 <<<"$(lookups "$base" "$var")"
    pg0=$(cpu_ticks "$var/pg/postmaster.pid")
    api0=$(cpu_ticks "$var/run/api.pid")
    case "$n" in
    get) bench_wrk "$key" "$out" -t2 "-c$CONNS" "$d" -H "Authorization: Bearer $token" \
        "$base/api/v1/runs/$run" ;;
    get_c1) bench_wrk "$key" "$out" -t1 -c1 "$d" -H "Authorization: Bearer $token" \
        "$base/api/v1/runs/$run" ;;
    event1) BENCH_BODY_FILE=$TMP/event1.json BENCH_TOKEN=$token \
        bench_wrk "$key" "$out" -t2 "-c$CONNS" "$d" -s "$LUA" "$base/api/v1/runs/$run/events" ;;
    event1_c1) BENCH_BODY_FILE=$TMP/event1.json BENCH_TOKEN=$token \
        bench_wrk "$key" "$out" -t1 -c1 "$d" -s "$LUA" "$base/api/v1/runs/$run/events" ;;
    esac
    pg1=$(cpu_ticks "$var/pg/postmaster.pid")
    api1=$(cpu_ticks "$var/run/api.pid")
    read -r h1 m1 <<<"$(lookups "$base" "$var")"
    reqs=$(awk '/requests in/ { print $1 }' "$out")
    PGUS[$key]+="$(awk -v t="$((pg1 - pg0))" -v n="$reqs" -v k="$TICK" 'BEGIN { printf "%.1f", t * 1e6 / k / n }') "
    APIUS[$key]+="$(awk -v t="$((api1 - api0))" -v n="$reqs" -v k="$TICK" 'BEGIN { printf "%.1f", t * 1e6 / k / n }') "
    HITPCT[$key]+="$(awk -v h="$((h1 - h0))" -v m="$((m1 - m0))" 'BEGIN { printf "%.1f", (h + m) ? 100 * h / (h + m) : 0 }') "
}

flip=0
for ((r = 1; r <= ROUNDS; r++)); do
    log "round $r/$ROUNDS"
    for n in "${NAMES[@]}"; do
        sides=(off on)
        ((flip++ % 2)) && sides=(on off)
        for side in "${sides[@]}"; do
            measure "$n" "$side"
        done
        read -r -a offs <<<"${RPS[$n@off]}"
        read -r -a ons <<<"${RPS[$n@on]}"
        RATIOS[$n]+="$(ratio "${ons[-1]}" "${offs[-1]}") "
    done
done

med() { # a list of numbers
    local -a xs
    read -r -a xs <<<"$1"
    median "${xs[@]}"
}

echo
echo "Runwatch identity cache, off (RUNWATCH_AUTH_CACHE_S=0) vs on (=$CACHE_S), $(date -u +%Y-%m-%dT%H:%MZ)"
bench_machine
echo "command:  wrk --latency -t2 -c$CONNS (or -t1 -c1) -d${DURATION}s [-s tests/bench/post.lua] <stack><path>"
echo "rounds:   $ROUNDS pairs a target, off and on back to back (order alternating), two stacks side by side"
echo
printf '%-22s %5s %10s %9s %9s %10s %11s %9s\n' target cache "req/s" p50 p99 "PG µs/req" "API µs/req" "hits"
for n in "${NAMES[@]}"; do
    for side in off on; do
        read -r rps p50 p99 <<<"$(bench_medians "$n@$side")"
        printf '%-22s %5s %10.0f %6.2f ms %6.2f ms %10.0f %11.0f %8.1f%%\n' "${LABEL_OF[$n]}" "$side" \
            "$rps" "$p50" "$p99" "$(med "${PGUS[$n@$side]}")" "$(med "${APIUS[$n@$side]}")" \
            "$(med "${HITPCT[$n@$side]}")"
    done
    printf '%-22s %5s %10s  (median of the pairs; pairs: %s)\n' "" "on/off" "$(med "${RATIOS[$n]}")" \
        "${RATIOS[$n]}"
done
echo "per round (req/s, p50 ms):"
for n in "${NAMES[@]}"; do
    for side in off on; do
        printf '  %-10s %-4s %s| %s\n' "$n" "$side" "$(for x in ${RPS[$n@$side]}; do printf '%.0f ' "$x"; done)" \
            "${P50[$n@$side]}"
    done
done
if ((${#FAILED[@]})); then
    echo
    for f in "${FAILED[@]}"; do echo "FAILED: $f"; done
    exit 1
fi
