#!/usr/bin/env bash
# reports.sh (`make bench`, third part): how long each built-in report takes over a
# large history, against the issue's bar of 1 s at 1,000,000 runs and 10,000,000
# events. A private stack is seeded with SQL (set-based INSERT … SELECT
# generate_series) with one project of BENCH_SEED_RUNS runs spread over 30 days (8
# kinds, 3 queues, 20 workers; 70% succeeded, 15% failed with 40 error fingerprints, 5%
# cancelled, the newest runs running or queued, some without heartbeats) and
# BENCH_SEED_EVENTS events over those runs, then each report is asked for the whole
# 30 days, one request at a time (latency, not throughput), in interleaved rounds:
#   healthz          GET /api/v1/healthz (the request path alone, the baseline)
#   metrics          GET /metrics (the Prometheus scrape: runs by project and status)
#   throughput       …/reports/throughput?window=30d&bucket=day&by=kind,status
#   durations        …/reports/durations?window=30d
#   queue_wait       …/reports/durations?window=30d&metric=queue_wait
#   failure_rate     …/reports/failure-rate?window=30d
#   fail_by_worker   …/reports/failure-rate?window=30d&by=kind,worker (not rolled up: reads the runs)
#   failure_groups   /api/v1/failure-groups?window=30d
#   group_runs       /api/v1/failure-groups/{largest group}/runs
#   anomalies        /api/v1/anomalies
# Knobs: BENCH_SEED_RUNS (1000000), BENCH_SEED_EVENTS (10000000; seeding them takes
# minutes on 2 cores), BENCH_ROUNDS (3), BENCH_REQUESTS (3 a target a round),
# BENCH_EXPLAIN (1: print EXPLAIN ANALYZE of each report's query), RUNWATCH_BIN_DIR.
# Exits non-zero when a request did not answer 200. Figures go to docs/PERFORMANCE.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
REQUESTS=${BENCH_REQUESTS:-3}
SEED_RUNS=${BENCH_SEED_RUNS:-1000000}
SEED_EVENTS=${BENCH_SEED_EVENTS:-10000000}
EXPLAIN=${BENCH_EXPLAIN:-1}
for v in ROUNDS REQUESTS SEED_RUNS SEED_EVENTS EXPLAIN; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((SEED_RUNS >= 1000)) || die "BENCH_SEED_RUNS must be at least 1000"

export RUNWATCH_ADMIN_EMAIL=bench@runwatch.test
RUNWATCH_ADMIN_PASSWORD=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
export RUNWATCH_ADMIN_PASSWORD
bench_start_stack

# ---------------------------------------------------------------- seed

psql_q() { "$BENCH_STACK" psql -qAt -v ON_ERROR_STOP=1 "$@"; }

log "seeding: project, token"
api POST /api/v1/auth/login "{\"email\":\"$RUNWATCH_ADMIN_EMAIL\",\"password\":\"$RUNWATCH_ADMIN_PASSWORD\"}" \
    -c "$TMP/jar" >/dev/null
api POST /api/v1/projects '{"slug":"bench","name":"Benchmark"}' -b "$TMP/jar" >/dev/null
TOKEN=$(api POST /api/v1/projects/bench/tokens '{"name":"bench","scopes":["read"]}' \
    -b "$TMP/jar" | field token)
[[ "$TOKEN" == rw_* ]] || die "no token"

# g = 1 is the newest run. Runs are spread evenly over 30 days; the newest 0.1% are
# still queued or running (a third of those without a heartbeat for an hour: stuck).
RUNS_SQL="
INSERT INTO workers (project_id, name, host, status)
SELECT p.id, 'bench-' || w, 'host-' || w, CASE WHEN w = 20 THEN 'stopped' ELSE 'online' END
FROM projects p, generate_series(1, 20) w WHERE p.slug = 'bench';
INSERT INTO runs (project_id, kind, name, queue, status, priority, worker_id, created_at,
                  queued_at, started_at, ended_at, last_heartbeat_at, error_type,
                  error_message, error_fingerprint)
SELECT p.id, x.kind, 'run-' || g, (ARRAY['default', 'gpu', 'cpu'])[1 + g % 3],
       x.status, g % 10, CASE WHEN x.status <> 'queued' THEN wk.first + g % 20 END,
       x.created, x.created,
       CASE WHEN x.status <> 'queued' THEN x.created + (g % 120) * interval '1 second' END,
       CASE WHEN x.status IN ('succeeded', 'failed', 'cancelled')
            THEN x.created + (g % 120 + 10 + (g * 7) % 3600) * interval '1 second' END,
       CASE WHEN x.status = 'running'
            THEN now() - CASE WHEN g % 3 = 0 THEN interval '1 hour' ELSE interval '5 seconds' END END,
       CASE WHEN x.status = 'failed' THEN 'E' || (g % 40) END,
       CASE WHEN x.status = 'failed' THEN 'failure ' || (g % 40) || ' at step ' || g END,
       CASE WHEN x.status = 'failed' THEN error_fingerprint('E' || (g % 40), 'failure ' || (g % 40) || ' at step ' || g) END
FROM projects p
CROSS JOIN (SELECT min(id) AS first FROM workers) wk
CROSS JOIN generate_series(1, $SEED_RUNS) g
CROSS JOIN LATERAL (SELECT
        (ARRAY['train', 'eval', 'etl', 'rollout', 'sweep', 'infer', 'export', 'index'])[1 + g % 8] AS kind,
        now() - (g::double precision / $SEED_RUNS) * interval '30 days' AS created,
        CASE WHEN g <= $SEED_RUNS / 1000 THEN (ARRAY['queued', 'running'])[1 + g % 2]
             WHEN g % 20 < 14 THEN 'succeeded' WHEN g % 20 < 17 THEN 'failed'
             WHEN g % 20 = 17 THEN 'cancelled' ELSE 'succeeded' END AS status) x
WHERE p.slug = 'bench';
-- Attempts that lost their lease, for the anomalies report.
INSERT INTO attempts (run_id, seq, status, worker_id, started_at, ended_at, error_type)
SELECT r.id, 1, 'failed', r.worker_id, r.started_at, r.started_at + interval '10 minutes',
       'lease_expired'
FROM runs r WHERE r.status = 'running' AND r.last_heartbeat_at < now() - interval '30 minutes';
-- The runs' copy of their latest attempt, as the statements that write attempts keep it.
SELECT runs_latest_attempt_sync();
ANALYZE workers; ANALYZE runs; ANALYZE attempts;"

# Events: SEED_EVENTS spread over the runs that started, in order of the runs (id),
# ts after the run's start; 1 in 1000 runs has an 'interrupted' event.
EVENTS_SQL="
SELECT events_ensure_partitions(date_trunc('month', now() - interval '31 days')::date, 3);
INSERT INTO events (project_id, run_id, ts, kind, level, message, data)
SELECT r.project_id, r.id, r.started_at + k * interval '1 second',
       CASE WHEN k = 1 AND r.n % 1000 = 0 THEN 'interrupted' ELSE 'log' END,
       (ARRAY['debug', 'info', 'info', 'info', 'warning', 'error'])[1 + (r.n + k) % 6],
       'step ' || k, jsonb_build_object('step', k)
FROM (SELECT id, project_id, started_at, row_number() OVER () AS n
      FROM runs WHERE started_at IS NOT NULL) r
CROSS JOIN LATERAL generate_series(1, ceil($SEED_EVENTS::numeric / $SEED_RUNS)::int) k
WHERE (r.n - 1) * ceil($SEED_EVENTS::numeric / $SEED_RUNS)::int + k <= $SEED_EVENTS;
ANALYZE events;"

t0=$(date +%s)
log "seeding $SEED_RUNS runs with SQL"
psql_q -c "$RUNS_SQL" >/dev/null
t1=$(date +%s)
log "seeding $SEED_EVENTS events with SQL (this is the slow part)"
psql_q -c "$EVENTS_SQL" >/dev/null
t2=$(date +%s)
log "seeded in $((t1 - t0)) s (runs) + $((t2 - t1)) s (events); folding the rollups"
# The seeding INSERT left its runs' starts and ends in rollup_delta (migration 0009), as
# an import would; fold them all, in the API's way but in larger batches, and time it.
folded=0
while :; do
    n=$(psql_q -c "SELECT rollup_fold(200000)")
    [[ "$n" =~ ^-?[0-9]+$ ]] || die "rollup_fold answered '$n'"
    ((n == -1)) && { sleep 0.2; continue; } # an API worker is folding
    ((n == 0)) && break
    folded=$((folded + n))
done
t3=$(date +%s)
log "folded $folded deltas in $((t3 - t2)) s; vacuuming"
psql_q -c "VACUUM (ANALYZE) runs, events, attempts, rollup_hourly, rollup_hist_daily, rollup_delta" >/dev/null
counts=$(psql_q -c "SELECT (SELECT count(*) FROM runs) || ' runs, ' || (SELECT count(*) FROM events) || ' events, ' || (SELECT count(*) FROM runs WHERE status = 'failed') || ' failed'")
FP=$(psql_q -c "SELECT error_fingerprint FROM runs WHERE status = 'failed' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
[[ "$FP" =~ ^[0-9a-f]{16}$ ]] || die "no failure group was seeded"

# ---------------------------------------------------------------- measure

NAMES=(healthz metrics throughput durations queue_wait failure_rate fail_by_worker failure_groups group_runs anomalies)
declare -A PATH_OF=(
    [healthz]="/api/v1/healthz"
    [metrics]="/metrics"
    [throughput]="/api/v1/reports/throughput?window=30d&bucket=day&by=kind,status"
    [durations]="/api/v1/reports/durations?window=30d"
    [queue_wait]="/api/v1/reports/durations?window=30d&metric=queue_wait"
    [failure_rate]="/api/v1/reports/failure-rate?window=30d"
    [fail_by_worker]="/api/v1/reports/failure-rate?window=30d&by=kind,worker"
    [failure_groups]="/api/v1/failure-groups?window=30d"
    [group_runs]="/api/v1/failure-groups/$FP/runs"
    [anomalies]="/api/v1/anomalies"
)
declare -A TIMES=()
FAILED=()

for ((r = 1; r <= ROUNDS; r++)); do
    for n in "${NAMES[@]}"; do
        log "round $r/$ROUNDS: $n"
        tok=$TOKEN # the scrape takes the stack's metrics token, not a project's
        [[ $n == metrics ]] && tok=$(<"$RUNWATCH_VAR_DIR/metrics.token")
        for ((i = 0; i < REQUESTS; i++)); do
            out=$(curl -sS -o "$TMP/body" -w '%{http_code} %{time_total}' \
                -H "Authorization: Bearer $tok" "$BASE${PATH_OF[$n]}") || die "curl $n failed"
            read -r code secs <<<"$out"
            if [[ "$code" != 200 ]]; then
                FAILED+=("$n: HTTP $code $(head -c 200 "$TMP/body")")
            fi
            TIMES[$n]+="$(awk -v s="$secs" 'BEGIN { printf "%.1f", s * 1000 }') "
        done
    done
done

# EXPLAIN ANALYZE of the statements behind the reports, as the API runs them (the
# report functions under an instance admin's grant, the window of the requests).
if ((EXPLAIN)); then
    EXPLAIN_SQL="
BEGIN;
SELECT set_config('runwatch.grant', report_grant(NULL, true, NULL, NULL, pg_backend_pid()), true) \\gset
\\echo '== throughput (by kind, status; day buckets)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM report.throughput(now() - interval '30 days', now(), interval '1 day', true, true, false, true);
\\echo '== durations'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM report.durations(now() - interval '30 days', now(), true, true, false);
\\echo '== queue wait'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM report.queue_wait(now() - interval '30 days', now(), true, true, false);
\\echo '== failure rate'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM report.failure_rate(now() - interval '30 days', now(), interval '1 day', true, true, false);
\\echo '== failure rate by worker'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM report.failure_rate(now() - interval '30 days', now(), interval '1 day', true, true, true);
\\echo '== failure groups'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM report.failure_groups(now() - interval '30 days', now()) ORDER BY runs DESC LIMIT 100;
\\echo '== anomalies'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM report.anomalies;
ROLLBACK;"
    "$BENCH_STACK" psql -q -v ON_ERROR_STOP=1 -c '\set QUIET' -f - <<<"$EXPLAIN_SQL" >"$TMP/explain.txt" 2>&1 ||
        log "warning: EXPLAIN failed (see below)"
fi

# ---------------------------------------------------------------- report

echo
echo "Runwatch reports benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
bench_machine
echo "data:     $counts (seeded in $((t1 - t0)) s + $((t2 - t1)) s; $folded rollup deltas folded in $((t3 - t2)) s)"
echo "command:  curl -s -w '%{time_total}' -H 'Authorization: Bearer …' $BASE<path>, one at a time"
echo "rounds:   $ROUNDS interleaved, $REQUESTS requests a target a round"
echo "note:     the machine may be shared with other work; read the figures with that in mind"
echo
printf '%-16s %-62s %10s %10s %8s\n' "target" "path" "median" "max" "< 1 s"
for n in "${NAMES[@]}"; do
    read -r -a ts <<<"${TIMES[$n]}"
    med=$(median "${ts[@]}")
    max=$(printf '%s\n' "${ts[@]}" | sort -g | tail -n 1)
    ok=$(awk -v m="$med" 'BEGIN { print (m < 1000) ? "yes" : "NO" }')
    printf '%-16s %-62s %7.1f ms %7.1f ms %8s\n' "$n" "${PATH_OF[$n]:0:62}" "$med" "$max" "$ok"
done
echo "per request (ms):"
for n in "${NAMES[@]}"; do printf '  %-16s %s\n' "$n" "${TIMES[$n]}"; done
if ((EXPLAIN)) && [[ -s "$TMP/explain.txt" ]]; then
    echo
    echo "EXPLAIN ANALYZE (one run each, after the rounds):"
    sed 's/^/    /' "$TMP/explain.txt"
fi
if ((${#FAILED[@]})); then
    echo
    for f in "${FAILED[@]}"; do echo "FAILED: $f"; done
    exit 1
fi
