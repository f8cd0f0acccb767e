#!/usr/bin/env bash
# api.sh (`make bench`): the API's hot endpoints under load, each against nginx's own
# `return 204` measured in the same rounds, as in the issue's side-by-side method. A
# private stack is seeded with BENCH_RUNS runs in 10 projects (bench-1..bench-10, a
# realistic status mix over 90 days) and a claim queue in a project of its own, then wrk
# (-t2 -c$BENCH_CONNECTIONS --latency) measures, interleaved round by round:
#   return204   nginx `return 204` (/nginx-healthz): the ceiling
#   healthz     GET /api/v1/healthz (the FastCGI path, no database)
#   get         GET /api/v1/runs/{id}, a random one of 10,000 of bench-3 (get.lua)
#   list        GET /api/v1/runs?status=succeeded&limit=100 with bench-3's token
#   event1      POST one event to a running run of bench-3
#   event1000   POST a batch of 1000 events (~95 KB) to the same run
#   claim       POST /api/v1/queues/bench-claim/claim; the queue (BENCH_CLAIM_QUEUE runs
#               of project bench-claims, never a listed project) is seeded again before
#               every claim round, so it never runs dry (checked)
#   claimheld   the same while another session holds a REPEATABLE READ snapshot from
#               before the round to its end (a pg_dump, a long report): the claimed runs'
#               index entries cannot be marked dead, so this shows what the walk from the
#               queue's head saves (docs/SQL.md, "The queue's head"); its ratio to claim
#               is the number to read
#   spans512    POST /v1/traces (OTLP/HTTP JSON) with 512 spans linked to the same run
#               (spans_body.awk: ~340 KB, traces of 8 spans, six attributes and an event a
#               span), trace ids new in every request (spans.lua), so all are stored
#   spans512x4  the same, the requests naming four runs in turn (one body per run): one
#               run's batches take its sequence counter one at a time (docs/PERFORMANCE.md,
#               "span ingest without json-c's tree"), so this is the rate the CPU allows
# Reported: median req/s, p50, p99, the ratio to return204, and CPU µs per request of
# nginx, runwatch-api, PostgreSQL and Redis + the hub (from /proc, the same rounds), the WAL
# PostgreSQL wrote per request (the insert position around each round, all writers), for
# the event targets PostgreSQL's and runwatch-api's CPU and the WAL per request stored (by
# the events' id sequence: both also finish requests of the warm-up inside a round), and
# for the targets whose writes share commits (the group commit: event1, claim) how many of
# their requests did and the mean group (from /metrics around each measured round).
# Knobs: BENCH_RUNS (200000; the issue's figures use 1000000), BENCH_SECONDS (5),
# BENCH_ROUNDS (3), BENCH_CONNECTIONS (64), BENCH_WARMUP (2 s a target), BENCH_CLAIM_QUEUE
# (50000), BENCH_TESTS (all of the above, space-separated), RUNWATCH_BIN_DIR,
# RUNWATCH_API_WORKERS. Exits non-zero when a round saw an error or the queue ran dry.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SEED_RUNS=${BENCH_RUNS:-200000}
DURATION=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-64}
WARMUP=${BENCH_WARMUP:-2}
CLAIM_QUEUE=${BENCH_CLAIM_QUEUE:-50000}
read -r -a NAMES <<<"${BENCH_TESTS:-return204 healthz get list event1 event1000 claim claimheld spans512 spans512x4}"
for v in SEED_RUNS DURATION ROUNDS CONNS WARMUP CLAIM_QUEUE; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((SEED_RUNS >= 100000 && DURATION > 0 && ROUNDS > 0 && CONNS >= 2)) ||
    die "need BENCH_RUNS >= 100000 (10,000 ids to get in one project), BENCH_SECONDS > 0, BENCH_ROUNDS > 0, BENCH_CONNECTIONS >= 2"
declare -A LABEL_OF=(
    [return204]="nginx return 204 (ceiling)"
    [healthz]="GET /api/v1/healthz"
    [get]="GET /runs/{id} (random of 10k)"
    [list]="GET 100 runs by status"
    [event1]="POST 1 event"
    [event1000]="POST 1000 events (batch)"
    [claim]="POST claim"
    [claimheld]="POST claim, a snapshot held"
    [spans512]="POST 512 spans (OTLP JSON)"
    [spans512x4]="POST 512 spans, 4 runs"
)
for n in "${NAMES[@]}"; do [[ -n "${LABEL_OF[$n]:-}" ]] || die "unknown test '$n' in BENCH_TESTS"; done
BIN=${RUNWATCH_BIN_DIR:-$BENCH_REPO/build/release}
case "$BIN" in /*) ;; *) BIN=$BENCH_REPO/$BIN ;; esac

bench_start_stack
psql_q() { "$BENCH_STACK" psql -qAt -v ON_ERROR_STOP=1 "$@"; }

# ---------------------------------------------------------------- seed

log "seeding $SEED_RUNS runs in 10 projects"
t0=$(date +%s)
psql_q -c "INSERT INTO projects (slug, name) SELECT 'bench-' || g, 'Bench ' || g
           FROM generate_series(1, 10) g ON CONFLICT (slug) DO NOTHING" >/dev/null
# Deterministic pseudo-random mix (md5 of the row number): 70% succeeded, 10% failed, 3%
# cancelled, 3% running, 2% retrying, 12% queued; created over 90 days; 5 kinds, 4 queues.
psql_q -c "
INSERT INTO runs (project_id, kind, name, status, queue, priority, input, params, tags,
                  created_at, queued_at, started_at, ended_at, last_heartbeat_at,
                  error_type, error_message)
SELECT pr.id, k, k || '-' || g, st, (ARRAY['default','gpu','cpu','io'])[1 + g % 4], g % 5,
       jsonb_build_object('dataset', 'ds-' || (g % 100), 'rows', g % 10000),
       jsonb_build_object('lr', 0.001 * (1 + g % 10), 'epochs', 1 + g % 20, 'seed', g),
       ARRAY['team-' || (g % 7), CASE WHEN g % 3 = 0 THEN 'env-prod' ELSE 'env-dev' END],
       c, c,
       CASE WHEN st <> 'queued' THEN c + interval '5 seconds' END,
       CASE WHEN st IN ('succeeded', 'failed', 'cancelled')
            THEN c + interval '5 seconds' + (g % 3600) * interval '1 second' END,
       CASE WHEN st IN ('running', 'retrying') THEN now() - (g % 60) * interval '1 second' END,
       CASE WHEN st = 'failed' THEN 'RuntimeError' END,
       CASE WHEN st = 'failed' THEN 'step ' || (g % 100) || ' failed' END
FROM (SELECT g, 1 + g % 10 AS p, (ARRAY['train','eval','etl','export','sweep'])[1 + g % 5] AS k,
             now() - f2 * interval '90 days' AS c,
             CASE WHEN f1 < 0.70 THEN 'succeeded' WHEN f1 < 0.80 THEN 'failed'
                  WHEN f1 < 0.83 THEN 'cancelled' WHEN f1 < 0.86 THEN 'running'
                  WHEN f1 < 0.88 THEN 'retrying' ELSE 'queued' END AS st
      FROM (SELECT g, ('x' || substr(h, 1, 8))::bit(32)::bigint / 4294967296.0 AS f1,
                      ('x' || substr(h, 9, 8))::bit(32)::bigint / 4294967296.0 AS f2
            FROM (SELECT g, md5('bench-run-' || g) AS h
                  FROM generate_series(1, $SEED_RUNS) g) a) s) x
JOIN projects pr ON pr.slug = 'bench-' || x.p" >/dev/null
TOKEN=$("$BIN/runwatch-api" token create --project bench-3 --name bench) || die "no token"
CLAIM_TOKEN=$("$BIN/runwatch-api" token create --project bench-claims --create-project \
    --name bench) || die "no claim token"
[[ "$TOKEN" == rw_* && "$CLAIM_TOKEN" == rw_* ]] || die "no token"
RUN=$(api POST /api/v1/runs '{"kind":"bench","status":"running"}' -H "Authorization: Bearer $TOKEN" |
    field id)
WORKER=$(api POST /api/v1/workers '{"name":"bench-claimer","host":"localhost"}' \
    -H "Authorization: Bearer $CLAIM_TOKEN" | field id)
[[ -n "$RUN" && -n "$WORKER" ]] || die "seeding through the API failed"
psql_q -c "SELECT r.id FROM runs r JOIN projects p ON p.id = r.project_id
           WHERE p.slug = 'bench-3' ORDER BY md5(r.id::text) LIMIT 10000" >"$TMP/ids"
[[ "$(wc -l <"$TMP/ids")" -eq 10000 ]] || die "fewer than 10,000 runs in bench-3"

# Rollup deltas the seeding left are folded now, so no measurement folds them.
fold() { until [[ "$(psql_q -c "SELECT rollup_fold(200000)")" == 0 ]]; do :; done; }
# The claim queue, afresh: the last round's runs go (with their attempts), new ones come.
seed_claims() {
    psql_q -c "DELETE FROM runs WHERE project_id = (SELECT id FROM projects WHERE slug = 'bench-claims')
                   AND kind = 'claim'" \
        -c "INSERT INTO runs (project_id, kind, name, status, queue, priority, tags, created_at, queued_at)
            SELECT p.id, 'claim', 'claim-' || g, 'queued', 'bench-claim', g % 3, ARRAY['claim'],
                   now() - ($CLAIM_QUEUE - g) * interval '1 millisecond', now()
            FROM projects p, generate_series(1, $CLAIM_QUEUE) g WHERE p.slug = 'bench-claims'" >/dev/null
    fold
    psql_q -c "ANALYZE runs" >/dev/null
}
fold
psql_q -c "VACUUM ANALYZE runs" >/dev/null
log "seeded in $(($(date +%s) - t0)) s"

printf '{"level":"info","message":"epoch 1 step 1: loss 0.2500","data":{"step":1,"loss":0.25}}' \
    >"$TMP/event1.json"
{
    printf '{"events":['
    for ((i = 0; i < 1000; i++)); do
        ((i)) && printf ','
        printf '{"level":"info","message":"epoch %d step %d: loss 0.%04d acc 0.91 lr 0.001","data":{"step":%d,"loss":0.25,"acc":0.91}}' \
            "$((i / 100))" "$i" "$((i * 7 % 10000))" "$i"
    done
    printf ']}'
} >"$TMP/event1000.json"
printf '{"worker_id":%s,"lease_s":3600}' "$WORKER" >"$TMP/claim.json"
awk -v n=512 -v run="$RUN" -v sec="$(date +%s)" -f "$(dirname "${BASH_SOURCE[0]}")/spans_body.awk" \
    >"$TMP/spans512.json"
# spans512x4: the same body for each of four runs (RUN and three more).
SPAN_BODIES=$TMP/spans512.json
for i in 2 3 4; do
    run=$(api POST /api/v1/runs '{"kind":"bench","status":"running"}' -H "Authorization: Bearer $TOKEN" |
        field id)
    [[ -n "$run" ]] || die "seeding a run for spans512x4 failed"
    awk -v n=512 -v run="$run" -v sec="$(date +%s)" -f "$(dirname "${BASH_SOURCE[0]}")/spans_body.awk" \
        >"$TMP/spans512-$i.json"
    SPAN_BODIES+=" $TMP/spans512-$i.json"
done

# Every target answers 2xx before it is measured.
probe() { # name code curl-args…
    local code
    code=$(curl -sS -o "$TMP/probe.out" -w '%{http_code}' --max-time 10 "${@:2}") || code=000
    [[ "$code" =~ ^2 ]] || die "$1 answered $code: $(head -c 300 "$TMP/probe.out")"
}
AUTH=(-H "Authorization: Bearer $TOKEN")
probe get "${AUTH[@]}" "$BASE/api/v1/runs/$(head -n 1 "$TMP/ids")"
probe list "${AUTH[@]}" "$BASE/api/v1/runs?status=succeeded&limit=100"
probe event1 "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary "@$TMP/event1.json" \
    "$BASE/api/v1/runs/$RUN/events"
sed 's/XXXXXXXX/00000000/g' "$TMP/spans512.json" >"$TMP/probe.json"
probe spans512 "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary "@$TMP/probe.json" \
    "$BASE/v1/traces"

# ---------------------------------------------------------------- measure

LIB_DIR=$(dirname "${BASH_SOURCE[0]}")
WRK=(-t2 "-c$CONNS" --timeout 10s)
# wrk_args NAME: what wrk needs for a target (ARGS), with the wrk scripts' environment.
wrk_args() {
    case "$1" in
    return204) ARGS=("$BASE/nginx-healthz") ;;
    healthz) ARGS=("$BASE/api/v1/healthz") ;;
    get) ARGS=(-s "$LIB_DIR/get.lua" "$BASE") ;;
    list) ARGS=("${AUTH[@]}" "$BASE/api/v1/runs?status=succeeded&limit=100") ;;
    event1 | event1000) ARGS=(-s "$LIB_DIR/post.lua" "$BASE/api/v1/runs/$RUN/events") ;;
    claim | claimheld) ARGS=(-s "$LIB_DIR/post.lua" "$BASE/api/v1/queues/bench-claim/claim") ;;
    spans512 | spans512x4) ARGS=(-s "$LIB_DIR/spans.lua" "$BASE/v1/traces") ;;
    esac
    export BENCH_IDS_FILE=$TMP/ids BENCH_BODY_FILE=$TMP/$1.json
    [[ $1 == claimheld ]] && BENCH_BODY_FILE=$TMP/claim.json
    unset BENCH_BODY_FILES
    [[ $1 == spans512x4 ]] && export BENCH_BODY_FILES=$SPAN_BODIES
    BENCH_TOKEN=$TOKEN
    [[ $1 == claim || $1 == claimheld ]] && BENCH_TOKEN=$CLAIM_TOKEN
    export BENCH_TOKEN
}
# group_counters: "groups grouped-requests" from /metrics, or nothing (an API without them).
group_counters() {
    bench_scrape "$BASE" | awk '/^runwatch_write_batches_total / { g = $2 }
        /^runwatch_write_batched_requests_total / { q = $2 }
        END { if (g != "") print g, q }'
}
declare -A GC_GROUPS=() GC_GROUPED=() GC_REQS=() WAL=() STORED=()
# snapshot_hold / snapshot_release: a session holding a REPEATABLE READ snapshot (claimheld),
# started once its snapshot is taken (polled: no sleep guesses), then its sleep cancelled.
HOLDER=
snapshot_hold() {
    "$BENCH_STACK" psql -qAt -c "BEGIN ISOLATION LEVEL REPEATABLE READ" \
        -c "SELECT count(*) FROM projects" -c "SELECT pg_sleep(3600) AS bench_snapshot_hold" \
        -c "COMMIT" >/dev/null 2>&1 &
    HOLDER=$!
    until [[ "$(psql_q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_xmin IS NOT NULL
                            AND query LIKE '%bench_snapshot_hold%' AND pid <> pg_backend_pid()")" == 1 ]]; do
        kill -0 "$HOLDER" 2>/dev/null || die "the snapshot holder ended early"
        sleep 0.1
    done
}
snapshot_release() {
    psql_q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%bench_snapshot_hold%'
               AND pid <> pg_backend_pid()" >/dev/null
    wait "$HOLDER" 2>/dev/null || true
    HOLDER=
}
measure() { # name round
    local n=$1 left g0 q0 g1 q1 w0 w1 e0 e1
    wrk_args "$n"
    if [[ $n == claim* ]]; then seed_claims; fi
    if ((WARMUP > 0)); then
        wrk "${WRK[@]}" "-d${WARMUP}s" "${ARGS[@]}" >/dev/null 2>&1 || true
        if [[ $n == claim* ]]; then seed_claims; fi
    fi
    if [[ $n == claimheld ]]; then snapshot_hold; fi
    read -r g0 q0 <<<"$(group_counters)" || true
    w0=$(psql_q -c "SELECT pg_current_wal_insert_lsn()")
    e0=$(psql_q -c "SELECT last_value FROM events_id_seq")
    bench_cpu_begin
    bench_wrk "$n" "$TMP/wrk-$n-$2.txt" "${WRK[@]}" "-d${DURATION}s" "${ARGS[@]}"
    bench_cpu_end "$n"
    if [[ $n == claimheld ]]; then snapshot_release; fi
    w1=$(psql_q -c "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$w0')")
    e1=$(psql_q -c "SELECT last_value FROM events_id_seq")
    WAL[$n]+="$(awk -v w="$w1" -v r="$BENCH_LAST_REQUESTS" 'BEGIN { printf "%.0f", w / (r > 0 ? r : 1) }') "
    # Event targets, per request stored rather than answered: a queue deeper than the
    # workers (-c64, 4 workers, 1000-event batches) carries requests of the warm-up into
    # the round, which the database works on but wrk does not count.
    if [[ $n == event1 || $n == event1000 ]]; then
        local per=1 pg api
        [[ $n == event1000 ]] && per=1000
        read -r -a pg <<<"${CPU[$n:postgres]}"
        read -r -a api <<<"${CPU[$n:api]}"
        STORED[$n]+="$(awk -v w="$w1" -v c="${pg[-1]}" -v a="${api[-1]}" -v r="$BENCH_LAST_REQUESTS" \
            -v s="$(((e1 - e0) / per))" 'BEGIN { if (s < 1) s = 1
                printf "%.0f/%.0f/%.0f/%.0f", c * r / s, w / s, s, a * r / s }') "
    fi
    read -r g1 q1 <<<"$(group_counters)" || true
    if [[ -n "$g0" && -n "$g1" ]]; then
        GC_GROUPS[$n]=$((${GC_GROUPS[$n]:-0} + g1 - g0))
        GC_GROUPED[$n]=$((${GC_GROUPED[$n]:-0} + q1 - q0))
        GC_REQS[$n]=$((${GC_REQS[$n]:-0} + BENCH_LAST_REQUESTS))
    fi
    if [[ $n == claim* ]]; then
        left=$(psql_q -c "SELECT count(*) FROM runs WHERE queue = 'bench-claim' AND status = 'queued'")
        ((left > 0)) || FAILED+=("claim round $2: the queue ran dry; raise BENCH_CLAIM_QUEUE")
    fi
}
for ((r = 1; r <= ROUNDS; r++)); do
    for n in "${NAMES[@]}"; do
        log "round $r/$ROUNDS: $n (${DURATION}s)"
        measure "$n" "$r"
    done
done

# ---------------------------------------------------------------- report

have204=0
for n in "${NAMES[@]}"; do [[ $n == return204 ]] && have204=1; done
echo
echo "Runwatch API benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
bench_machine
echo "command:  wrk ${WRK[*]} -d${DURATION}s --latency [-s tests/bench/{get,post,spans}.lua] $BASE<path>"
echo "rounds:   $ROUNDS per target, interleaved, each after a ${WARMUP}s warm-up; $SEED_RUNS runs in 10 projects"
echo
printf '%-32s %10s %9s %9s %9s   %s\n' "target" "req/s" "p50 ms" "p99 ms" "vs 204" \
    "CPU us/request: nginx api postgres redis+hub; WAL bytes/request"
for n in "${NAMES[@]}"; do
    read -r rps p50 p99 <<<"$(bench_medians "$n")"
    [[ $n == return204 ]] && R204=$rps
    cpu=""
    for c in "${BENCH_COMPONENTS[@]}"; do cpu+=$(printf ' %6.0f' "$(bench_cpu_median "$n" "$c")"); done
    read -r -a wal <<<"${WAL[$n]}"
    printf '%-32s %10.0f %9.2f %9.2f %9s  %s %9.0f\n' "${LABEL_OF[$n]}" "$rps" "$p50" "$p99" \
        "$( ((have204)) && ratio "$rps" "$R204" || echo -)" "$cpu" "$(median "${wal[@]}")"
done
for n in "${NAMES[@]}"; do
    [[ $n == event1000 ]] && printf 'batch ingest: %.0f events/s\n' \
        "$(awk -v r="$(bench_medians event1000 | cut -d' ' -f1)" 'BEGIN { print r * 1000 }')"
    [[ $n == spans512 ]] && printf 'span ingest: %.0f spans/s\n' \
        "$(awk -v r="$(bench_medians spans512 | cut -d' ' -f1)" 'BEGIN { print r * 512 }')"
    [[ $n == spans512x4 ]] && printf 'span ingest, 4 runs: %.0f spans/s\n' \
        "$(awk -v r="$(bench_medians spans512x4 | cut -d' ' -f1)" 'BEGIN { print r * 512 }')"
    if [[ -n "${STORED[$n]:-}" ]]; then
        read -r -a st <<<"${STORED[$n]}"
        pgs=() wals=() ns=() apis=()
        for x in "${st[@]}"; do
            IFS=/ read -r a b c d <<<"$x"
            pgs+=("$a") wals+=("$b") ns+=("$c") apis+=("$d")
        done
        printf '%s per request stored (%s a round): PostgreSQL %.0f us, runwatch-api %.0f us, WAL %.0f bytes\n' \
            "$n" "$(IFS=' '; echo "${ns[*]}")" "$(median "${pgs[@]}")" "$(median "${apis[@]}")" \
            "$(median "${wals[@]}")"
    fi
done
for n in "${NAMES[@]}"; do
    if [[ -n "${GC_GROUPS[$n]:-}" && "${GC_GROUPS[$n]}" -gt 0 ]]; then
        printf 'group commit, %s: %s of %s requests (%.0f%%) in %s groups, %.1f a group\n' "$n" \
            "${GC_GROUPED[$n]}" "${GC_REQS[$n]}" \
            "$(awk -v a="${GC_GROUPED[$n]}" -v b="${GC_REQS[$n]}" 'BEGIN { print (b > 0 ? 100 * a / b : 0) }')" \
            "${GC_GROUPS[$n]}" "$(awk -v a="${GC_GROUPED[$n]}" -v b="${GC_GROUPS[$n]}" 'BEGIN { print a / b }')"
    fi
done
# Peak resident memory of the API's processes (master and workers), summed, after all
# rounds: the issue's memory goal.
hwm=0
for p in $(bench_component_pids api); do
    kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
    hwm=$((hwm + ${kb:-0}))
done
printf 'peak RSS of the API processes: %.1f MiB\n' "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')"
echo "per round (req/s):"
for n in "${NAMES[@]}"; do
    printf '  %-10s %s\n' "$n" "$(for x in ${RPS[$n]}; do printf '%.0f ' "$x"; done)"
done
if ((${#FAILED[@]})); then
    echo
    for f in "${FAILED[@]}"; do echo "FAILED: $f"; done
    exit 1
fi
