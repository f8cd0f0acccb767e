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

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}
WARMUP=${BENCH_WARMUP:-1}

for v in DURATION ROUNDS THREADS CONNS WARMUP; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((DURATION > 0 && ROUNDS > 0 && THREADS > 0 && CONNS >= THREADS)) ||
    die "need BENCH_SECONDS > 0, BENCH_ROUNDS > 0, BENCH_CONNECTIONS >= BENCH_THREADS > 0"

bench_start_stack

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

WRK=(wrk "-t$THREADS" "-c$CONNS" "-d${DURATION}s")

# ---------------------------------------------------------------- measure

if ((WARMUP > 0)); then
    log "warming up each target for ${WARMUP}s"
    for n in "${NAMES[@]}"; do
        wrk "-t$THREADS" "-c$CONNS" "-d${WARMUP}s" "$BASE${PATH_OF[$n]}" >/dev/null 2>&1 || true
    done
fi

for ((r = 1; r <= ROUNDS; r++)); do
    for n in "${NAMES[@]}"; do
        log "round $r/$ROUNDS: ${PATH_OF[$n]} (${DURATION}s)"
        bench_wrk "$n" "$TMP/wrk-$n-$r.txt" "${WRK[@]:1}" "$BASE${PATH_OF[$n]}"
    done
done

# ---------------------------------------------------------------- report

declare -A MED_RPS=() MED_P99=()
for n in "${NAMES[@]}"; do
    read -r rps _ p99 <<<"$(bench_medians "$n")"
    MED_RPS[$n]=$rps
    MED_P99[$n]=$p99
done

echo
echo "Runwatch baseline benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
bench_machine
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
