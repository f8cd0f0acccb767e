#!/usr/bin/env bash
# baseline.sh (`make bench`): how much of nginx's own speed survives our path to the
# API. Starts a private stack (deploy/stack.sh) on free loopback ports in a temp dir and
# measures with wrk, interleaving rounds of three targets:
#   a. /nginx-healthz   nginx's `return 204`: the ceiling, nothing behind nginx
#   b. /1k.txt          a 1 KB static file
#   c. /api/v1/healthz  through FastCGI to runwatch-api (no database)
# Reports medians and ratios to (a) from the same run: absolute numbers depend on the
# machine, the ratios much less. See docs/PERFORMANCE.md.
#
# Knobs: BENCH_SECONDS (5) per round, BENCH_ROUNDS (3), BENCH_THREADS (2),
# BENCH_CONNECTIONS (64), BENCH_WARMUP seconds (1, 0 = none), RUNWATCH_BIN_DIR.
# Exits non-zero if any round saw a non-2xx/3xx response or a socket error.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK=$REPO_DIR/deploy/stack.sh

DURATION=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}
WARMUP=${BENCH_WARMUP:-1}

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

for v in DURATION ROUNDS THREADS CONNS WARMUP; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((DURATION > 0 && ROUNDS > 0 && THREADS > 0 && CONNS >= THREADS)) ||
    die "need BENCH_SECONDS > 0, BENCH_ROUNDS > 0, BENCH_CONNECTIONS >= BENCH_THREADS > 0"
command -v wrk >/dev/null 2>&1 || die "wrk not found (deploy/install-deps.sh)"
command -v curl >/dev/null 2>&1 || die "curl not found (deploy/install-deps.sh)"

# ---------------------------------------------------------------- private stack

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rwbench.XXXXXX")
STACK_STARTED=0

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if ((STACK_STARTED)); then "$STACK" stop >/dev/null 2>&1 || log "warning: stack stop failed"; fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export RUNWATCH_VAR_DIR=$TMP/var
# shellcheck source=tests/lib/ports.sh
. "$REPO_DIR/tests/lib/ports.sh"
free_port RUNWATCH_HTTP_PORT || die "no free port"
free_port RUNWATCH_PG_PORT || die "no free port"
free_port RUNWATCH_REDIS_PORT || die "no free port"
free_port RUNWATCH_SSE_PORT || die "no free port"
export RUNWATCH_HTTP_HOST=127.0.0.1 RUNWATCH_SSE_HOST=127.0.0.1
export RUNWATCH_STATIC_DIR=$TMP/static
# The stack's own defaults for everything else (the API's worker count, log level).
unset RUNWATCH_API_SOCKET RUNWATCH_DATABASE_URL RUNWATCH_REDIS_URL

mkdir -p "$RUNWATCH_STATIC_DIR"
head -c 1024 /dev/zero | tr '\0' 'x' >"$RUNWATCH_STATIC_DIR/1k.txt"
printf '<!doctype html><title>Runwatch bench</title>\n' >"$RUNWATCH_STATIC_DIR/index.html"
chmod 0755 "$RUNWATCH_STATIC_DIR"
chmod 0644 "$RUNWATCH_STATIC_DIR"/*

# shellcheck disable=SC2153 # set by free_port above
log "starting a private stack in $TMP (http port $RUNWATCH_HTTP_PORT)"
STACK_STARTED=1
"$STACK" start

BASE=http://127.0.0.1:$RUNWATCH_HTTP_PORT
NAMES=(return204 static1k api_healthz)
declare -A PATH_OF=([return204]=/nginx-healthz [static1k]=/1k.txt [api_healthz]=/api/v1/healthz)
declare -A LABEL_OF=(
    [return204]="nginx return 204   /nginx-healthz"
    [static1k]="static 1 KB file   /1k.txt"
    [api_healthz]="runwatch-api       /api/v1/healthz"
)

# Each target must answer before it is measured: a broken target fails fast.
for n in "${NAMES[@]}"; do
    code=$(curl -sS -o "$TMP/probe.out" -w '%{http_code}' --max-time 5 "$BASE${PATH_OF[$n]}" || true)
    [[ "$code" =~ ^2 ]] || die "$BASE${PATH_OF[$n]} answered ${code:-nothing}: $(head -c 300 "$TMP/probe.out" 2>/dev/null)"
done
if [[ "$(curl -sS --max-time 5 "$BASE/1k.txt" | wc -c)" -ne 1024 ]]; then die "/1k.txt is not 1024 bytes"; fi

WRK=(wrk "-t$THREADS" "-c$CONNS" "-d${DURATION}s" --latency)

# ---------------------------------------------------------------- measure

# wrk prints latencies as 850.00us, 1.23ms, 1.01s or 2.00m: to milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n }'
}

# median of the arguments
median() {
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
        if (NR % 2) printf "%.3f", a[(NR + 1) / 2]; else printf "%.3f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

declare -A RPS=() P99=()
FAILED=()

if ((WARMUP > 0)); then
    log "warming up each target for ${WARMUP}s"
    for n in "${NAMES[@]}"; do
        wrk "-t$THREADS" "-c$CONNS" "-d${WARMUP}s" "$BASE${PATH_OF[$n]}" >/dev/null 2>&1 || true
    done
fi

for ((r = 1; r <= ROUNDS; r++)); do
    for n in "${NAMES[@]}"; do
        out=$TMP/wrk-$n-$r.txt
        log "round $r/$ROUNDS: ${PATH_OF[$n]} (${DURATION}s)"
        if ! "${WRK[@]}" "$BASE${PATH_OF[$n]}" >"$out" 2>&1; then
            sed 's/^/    /' "$out" >&2
            die "wrk failed on ${PATH_OF[$n]}"
        fi
        rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
        p99=$(awk '/Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' "$out")
        [[ -n "$rps" && -n "$p99" ]] || {
            sed 's/^/    /' "$out" >&2
            die "could not read wrk's output for ${PATH_OF[$n]}"
        }
        RPS[$n]+="$rps "
        P99[$n]+="$(to_ms "$p99") "
        bad=$(awk -F: '/Non-2xx or 3xx responses/ { gsub(/ /, "", $2); print $2 }' "$out")
        sockerr=$(awk '/Socket errors:/ { s = 0; for (i = 3; i <= NF; i++) { x = $i; gsub(/,/, "", x); if (x ~ /^[0-9]+$/) s += x } print s }' "$out")
        if [[ -n "$bad" && "$bad" != 0 ]] || [[ -n "$sockerr" && "$sockerr" != 0 ]]; then
            FAILED+=("${PATH_OF[$n]} round $r: ${bad:-0} non-2xx/3xx responses, ${sockerr:-0} socket errors")
            sed 's/^/    /' "$out" >&2
        fi
    done
done

# ---------------------------------------------------------------- report

declare -A MED_RPS=() MED_P99=()
for n in "${NAMES[@]}"; do
    read -r -a rs <<<"${RPS[$n]}"
    read -r -a ps <<<"${P99[$n]}"
    MED_RPS[$n]=$(median "${rs[@]}")
    MED_P99[$n]=$(median "${ps[@]}")
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }

workers=${RUNWATCH_API_WORKERS:-$((2 * $(nproc)))}
echo
echo "Runwatch baseline benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine:  $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown cpu)), $(uname -sr) $(uname -m)"
echo "software: $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }'), runwatch-api with $workers workers"
echo "command:  ${WRK[*]} $BASE<path>"
echo "rounds:   $ROUNDS per target, interleaved (a, b, c, a, b, c, ...), after a ${WARMUP}s warm-up each"
echo
printf '%-36s %14s %14s %14s\n' "target" "median req/s" "median p99" "vs return 204"
printf '%-36s %14s %14s %14s\n' "------------------------------------" "------------" "----------" "------------"
for n in "${NAMES[@]}"; do
    printf '%-36s %14.0f %11.2f ms %14s\n' "${LABEL_OF[$n]}" "${MED_RPS[$n]}" "${MED_P99[$n]}" \
        "$(ratio "${MED_RPS[$n]}" "${MED_RPS[return204]}")"
done
echo
echo "per round (req/s):"
for n in "${NAMES[@]}"; do
    printf '  %-16s %s\n' "$n" "$(for x in ${RPS[$n]}; do printf '%.0f ' "$x"; done)"
done
echo "ratios:   api_healthz/return204 = $(ratio "${MED_RPS[api_healthz]}" "${MED_RPS[return204]}"), static1k/return204 = $(ratio "${MED_RPS[static1k]}" "${MED_RPS[return204]}")"

if ((${#FAILED[@]})); then
    echo
    for f in "${FAILED[@]}"; do echo "FAILED: $f"; done
    exit 1
fi
