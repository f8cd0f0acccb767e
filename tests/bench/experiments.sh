#!/usr/bin/env bash
# experiments.sh (`make bench`): what the launchers' reconcile poll costs with 1,000
# experiments in a project (api/experiments.c, sql/statements/experiments.sql). A private
# stack, a project of 1,000 experiments seeded in SQL: 500 wanting to run (250 with an
# active run, 250 needing a launch), 400 stopped (100 with an active run: a stop), 100
# terminated (never reported: a terminate); then wrk, interleaved round by round:
#   healthz     GET /api/v1/healthz (the FastCGI path, no database): the same-run baseline
#   reconcile   GET /api/v1/experiments/reconcile?launcher=bench&limit=1000 (450 items)
#   reconcile100  the same with limit=100 (the first 100 of them)
#   list100     GET /api/v1/experiments?limit=100 (the list, newest first)
# Reported: median calls/s, p50, p99, and CPU µs per call of nginx, runwatch-api,
# PostgreSQL and Redis + the hub (from /proc, the same rounds). Measured, never asserted.
# Knobs: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_CONNECTIONS (16), BENCH_WARMUP (1),
# RUNWATCH_BIN_DIR. Figures: docs/PERFORMANCE.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN=${RUNWATCH_BIN_DIR:-$BENCH_REPO/build/release}
DURATION=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-16}
WARMUP=${BENCH_WARMUP:-1}
for v in DURATION ROUNDS CONNS WARMUP; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done

bench_start_stack
TOKEN=$("$BIN/runwatch-api" token create --project bench-exp --create-project --name bench) ||
    die "no token"
[[ "$TOKEN" == rw_* ]] || die "no token"
"$BENCH_STACK" psql -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO experiments (project_id, name, flags, kind, queue, tags, desired_state)
SELECT p.id, 'exp-' || i, jsonb_build_object('nodes', 1 + i % 4, 'lr', 0.001 * (1 + i % 3),
    'model', jsonb_build_object('layers', 6 * (1 + i % 4), 'act', (ARRAY['relu', 'gelu'])[1 + i % 2])),
    'train', 'gpu', ARRAY['bench'],
    CASE WHEN i <= 500 THEN 'running' WHEN i <= 900 THEN 'stopped' ELSE 'terminated' END
FROM projects p, generate_series(1, 1000) i WHERE p.slug = 'bench-exp';
INSERT INTO runs (project_id, experiment_id, kind, queue, status, started_at)
SELECT e.project_id, e.id, 'train', 'gpu', 'running', now()
FROM experiments e
WHERE e.project_id = (SELECT id FROM projects WHERE slug = 'bench-exp')
  AND ((split_part(e.name, '-', 2)::int BETWEEN 1 AND 250)
       OR (split_part(e.name, '-', 2)::int BETWEEN 501 AND 600));
ANALYZE experiments, runs;
SQL
n=$(curl -sS -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/experiments/reconcile?launcher=bench&limit=1000" |
    grep -o '"action" *: *"[a-z]*"' | sort | uniq -c | tr -s ' ' | tr '\n' ';')
log "reconcile answers: $n"

NAMES=(healthz reconcile reconcile100 list100)
declare -A PATH_OF=(
    [healthz]=/api/v1/healthz
    [reconcile]="/api/v1/experiments/reconcile?launcher=bench&limit=1000"
    [reconcile100]="/api/v1/experiments/reconcile?launcher=bench&limit=100"
    [list100]="/api/v1/experiments?limit=100"
)
WRK=(-t2 "-c$CONNS" -H "Authorization: Bearer $TOKEN")
for ((r = 1; r <= ROUNDS; r++)); do
    for t in "${NAMES[@]}"; do
        log "round $r/$ROUNDS: $t (${DURATION}s)"
        if ((WARMUP > 0)); then wrk "${WRK[@]}" "-d${WARMUP}s" "$BASE${PATH_OF[$t]}" >/dev/null 2>&1 || true; fi
        bench_cpu_begin
        bench_wrk "$t" "$TMP/wrk-$t-$r.txt" "${WRK[@]}" "-d${DURATION}s" "$BASE${PATH_OF[$t]}"
        bench_cpu_end "$t"
    done
done

echo
echo "Runwatch experiments benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
bench_machine
echo "command:  wrk -t2 -c$CONNS -d${DURATION}s --latency -H 'Authorization: Bearer …' $BASE<path>"
echo "rounds:   $ROUNDS per target, interleaved, each after a ${WARMUP}s warm-up; 1,000 experiments ($n)"
echo
printf '%-14s %10s %9s %9s   %s\n' "target" "calls/s" "p50 ms" "p99 ms" "CPU us/call: nginx api postgres redis+hub"
for t in "${NAMES[@]}"; do
    read -r rps p50 p99 <<<"$(bench_medians "$t")"
    cpu=""
    for c in "${BENCH_COMPONENTS[@]}"; do cpu+=$(printf ' %7.0f' "$(bench_cpu_median "$t" "$c")"); done
    printf '%-14s %10.0f %9.2f %9.2f  %s\n' "$t" "$rps" "$p50" "$p99" "$cpu"
done
if ((${#FAILED[@]})); then
    printf 'bench: FAILED: %s\n' "${FAILED[@]}" >&2
    exit 1
fi
