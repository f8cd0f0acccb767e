#!/usr/bin/env bash
# faults: the stack heals itself and loses nothing acknowledged. A private stack (started
# by deploy/stack.sh, as every test stack is, so its supervisor runs) takes a writer that
# creates runs and posts events without pause, retrying until each is acknowledged, and
# a live stream kept open through nginx that reconnects with Last-Event-ID as a browser
# does. Then:
#  1. a worker dies between a COMMIT and its publish (the test fault
#     RUNWATCH_TEST_FAULT_EXIT_BEFORE_PUBLISH, config.h): the change is stored and the
#     stream gets `event: reset` (reason "lost"), never neither;
#  2. one process at a time is killed with SIGKILL: a runwatch-api worker, its master,
#     the hub, Redis, PostgreSQL, nginx; after each the test waits (polling, generous
#     deadlines, nothing timed) until the stack serves writes and the stream again.
# At the end every acknowledged write is in the database, and the stream never skipped
# an id without a `reset` between (after each reconnect it got a replay or a reset).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
bin_dir=${RUNWATCH_BIN_DIR:-$repo/build/release}
case "$bin_dir" in /*) ;; *) bin_dir=$repo/$bin_dir ;; esac

# shellcheck source=tests/lib/ports.sh
. "$repo/tests/lib/ports.sh"
# shellcheck source=tests/lib/tap.sh
. "$repo/tests/lib/tap.sh"
# shellcheck source=tests/lib/traffic.sh
. "$repo/tests/lib/traffic.sh"

private_stack runwatch-faults
tmp=$stack_dir
stack=$repo/deploy/stack.sh
export RUNWATCH_BIN_DIR=$bin_dir
export RUNWATCH_API_WORKERS=3
export RUNWATCH_ADMIN_EMAIL=admin@runwatch.test
export RUNWATCH_ADMIN_PASSWORD=admin-password-for-tests
export RUNWATCH_SSE_KEEPALIVE_MS=1000
# A change whose data holds this text makes its worker exit after the COMMIT instead of
# publishing it (a test stack only: the setting is off unless set, and never remembered).
marker=faults-die-before-publish
export RUNWATCH_TEST_FAULT_EXIT_BEFORE_PUBLISH=$marker
mkdir -p "$tmp/static"
echo '<!doctype html><title>Runwatch</title>' >"$tmp/static/index.html"
export RUNWATCH_STATIC_DIR=$tmp/static
var=$RUNWATCH_VAR_DIR
# shellcheck disable=SC2153 # set by free_port (private_stack)
url=http://$RUNWATCH_HTTP_HOST:$RUNWATCH_HTTP_PORT
# How long the stack may take to serve again after a kill, and a stream to show a
# write: generous (a loaded 2-core box restarts PostgreSQL slowly); polled, never slept.
DEADLINE=${RUNWATCH_FAULTS_DEADLINE:-240}

writer_pid='' streamer_pid=''
cleanup() {
    local rc=$?
    : >"$tmp/stop"
    if [[ -r "$tmp/stream.curl.pid" ]]; then kill "$(<"$tmp/stream.curl.pid")" 2>/dev/null || true; fi
    for p in $writer_pid $streamer_pid; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "$stack" stop >/dev/null 2>&1 || true
    if ((failed > 0)) || ((rc != 0)); then
        for f in "$var"/log/*.log "$tmp"/writer.err "$tmp"/stream.err; do
            [[ -s "$f" ]] || continue
            echo "---- last lines of $(basename "$f")"
            tail -n 30 "$f"
        done
        echo "---- last lines of the stream"
        tail -n 30 "$tmp/stream.log" 2>/dev/null || true
        rc=1
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT INT TERM

"$stack" start >"$tmp/start.log" 2>&1 || {
    cat "$tmp/start.log"
    exit 1
}
token=$(cd "$repo" && "$bin_dir/runwatch-api" token create --project faults --create-project \
    --name "faults writer")
[[ "$token" == rw_* ]] || {
    echo "no token"
    exit 1
}
auth="Authorization: Bearer $token"

# ---------------------------------------------------------------- the traffic

# The writer and the stream (tests/lib/traffic.sh).
TRAFFIC_TAG=faults
traffic_start

serving_again "the stack is up" || exit 1

# ---------------------------------------------------------------- 1. commit, no publish

lost_reset_after() { tail -c +"$(($1 + 1))" "$tmp/stream.log" | grep -q '^data: {"reason":"lost"}'; }
in_db() { # sql: one value, compared to $2
    [[ "$("$stack" psql -X -tAc "$1" 2>/dev/null)" == "$2" ]]
}
run=$(grep '^run ' "$tmp/acked" | tail -n 1 | awk '{print $2}')
offset=$(stat -c %s "$tmp/stream.log")
code=$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -H "$auth" -H 'Content-Type: application/json' \
    -d "{\"level\":\"info\",\"message\":\"$marker\"}" "$url/api/v1/runs/$run/events" 2>/dev/null) || true
if [[ "$code" != 2?? ]]; then
    ok "a worker that exits after the commit answers no success (HTTP ${code:-none})"
else
    not_ok "the fault did not fire: the write was answered $code"
fi
if until_ok "$DEADLINE" in_db "select count(*) from events where message = '$marker'" 1; then
    ok "the change committed before the worker died is stored"
else
    not_ok "the change committed before the worker died is stored"
fi
if until_ok "$DEADLINE" lost_reset_after "$offset"; then
    ok "the open stream got event: reset (reason lost) for the publish that never happened"
else
    not_ok "the open stream got event: reset (reason lost) for the publish that never happened" \
        "$(tail -c +"$((offset + 1))" "$tmp/stream.log" | grep -v '^: keepalive' | tail -n 12)"
fi
serving_again "after the worker died before publishing" || true

# ---------------------------------------------------------------- 2. kill each in turn

pid_in() { # file: its first line, when it is a live process
    local p=''
    [[ -r "$1" ]] && read -r p <"$1"
    [[ "$p" =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null && printf '%s' "$p"
}
a_worker() {
    local master
    master=$(pid_in "$var/run/api.pid") || return 1
    pgrep -P "$master" -f 'runwatch-api worker' | head -n 1
}
restarted() { # file old-pid: a live pid other than the old one
    local p
    p=$(pid_in "$1") && [[ "$p" != "$2" ]]
}
workers_back() { # old-pid: it is gone and the master runs its full count again
    local master n
    ! kill -0 "$1" 2>/dev/null || return 1
    master=$(pid_in "$var/run/api.pid") || return 1
    n=$(pgrep -c -P "$master" -f 'runwatch-api worker') || true
    ((n == RUNWATCH_API_WORKERS))
}

kill_one() { # name pid-file-or-"worker"
    local name=$1 what=$2 pid
    if [[ "$what" == worker ]]; then
        pid=$(a_worker) || true
    else
        pid=$(pid_in "$what") || true
    fi
    if [[ -z "$pid" ]]; then
        not_ok "$name: found its process"
        return 0
    fi
    # Mid-stream: writes are being acknowledged right now.
    until_ok "$DEADLINE" acked_since "$(($(acked_count) + 2))" || true
    kill -KILL "$pid" || true
    echo "killed $name (pid $pid) after $(acked_count) acknowledged writes"
    if [[ "$what" == worker ]]; then
        if until_ok "$DEADLINE" workers_back "$pid"; then
            ok "$name: the master started another"
        else
            not_ok "$name: the master started another"
        fi
    elif until_ok "$DEADLINE" restarted "$what" "$pid"; then
        ok "$name: the supervisor restarted it"
    else
        not_ok "$name: the supervisor restarted it"
    fi
    serving_again "$name" || true # said so; the next kill still runs
}

kill_one "a runwatch-api worker" worker
kill_one "the runwatch-api master" "$var/run/api.pid"
kill_one "runwatch-sse" "$var/run/sse.pid"
kill_one "redis" "$var/run/redis.pid"
kill_one "postgresql" "$var/pg/postmaster.pid"
kill_one "nginx" "$var/run/nginx.pid"

# ---------------------------------------------------------------- the outcome

traffic_stop

if "$stack" status >"$tmp/status" 2>&1; then
    ok "stack.sh status: every server and the supervisor run"
else
    not_ok "stack.sh status: every server and the supervisor run" "$(cat "$tmp/status")"
fi
n_restarts=$(grep -c ' is back ' "$var/log/supervisor.log" || true)
if ((n_restarts >= 5)); then
    ok "the supervisor's log names the $n_restarts restarts"
else
    not_ok "the supervisor's log names the restarts" "$(cat "$var/log/supervisor.log")"
fi
if [[ "$(stat -c %a "$var/log/supervisor.log")" == 600 ]]; then
    ok "the supervisor's log is 0600"
else
    not_ok "the supervisor's log is 0600" "$(stat -c %a "$var/log/supervisor.log")"
fi

check_acked_stored
check_stream_gapless "each kill"
connects=$(grep -c '^# connect' "$tmp/stream.log" || true)
if ((connects >= 3)); then
    ok "the stream reconnected ($connects connections: the hub and nginx were killed under it)"
else
    not_ok "the stream reconnected after the hub and nginx were killed" "$connects connections"
fi

echo "faults: $passed passed, $failed failed"
((failed == 0))
