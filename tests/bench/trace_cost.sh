#!/usr/bin/env bash
# trace_cost.sh: what one 5,000-span trace answer (GET /api/v1/traces/{id}) costs each
# process, in the full form against the lean one (?form=lean). A private stack; the trace of
# tests/bench/trace_paint.mjs (one round of it stores the trace and loads the dashboard once);
# then the read statement alone in PostgreSQL (build/release/stmt-cost: span_json, against
# span_json_lean with the resource and scope as columns, against the span's plain columns in
# binary as span_trace answers them since the API writes the span JSON, spanjson.c), and
# BENCH_ROUNDS rounds alternating the two forms, 10 requests a round through nginx with gzip
# asked as a browser asks: the wall time and the CPU per request of nginx, the API workers
# and PostgreSQL. Old binaries against new: run it once with each RUNWATCH_BIN_DIR,
# alternating. Measured, never asserted. Needs `make frontend` and stmt-cost in
# RUNWATCH_BIN_DIR. Figures: docs/PERFORMANCE.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-7}
STMT_COST=${RUNWATCH_BIN_DIR:-$BENCH_REPO/build/release}/stmt-cost
[[ -x "$STMT_COST" ]] || die "$STMT_COST is not built (make $STMT_COST)"

bench_start_dashboard_stack "${BENCH_DIST:-}"
BENCH_URL=$BASE BENCH_TRACE_SPANS=5000 BENCH_ROUNDS=1 BENCH_FRAMES=2 \
    node "$BENCH_REPO/tests/bench/trace_paint.mjs" >/dev/null

D=$TMP/trace_cost
mkdir -p "$D"
P=$("$BENCH_STACK" psql -Atc "SELECT project_id || '|' || encode(trace_id, 'hex') FROM spans LIMIT 1")
TR=${P#*|}
# The span_trace statement: json_build_object of the span (span_json), of the span less its
# resource and scope (span_json_lean), and the plain columns in binary (span_columns).
cols_bin='s.trace_id, s.span_id, s.parent_span_id, s.trace_state, s.flags, s.name, s.kind,
    s.start_ns, s.end_ns, s.start_at, s.status_code, s.status_message, s.attributes,
    s.dropped_attributes_count, s.events, s.dropped_events_count, s.links,
    s.dropped_links_count, ro.body AS resource, so.body AS scope, s.run_id, s.attempt_seq,
    s.sequence_id, s.received_at'
for f in full lean columns; do
    cols='span_json(s)' fmt=''
    [[ $f == lean ]] && cols='span_json_lean(s), ro.body, so.body'
    [[ $f == columns ]] && cols=$cols_bin fmt=$'-- format: binary\n'
    printf -- "-- params: %s|10001\n%sSELECT %s FROM spans s JOIN span_origins ro ON ro.id = s.resource_id JOIN span_origins so ON so.id = s.scope_id WHERE s.project_id = \$1::bigint AND s.trace_id = decode(\$2, 'hex') ORDER BY s.start_ns, s.span_id LIMIT \$3;\n" \
        "$P" "$fmt" "$cols" >"$D/$f.sql"
done
# (over the stack's socket: inet_server_port() is NULL there)
PORT=$("$BENCH_STACK" psql -c '\conninfo' | grep -o 'port "[0-9]*"' | tr -dc 0-9)
"$STMT_COST" "host=$TMP/var/run port=$PORT dbname=runwatch user=runwatch" 5 9 "$D/full.sql" "$D/lean.sql" \
    "$D/columns.sql"

JAR=$D/cookies
curl -s -c "$JAR" -H 'Content-Type: application/json' -H 'X-Runwatch-CSRF: 1' \
    --data "{\"email\":\"$RUNWATCH_ADMIN_EMAIL\",\"password\":\"$RUNWATCH_ADMIN_PASSWORD\"}" \
    "$BASE/api/v1/auth/login" >/dev/null
get() { curl -s -b "$JAR" -H 'Accept-Encoding: gzip' "$@"; }
for f in full lean; do
    get -o /dev/null -w "$f: %{http_code}, %{size_download} bytes gzip" "$BASE/api/v1/traces/$TR?project=bench&form=$f"
    echo ", $(get --compressed "$BASE/api/v1/traces/$TR?project=bench&form=$f" | wc -c) bytes of JSON"
done
declare -A WALL=()
for ((r = 1; r <= ROUNDS; r++)); do
    for f in full lean; do
        bench_cpu_begin
        t0=$(date +%s%N)
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            get -o /dev/null "$BASE/api/v1/traces/$TR?project=bench&form=$f"
        done
        t1=$(date +%s%N)
        # shellcheck disable=SC2034 # read by bench_cpu_end
        BENCH_LAST_REQUESTS=10
        bench_cpu_end "$f"
        WALL[$f]+="$(((t1 - t0) / 10000000)) "
    done
done
for f in full lean; do
    echo "$f: wall ms a request by round ${WALL[$f]}; CPU µs a request (median of $ROUNDS rounds):" \
        "nginx $(bench_cpu_median "$f" nginx), api $(bench_cpu_median "$f" api)," \
        "postgres $(bench_cpu_median "$f" postgres)"
done
