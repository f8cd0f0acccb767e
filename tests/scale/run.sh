#!/usr/bin/env bash
# scale: the scale-out rehearsal (make scale-test, part of make test) on one machine with
# the real engines, started by the project's own stack script wherever it has the piece:
#   node A   deploy/stack.sh start: PostgreSQL (the primary), Redis (the primary), an API
#            pool on a unix socket, a hub, the housekeeper, and the one nginx, whose
#            upstreams list both API pools and both hubs (RUNWATCH_NGINX_API_SERVERS,
#            RUNWATCH_NGINX_SSE_SERVERS);
#   node B   deploy/stack.sh start with RUNWATCH_STACK_COMPONENTS="runwatch-api
#            runwatch-sse": a second API pool over TCP (RUNWATCH_API_TCP), a second hub,
#            a second housekeeper (it stands by: one leads by advisory lock), against A's
#            PostgreSQL and Redis, with its own supervisor;
#   here     what the stack has no recipe for: a streaming replica of A's PostgreSQL
#            (pg_basebackup -R), which serves ad-hoc SQL (RUNWATCH_REPORT_DATABASE_URL) and
#            the built-in reports (RUNWATCH_READ_DATABASE_URL); a
#            Redis replica and three Sentinels; every API and hub finds the Redis primary
#            through them (RUNWATCH_REDIS_URL=redis-sentinel://…).
# A writer and a live stream run throughout (tests/lib/traffic.sh). Then, one at a time:
#  1. API pool B is killed and kept down: writes go on through pool A, then B returns;
#  2. the hub the stream is on is killed and kept down: the stream reconnects to the
#     other hub and resumes with a replay or a reset;
#  3. the Redis primary is killed and kept down: the Sentinels promote the replica, the
#     API pools and hubs follow it, publishing and the stream resume; the old primary,
#     let back, rejoins as a replica;
#  4. the PostgreSQL replica is stopped: ad-hoc SQL answers 503 naming the database
#     (never another answer), a built-in report answers from the primary (saying so),
#     the same answer the replica gives once back; writes go on; restarted, it answers
#     with the rows written meanwhile.
# At the end every acknowledged write is in the primary and the stream never skipped an
# id without a reset. What each failure cost (refused tries, stream reconnections,
# seconds to recover) is printed, not asserted: it depends on the machine.
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

private_stack runwatch-scale
top=$stack_dir
tmp=$top/t
mkdir -p "$tmp"
stack=$repo/deploy/stack.sh
A=$RUNWATCH_VAR_DIR
B=$top/b/var
export RUNWATCH_BIN_DIR=$bin_dir
export RUNWATCH_API_WORKERS=2
export RUNWATCH_ADMIN_EMAIL=admin@runwatch.test
export RUNWATCH_ADMIN_PASSWORD=admin-password-for-tests
export RUNWATCH_SSE_KEEPALIVE_MS=1000
mkdir -p "$top/static"
echo '<!doctype html><title>Runwatch</title>' >"$top/static/index.html"
export RUNWATCH_STATIC_DIR=$top/static
free_port API_B_PORT && free_port SSE_B_PORT && free_port HTTP_B_PORT
free_port REPLICA_PG_PORT && free_port REDIS_REPLICA_PORT
free_port SENTINEL_1 && free_port SENTINEL_2 && free_port SENTINEL_3
# shellcheck disable=SC2153 # set by free_port (private_stack)
url=http://$RUNWATCH_HTTP_HOST:$RUNWATCH_HTTP_PORT
DEADLINE=${RUNWATCH_SCALE_DEADLINE:-240}
TRAFFIC_TAG=scale
MASTER=runwatch

# Both nodes' API pools and hubs behind A's nginx; every process finds Redis's primary
# through the Sentinels; ad-hoc SQL reads the replica.
export RUNWATCH_NGINX_API_SERVERS="unix:$A/run/api.sock,127.0.0.1:$API_B_PORT"
# shellcheck disable=SC2153 # RUNWATCH_SSE_PORT: set by free_port (private_stack)
export RUNWATCH_NGINX_SSE_SERVERS="127.0.0.1:$RUNWATCH_SSE_PORT,127.0.0.1:$SSE_B_PORT"
export RUNWATCH_REDIS_URL="redis-sentinel://127.0.0.1:$SENTINEL_1,127.0.0.1:$SENTINEL_2,127.0.0.1:$SENTINEL_3/$MASTER"
replica=$top/replica
replica_run=$top/replica-run
export RUNWATCH_REPORT_DATABASE_URL="host=$replica_run port=$REPLICA_PG_PORT dbname=runwatch user=runwatch_report"
# The built-in reports read it too, as the main login (RUNWATCH_READ_DATABASE_URL).
export RUNWATCH_READ_DATABASE_URL="host=$replica_run port=$REPLICA_PG_PORT dbname=runwatch user=runwatch"

# Node B: only an API pool (over TCP) and a hub, on A's PostgreSQL, Redis password and hub key.
node_b() {
    RUNWATCH_VAR_DIR=$B RUNWATCH_STACK_COMPONENTS="runwatch-api runwatch-sse" \
        RUNWATCH_API_TCP=127.0.0.1:$API_B_PORT RUNWATCH_SSE_PORT=$SSE_B_PORT \
        RUNWATCH_HTTP_PORT=$HTTP_B_PORT \
        RUNWATCH_DATABASE_URL="host=$A/run port=$RUNWATCH_PG_PORT dbname=runwatch user=runwatch" \
        RUNWATCH_REDIS_PASSWORD_FILE=$A/run/redis.password RUNWATCH_SSE_KEY_FILE=$A/run/sse.key \
        "$stack" "$@"
}

as_pg() { if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
pg_bin=''
redis_pw() { cat "$A/run/redis.password"; }
rcli() { # port args...: redis-cli, authenticated through the environment
    local port=$1
    shift
    REDISCLI_AUTH=$(redis_pw) redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" "$@"
}
scli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

cleanup() {
    local rc=$?
    traffic_stop
    node_b stop >/dev/null 2>&1 || true
    RUNWATCH_STACK_COMPONENTS=all "$stack" stop >/dev/null 2>&1 || true
    local f p
    for f in "$top"/sentinel-*.pid "$top"/redis-replica.pid; do
        p=''
        if [[ -r "$f" ]]; then p=$(<"$f"); fi
        if [[ "$p" =~ ^[0-9]+$ ]]; then kill "$p" 2>/dev/null || true; fi
    done
    if [[ -n "$pg_bin" && -f "$replica/postmaster.pid" ]]; then
        as_pg "$pg_bin/pg_ctl" -D "$replica" -w -t 60 -s stop -m fast >/dev/null 2>&1 || true
    fi
    if ((failed > 0)) || ((rc != 0)); then
        for f in "$A"/log/*.log "$B"/log/*.log "$top"/*.log "$tmp"/writer.err "$tmp"/stream.err; do
            [[ -s "$f" ]] || continue
            echo "---- last lines of $f"
            tail -n 25 "$f"
        done
        rc=1
    fi
    rm -rf "$top"
    exit "$rc"
}
trap cleanup EXIT INT TERM

# ---------------------------------------------------------------- Redis: replica, Sentinels

# The Sentinels and the replica come first, so that A's API and hub find the primary
# through them from their first connection; they need its password, which the stack
# keeps once made (make_secret), so it is made here first.
mkdir -p "$A/run"
chmod 0700 "$A/run"
(umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$A/run/redis.password")
pw=$(redis_pw)
(umask 077 && cat >"$top/redis-replica.conf") <<EOF2
port $REDIS_REPLICA_PORT
bind 127.0.0.1
requirepass $pw
masterauth $pw
replicaof 127.0.0.1 $RUNWATCH_REDIS_PORT
daemonize yes
pidfile "$top/redis-replica.pid"
logfile "$top/redis-replica.log"
dir "$top"
save ""
appendonly no
EOF2
redis-server "$top/redis-replica.conf"
for n in 1 2 3; do
    port_var=SENTINEL_$n
    (umask 077 && cat >"$top/sentinel-$n.conf") <<EOF2
port ${!port_var}
bind 127.0.0.1
daemonize yes
pidfile "$top/sentinel-$n.pid"
logfile "$top/sentinel-$n.log"
dir "$top"
sentinel monitor $MASTER 127.0.0.1 $RUNWATCH_REDIS_PORT 2
sentinel auth-pass $MASTER $pw
sentinel down-after-milliseconds $MASTER 2000
sentinel failover-timeout $MASTER 10000
sentinel parallel-syncs $MASTER 1
EOF2
    redis-sentinel "$top/sentinel-$n.conf"
done

# ---------------------------------------------------------------- node A, node B

"$stack" start >"$top/start-a.log" 2>&1 || {
    cat "$top/start-a.log"
    exit 1
}
pg_bin=$(sed -n "s/^RUNWATCH_PG_BINDIR='\(.*\)'$/\1/p" "$A/stack.env")
if [[ -z "$pg_bin" ]]; then
    v=$(<"$A/pg/PG_VERSION")
    pg_bin=/usr/lib/postgresql/$v/bin
fi
replica_in_sync() { [[ "$(rcli "$REDIS_REPLICA_PORT" info replication | tr -d '\r' | sed -n 's/^master_link_status://p')" == up ]]; }
sentinels_agree() { # every Sentinel sees the primary on $1 and knows the other two and a replica
    local n port_var out
    for n in 1 2 3; do
        port_var=SENTINEL_$n
        out=$(scli "${!port_var}" sentinel get-master-addr-by-name "$MASTER" 2>/dev/null | tail -n 1)
        [[ "$out" == "$1" ]] || return 1
        out=$(scli "${!port_var}" sentinel master "$MASTER" 2>/dev/null | tr -d '\r')
        [[ "$(sed -n '/^num-other-sentinels$/{n;p}' <<<"$out")" == 2 ]] || return 1
        [[ "$(sed -n '/^num-slaves$/{n;p}' <<<"$out")" -ge 1 ]] || return 1
    done
}
if until_ok "$DEADLINE" replica_in_sync && until_ok "$DEADLINE" sentinels_agree "$RUNWATCH_REDIS_PORT"; then
    ok "Redis: a replica in sync and three Sentinels agreeing on the primary"
else
    not_ok "Redis: a replica in sync and three Sentinels agreeing on the primary"
    exit 1
fi

node_b start >"$top/start-b.log" 2>&1 || {
    cat "$top/start-b.log"
    exit 1
}
ok "node A (stack.sh start) and node B (RUNWATCH_STACK_COMPONENTS: API over TCP, hub) are up"

# ---------------------------------------------------------------- PostgreSQL: the replica

mkdir -p "$replica" "$replica_run"
: >"$top/replica.log"
if ((EUID == 0)); then chown postgres: "$replica" "$replica_run" "$top/replica.log"; fi
chmod 0700 "$replica"
chmod 0755 "$replica_run"
if as_pg "$pg_bin/pg_basebackup" -h "$A/run" -p "$RUNWATCH_PG_PORT" -U postgres -D "$replica" \
    -R -X stream -c fast >"$top/basebackup.log" 2>&1; then
    ok "pg_basebackup -R copied the primary"
else
    not_ok "pg_basebackup -R copied the primary" "$(cat "$top/basebackup.log")"
    exit 1
fi
# After the copied postgresql.conf and runwatch.conf (the primary's port and socket).
as_pg tee -a "$replica/postgresql.auto.conf" >/dev/null <<EOF2
port = $REPLICA_PG_PORT
unix_socket_directories = '$replica_run'
listen_addresses = ''
hot_standby = on
EOF2
replica_start() { as_pg "$pg_bin/pg_ctl" -D "$replica" -l "$top/replica.log" -w -t 120 -s start; }
replica_stop() { as_pg "$pg_bin/pg_ctl" -D "$replica" -w -t 60 -s stop -m fast; }
rpsql() { "$pg_bin/psql" -X -tA -h "$replica_run" -p "$REPLICA_PG_PORT" -U postgres -d runwatch "$@"; }
replica_start
streaming() {
    [[ "$("$stack" psql-admin -X -tAc "select count(*) from pg_stat_replication where state = 'streaming'" 2>/dev/null)" == 1 ]]
}
if until_ok "$DEADLINE" streaming && [[ "$(rpsql -c 'select pg_is_in_recovery()')" == t ]]; then
    ok "the replica streams from the primary (pg_stat_replication) and is in recovery"
else
    not_ok "the replica streams from the primary and is in recovery"
    exit 1
fi

# ---------------------------------------------------------------- ready

token=$(cd "$repo" && "$bin_dir/runwatch-api" token create --project scale --create-project --name "scale writer")
[[ "$token" == rw_* ]] || {
    echo "no token"
    exit 1
}
auth="Authorization: Bearer $token"
both_hubs_subscribed() {
    local p
    for p in "$RUNWATCH_SSE_PORT" "$SSE_B_PORT"; do
        curl -fsS -m 2 "http://127.0.0.1:$p/healthz" 2>/dev/null | grep -q '"redis":"subscribed"' || return 1
    done
}
ready() { [[ "$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$url/api/v1/readyz")" == 200 ]]; }
if until_ok "$DEADLINE" both_hubs_subscribed && until_ok "$DEADLINE" ready; then
    ok "both hubs subscribed through the Sentinels; readyz through nginx is 200"
else
    not_ok "both hubs subscribed through the Sentinels; readyz through nginx is 200"
    exit 1
fi

# Two housekeepers (one a node), one leader: the advisory lock of housekeep_lead.
leaders() { "$stack" psql-admin -X -tAc "select count(*) from pg_locks where locktype = 'advisory' and objid = 7243002 and granted"; }
housekeepers() { "$stack" psql-admin -X -tAc "select count(*) from pg_stat_activity where application_name = 'runwatch-housekeeper'"; }
two_one() { [[ "$(housekeepers)" == 2 && "$(leaders)" == 1 ]]; }
if until_ok "$DEADLINE" two_one; then
    ok "two housekeepers connected, one leads (advisory lock 7243002 held once)"
else
    not_ok "two housekeepers connected, one leads" "housekeepers $(housekeepers), leaders $(leaders)"
fi

traffic_start
serving_again "both nodes, live traffic" || exit 1
# nginx spreads the writes over both pools: pool B (FastCGI over TCP) has served some.
b_served() { (($(grep -c '"msg":"request"' "$B/log/api.log" || true) >= 5)); }
if until_ok "$DEADLINE" b_served; then
    ok "API pool B (FastCGI over TCP) serves its share: $(grep -c '"msg":"request"' "$B/log/api.log") requests so far"
else
    not_ok "API pool B (FastCGI over TCP) serves requests" "$(tail -n 5 "$B/log/api.log")"
fi

# What a failure cost: the writer's refused or failed tries, the stream's reconnections,
# and the seconds from the kill until writes and the stream both worked again.
costs=()
cost_begin() {
    c_fails=$(fails_count)
    c_connects=$(connects_count)
    c_start=$SECONDS
}
cost_end() { # name
    costs+=("$(printf '%-44s %4d refused tries %3d reconnects %4d s to recover' "$1" \
        "$(($(fails_count) - c_fails))" "$(($(connects_count) - c_connects))" "$((SECONDS - c_start))")")
}

pid_in() {
    local p=''
    [[ -r "$1" ]] && read -r p <"$1"
    [[ "$p" =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null && printf '%s' "$p"
}
port_closed() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
restarted() { local p; p=$(pid_in "$1") && [[ "$p" != "$2" ]]; }

# ---------------------------------------------------------------- 1. API pool B

pid=$(pid_in "$B/run/api.pid")
: >"$B/run/held.runwatch-api" # its supervisor leaves it down until we say
cost_begin
kill -KILL "$pid"
if until_ok "$DEADLINE" port_closed "$API_B_PORT"; then
    before=$(acked_count)
    if until_ok "$DEADLINE" acked_since "$((before + 20))"; then
        ok "API pool B down (its port closed): 20 more writes acknowledged through pool A"
    else
        not_ok "writes go on through pool A while pool B is down"
    fi
else
    not_ok "API pool B's port closed after its master was killed"
fi
serving_again "one API pool down" || true
cost_end "1. API pool B killed (traffic on pool A)"
rm -f "$B/run/held.runwatch-api"
if until_ok "$DEADLINE" restarted "$B/run/api.pid" "$pid" && until_ok "$DEADLINE" ready; then
    ok "API pool B back (its supervisor restarted it)"
else
    not_ok "API pool B back"
fi

# ---------------------------------------------------------------- 2. the stream's hub

hub_clients() { # the streams a hub holds (0 when it does not answer)
    local n
    n=$(curl -fsS -m 2 "http://127.0.0.1:$1/healthz" 2>/dev/null | sed -n 's/.*"clients":\([0-9]*\).*/\1/p')
    printf '%s' "${n:-0}"
}
# The stream is on one hub (not between two connections) before we pick which to kill.
stream_on_a_hub() { (($(hub_clients "$RUNWATCH_SSE_PORT") + $(hub_clients "$SSE_B_PORT") >= 1)); }
until_ok "$DEADLINE" stream_on_a_hub || not_ok "the stream is held by a hub"
if [[ "$(hub_clients "$RUNWATCH_SSE_PORT")" -ge 1 ]]; then
    hub_var=$A other_port=$SSE_B_PORT hub_name=A
else
    hub_var=$B other_port=$RUNWATCH_SSE_PORT hub_name=B
fi
pid=$(pid_in "$hub_var/run/sse.pid")
: >"$hub_var/run/held.runwatch-sse"
cost_begin
connects=$(connects_count)
kill -KILL "$pid"
other_has_stream() { [[ "$(hub_clients "$other_port")" -ge 1 ]]; }
reconnected() { (($(connects_count) > connects)); }
if until_ok "$DEADLINE" reconnected && until_ok "$DEADLINE" other_has_stream; then
    ok "hub $hub_name (the stream's) killed: the stream reconnected to the other hub"
else
    not_ok "the stream reconnected to the other hub after hub $hub_name was killed"
fi
serving_again "one hub down" || true
cost_end "2. the stream's hub ($hub_name) killed"
rm -f "$hub_var/run/held.runwatch-sse"
until_ok "$DEADLINE" restarted "$hub_var/run/sse.pid" "$pid" || not_ok "hub $hub_name back"

# ---------------------------------------------------------------- 3. Redis failover

pid=$(pid_in "$A/run/redis.pid")
: >"$A/run/held.redis"
cost_begin
kill -KILL "$pid"
if until_ok "$DEADLINE" sentinels_agree "$REDIS_REPLICA_PORT"; then
    ok "the Sentinels promoted the replica (port $REDIS_REPLICA_PORT) to primary"
else
    not_ok "the Sentinels promoted the replica"
fi
serving_again "Redis failed over" || true
cost_end "3. Redis primary killed (Sentinel failover)"
if until_ok "$DEADLINE" both_hubs_subscribed && until_ok "$DEADLINE" ready; then
    ok "both hubs and the API follow the new Redis primary (subscribed, readyz 200)"
else
    not_ok "both hubs and the API follow the new Redis primary"
fi
rm -f "$A/run/held.redis" # the supervisor restarts it; the Sentinels make it a replica
old_is_replica() { [[ "$(rcli "$RUNWATCH_REDIS_PORT" role 2>/dev/null | head -n 1)" == slave ]]; }
if until_ok "$DEADLINE" old_is_replica; then
    ok "the old Redis primary, restarted, rejoined as a replica of the new one"
else
    not_ok "the old Redis primary rejoined as a replica"
fi

# ---------------------------------------------------------------- 4. the PostgreSQL replica

scrape() { # the value of one metric in nginx's /metrics (any pool answers), or nothing
    curl -sS -m 10 -H "Authorization: Bearer $(cat "$A/metrics.token")" "$url/metrics" 2>/dev/null |
        sed -n "s/^$1 //p"
}
lag_shown() { [[ "$(scrape runwatch_report_database_standby)" == 1 && -n "$(scrape runwatch_report_replica_lag_seconds)" ]]; }
if until_ok "$DEADLINE" lag_shown; then
    ok "/metrics: ad-hoc SQL reads a standby, its replay lag shown ($(scrape runwatch_report_replica_lag_seconds) s)"
else
    not_ok "/metrics shows the replica and its lag" "$(curl -sS -H "Authorization: Bearer $(cat "$A/metrics.token")" "$url/metrics" | grep report)"
fi

adhoc() { # prints "<http code> <body>"
    curl -sS -m 20 -w '\n%{http_code}' -H "$auth" -H 'Content-Type: application/json' \
        -d '{"sql":"select count(*) from runs"}' "$url/api/v1/reports/query" 2>/dev/null | tr '\n' ' '
}
adhoc_count() { sed -n 's/.*"rows":\[\[\([0-9]*\)\]\].* 200$/\1/p' <<<"$(adhoc)"; }
db_runs() { "$stack" psql -X -tAc "select count(*) from runs r join projects p on p.id = r.project_id where p.slug = 'scale'"; }
first=$(adhoc_count)
if [[ -n "$first" && "$(adhoc)" =~ \"replica_lag_s\":[0-9.]+\} ]]; then
    ok "ad-hoc SQL answers from the replica ($first runs), with its replica_lag_s"
else
    not_ok "ad-hoc SQL answers from the replica" "$(adhoc)"
fi
# A built-in report, to a fixed end: the replica answers it,
# with its lag; while the replica is down the primary does; back, the replica again, and
# the same as the primary did (nothing started before the end commits after the stop).
builtin() { # <to>: the throughput report of project scale up to <to>, headers then body
    curl -sS -m 20 -D - -H "$auth" "$url/api/v1/reports/throughput?project=scale&window=24h&to=$1" 2>/dev/null | tr -d '\r'
}
header_of() { sed -n "s/^$1: //Ip" <<<"$2" | head -n 1; }
body_of() { sed '1,/^$/d' <<<"$1"; }
status_of() { sed -n '1s/^HTTP[^ ]* \([0-9]*\).*/\1/p' <<<"$1"; }
# The writer's runs stay queued: three started ones give the report something to count.
for i in 1 2 3; do
    curl -fsS -m 20 -o /dev/null -H "$auth" -H 'Content-Type: application/json' \
        -d "{\"kind\":\"scale-report\",\"name\":\"report $i\",\"status\":\"running\"}" "$url/api/v1/runs" ||
        not_ok "a running run created for the report"
done
# The end: the next whole second of the primary's clock, after those three started.
report_to=$("$stack" psql -X -tAc "select to_char(date_trunc('second', now() at time zone 'utc') + interval '1 second', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
from_replica() {
    answer=$(builtin "$report_to")
    [[ "$(status_of "$answer")" == 200 && "$(header_of X-Runwatch-Read-From "$answer")" == replica &&
        "$(header_of X-Runwatch-Replica-Lag "$answer")" =~ ^[0-9]+\.[0-9]{3}$ ]]
}
if until_ok "$DEADLINE" from_replica; then
    ok "a built-in report (throughput) answers from the replica, its lag in X-Runwatch-Replica-Lag ($(header_of X-Runwatch-Replica-Lag "$answer") s)"
else
    not_ok "a built-in report answers from the replica" "$answer"
fi
cost_begin
replica_stop
answer=$(builtin "$report_to")
fallback_body=$(body_of "$answer")
if [[ "$(status_of "$answer")" == 200 && "$(header_of X-Runwatch-Read-From "$answer")" == primary-fallback &&
    -z "$(header_of X-Runwatch-Replica-Lag "$answer")" ]] &&
    jq -e '.items | map(select(.project == "scale") | .started) | add >= 3' >/dev/null <<<"$fallback_body"; then
    ok "the replica stopped: the built-in report answers from the primary (X-Runwatch-Read-From: primary-fallback)"
else
    not_ok "the replica stopped: the built-in report answers from the primary" "$answer"
fi
answer=$(adhoc)
if [[ "$answer" == *' 503' && "$answer" == *'"unavailable"'* ]]; then
    ok "the replica stopped: ad-hoc SQL answers 503 unavailable (the primary is up: the reads were the replica's)"
else
    not_ok "the replica stopped: ad-hoc SQL answers 503" "$answer"
fi
report_down() { [[ "$(scrape runwatch_report_database_up)" == 0 && "$(scrape runwatch_database_up)" == 1 ]]; }
if until_ok "$DEADLINE" report_down; then
    ok "/metrics: the report database is down, the primary up"
else
    not_ok "/metrics: the report database is down, the primary up"
fi
before=$(acked_count)
if until_ok "$DEADLINE" acked_since "$((before + 20))"; then
    ok "writes go on while the replica is down"
else
    not_ok "writes go on while the replica is down"
fi
replica_start
target=$(db_runs)
caught_up() { local n; n=$(adhoc_count) && [[ -n "$n" ]] && ((n >= target)); }
if until_ok "$DEADLINE" caught_up; then
    ok "the replica restarted: ad-hoc SQL answers again, with the runs written meanwhile (>= $target)"
else
    not_ok "the replica restarted: ad-hoc SQL answers again with the runs written meanwhile" "$(adhoc)"
fi
same_from_replica() { from_replica && [[ "$(jq -S . <<<"$(body_of "$answer")")" == "$(jq -S . <<<"$fallback_body")" ]]; }
if until_ok "$DEADLINE" same_from_replica; then
    ok "the replica back: the built-in report answers from it again, as the primary did while it was down"
else
    not_ok "the replica back: the built-in report answers from it, as the primary did" "$answer
primary's: $fallback_body"
fi
cost_end "4. PostgreSQL replica restarted"

# ---------------------------------------------------------------- the outcome

serving_again "after every failure" || true
traffic_stop
check_acked_stored
check_stream_gapless "every failure"
echo "# requests served: pool A $(grep -c '"msg":"request"' "$A/log/api.log" || true), pool B $(grep -c '"msg":"request"' "$B/log/api.log" || true)"
echo "# what each failure cost (this machine, this run; not asserted):"
printf '#   %s\n' "${costs[@]}"
echo "scale: $passed passed, $failed failed"
((failed == 0))
