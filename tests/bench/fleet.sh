#!/usr/bin/env bash
# fleet.sh (`make bench`): the fleet simulator as a load generator. On a private stack,
# runwatch-fleet runs with no pause between steps (--rate 0 --step-ms 0): every worker
# claims, beats, posts events and metric points and ends runs as fast as the server
# answers, with the realistic mix of failures, retries and cancels. Per worker count it
# records sustained runs/s (claims) and requests/s, against GET /api/v1/healthz with as
# many wrk connections as workers, measured in the same rounds (the FastCGI path with no
# database: the ceiling for any API request).
# Knobs: BENCH_FLEET_WORKERS ("8 32"), BENCH_FLEET_SECONDS (15), BENCH_ROUNDS (3),
# BENCH_FLEET_STEPS (5: steps per run), RUNWATCH_BIN_DIR. Exits non-zero when a round saw
# a 5xx or an unanswered request. Figures go to docs/PERFORMANCE.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORKER_COUNTS=${BENCH_FLEET_WORKERS:-8 32}
DURATION=${BENCH_FLEET_SECONDS:-15}
ROUNDS=${BENCH_ROUNDS:-3}
STEPS=${BENCH_FLEET_STEPS:-5}
for v in DURATION ROUNDS STEPS; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
for w in $WORKER_COUNTS; do
    [[ "$w" =~ ^[0-9]+$ ]] || die "BENCH_FLEET_WORKERS must be whole numbers, got '$w'"
done
BIN=${RUNWATCH_BIN_DIR:-$BENCH_REPO/build/release}
case "$BIN" in /*) ;; *) BIN=$BENCH_REPO/$BIN ;; esac
[[ -x "$BIN/runwatch-fleet" ]] || die "$BIN/runwatch-fleet not found (make build)"

bench_start_stack
TOKEN=$("$BIN/runwatch-api" token create --project fleet-bench --create-project --name bench) ||
    die "no token"

# A summary value of the fleet: the count ($2) or the rate ($3, without "/s").
value() { awk -v k="$1" -v c="$2" '$1 == k { v = $c; sub(/\/s$/, "", v); print v }' "$3"; }

declare -A RUNS=() REQS=()
for ((round = 1; round <= ROUNDS; round++)); do
    for w in $WORKER_COUNTS; do
        log "round $round/$ROUNDS: $w workers for ${DURATION}s"
        out=$TMP/fleet-$w-$round.txt
        RUNWATCH_URL=$BASE RUNWATCH_TOKEN=$TOKEN "$BIN/runwatch-fleet" --workers "$w" \
            --rate 0 --step-ms 0 --max-steps "$STEPS" --backlog $((4 * w)) --poll-ms 20 \
            --duration "$DURATION" --quiet --seed "$round" >"$out" 2>"$out.err" ||
            die "runwatch-fleet failed: $(cat "$out.err")"
        RUNS[$w]+="$(value runs_claimed 3 "$out") "
        REQS[$w]+="$(value requests 3 "$out") "
        bad=$(($(value http_5xx 2 "$out") + $(value transport_errors 2 "$out")))
        if ((bad)); then
            FAILED+=("fleet $w workers, round $round: $bad answers 5xx or missing")
            sed 's/^/    /' "$out" >&2
        fi
        bench_wrk "healthz-$w" "$TMP/wrk.txt" -t2 -c"$w" -d5s "$BASE/api/v1/healthz"
    done
done

echo
bench_machine
echo "fleet:    --rate 0 --step-ms 0 --max-steps $STEPS, ${DURATION}s x $ROUNDS rounds (medians)"
printf '%-8s %10s %12s %14s %10s\n' workers "runs/s" "requests/s" "healthz req/s" "ratio"
for w in $WORKER_COUNTS; do
    read -r -a rs <<<"${RUNS[$w]}"
    read -r -a qs <<<"${REQS[$w]}"
    read -r hz _ <<<"$(bench_medians "healthz-$w")"
    req=$(median "${qs[@]}")
    printf '%-8s %10.1f %12.0f %14.0f %10s\n' "$w" "$(median "${rs[@]}")" "$req" "$hz" "$(ratio "$req" "$hz")"
done
for w in $WORKER_COUNTS; do
    echo "per round, $w workers: runs/s ${RUNS[$w]% }; requests/s ${REQS[$w]% }; healthz ${RPS[healthz-$w]% }"
done
if ((${#FAILED[@]})); then
    printf 'errors: %s\n' "${FAILED[@]}" >&2
    exit 1
fi
