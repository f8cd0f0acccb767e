#!/usr/bin/env bash
# runs_list.sh (`make bench`): the run list where a project's newest runs all have one status.
# A private stack gets two projects of BENCH_LIST_RUNS runs each with the same mix (70%
# succeeded, 10% failed, 10% queued, 10% running; one attempt per started run); `skewed` holds
# BENCH_LIST_SKEW queued runs newer than all of them, as a busy queue makes. wrk measures, in
# interleaved rounds (BENCH_CONNECTIONS, 16):
#   return204   nginx's own `return 204` (the ceiling)
#   plain       GET /runs?status=succeeded&limit=100 in project plain
#   skewed      the same in project skewed (the planner trap: this was 4-5x slower)
#   all         GET /runs?limit=100 in plain (the default view)
#   live        GET /runs?status=running,retrying&limit=100 in skewed (a merge of two statuses)
#   duration    GET /runs?status=failed&sort=duration&limit=100 in skewed
#   page2       the page after the first of `skewed` (a cursor)
#   filtered    GET /runs?status=succeeded&kind=train&limit=100 in skewed (planned per call)
#   count       GET /runs/count in skewed (the runs page's total: 200,000 runs, capped at 10,000)
#   kinds       GET /runs/values?field=kind in skewed (a loose index scan)
#   queues      GET /runs/values?field=queue in skewed (queued runs' queues + 30 days of rollups)
# Then skewed/plain (the goal: at least 0.8), and for each target the statement the API
# runs, prepared in psql and executed as often as a worker would: its plan, buffers, and
# whether PostgreSQL settled on the generic plan (pg_prepared_statements).
# Knobs: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_CONNECTIONS (16), BENCH_LIST_RUNS
# (100000), BENCH_LIST_SKEW (100000), RUNWATCH_BIN_DIR. Figures go to docs/PERFORMANCE.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-16}
RUNS=${BENCH_LIST_RUNS:-100000}
SKEW=${BENCH_LIST_SKEW:-100000}
for v in DURATION ROUNDS CONNS RUNS SKEW; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
BIN=${RUNWATCH_BIN_DIR:-$BENCH_REPO/build/release}
[[ -x "$BIN/sqlgen" ]] || die "$BIN/sqlgen is not built (make build)"

export RUNWATCH_ADMIN_EMAIL=bench@runwatch.test
RUNWATCH_ADMIN_PASSWORD=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
export RUNWATCH_ADMIN_PASSWORD
bench_start_stack

# ---------------------------------------------------------------- seed

api POST /api/v1/auth/login "{\"email\":\"$RUNWATCH_ADMIN_EMAIL\",\"password\":\"$RUNWATCH_ADMIN_PASSWORD\"}" \
    -c "$TMP/jar" >/dev/null
declare -A TOKEN=()
for slug in plain skewed; do
    api POST /api/v1/projects "{\"slug\":\"$slug\",\"name\":\"$slug\"}" -b "$TMP/jar" >/dev/null
    TOKEN[$slug]=$(api POST "/api/v1/projects/$slug/tokens" '{"name":"bench","scopes":["read"]}' \
        -b "$TMP/jar" | field token)
    [[ "${TOKEN[$slug]}" == rw_* ]] || die "no token for $slug"
done

log "seeding $RUNS runs in each project, $SKEW newer queued runs in skewed (SQL)"
"$BENCH_STACK" psql -q -v ON_ERROR_STOP=1 -c "
    INSERT INTO runs (project_id, kind, name, queue, status, priority, input, params, tags,
                      created_at, queued_at, started_at, ended_at, last_heartbeat_at,
                      error_type, error_message)
    SELECT p.id, k, k || '-' || g, (ARRAY['default','gpu','cpu','io'])[1 + g % 4], st, g % 5,
           jsonb_build_object('dataset', 'ds-' || g % 100, 'rows', g % 10000),
           jsonb_build_object('lr', 0.001 * (1 + g % 10), 'seed', g),
           ARRAY['team-' || g % 7, 'env-dev'], c, c,
           CASE WHEN st <> 'queued' THEN c + interval '5 seconds' END,
           CASE WHEN st IN ('succeeded', 'failed', 'cancelled')
                THEN c + interval '5 seconds' + (g % 3600) * interval '1 second' END,
           CASE WHEN st IN ('running', 'retrying') THEN now() END,
           CASE WHEN st = 'failed' THEN 'RuntimeError' END,
           CASE WHEN st = 'failed' THEN 'step ' || g % 100 || ' failed' END
    FROM projects p,
         LATERAL (SELECT g, (ARRAY['train','eval','etl','export','sweep'])[1 + g % 5] AS k,
                         now() - interval '1 day' - g * interval '1 second' AS c,
                         (ARRAY['succeeded','succeeded','succeeded','succeeded','succeeded',
                                'succeeded','succeeded','failed','queued','running'])[1 + g % 10]
                         AS st
                  FROM generate_series(1, $RUNS) g) x
    WHERE p.slug IN ('plain', 'skewed');
    INSERT INTO runs (project_id, kind, name, queue, status, priority, created_at, queued_at)
    SELECT p.id, 'train', 'queued-' || g, 'busy', 'queued', g % 3,
           now() - g * interval '1 millisecond', now()
    FROM projects p, generate_series(1, $SKEW) g WHERE p.slug = 'skewed';
    INSERT INTO attempts (run_id, seq, status, created_at, started_at, ended_at,
                          last_heartbeat_at, error_type, error_message)
    SELECT id, 1, status, started_at, started_at, ended_at, coalesce(ended_at, started_at),
           error_type, error_message
    FROM runs WHERE started_at IS NOT NULL;
    SELECT runs_latest_attempt_sync(); -- the runs' copy of the attempts (docs/SQL.md)
    ANALYZE runs;
    ANALYZE attempts;" >/dev/null
# The seeding's rollup deltas are folded before measuring, as the housekeeper would.
while n=$("$BENCH_STACK" psql -qAt -c "SELECT rollup_fold(200000)") && [[ "$n" != 0 ]]; do :; done
"$BENCH_STACK" psql -q -c "VACUUM ANALYZE runs" >/dev/null

# The cursor of the skewed list's first page, for page2.
NEXT=$(curl -sS -H "Authorization: Bearer ${TOKEN[skewed]}" \
    "$BASE/api/v1/runs?status=succeeded&limit=100" | sed -n 's/.*"next_cursor" *: *"\([^"]*\)".*/\1/p')
[[ -n "$NEXT" ]] || die "no next_cursor on the first page"
NEXT_Q=$(printf '%s' "$NEXT" | sed 's/:/%3A/g; s/+/%2B/g')

# ---------------------------------------------------------------- measure

NAMES=(return204 plain skewed all live duration page2 filtered count kinds queues)
declare -A PATH_OF=(
    [plain]="/api/v1/runs?status=succeeded&limit=100"
    [skewed]="/api/v1/runs?status=succeeded&limit=100"
    [all]="/api/v1/runs?limit=100"
    [live]="/api/v1/runs?status=running,retrying&limit=100"
    [duration]="/api/v1/runs?status=failed&sort=duration&limit=100"
    [page2]="/api/v1/runs?status=succeeded&limit=100&cursor=$NEXT_Q"
    [filtered]="/api/v1/runs?status=succeeded&kind=train&limit=100"
    [count]="/api/v1/runs/count"
    [kinds]="/api/v1/runs/values?field=kind"
    [queues]="/api/v1/runs/values?field=queue"
)
measure() {
    local n=$1 out="$TMP/$1.$2.txt" d="-d${DURATION}s" tok=${TOKEN[skewed]}
    [[ $n == plain || $n == all ]] && tok=${TOKEN[plain]}
    case "$n" in
    return204) bench_wrk "$n" "$out" -t2 "-c$CONNS" "$d" "$BASE/nginx-healthz" ;;
    *) bench_wrk "$n" "$out" -t2 "-c$CONNS" "$d" -H "Authorization: Bearer $tok" "$BASE${PATH_OF[$n]}" ;;
    esac
}
# Every other round runs the targets in reverse, so no target always follows another.
for ((r = 1; r <= ROUNDS; r++)); do
    order=("${NAMES[@]}")
    if ((r % 2 == 0)); then
        for ((i = 0; i < ${#NAMES[@]}; i++)); do order[i]=${NAMES[${#NAMES[@]} - 1 - i]}; done
    fi
    for n in "${order[@]}"; do
        log "round $r/$ROUNDS: $n (${DURATION}s)"
        measure "$n" "$r"
    done
done

# ---------------------------------------------------------------- report

echo
echo "Runwatch run-list benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
bench_machine
echo "command:  wrk --latency -t2 -c$CONNS -d${DURATION}s -H 'Authorization: Bearer …' $BASE<path>"
echo "data:     $RUNS runs in plain and in skewed, + $SKEW newer queued runs in skewed"
echo "rounds:   $ROUNDS per target, interleaved, every other one in reverse order"
echo
printf '%-10s %12s %10s %10s  %s\n' "target" "median req/s" "p50" "p99" "path"
for n in "${NAMES[@]}"; do
    read -r rps p50 p99 <<<"$(bench_medians "$n")"
    printf '%-10s %12.0f %7.2f ms %7.2f ms  %s\n' "$n" "$rps" "$p50" "$p99" "${PATH_OF[$n]:-/nginx-healthz}"
done
read -r plain _ <<<"$(bench_medians plain)"
read -r skewed _ <<<"$(bench_medians skewed)"
echo
echo "skewed/plain: $(ratio "$skewed" "$plain") (the goal: at least 0.8)"
echo "per round (req/s):"
for n in "${NAMES[@]}"; do
    printf '  %-10s %s\n' "$n" "$(for x in ${RPS[$n]}; do printf '%.0f ' "$x"; done)"
done

# The statements as the API runs them: prepared, executed as a worker would (10 times, so
# PostgreSQL has chosen between its custom and generic plans), then explained once more.
echo
echo "plans (PREPARE the statement of sql/statements/runs.sql, EXECUTE 10 times, EXPLAIN once more):"
PID_SKEWED=$("$BENCH_STACK" psql -qAt -c "SELECT id FROM projects WHERE slug = 'skewed'")
PID_PLAIN=$("$BENCH_STACK" psql -qAt -c "SELECT id FROM projects WHERE slug = 'plain'")
CUR_KEY=${NEXT%~*} CUR_ID=${NEXT#*~}
explain() { # label statement args
    local label=$1 stmt=$2 args=$3 sql
    sql=$("$BIN/sqlgen" -p "$stmt" "$BENCH_REPO"/sql/statements/*.sql) || die "sqlgen -p $stmt"
    echo "  $label: $stmt($args)"
    {
        printf 'PREPARE s AS %s\n' "$sql"
        for _ in 1 2 3 4 5 6 7 8 9 10; do printf 'EXECUTE s(%s) \\g /dev/null\n' "$args"; done
        printf "SELECT 'generic plans ' || generic_plans || ', custom plans ' || custom_plans FROM pg_prepared_statements WHERE name = 's';\n"
        printf 'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE s(%s);\n' "$args"
    } | "$BENCH_STACK" psql -qAt -v ON_ERROR_STOP=1 |
        awk '/generic plans/ || /Execution Time/ || (/Buffers: shared/ && !b++) || /Scan .*on runs / {
            sub(/^ *(->)? */, ""); print "    " $0 }'
}
explain skewed run_list_created_desc_one "$PID_SKEWED, '{succeeded}', NULL, NULL, 101"
explain all run_list_created_desc_all "$PID_PLAIN, NULL, NULL, 101"
explain live run_list_created_desc "$PID_SKEWED, '{running,retrying}', NULL, NULL, 101"
explain duration run_list_duration_desc "$PID_SKEWED, '{failed}', NULL, NULL, 101"
explain page2 run_list_created_desc_one "$PID_SKEWED, '{succeeded}', '$CUR_KEY', '$CUR_ID', 101"
explain filtered run_list_created_desc_filtered \
    "$PID_SKEWED, '{succeeded}', 'train', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 101, NULL, NULL"
explain count run_count \
    "$PID_SKEWED, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 10001, NULL, NULL, NULL, NULL"
explain kinds run_kinds "$PID_SKEWED"
explain queues run_queues "$PID_SKEWED"

if ((${#FAILED[@]})); then
    echo
    for f in "${FAILED[@]}"; do echo "FAILED: $f"; done
    exit 1
fi
