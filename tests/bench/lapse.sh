#!/usr/bin/env bash
# lapse.sh: the housekeeper's memory when many leases lapse at once (workers lost, or the
# stack down for a while). A private stack is seeded with LAPSE_RUNS running runs (one
# running attempt each, an hour's lease) in one project; then every lease is made to lapse
# in one UPDATE, and the housekeeper queues them all again on its own. Reported: the
# housekeeper's RSS before, its peak during the pass (VmHWM, reset just before the lapse)
# and after, how long until no run was left running, and how many `run.updated`
# (lease_expired) messages reached Redis (each run's exactly once, checked).
# Knobs: LAPSE_RUNS (43000), LAPSE_OTHER_RUNS (0: finished runs beside them, for a table
# of a realistic size), LAPSE_DEADLINE_S (600), RUNWATCH_BIN_DIR, RUNWATCH_MIGRATIONS_DIR
# (an older build's SQL, with its functions beside it).
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${LAPSE_RUNS:-43000}
OTHER=${LAPSE_OTHER_RUNS:-0}
DEADLINE=${LAPSE_DEADLINE_S:-600}
for v in N OTHER DEADLINE; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found (deploy/install-deps.sh)"

bench_start_stack
psql_q() { "$BENCH_STACK" psql -qAt -v ON_ERROR_STOP=1 "$@"; }

# The housekeeper: the master's child whose first argument says so.
housekeeper_pid() {
    local master c kids
    master=$(cat "$RUNWATCH_VAR_DIR/run/api.pid")
    read -r -a kids <"/proc/$master/task/$master/children"
    for c in "${kids[@]}"; do
        if [[ "$(tr '\0' ' ' <"/proc/$c/cmdline" | awk '{ print $2 }')" == housekeeper ]]; then
            echo "$c"
            return 0
        fi
    done
    return 1
}
kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

log "seeding $N running runs with an hour's lease and $OTHER finished ones"
psql_q -c "INSERT INTO projects (slug, name) VALUES ('lapse', 'Lapse')" \
    -c "INSERT INTO runs (project_id, kind, name, status, queue, created_at, queued_at,
                          started_at, last_heartbeat_at, lease_s, lease_expires_at)
        SELECT p.id, 'lapse', 'lapse-' || g, 'running', 'q' || (g % 8), now(), now(), now(),
               now(), 3600, now() + interval '1 hour'
        FROM projects p, generate_series(1, $N) g WHERE p.slug = 'lapse'" \
    -c "INSERT INTO attempts (run_id, seq, status, started_at)
        SELECT r.id, 1, 'running', now() FROM runs r JOIN projects p ON p.id = r.project_id
        WHERE p.slug = 'lapse'" \
    -c "DO \$\$ BEGIN -- the copy of each run's attempt (docs/SQL.md), where the SQL has it
        IF to_regproc('runs_latest_attempt_sync') IS NOT NULL THEN
            PERFORM runs_latest_attempt_sync(ARRAY(SELECT r.id FROM runs r JOIN projects p
                ON p.id = r.project_id WHERE p.slug = 'lapse'));
        END IF; END \$\$" \
    -c "INSERT INTO runs (project_id, kind, name, status, queue, created_at, queued_at,
                          started_at, ended_at)
        SELECT p.id, 'other', 'other-' || g, 'succeeded', 'q' || (g % 8), now(), now(), now(),
               now()
        FROM projects p, generate_series(1, $OTHER) g WHERE p.slug = 'lapse'" >/dev/null
until [[ "$(psql_q -c "SELECT rollup_fold(200000)")" == 0 ]]; do :; done
psql_q -c "VACUUM ANALYZE runs" -c "VACUUM ANALYZE attempts" >/dev/null

HK=$(housekeeper_pid) || die "no housekeeper under the master"
REDISCLI_AUTH=$(cat "$RUNWATCH_VAR_DIR/run/redis.password")
export REDISCLI_AUTH
stdbuf -oL redis-cli --no-auth-warning -p "$RUNWATCH_REDIS_PORT" SUBSCRIBE runwatch:events >"$TMP/events" &
SUB=$!
sleep 1
before=$(kb "$HK" VmRSS)
echo 5 >"/proc/$HK/clear_refs" # VmHWM starts again from the RSS of now
log "housekeeper $HK: RSS $before kB; making $N leases lapse at once"
t0=$(date +%s.%N)
psql_q -c "UPDATE runs SET lease_expires_at = now() - interval '1 second'
           WHERE status = 'running' AND kind = 'lapse'" >/dev/null
left=$N
for ((i = 0; i < DEADLINE * 5 && left > 0; i++)); do
    sleep 0.2
    left=$(psql_q -c "SELECT count(*) FROM runs WHERE status = 'running' AND kind = 'lapse'")
done
t1=$(date +%s.%N)
((left == 0)) || die "$left runs still running after ${DEADLINE} s"
# The last slice's publishes follow its commit: wait for them to arrive.
for ((i = 0; i < 300; i++)); do
    got=$(grep -c '"reason":"lease_expired"' "$TMP/events" || true)
    ((got >= N)) && break
    sleep 0.2
done
peak=$(kb "$HK" VmHWM)
sleep 2
after=$(kb "$HK" VmRSS)
kill "$SUB" 2>/dev/null || true
wait "$SUB" 2>/dev/null || true
distinct=$(grep '"reason":"lease_expired"' "$TMP/events" | grep -o '"run":"[0-9a-f-]*"' | sort -u | wc -l)
psql_q -c "ANALYZE runs" -c "ANALYZE attempts" >/dev/null # statistics of the queued, not the running
requeued=$(psql_q -c "SELECT count(*) FROM runs r JOIN attempts a ON a.run_id = r.id
                      WHERE r.kind = 'lapse' AND r.status = 'queued' AND a.seq = 1
                        AND a.status = 'failed' AND a.error_type = 'lease_expired'")
printf 'lapsed leases:        %d\n' "$N"
printf 'queued again:         %d (attempt failed lease_expired)\n' "$requeued"
printf 'published:            %d messages, %d distinct runs\n' "$got" "$distinct"
printf 'housekeeper RSS (kB): before %d, peak %d, 2 s after %d\n' "$before" "$peak" "$after"
printf 'seconds to requeue:   %.1f\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
((requeued == N && got == N && distinct == N)) || die "not every run was queued again and published once"
