#!/usr/bin/env bash
# celery.sh (`make bench`): the Celery bridge under a fleet's load. tests/bench/celery_gen.py
# publishes real Celery envelopes on the stack's Redis (DB 2) for BENCH_CELERY_WORKERS
# simulated workers (1000) beating every 2 s and BENCH_CELERY_RATE task events a second
# (5000) for BENCH_CELERY_SECONDS (30); runwatch-celery posts them to the stack. Prints the
# bridge's CPU (share of one core over the generation window), what was stored and how fast
# (until every task is stored as succeeded), the workers tracked, and the API's and
# PostgreSQL's CPU. Figures go to docs/PERFORMANCE.md. Measured, never asserted.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORKERS=${BENCH_CELERY_WORKERS:-1000}
RATE=${BENCH_CELERY_RATE:-5000}
SECONDS_=${BENCH_CELERY_SECONDS:-30}
for v in WORKERS RATE SECONDS_; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done

bench_start_stack
bin=${RUNWATCH_BIN_DIR:-$BENCH_REPO/build/release}
token=$("$bin/runwatch-api" token create --project celery-bench --name bench --scopes read,write \
    --create-project | tail -n 1)
[[ "$token" == rw_* ]] || die "no token"
broker="redis://:$(cat "$RUNWATCH_VAR_DIR/run/redis.password")@127.0.0.1:$RUNWATCH_REDIS_PORT/2"
q() { "$BENCH_STACK" psql -X -q -tA -c "$1"; }
P="(SELECT id FROM projects WHERE slug = 'celery-bench')"

RUNWATCH_CELERY_BROKER=$broker RUNWATCH_CELERY_TOKEN=$token RUNWATCH_CELERY_URL=$BASE \
    "$bin/runwatch-celery" >"$RUNWATCH_VAR_DIR/log/celery.log" 2>&1 &
bridge=$!
trap 'kill "$bridge" 2>/dev/null || true; bench_cleanup' EXIT
sleep 1
bench_machine
hz=$(getconf CLK_TCK)
b0=$(bench_ticks "$bridge")
bench_cpu_begin
t0=$(date +%s.%N)
out=$(/usr/bin/python3 "$BENCH_REPO/tests/bench/celery_gen.py" "$broker" "$WORKERS" "$RATE" "$SECONDS_")
t1=$(date +%s.%N)
b1=$(bench_ticks "$bridge")
printf '%s\n' "$out" | sed 's/^/  generator: /'
tasks=$(awk '$1 == "tasks" { print $2 }' <<<"$out")
events=$(awk '$1 == "task_events" { print $2 }' <<<"$out")
# Stored: wait for every task to be stored as succeeded (generous deadline, then report).
deadline=$(($(date +%s) + 600))
while :; do
    n=$(q "SELECT count(*) FROM runs WHERE project_id = $P AND status = 'succeeded'")
    ((n >= tasks)) && break
    (($(date +%s) > deadline)) && break
    sleep 0.5
done
t2=$(date +%s.%N)
BENCH_LAST_REQUESTS=$events
bench_cpu_end celery
# Tracked: every simulated worker has its row, a session and its heartbeat fields. Online is
# read after the drain, when the generator has long stopped beating: workers silent for
# 2 x freq are offline by then, as they should be (their sessions end 'lost').
workers_tracked=$(q "SELECT count(DISTINCT c.worker_id) FROM celery_workers c JOIN worker_sessions s ON s.worker_id = c.worker_id WHERE c.project_id = $P AND c.processed IS NOT NULL AND s.pid IS NOT NULL")
sessions=$(q "SELECT count(*) FROM worker_sessions s JOIN celery_workers c ON c.worker_id = s.worker_id WHERE c.project_id = $P")
workers_lost=$(q "SELECT count(*) FROM celery_workers c JOIN workers w ON w.id = c.worker_id WHERE c.project_id = $P AND w.status = 'offline'")
awk -v b0="$b0" -v b1="$b1" -v hz="$hz" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v n="$n" -v tasks="$tasks" \
    -v ev="$events" 'BEGIN {
    printf "bridge CPU: %.3f of a core over the %.1f s of generation\n", (b1 - b0) / hz / (t1 - t0), t1 - t0
    printf "stored: %d of %d tasks (%d task events) in %.1f s from the start: %.0f task events/s\n", n, tasks, ev, t2 - t0, n * 3 / (t2 - t0)
    printf "lag: the last task stored %.1f s after the generator stopped (a bridge that keeps pace stores the rate sent)\n", t2 - t1
}'
echo "workers tracked (a session with its pid, heartbeat fields): $workers_tracked of $WORKERS, $sessions sessions; offline after the generator stopped: $workers_lost"
for c in api postgres; do
    echo "$c CPU per task event: $(bench_cpu_median celery "$c") µs"
done
grep '"stats messages=' "$RUNWATCH_VAR_DIR/log/celery.log" | tail -n 1 | sed 's/^/  bridge: /' || true
kill "$bridge" 2>/dev/null || true
wait "$bridge" 2>/dev/null || true
grep 'stats messages=' "$RUNWATCH_VAR_DIR/log/celery.log" | tail -n 1 | sed 's/^/  bridge at exit: /' || true
