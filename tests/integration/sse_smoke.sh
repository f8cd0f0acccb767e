#!/usr/bin/env bash
# sse_smoke: runwatch-sse against a private Redis on free loopback ports — /healthz, message
# counting, Redis going away (503, the hub stays up) and coming back (200 with a gap),
# /metrics, a stream read straight from the hub (no nginx: the test sets the allowed-projects
# header itself, with the hub key nginx would add; without the key it is a 403), and a clean
# SIGTERM that ends that stream properly. Redis requires a password, as in the stack. Every
# wait is bounded; everything started here is removed on exit.
#
# usage: tests/integration/sse_smoke.sh path/to/runwatch-sse
# A wrapper script works as $1 if it execs the binary, so signals reach it; give valgrind
# --error-exitcode=N so its findings fail the SIGTERM check.
# SSE_SMOKE_SLOW=N multiplies the start/stop budgets for slow wrappers. Every budget is a
# deadline in seconds, generous (WAIT_S, 60 s): a busy machine only makes a check slower,
# never failed; a check that does succeed ends its wait at once.
set -u

bin=${1:-}
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "usage: $0 path/to/runwatch-sse" >&2
    exit 2
fi
for tool in redis-server redis-cli curl; do
    if ! command -v "$tool" >/dev/null; then
        echo "$tool is required" >&2
        exit 2
    fi
done
slow=${SSE_SMOKE_SLOW:-1}
WAIT_S=60

tmp=$(mktemp -d "${TMPDIR:-/tmp}/runwatch-sse-smoke.XXXXXX") || exit 2
hub_pid=
code=000
# The secrets the stack keeps in $RUNWATCH_VAR_DIR/run (deploy/stack.sh): the hub reads
# both from there. They reach redis-server in a config file and curl in a header file, never
# on a command line.
mkdir -p "$tmp/run"
(umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$tmp/run/sse.key" &&
    od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$tmp/run/redis.password" &&
    printf 'X-Runwatch-Hub-Key: %s\n' "$(cat "$tmp/run/sse.key")" >"$tmp/key-header") || exit 2
REDISCLI_AUTH=$(cat "$tmp/run/redis.password")
export REDISCLI_AUTH

redis_stop() {
    local pid
    [ -s "$tmp/redis.pid" ] || return 0
    pid=$(cat "$tmp/redis.pid")
    kill "$pid" 2>/dev/null
    # Redis removes its pid file once it has closed its clients and its port.
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    rm -f "$tmp/redis.pid"
}

cleanup() {
    if [ -n "$hub_pid" ]; then
        kill -9 "$hub_pid" 2>/dev/null
        wait "$hub_pid" 2>/dev/null
    fi
    redis_stop
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=tests/lib/ports.sh
. "$(dirname "$0")/../lib/ports.sh"
redis_port=0 hub_port=0 # chosen by free_port below

# until_ok SECONDS CMD...: runs CMD every 0.1 s until it succeeds or SECONDS have passed
# (counted by the clock, not in tries: a try that takes long on a busy box uses its time);
# gives up at once when CMD returns 2 (the hub is gone, waiting cannot help).
until_ok() {
    local end=$((SECONDS + $1)) rc
    shift
    while :; do
        "$@"
        rc=$?
        [ "$rc" = 0 ] && return 0
        [ "$rc" = 2 ] && return 1
        ((SECONDS < end)) || return 1
        sleep 0.1
    done
}

redis_start() {
    (umask 077 && cat >"$tmp/redis.conf") <<EOF || return 1
port $redis_port
bind 127.0.0.1
requirepass $REDISCLI_AUTH
save ""
appendonly no
daemonize yes
pidfile "$tmp/redis.pid"
dir "$tmp"
logfile "$tmp/redis.log"
EOF
    redis-server "$tmp/redis.conf" >/dev/null || return 1
    until_ok "$WAIT_S" redis_ping
}

redis_ping() {
    [ "$(redis-cli --no-auth-warning -p "$redis_port" ping 2>/dev/null)" = PONG ]
}

# Fetches URL path $1 (method $2, GET by default) into $tmp/body and $tmp/headers and
# stores the status in $code.
fetch() {
    code=$(curl -s -m "$WAIT_S" -X "${2:-GET}" -D "$tmp/headers" -o "$tmp/body" -w '%{http_code}' \
        "http://127.0.0.1:$hub_port$1" 2>/dev/null) || code=000
}

healthz_is() {
    hub_alive || return 2
    fetch /healthz
    [ "$code" = "$1" ] && grep -q "\"redis\":\"$2\"" "$tmp/body" 2>/dev/null
}

healthz_messages_is() {
    hub_alive || return 2
    fetch /healthz
    grep -q "\"messages\":$1[,}]" "$tmp/body" 2>/dev/null
}

# kill -0 would also succeed for an exited child we have not reaped yet (a zombie).
hub_alive() {
    local stat
    stat=$(cat "/proc/$hub_pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

header_is() {
    grep -qi "^$1: $2"$'\r'"\?$" "$tmp/headers" 2>/dev/null
}

publish() {
    [ "$(redis-cli --no-auth-warning -p "$redis_port" publish runwatch:events "$1" 2>/dev/null)" = 1 ]
}

free_port redis_port || exit 1
free_port hub_port || exit 1

if redis_start; then
    ok "private redis on 127.0.0.1:$redis_port"
else
    not_ok "private redis starts"
    tail -n 20 "$tmp/redis.log" 2>/dev/null
fi

# A var dir of its own: settings a developer's stack remembers (var/stack.env) stay out.
RUNWATCH_VAR_DIR="$tmp" RUNWATCH_REDIS_URL="redis://127.0.0.1:$redis_port" RUNWATCH_SSE_HOST=127.0.0.1 \
    RUNWATCH_SSE_PORT="$hub_port" RUNWATCH_LOG_LEVEL=info "$bin" 2>"$tmp/sse.log" &
hub_pid=$!

if until_ok $((WAIT_S * slow)) healthz_is 200 subscribed; then
    ok "GET /healthz is 200 subscribed"
else
    not_ok "GET /healthz is 200 subscribed (got $code: $(cat "$tmp/body" 2>/dev/null))"
fi
if header_is Content-Type application/json && header_is Cache-Control no-store; then
    ok "/healthz is application/json, no-store"
else
    not_ok "/healthz is application/json, no-store"
fi

if publish '{"id":1}' && until_ok "$WAIT_S" healthz_messages_is 1; then
    ok "a published message is counted"
else
    not_ok "a published message is counted ($(cat "$tmp/body" 2>/dev/null))"
fi

fetch /nope
if [ "$code" = 404 ] && grep -q '"code":"not_found"' "$tmp/body" 2>/dev/null; then
    ok "unknown path is a JSON 404"
else
    not_ok "unknown path is a JSON 404 (got $code)"
fi
fetch /healthz POST
if [ "$code" = 405 ] && header_is Allow GET && grep -q '"error"' "$tmp/body" 2>/dev/null; then
    ok "POST /healthz is a JSON 405 with Allow: GET"
else
    not_ok "POST /healthz is a JSON 405 with Allow: GET (got $code)"
fi

redis_stop
# The hub sees the close at once (and stays 503 until Redis is back, so a long budget
# cannot hide a failure).
if until_ok "$WAIT_S" healthz_is 503 disconnected && header_is Retry-After 1; then
    ok "redis gone: /healthz is 503 disconnected with Retry-After"
else
    not_ok "redis gone: /healthz is 503 disconnected with Retry-After (got $code)"
fi
if hub_alive; then ok "the hub stays up without redis"; else not_ok "the hub stays up without redis"; fi

redis_start || { not_ok "private redis restarts"; tail -n 20 "$tmp/redis.log" 2>/dev/null; }
# The reconnect backoff tops out at 5 s plus jitter.
if until_ok $((WAIT_S * slow)) healthz_is 200 subscribed &&
    grep -q '"gaps":[1-9]' "$tmp/body" 2>/dev/null; then
    ok "redis back: 200 subscribed with gaps >= 1"
else
    not_ok "redis back: 200 subscribed with gaps >= 1 (got $code: $(cat "$tmp/body" 2>/dev/null))"
fi
if publish '{"id":2}' && until_ok "$WAIT_S" healthz_messages_is 2; then
    ok "messages are counted after the resubscribe"
else
    not_ok "messages are counted after the resubscribe ($(cat "$tmp/body" 2>/dev/null))"
fi

fetch /metrics
if [ "$code" = 200 ] && header_is Content-Type 'text/plain; version=0.0.4' &&
    grep -q '^runwatch_sse_events_in_total 2$' "$tmp/body" &&
    grep -q '^runwatch_sse_redis_reconnects_total 1$' "$tmp/body" &&
    grep -q '^# TYPE runwatch_sse_clients gauge$' "$tmp/body"; then
    ok "GET /metrics is Prometheus text with the counters"
else
    not_ok "GET /metrics is Prometheus text with the counters (got $code: $(head -c 300 "$tmp/body"))"
fi

fetch /api/v1/stream
if [ "$code" = 403 ] && grep -q '"code":"forbidden"' "$tmp/body" 2>/dev/null; then
    ok "a stream request without the hub key is a JSON 403"
else
    not_ok "a stream request without the hub key is a JSON 403 (got $code)"
fi
code=$(curl -s -m "$WAIT_S" -H 'X-Runwatch-Projects: [7]' -o "$tmp/body" -w '%{http_code}' \
    "http://127.0.0.1:$hub_port/api/v1/stream" 2>/dev/null) || code=000
if [ "$code" = 403 ]; then
    ok "a forged projects header without the hub key is a 403"
else
    not_ok "a forged projects header without the hub key is a 403 (got $code)"
fi
code=$(curl -s -m "$WAIT_S" -H @"$tmp/key-header" -o "$tmp/body" -w '%{http_code}' \
    "http://127.0.0.1:$hub_port/api/v1/stream" 2>/dev/null) || code=000
if [ "$code" = 401 ] && grep -q '"code":"unauthenticated"' "$tmp/body" 2>/dev/null; then
    ok "a stream request with the key but without nginx's projects header is a JSON 401"
else
    not_ok "a stream request with the key but without nginx's projects header is a JSON 401 (got $code)"
fi

# A stream of project 7, open across the SIGTERM below: it must end cleanly (curl exits 0
# only when the chunked body was terminated). curl's cap is above every wait until then.
stream_rc=none
# The file exists before curl's shell opens it: a grep of a missing file says 2, which
# until_ok takes for a final failure (CI once lost this race).
: >"$tmp/stream"
curl -sN -m $((WAIT_S * (4 + slow))) -H @"$tmp/key-header" -H 'X-Runwatch-Projects: [7]' \
    "http://127.0.0.1:$hub_port/api/v1/stream" \
    >"$tmp/stream" 2>/dev/null &
stream_pid=$!
stream_has() { grep -q "$1" "$tmp/stream" 2>/dev/null; }
if until_ok "$WAIT_S" stream_has '^retry: ' &&
    publish '{"id":3,"epoch":"smoke","project":8,"type":"run.updated","run":null,"data":{}}' &&
    publish '{"id":4,"epoch":"smoke","project":7,"type":"run.updated","run":null,"data":{"n":4}}' &&
    until_ok "$WAIT_S" stream_has '^id: smoke-4$' && ! stream_has 'smoke-3'; then
    ok "a stream gets its project's frames and not another's"
else
    not_ok "a stream gets its project's frames and not another's ($(head -c 300 "$tmp/stream"))"
fi

status=none
if hub_alive; then
    kill -TERM "$hub_pid"
    if until_ok $((WAIT_S * slow)) eval '! hub_alive'; then
        wait "$hub_pid"
        status=$?
    fi
fi
if [ "$status" = 0 ]; then
    ok "SIGTERM stops the hub with status 0"
else
    not_ok "SIGTERM stops the hub with status 0 (status $status)"
fi
hub_pid=
wait "$stream_pid"
stream_rc=$?
if [ "$stream_rc" = 0 ]; then
    ok "SIGTERM ends an open stream cleanly"
else
    not_ok "SIGTERM ends an open stream cleanly (curl status $stream_rc)"
fi

if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:|ERROR SUMMARY: [1-9]' "$tmp/sse.log"; then
    not_ok "no sanitizer or valgrind errors in the hub's log"
else
    ok "no sanitizer or valgrind errors in the hub's log"
fi

if [ "$failed" -gt 0 ]; then
    echo "--- hub log (last 40 lines)"
    tail -n 40 "$tmp/sse.log"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
