#!/usr/bin/env bash
# The Celery bridge as a component of the stack, on a TLS broker (run by tests/celery/run.sh):
#   - a real redis-server with TLS only (--tls-port), its certificate signed by a throwaway
#     CA made here with the openssl CLI, as the fleet's broker and result backend;
#   - a private stack started with RUNWATCH_CELERY_BROKER=rediss://…?ssl_ca_certs=<the CA>:
#     deploy/stack.sh starts runwatch-celery (making its token), which reads kombu envelopes
#     published over TLS and stores them, and reads the result backend over TLS (a task's
#     group id comes only from there);
#   - `kill -9` of the bridge: the supervisor starts another, which stores the next events;
#   - a bridge given the wrong CA refuses the broker with a clear log line, and so does one
#     reaching a server whose certificate (by the right CA) names another host;
#     ssl_cert_reqs=none connects anyway and says so; a misspelt option is refused;
#   - `stack.sh stop` stops the bridge.
# Every wait is for a condition, with a generous deadline. Always stops what it started.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
bin_dir=${RUNWATCH_BIN_DIR:-$repo/build/release}
case "$bin_dir" in /*) ;; *) bin_dir=$repo/$bin_dir ;; esac
stack=$repo/deploy/stack.sh

# shellcheck source=tests/lib/ports.sh
. "$repo/tests/lib/ports.sh"

private_stack runwatch-celsup
tmp=$stack_dir
export RUNWATCH_BIN_DIR=$bin_dir
export RUNWATCH_API_WORKERS=${RUNWATCH_API_WORKERS:-2}
export RUNWATCH_ADMIN_EMAIL=admin@runwatch.test
export RUNWATCH_ADMIN_PASSWORD=admin-password-for-tests
mkdir -p "$tmp/static" "$tmp/tls"
echo '<!doctype html><title>Runwatch</title>' >"$tmp/static/index.html"
export RUNWATCH_STATIC_DIR=$tmp/static
free_port TLS_PORT
failures=0
redis_pid=''
stray_pid=''
s_server_pid=''

cleanup() {
    local rc=$?
    if [[ -n "$stray_pid" ]]; then kill -9 "$stray_pid" 2>/dev/null || true; fi
    if [[ -n "$s_server_pid" ]]; then kill "$s_server_pid" 2>/dev/null || true; fi
    if [[ -n "$redis_pid" ]]; then kill "$redis_pid" 2>/dev/null || true; fi
    private_stack_end "$rc"
}
trap cleanup EXIT INT TERM

say() { printf 'celery stack: %s\n' "$*"; }
ok() { say "ok   $*"; }
bad() {
    say "FAIL $*"
    failures=$((failures + 1))
}

# wait_for DESC SECS CMD...: until CMD succeeds, or fails the check at the deadline.
wait_for() {
    local desc=$1 secs=$2 end
    shift 2
    end=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS > end)); then
            bad "$desc (not within ${secs}s)"
            return 1
        fi
        sleep 0.2
    done
    ok "$desc"
}

# --- a throwaway CA, the broker's certificate (localhost and 127.0.0.1), another CA
t=$tmp/tls
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -days 2 -subj /CN=runwatch-test-ca -keyout "$t/ca.key" -out "$t/ca.pem" 2>/dev/null
openssl req "${ec[@]}" -subj /CN=localhost -keyout "$t/broker.key" -out "$t/broker.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$t/ext.cnf"
openssl x509 -req -in "$t/broker.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 2 \
    -extfile "$t/ext.cnf" -out "$t/broker.pem" 2>/dev/null
openssl req -x509 "${ec[@]}" -days 2 -subj /CN=some-other-ca -keyout "$t/other.key" -out "$t/other.pem" 2>/dev/null
# A certificate the right CA signed for another name (the name check, not only the chain).
openssl req "${ec[@]}" -subj /CN=elsewhere.example -keyout "$t/elsewhere.key" -out "$t/elsewhere.csr" 2>/dev/null
printf 'subjectAltName=DNS:elsewhere.example\n' >"$t/ext2.cnf"
openssl x509 -req -in "$t/elsewhere.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 2 \
    -extfile "$t/ext2.cnf" -out "$t/elsewhere.pem" 2>/dev/null

# --- the fleet's broker: Redis with TLS only, a password, nothing on disk
password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf 'port 0\ntls-port %s\nbind 127.0.0.1\ntls-cert-file %s\ntls-key-file %s\ntls-ca-cert-file %s\ntls-auth-clients no\nrequirepass %s\nsave ""\nappendonly no\ndir %s\n' \
    "$TLS_PORT" "$t/broker.pem" "$t/broker.key" "$t/ca.pem" "$password" "$tmp" >"$t/redis.conf"
redis-server "$t/redis.conf" >"$tmp/broker.log" 2>&1 &
redis_pid=$!
rcli() { REDISCLI_AUTH=$password redis-cli --tls --cacert "$t/ca.pem" -h 127.0.0.1 -p "$TLS_PORT" "$@"; }
pong() { [[ "$(rcli ping 2>/dev/null)" == PONG ]]; }
wait_for "the TLS broker answers" 30 pong || exit 1

# --- the stack, with the bridge configured (DB 5: the DB number is in the channel names)
export RUNWATCH_CELERY_BROKER="rediss://:$password@localhost:$TLS_PORT/5?ssl_ca_certs=$t/ca.pem"
export RUNWATCH_CELERY_FLUSH_MS=100
"$stack" start >"$tmp/start.log" 2>&1 || {
    cat "$tmp/start.log"
    exit 1
}
bridge_pid() { "$stack" status 2>/dev/null | sed -n 's/^runwatch-celery *running (pid \([0-9]*\),.*/\1/p'; }
pid1=$(bridge_pid)
if [[ -n "$pid1" ]]; then ok "stack.sh start started runwatch-celery (pid $pid1)"; else
    bad "stack.sh start did not start runwatch-celery"
    "$stack" status || true
    exit 1
fi
if [[ "$(stat -c %a "$RUNWATCH_VAR_DIR/celery.token")" == 600 ]]; then ok "its token is in celery.token (0600)"; else
    bad "celery.token missing or not 0600"
fi
if grep -q "rediss://" "$RUNWATCH_VAR_DIR/stack.env"; then ok "the broker is remembered in stack.env"; else
    bad "stack.env does not remember RUNWATCH_CELERY_BROKER"
fi
if grep -q "rw_" "$RUNWATCH_VAR_DIR/stack.env"; then bad "stack.env holds a token"; fi

psqlq() { "$stack" psql -X -q -tA -v ON_ERROR_STOP=1 -c "$1" 2>/dev/null; }
# is SQL EXPECTED: the query answers exactly that.
is() { [[ "$(psqlq "$1")" == "$2" ]]; }

# publish TYPE UUID EXTRA_JSON: one Celery event in a kombu envelope, over TLS.
publish() {
    local ev body env
    ev=$(printf '{"type":"%s","uuid":"%s","timestamp":%s,"hostname":"w1@tls","utcoffset":0,"pid":1,"clock":1%s}' \
        "$1" "$2" "$(date +%s.%N)" "$3")
    body=$(printf '%s' "$ev" | base64 -w0)
    env=$(printf '{"body":"%s","content-encoding":"utf-8","content-type":"application/json","headers":{"hostname":"w1@tls"},"properties":{"body_encoding":"base64","delivery_info":{"exchange":"celeryev","routing_key":"%s"},"delivery_mode":1,"delivery_tag":"%s","priority":0}}' \
        "$body" "${1//-/.}" "$2")
    rcli publish "/5.celeryev/${1//-/.}" "$env" >/dev/null
}

# task UUID: received then succeeded, its group id only in the result backend.
task() {
    local id=$1 gid=$2
    rcli -n 5 set "celery-task-meta-$id" "{\"status\":\"SUCCESS\",\"result\":3,\"traceback\":null,\"children\":[],\"date_done\":\"2026-12-04T20:00:00.000000\",\"task_id\":\"$id\",\"group_id\":\"$gid\"}" >/dev/null
    publish task-received "$id" ',"name":"tls.add","args":"(1, 2)","kwargs":"{}","retries":0,"root_id":"'"$id"'","parent_id":null'
    publish task-started "$id" ''
    publish task-succeeded "$id" ',"result":"3","runtime":0.01'
}

a=$(cat /proc/sys/kernel/random/uuid) ga=$(cat /proc/sys/kernel/random/uuid)
b=$(cat /proc/sys/kernel/random/uuid) gb=$(cat /proc/sys/kernel/random/uuid)

task "$a" "$ga"
wait_for "events published over TLS are stored (run $a succeeded)" 60 \
    is "SELECT kind || '|' || status FROM runs WHERE id = '$a'" "tls.add|succeeded"
wait_for "…with the group id read from the result backend over TLS" 60 \
    is "SELECT group_id FROM runs WHERE id = '$a'" "$ga"

# --- kill -9: the supervisor restarts the bridge, which stores what comes next
kill -9 "$pid1"
new_pid() {
    local p
    p=$(bridge_pid)
    [[ -n "$p" && "$p" != "$pid1" ]]
}
wait_for "after kill -9 the supervisor starts runwatch-celery again" 120 new_pid
if grep -q "restarting runwatch-celery" "$RUNWATCH_VAR_DIR/log/supervisor.log"; then
    ok "supervisor.log says so"
else
    bad "supervisor.log has no restart of runwatch-celery"
fi
subscribed_again() { (($(grep -c '"msg":"subscribed to /5.celeryev/\*"' "$RUNWATCH_VAR_DIR/log/celery.log") >= 2)); }
wait_for "the new bridge subscribed over TLS" 60 subscribed_again
task "$b" "$gb"
wait_for "the restarted bridge stores new events (run $b succeeded, group from the backend)" 60 \
    is "SELECT status || '|' || group_id FROM runs WHERE id = '$b'" "succeeded|$gb"

# --- the wrong CA: refused, said clearly, nothing subscribed
RUNWATCH_CELERY_BROKER="rediss://:$password@localhost:$TLS_PORT/5?ssl_ca_certs=$t/other.pem" \
    RUNWATCH_CELERY_TOKEN_FILE=$RUNWATCH_VAR_DIR/celery.token \
    RUNWATCH_CELERY_URL="http://$RUNWATCH_HTTP_HOST:${RUNWATCH_HTTP_PORT:?}" \
    "$bin_dir/runwatch-celery" >"$tmp/wrong-ca.log" 2>&1 &
stray_pid=$!
refused() { grep -q "the broker's certificate was refused: self-signed certificate in certificate chain" "$tmp/wrong-ca.log"; }
wait_for "a bridge given the wrong CA refuses the broker, saying why" 60 refused
kill -TERM "$stray_pid" 2>/dev/null || true
wait "$stray_pid" 2>/dev/null || true
stray_pid=''
if grep -q '"subscribed to' "$tmp/wrong-ca.log"; then bad "the wrong-CA bridge subscribed anyway"; else
    ok "…and never subscribed"
fi

# run_bridge LOG URL: a bridge of the test's own (not the stack's) on that broker URL.
run_bridge() {
    RUNWATCH_CELERY_BROKER=$2 RUNWATCH_CELERY_BACKEND=none \
        RUNWATCH_CELERY_TOKEN_FILE=$RUNWATCH_VAR_DIR/celery.token \
        RUNWATCH_CELERY_URL="http://$RUNWATCH_HTTP_HOST:${RUNWATCH_HTTP_PORT:?}" \
        "$bin_dir/runwatch-celery" >"$1" 2>&1 &
    stray_pid=$!
}
end_bridge() {
    kill -TERM "$stray_pid" 2>/dev/null || true
    wait "$stray_pid" 2>/dev/null || true
    stray_pid=''
}

# --- the right CA, the wrong name: a TLS server (openssl s_server) whose certificate the CA
# signed for elsewhere.example is refused when reached as 127.0.0.1
free_port NAME_PORT
openssl s_server -quiet -accept "$NAME_PORT" -cert "$t/elsewhere.pem" -key "$t/elsewhere.key" \
    </dev/null >"$tmp/s_server.log" 2>&1 &
s_server_pid=$!
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$NAME_PORT") 2>/dev/null; }
wait_for "a TLS server with another name's certificate listens" 30 listening
run_bridge "$tmp/wrong-name.log" "rediss://127.0.0.1:$NAME_PORT/5?ssl_ca_certs=$t/ca.pem"
mismatch() { grep -q "the broker's certificate was refused: IP address mismatch" "$tmp/wrong-name.log"; }
wait_for "a certificate for another name is refused, saying why" 60 mismatch
end_bridge
kill "$s_server_pid" 2>/dev/null || true

# --- ssl_cert_reqs=none: the wrong CA is accepted, and the log says verification is off
run_bridge "$tmp/no-verify.log" "rediss://:$password@localhost:$TLS_PORT/5?ssl_cert_reqs=none&ssl_ca_certs=$t/other.pem"
unverified() {
    grep -q "certificate NOT verified: ssl_cert_reqs=none" "$tmp/no-verify.log" &&
        grep -q '"msg":"subscribed to /5.celeryev/\*"' "$tmp/no-verify.log"
}
wait_for "ssl_cert_reqs=none connects, logging that nothing is verified" 60 unverified
end_bridge

# --- a query item the bridge does not know: refused at start (exit 2), not ignored
rc=0
RUNWATCH_CELERY_TOKEN=x "$bin_dir/runwatch-celery" --broker "rediss://localhost:$TLS_PORT/5?ssl_cert_reqz=none" \
    >"$tmp/typo.log" 2>&1 || rc=$?
if ((rc == 2)) && grep -q "unknown query item 'ssl_cert_reqz'" "$tmp/typo.log"; then
    ok "a misspelt TLS option is refused, not ignored"
else
    bad "a misspelt TLS option: exit $rc, $(cat "$tmp/typo.log")"
fi

# --- stop
pid2=$(bridge_pid)
"$stack" stop >"$tmp/stop.log" 2>&1 || bad "stack.sh stop failed"
gone() { ! kill -0 "$pid2" 2>/dev/null; }
wait_for "stack.sh stop stops runwatch-celery" 30 gone

if ((failures)); then
    say "$failures check(s) failed; the bridge's log:"
    tail -n 30 "$RUNWATCH_VAR_DIR/log/celery.log" | sed 's/^/    /'
    exit 1
fi
say "every check passed"
