#!/usr/bin/env bash
# The fleet simulator against the integration stack, through `deploy/stack.sh demo` (the
# path `make demo` takes: project "demo" and its token made by `runwatch-api token
# create`, kept and reused). It runs with fast steps and many failures until the database
# shows each thing the checks need (or a generous cap, so a slow box only takes longer: a
# fixed run of 15 s did not always get there), is stopped then, and the database must show
# what the fleet says it did: workers registered and stopped, runs
# succeeded, failed (with fingerprints that group), retried as new attempts, cancelled,
# grouped under parents, interrupted at the stop; every event and metric point it
# counted stored; and no 5xx answer or lost request. With --launcher it also launches its
# demo experiments and stops those its simulated user flips (every 3 s here): launches and
# stops happened, and every launch made one run of its experiment. Run by tests/integration/run.sh
# after the C suite, with the stack's environment.
set -euo pipefail

stack=${RUNWATCH_TEST_STACK:?run by tests/integration/run.sh}
var=${RUNWATCH_VAR_DIR:?run by tests/integration/run.sh}
out=$var/fleet-summary.txt
failures=0

say() { printf 'fleet test: %s\n' "$*"; }
check() { # check DESCRIPTION COMMAND…
    local what=$1
    shift
    if "$@"; then
        say "ok   $what"
    else
        say "FAIL $what"
        failures=$((failures + 1))
    fi
}
q() { "$stack" psql -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }
# A value of the fleet's summary ("name value [rate]").
summary() { awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print "missing" }' "$out"; }
ge() { [[ "$1" =~ ^[0-9]+$ && "$2" =~ ^[0-9]+$ ]] && (($1 >= $2)); }
eq() { [[ "$1" == "$2" ]] || { say "     expected '$2', got '$1'"; return 1; }; }

P="(SELECT id FROM projects WHERE slug = 'demo')"
# What the checks below need to have happened, as the names of those that have not yet
# (empty once all have). Polled while the fleet runs: how long that takes depends on the
# machine, what must happen does not.
PENDING_SQL="
SELECT concat_ws(' ',
  CASE WHEN (SELECT count(*) FROM runs WHERE project_id = $P AND status = 'succeeded') < 1 THEN 'succeeded' END,
  CASE WHEN (SELECT count(*) - count(DISTINCT error_fingerprint) FROM runs WHERE project_id = $P AND status = 'failed'
             AND kind <> 'sweep' AND kind <> 'pipeline') < 1 OR
            (SELECT count(*) FROM runs WHERE project_id = $P AND status = 'failed' AND kind <> 'sweep' AND kind <> 'pipeline') < 2
       THEN 'failed-grouped' END,
  CASE WHEN NOT EXISTS (SELECT 1 FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.project_id = $P
                        GROUP BY a.run_id HAVING count(*) >= 2) THEN 'retried' END,
  CASE WHEN (SELECT count(*) FROM runs WHERE project_id = $P AND status = 'cancelled') < 1 THEN 'cancelled' END,
  CASE WHEN NOT EXISTS (SELECT 1 FROM runs c JOIN runs p ON p.id = c.parent_id WHERE c.project_id = $P
                        AND c.group_id = p.group_id) THEN 'children' END,
  CASE WHEN (SELECT count(*) FROM events WHERE project_id = $P) < 100 THEN 'events' END,
  CASE WHEN (SELECT count(*) FROM metrics WHERE project_id = $P) < 100 THEN 'metrics' END,
  CASE WHEN (SELECT count(*) FROM experiment_actions a JOIN experiments e ON e.id = a.experiment_id
             WHERE e.project_id = $P AND a.action = 'launch' AND a.outcome = 'done') < 4 THEN 'launches' END,
  CASE WHEN NOT EXISTS (SELECT 1 FROM experiment_actions a JOIN experiments e ON e.id = a.experiment_id
                        WHERE e.project_id = $P AND a.action = 'stop' AND a.outcome = 'done') THEN 'stops' END)"
cap=300
say "running the simulator until it has done what the checks need (at most $cap s)"
rc=0
"$stack" demo --workers 4 --duration "$cap" --step-ms 50 --max-steps 8 --rate 0 --backlog 12 \
    --poll-ms 100 --fail-rate 0.4 --cancel-rate 0.1 --lease 30 --launcher --flip-s 3 --quiet \
    >"$out" 2>"$var/fleet.err" &
fleet=$! # stack.sh demo execs the fleet: this is its pid
pending=unknown
start=$SECONDS
while kill -0 "$fleet" 2>/dev/null; do
    # Before the project exists (the token is still being made) the query fails: not yet.
    pending=$(q "$PENDING_SQL" 2>/dev/null) || pending=unknown
    [[ -n "$pending" ]] || break
    sleep 1
done
# SIGTERM is the fleet's Ctrl-C: its workers stop, runs in flight become interrupted.
kill -TERM "$fleet" 2>/dev/null || true
wait "$fleet" || rc=$?
say "the fleet ran $((SECONDS - start)) s${pending:+; still missing at its end: $pending}"
sed 's/^/    /' "$out"
if [[ -s "$var/fleet.err" ]]; then sed 's/^/    stderr: /' "$var/fleet.err"; fi

check "the simulator exited 0" eq "$rc" 0
check "no 5xx answers" eq "$(summary http_5xx)" 0
check "no request went unanswered" eq "$(summary transport_errors)" 0
check "4 workers registered" eq "$(q "SELECT count(*) FROM workers WHERE project_id = $P")" 4
check "every worker stopped cleanly" eq "$(q "SELECT count(*) FROM workers WHERE project_id = $P AND status = 'stopped'")" 4
check "runs succeeded" ge "$(q "SELECT count(*) FROM runs WHERE project_id = $P AND status = 'succeeded'")" 1
nfailed=$(q "SELECT count(*) FROM runs WHERE project_id = $P AND status = 'failed' AND kind <> 'sweep' AND kind <> 'pipeline'")
check "runs failed" ge "$nfailed" 2
check "every failed run has a fingerprint" eq "$(q "SELECT count(*) FROM runs WHERE project_id = $P AND status = 'failed' AND error_fingerprint IS NULL")" 0
nprints=$(q "SELECT count(DISTINCT error_fingerprint) FROM runs WHERE project_id = $P AND status = 'failed' AND kind <> 'sweep' AND kind <> 'pipeline'")
check "fingerprints group the failures ($nprints for $nfailed)" test "$nprints" -lt "$nfailed"
check "a run has 2 or more attempts" ge "$(q "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.project_id = $P GROUP BY a.run_id) x")" 2
check "runs were cancelled" ge "$(q "SELECT count(*) FROM runs WHERE project_id = $P AND status = 'cancelled'")" 1
check "child runs point to their parent" ge "$(q "SELECT count(*) FROM runs c JOIN runs p ON p.id = c.parent_id WHERE c.project_id = $P AND c.group_id = p.group_id")" 1
check "runs in flight at the stop are interrupted" ge "$(q "SELECT count(DISTINCT run_id) FROM events WHERE project_id = $P AND kind = 'interrupted'")" "$(summary runs_interrupted)"
check "every event the fleet counted is stored" eq "$(q "SELECT count(*) FROM events WHERE project_id = $P AND kind <> 'interrupted'")" "$(summary events)"
check "events were sent" ge "$(summary events)" 100
check "every metric point the fleet counted is stored" eq "$(q "SELECT count(*) FROM metrics WHERE project_id = $P")" "$(summary metric_points)"
check "metric points were sent" ge "$(summary metric_points)" 100
check "the launcher made its 4 demo experiments" eq "$(q "SELECT count(*) FROM experiments WHERE project_id = $P AND 'launcher' = ANY (tags)")" 4
check "the launcher launched experiments" ge "$(summary exp_launched)" 4
check "the launcher stopped a flipped experiment" ge "$(summary exp_stopped)" 1
check "every launch reported is a run of its experiment" eq "$(q "SELECT count(*) FROM experiment_actions a JOIN experiments e ON e.id = a.experiment_id WHERE e.project_id = $P AND a.action = 'launch' AND a.outcome = 'done' AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = a.run_id AND r.experiment_id = a.experiment_id)")" 0
check "launches done match the fleet's count" eq "$(q "SELECT count(*) FROM experiment_actions a JOIN experiments e ON e.id = a.experiment_id WHERE e.project_id = $P AND a.action = 'launch' AND a.outcome = 'done'")" "$(summary exp_launched)"
check "secrets in params are stored redacted" eq "$(q "SELECT count(*) FROM runs WHERE project_id = $P AND params::text LIKE '%hunter2%'")" 0

# The report rollups (migration 0009) after a fleet's concurrent claims, retries, ends and
# cancels, with the API folding as it went: folded counts plus pending deltas must equal
# the runs' own, hour by hour and day by day.
ROLLUP_SQL="
WITH h AS (SELECT hour, kind, queue, status, sum(started) AS s, sum(ended) AS e FROM (
             SELECT hour, kind, queue, status, started, ended FROM rollup_hourly WHERE project_id = $P
             UNION ALL
             SELECT date_bin('1 hour', t, '2000-01-03'), kind, queue, status,
                    CASE side WHEN 's' THEN n ELSE 0 END, CASE side WHEN 'e' THEN n ELSE 0 END
             FROM rollup_delta WHERE project_id = $P) x
           GROUP BY 1, 2, 3, 4 HAVING sum(started) <> 0 OR sum(ended) <> 0),
     hr AS (SELECT hour, kind, queue, status, sum(s) AS s, sum(e) AS e FROM (
             SELECT date_bin('1 hour', started_at, '2000-01-03') AS hour, kind, queue, status, 1 AS s, 0 AS e
             FROM runs WHERE project_id = $P AND started_at IS NOT NULL
             UNION ALL
             SELECT date_bin('1 hour', ended_at, '2000-01-03'), kind, queue, status, 0, 1
             FROM runs WHERE project_id = $P AND ended_at IS NOT NULL) x GROUP BY 1, 2, 3, 4),
     d AS (SELECT day, metric, kind, sum(n) AS n FROM (
             SELECT day, metric, kind, n FROM rollup_hist_daily WHERE project_id = $P
             UNION ALL
             SELECT date_bin('1 day', t, '2000-01-03'), CASE side WHEN 'e' THEN 'd' ELSE 'w' END::\"char\",
                    kind, n FROM rollup_delta WHERE project_id = $P AND v IS NOT NULL) x
           GROUP BY 1, 2, 3 HAVING sum(n) <> 0),
     dr AS (SELECT date_bin('1 day', ended_at, '2000-01-03') AS day, 'd'::\"char\" AS metric, kind, count(*) AS n
            FROM runs WHERE project_id = $P AND ended_at IS NOT NULL AND started_at IS NOT NULL GROUP BY 1, 2, 3
            UNION ALL
            SELECT date_bin('1 day', started_at, '2000-01-03'), 'w'::\"char\", kind, count(*)
            FROM runs WHERE project_id = $P AND started_at IS NOT NULL GROUP BY 1, 2, 3)
SELECT (SELECT count(*) FROM ((TABLE h EXCEPT ALL TABLE hr) UNION ALL (TABLE hr EXCEPT ALL TABLE h)) m)
       || ':' || (SELECT count(*) FROM ((TABLE d EXCEPT ALL TABLE dr) UNION ALL (TABLE dr EXCEPT ALL TABLE d)) m)"
check "the report rollups agree with the runs (hours:days differing)" eq "$(q "$ROLLUP_SQL")" 0:0
until [[ "$(q "SELECT rollup_fold()")" != -1 ]]; do sleep 0.1; done
check "…and once folded" eq "$(q "$ROLLUP_SQL")" 0:0
check "…with nothing left to fold" eq "$(q "SELECT count(*) FROM rollup_delta WHERE project_id = $P")" 0

# A second start reuses the token kept in the var dir.
token=$(cat "$var/demo.token")
"$stack" demo --workers 1 --duration 1 --quiet >"$out" 2>"$var/fleet.err" || rc=$?
check "the second start exited 0" eq "$rc" 0
check "the second start reused the token" eq "$(cat "$var/demo.token")" "$token"
check "one token for the fleet" eq "$(q "SELECT count(*) FROM api_tokens WHERE project_id = $P AND name = 'fleet simulator'")" 1

# The CLI behind it: refusals, and a read-only token the fleet will not run with.
api=${RUNWATCH_BIN_DIR:?run by tests/integration/run.sh}/runwatch-api
fleet=$RUNWATCH_BIN_DIR/runwatch-fleet
rc=0
"$api" token create --project no-such-project --name x >/dev/null 2>"$var/cli.err" || rc=$?
check "token create: an unknown project is refused" eq "$rc:$(grep -c 'no such project' "$var/cli.err")" 1:1
rc=0
"$api" token create --project demo --name x --scopes read,bogus >/dev/null 2>&1 || rc=$?
check "token create: an unknown scope is a usage error" eq "$rc" 2
reader=$("$api" token create --project demo --name reader --scopes read)
check "token create: prints the token" eq "${reader:0:3}" rw_
check "token create: writes the audit log" eq "$(q "SELECT count(*) FROM audit_log WHERE project_id = $P AND action = 'token.create' AND details->>'name' = 'reader' AND details->>'scopes' = '{read}'")" 1
rc=0
RUNWATCH_URL=$RUNWATCH_TEST_URL RUNWATCH_TOKEN=$reader "$fleet" --duration 1 >/dev/null 2>"$var/cli.err" || rc=$?
check "the fleet refuses a token without the write scope" eq "$rc:$(grep -c 'no write scope' "$var/cli.err")" 2:1

if ((failures)); then
    say "$failures check(s) failed"
    exit 1
fi
say "all checks passed"
