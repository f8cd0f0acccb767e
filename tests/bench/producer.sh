#!/usr/bin/env bash
# producer.sh (`make bench`): the producer API under load, against baselines from the
# same run. A private stack is seeded with a project, a write token, a worker, a run to
# log into, 1,000,000 runs for the list and 300,000 queued runs to claim, then wrk
# measures, in interleaved rounds:
#   return204   nginx's own `return 204` (the ceiling)
#   healthz     GET /api/v1/healthz (the FastCGI path, no database)
#   event1      POST one event                          (BENCH_CONNECTIONS, 16)
#   batch1000   POST a batch of 1000 events             (8 connections)
#   beat        POST a run heartbeat                    (BENCH_CONNECTIONS, 16)
#   metrics1000 POST a batch of 1000 metric points      (8 connections)
#   claim       POST /queues/bench/claim, 8 claimers    (8 connections)
#   finish      PATCH a running run to succeeded        (8 connections, a new run each)
#   claimbare, finishbare   the same with the run-counter (0008) and rollup (0009)
#               triggers disabled: what keeping the reports' aggregates costs a write
#   claimnolc, finishnolc   the same with the lifecycle triggers (runs_lifecycle,
#               attempts_lifecycle) disabled: what checking every status move costs
#   list100     GET /runs?limit=100 over 1,000,000 runs (BENCH_CONNECTIONS, 16)
#   listdur     the same, sort=duration                 (BENCH_CONNECTIONS, 16)
# Knobs: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_CONNECTIONS (16), BENCH_SEED_RUNS
# (1000000), BENCH_SEED_QUEUED (300000), BENCH_SEED_FINISH (150000 running runs to
# finish), RUNWATCH_BIN_DIR. Exits non-zero when a round
# saw errors. Figures go to docs/PERFORMANCE.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-16}
SEED_RUNS=${BENCH_SEED_RUNS:-1000000}
SEED_QUEUED=${BENCH_SEED_QUEUED:-300000}
SEED_FINISH=${BENCH_SEED_FINISH:-150000}
for v in DURATION ROUNDS CONNS SEED_RUNS SEED_QUEUED SEED_FINISH; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done

export RUNWATCH_ADMIN_EMAIL=bench@runwatch.test
RUNWATCH_ADMIN_PASSWORD=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
export RUNWATCH_ADMIN_PASSWORD
bench_start_stack

# ---------------------------------------------------------------- seed


log "seeding: project, token, worker, runs"
api POST /api/v1/auth/login "{\"email\":\"$RUNWATCH_ADMIN_EMAIL\",\"password\":\"$RUNWATCH_ADMIN_PASSWORD\"}" \
    -c "$TMP/jar" >/dev/null
api POST /api/v1/projects '{"slug":"bench","name":"Benchmark"}' -b "$TMP/jar" >/dev/null
TOKEN=$(api POST /api/v1/projects/bench/tokens '{"name":"bench","scopes":["read","write"]}' \
    -b "$TMP/jar" | field token)
[[ "$TOKEN" == rw_* ]] || die "no token"
AUTH=(-H "Authorization: Bearer $TOKEN")
WORKER=$(api POST /api/v1/workers '{"name":"bench-worker","host":"localhost"}' "${AUTH[@]}" | field id)
RUN=$(api POST /api/v1/runs '{"kind":"bench","status":"running"}' "${AUTH[@]}" | field id)
[[ -n "$WORKER" && -n "$RUN" ]] || die "seeding failed"

SQL="INSERT INTO runs (project_id, kind, name, queue, status, priority, tags, created_at,
       started_at, ended_at)
     SELECT p.id, (ARRAY['train','eval','etl','rollout'])[1 + g % 4], 'run-' || g,
            (ARRAY['default','gpu','cpu'])[1 + g % 3],
            (ARRAY['succeeded','succeeded','succeeded','failed','running','cancelled'])[1 + g % 6],
            g % 10, ARRAY['t' || (g % 50)], now() - g * interval '1 second',
            now() - g * interval '1 second' + interval '1 second',
            CASE WHEN g % 6 <> 4 THEN now() - g * interval '1 second' + interval '30 seconds' END
     FROM projects p, generate_series(1, $SEED_RUNS) g WHERE p.slug = 'bench';
     INSERT INTO runs (project_id, kind, queue, status, priority, created_at, queued_at)
     SELECT p.id, 'bench', 'bench', 'queued', g % 5, now() - g * interval '1 millisecond', now()
     FROM projects p, generate_series(1, $SEED_QUEUED) g WHERE p.slug = 'bench';
     INSERT INTO runs (project_id, kind, queue, status, created_at, queued_at, started_at)
     SELECT p.id, 'bench', 'finish', 'running', now() - interval '1 minute',
            now() - interval '1 minute', now() - g * interval '1 millisecond'
     FROM projects p, generate_series(1, $SEED_FINISH) g WHERE p.slug = 'bench';
     ANALYZE runs;"
log "seeding $SEED_RUNS runs, $SEED_QUEUED queued and $SEED_FINISH running runs with SQL"
"$BENCH_STACK" psql -q -v ON_ERROR_STOP=1 -c "$SQL" >/dev/null
# The running runs to finish, dealt into one file per finish measurement (each run ends
# once). The seeding's rollup deltas are folded before measuring.
"$BENCH_STACK" psql -qAt -c "SELECT id FROM runs WHERE queue = 'finish' ORDER BY id" >"$TMP/finish-ids"
split -n "l/$((3 * ROUNDS))" -d -a 3 "$TMP/finish-ids" "$TMP/finish-ids."
until [[ "$("$BENCH_STACK" psql -qAt -c "SELECT rollup_fold(200000)")" == 0 ]]; do :; done

printf '{"level":"info","message":"step done","data":{"step":1,"loss":0.25}}' >"$TMP/event1.json"
{
    printf '{"events":['
    for ((i = 0; i < 1000; i++)); do
        ((i)) && printf ','
        printf '{"level":"info","message":"step %d","data":{"step":%d,"loss":0.25}}' "$i" "$i"
    done
    printf ']}'
} >"$TMP/batch1000.json"
printf '{"worker_id":%s,"lease_s":3600}' "$WORKER" >"$TMP/claim.json"
printf '{"progress":0.5}' >"$TMP/beat.json"
{
    printf '{"metrics":['
    for ((i = 0; i < 1000; i++)); do
        ((i)) && printf ','
        printf '{"key":"train/loss","value":0.%d,"step":%d}' "$((i % 97 + 1))" "$i"
    done
    printf ']}'
} >"$TMP/metrics1000.json"

# ---------------------------------------------------------------- measure

LUA=$(dirname "${BASH_SOURCE[0]}")/post.lua
FINISH_LUA=$(dirname "${BASH_SOURCE[0]}")/finish.lua
NAMES=(return204 healthz event1 beat batch1000 metrics1000 claim claimbare claimnolc finish
    finishbare finishnolc list100 listdur)
declare -A LABEL_OF=(
    [return204]="nginx return 204"
    [healthz]="GET /api/v1/healthz"
    [event1]="POST 1 event"
    [beat]="POST run heartbeat"
    [metrics1000]="POST 1000 metric points"
    [listdur]="GET 100 by duration of $SEED_RUNS"
    [batch1000]="POST 1000 events (batch)"
    [claim]="POST claim, 8 claimers"
    [claimbare]="the same, no report triggers"
    [claimnolc]="the same, no lifecycle check"
    [finish]="PATCH a run to succeeded"
    [finishbare]="the same, no report triggers"
    [finishnolc]="the same, no lifecycle check"
    [list100]="GET 100 runs of $SEED_RUNS"
)
# The triggers that keep the reports' aggregates (run counters, rollups), off for the
# *bare targets only.
report_triggers() { # ENABLE|DISABLE
    "$BENCH_STACK" psql -q -v ON_ERROR_STOP=1 -c "ALTER TABLE runs $1 TRIGGER runs_report_update" >/dev/null
}
# The run lifecycle's triggers (sql/functions/25_lifecycle.sql), off for the *nolc targets.
lifecycle_triggers() { # ENABLE|DISABLE
    "$BENCH_STACK" psql -q -v ON_ERROR_STOP=1 -c "ALTER TABLE runs $1 TRIGGER runs_lifecycle" \
        -c "ALTER TABLE attempts $1 TRIGGER attempts_lifecycle" >/dev/null
}
FINISH_CHUNK=0
measure() { # name
    local n=$1 out=$TMP/wrk-$1-$r.txt d="-d${DURATION}s"
    case "$n" in
    *bare) report_triggers DISABLE ;;
    *nolc) lifecycle_triggers DISABLE ;;
    esac
    case "$n" in
    return204) bench_wrk "$n" "$out" -t2 -c64 "$d" "$BASE/nginx-healthz" ;;
    healthz) bench_wrk "$n" "$out" -t2 -c64 "$d" "$BASE/api/v1/healthz" ;;
    event1) BENCH_BODY_FILE=$TMP/event1.json BENCH_TOKEN=$TOKEN \
        bench_wrk "$n" "$out" -t2 "-c$CONNS" "$d" -s "$LUA" "$BASE/api/v1/runs/$RUN/events" ;;
    batch1000) BENCH_BODY_FILE=$TMP/batch1000.json BENCH_TOKEN=$TOKEN \
        bench_wrk "$n" "$out" -t2 -c8 "$d" -s "$LUA" "$BASE/api/v1/runs/$RUN/events" ;;
    beat) BENCH_BODY_FILE=$TMP/beat.json BENCH_TOKEN=$TOKEN \
        bench_wrk "$n" "$out" -t2 "-c$CONNS" "$d" -s "$LUA" "$BASE/api/v1/runs/$RUN/heartbeat" ;;
    metrics1000) BENCH_BODY_FILE=$TMP/metrics1000.json BENCH_TOKEN=$TOKEN \
        bench_wrk "$n" "$out" -t2 -c8 "$d" -s "$LUA" "$BASE/api/v1/runs/$RUN/metrics" ;;
    claim | claimbare | claimnolc) BENCH_BODY_FILE=$TMP/claim.json BENCH_TOKEN=$TOKEN \
        bench_wrk "$n" "$out" -t2 -c8 "$d" -s "$LUA" "$BASE/api/v1/queues/bench/claim" ;;
    finish | finishbare | finishnolc)
        BENCH_IDS_FILE=$(printf '%s.%03d' "$TMP/finish-ids" "$FINISH_CHUNK") BENCH_TOKEN=$TOKEN \
            BENCH_THREADS=2 bench_wrk "$n" "$out" -t2 -c8 "$d" -s "$FINISH_LUA" "$BASE/api/v1/runs"
        FINISH_CHUNK=$((FINISH_CHUNK + 1))
        ;;
    list100) bench_wrk "$n" "$out" -t2 "-c$CONNS" "$d" -H "Authorization: Bearer $TOKEN" \
        "$BASE/api/v1/runs?limit=100" ;;
    listdur) bench_wrk "$n" "$out" -t2 "-c$CONNS" "$d" -H "Authorization: Bearer $TOKEN" \
        "$BASE/api/v1/runs?limit=100&sort=duration" ;;
    esac
    case "$n" in
    *bare) report_triggers ENABLE ;;
    *nolc) lifecycle_triggers ENABLE ;;
    esac
}
for ((r = 1; r <= ROUNDS; r++)); do
    for n in "${NAMES[@]}"; do
        log "round $r/$ROUNDS: $n (${DURATION}s)"
        measure "$n"
    done
done

# Every claim must have found a run: a 204 would measure an empty queue.
left=$("$BENCH_STACK" psql -qAt -c "SELECT count(*) FROM runs WHERE queue = 'bench' AND status = 'queued'")
((left > 0)) || FAILED+=("claim: the queue ran dry; raise BENCH_SEED_QUEUED")

# ---------------------------------------------------------------- report

declare -A M_RPS=() M_P50=() M_P99=()
for n in "${NAMES[@]}"; do
    read -r rps p50 p99 <<<"$(bench_medians "$n")"
    M_RPS[$n]=$rps
    M_P50[$n]=$p50
    M_P99[$n]=$p99
done
echo
echo "Runwatch producer-API benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
bench_machine
echo "command:  wrk --latency -t2 -c<conns> -d${DURATION}s [-s tests/bench/post.lua] $BASE<path>"
echo "rounds:   $ROUNDS per target, interleaved; $SEED_RUNS runs + $SEED_QUEUED queued in the table"
echo
printf '%-28s %12s %10s %10s %14s\n' "target" "median req/s" "p50" "p99" "vs healthz"
printf '%-28s %12s %10s %10s %14s\n' "----------------------------" "------------" "--------" "--------" "-----------"
for n in "${NAMES[@]}"; do
    printf '%-28s %12.0f %7.2f ms %7.2f ms %14s\n' "${LABEL_OF[$n]}" "${M_RPS[$n]}" "${M_P50[$n]}" \
        "${M_P99[$n]}" "$(ratio "${M_RPS[$n]}" "${M_RPS[healthz]}")"
done
echo
printf 'batch ingest: %.0f events/s, %.0f metric points/s (1000 a request)\n' \
    "$(awk -v r="${M_RPS[batch1000]}" 'BEGIN { print r * 1000 }')" \
    "$(awk -v r="${M_RPS[metrics1000]}" 'BEGIN { print r * 1000 }')"
printf 'report triggers (0008 counters, 0009 rollups): claims at %s, run ends at %s of their rate without\n' \
    "$(ratio "${M_RPS[claim]}" "${M_RPS[claimbare]}")" "$(ratio "${M_RPS[finish]}" "${M_RPS[finishbare]}")"
printf 'lifecycle check (25_lifecycle.sql): claims at %s, run ends at %s of their rate without\n' \
    "$(ratio "${M_RPS[claim]}" "${M_RPS[claimnolc]}")" "$(ratio "${M_RPS[finish]}" "${M_RPS[finishnolc]}")"
echo "per round (req/s):"
for n in "${NAMES[@]}"; do
    printf '  %-12s %s\n' "$n" "$(for x in ${RPS[$n]}; do printf '%.0f ' "$x"; done)"
done
# The list's plans at this size: each sort walks its index (no sort of the table).
echo
echo "plans (EXPLAIN ANALYZE of the list's first page, the API's query shape):"
for key in "r.created_at" "(r.ended_at - r.started_at)"; do
    cond=""
    [[ $key == "r.created_at" ]] || cond="AND r.ended_at IS NOT NULL AND r.started_at IS NOT NULL"
    "$BENCH_STACK" psql -qAt -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON)
        SELECT run_json(r, p.slug, latest_attempt_json(r.id)) FROM runs r
        JOIN projects p ON p.id = r.project_id
        WHERE r.project_id = (SELECT id FROM projects WHERE slug = 'bench') $cond
        ORDER BY $key DESC, r.id DESC LIMIT 101" | sed 's/^/  /'
done
if ((${#FAILED[@]})); then
    echo
    for f in "${FAILED[@]}"; do echo "FAILED: $f"; done
    exit 1
fi
