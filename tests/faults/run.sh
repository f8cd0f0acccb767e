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

# ---------------------------------------------------------------- the writer

# Posts until the answer is 2xx; prints the answer's body. Every try has a bounded time.
post_acked() { # path body [header]
    local out code
    while [[ ! -e "$tmp/stop" ]]; do
        out=$(curl -sS -m 15 -w '\n%{http_code}' -H "$auth" -H 'Content-Type: application/json' \
            ${3:+-H "$3"} -d "$2" "$url/api/v1$1" 2>>"$tmp/writer.err") || true
        code=${out##*$'\n'}
        if [[ "$code" == 2?? ]]; then
            printf '%s' "${out%$'\n'*}"
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# Every 20th write creates a run (with an Idempotency-Key, so a retry makes no second);
# the others post an event to the newest run. Each acknowledged write is appended to
# acked: "run <id>" or "event <run> <message>".
writer() {
    local i=0 run='' body msg
    while [[ ! -e "$tmp/stop" ]]; do
        i=$((i + 1))
        if ((i % 20 == 1)); then
            body=$(post_acked /runs "{\"kind\":\"faults\",\"name\":\"faults $i\"}" \
                "Idempotency-Key: faults-run-$i") || break
            run=$(sed -n 's/^{"id" *: *"\([0-9a-f-]*\)".*/\1/p' <<<"$body")
            [[ -n "$run" ]] || {
                echo "no run id in: $body" >>"$tmp/writer.err"
                continue
            }
            echo "run $run" >>"$tmp/acked"
            continue
        fi
        msg=faults-write-$i
        post_acked "/runs/$run/events" "{\"level\":\"info\",\"message\":\"$msg\"}" >/dev/null || break
        echo "event $run $msg" >>"$tmp/acked"
    done
}

# ---------------------------------------------------------------- the stream

# One connection after another, each resuming from the last id received, the way
# EventSource does. Connections are marked in the log with "# connect N".
streamer() {
    local n=0 last='' cpid
    local -a hdr
    while [[ ! -e "$tmp/stop" ]]; do
        n=$((n + 1))
        hdr=()
        if [[ -n "$last" ]]; then hdr=(-H "Last-Event-ID: $last"); fi
        echo "# connect $n last=$last" >>"$tmp/stream.log"
        curl -sS -N -m 900 -H "$auth" "${hdr[@]}" "$url/api/v1/stream" \
            >>"$tmp/stream.log" 2>>"$tmp/stream.err" &
        cpid=$!
        echo "$cpid" >"$tmp/stream.curl.pid"
        wait "$cpid" || true
        last=$(sed -n 's/^id: //p' "$tmp/stream.log" | tail -n 1)
        sleep 0.2
    done
}

: >"$tmp/acked"
: >"$tmp/stream.log"
streamer &
streamer_pid=$!
writer &
writer_pid=$!

acked_count() { wc -l <"$tmp/acked"; }

# Polls a command until it succeeds or the deadline passes.
until_ok() { # seconds command...
    local secs=$1 end
    shift
    end=$((SECONDS + secs))
    while ((SECONDS < end)); do
        if "$@"; then return 0; fi
        sleep 0.2
    done
    return 1
}

# The stream carries a write acknowledged after a point: both the write path and the
# live path work (whatever was killed has been restarted and found again). Any later
# write will do: those published while the hub was away reach the stream as a reset.
STREAM_OK_AFTER=0
acked_since() { (($(acked_count) > $1)); }
write_num() { grep -o 'faults-write-[0-9]*' | sed 's/.*-//' | sort -n | tail -n 1; }
stream_has_new_write() {
    local mark seen
    mark=$(head -n "$STREAM_OK_AFTER" "$tmp/acked" | write_num)
    seen=$(write_num <"$tmp/stream.log")
    [[ -n "$mark" && -n "$seen" ]] && ((seen > mark))
}
serving_again() { # name
    local before
    before=$(acked_count)
    until_ok "$DEADLINE" acked_since "$((before + 3))" || {
        not_ok "$1: writes are acknowledged again" "acknowledged writes stuck at $(acked_count)"
        return 1
    }
    STREAM_OK_AFTER=$(acked_count)
    until_ok "$DEADLINE" stream_has_new_write || {
        not_ok "$1: the stream delivers new writes again"
        return 1
    }
    ok "$1: writes and the stream work again"
}

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

: >"$tmp/stop"
kill "$(<"$tmp/stream.curl.pid")" 2>/dev/null || true
wait "$writer_pid" "$streamer_pid" 2>/dev/null || true
writer_pid='' streamer_pid=''

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

# Every acknowledged write is stored: the runs by id, the events by (run, message).
awk '$1 == "run" {print $2}' "$tmp/acked" | sort -u >"$tmp/acked.runs"
awk '$1 == "event" {print $2 " " $3}' "$tmp/acked" | sort -u >"$tmp/acked.events"
"$stack" psql -X -tA -F ' ' -c "select id from runs where kind = 'faults'" | sort -u >"$tmp/db.runs"
"$stack" psql -X -tA -F ' ' -c "select run_id, message from events e join runs r on r.id = e.run_id
                                 where r.kind = 'faults'" | sort -u >"$tmp/db.events"
missing_runs=$(comm -23 "$tmp/acked.runs" "$tmp/db.runs")
missing_events=$(comm -23 "$tmp/acked.events" "$tmp/db.events")
if [[ -z "$missing_runs$missing_events" ]]; then
    ok "all $(wc -l <"$tmp/acked.runs") acknowledged runs and $(wc -l <"$tmp/acked.events") events are in the database"
else
    not_ok "every acknowledged write is in the database" "missing: $missing_runs $missing_events"
fi

# The stream never skipped: consecutive ids follow each other within an epoch unless a
# reset came between (a replay continues the id; anything else must say reset).
gaps=$(awk '
    /^event: reset/ { reset = 1; resets++ }
    /^# connect/ { connects++ }
    /^id: / {
        split(substr($0, 5), p, "-"); e = p[1]; s = p[2] + 0
        if (have && !reset && (e != le || s != ls + 1))
            printf "id %s-%d follows %s-%d with no reset between\n", e, s, le, ls
        le = e; ls = s; have = 1; reset = 0; frames++
    }
    END { printf "# %d frames, %d resets, %d connections\n", frames, resets, connects }
' "$tmp/stream.log")
summary=$(grep '^#' <<<"$gaps")
if ! grep -qv '^#' <<<"$gaps"; then
    ok "the stream resumed after each kill with a replay or a reset, never a silent gap ($summary)"
else
    not_ok "the stream resumed after each kill with a replay or a reset, never a silent gap" "$gaps"
fi
connects=$(grep -c '^# connect' "$tmp/stream.log" || true)
if ((connects >= 3)); then
    ok "the stream reconnected ($connects connections: the hub and nginx were killed under it)"
else
    not_ok "the stream reconnected after the hub and nginx were killed" "$connects connections"
fi

echo "faults: $passed passed, $failed failed"
((failed == 0))
