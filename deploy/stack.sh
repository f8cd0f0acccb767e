#!/usr/bin/env bash
# stack.sh: the local Runwatch stack — a private PostgreSQL, Redis, runwatch-api,
# runwatch-sse and nginx, all on loopback, all state under RUNWATCH_VAR_DIR.
# Settings come from the environment (docs/CONTRACTS.md); `make run` and the test
# harnesses drive it.
#
#   deploy/stack.sh start          start what is not running, wait until healthy
#   deploy/stack.sh stop           stop everything (never fails if nothing runs)
#   deploy/stack.sh run            start, stay in the foreground, Ctrl-C stops
#   deploy/stack.sh status         one line per component; exit 3 if any is down
#   deploy/stack.sh pg-stop        stop only PostgreSQL (tests of readyz)
#   deploy/stack.sh pg-start       start only PostgreSQL
#   deploy/stack.sh render-nginx [FILE|-]   render nginx/runwatch.conf.in
#   deploy/stack.sh psql [ARGS]    psql on the stack's database
#   deploy/stack.sh demo [ARGS]    a simulated fleet reporting to the running stack (make demo)
#
# Layout: $VAR/pg (data), $VAR/run (sockets, pid files), $VAR/log (one log per
# process), $VAR/nginx (rendered config, temp files).
#
# As root (CI, containers): PostgreSQL runs as the `postgres` system user and nginx's
# workers as www-data, which reaches the API's socket through its group.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
PROG=stack

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# Logs are appended to across runs; a failure shows only what this run added to them.
declare -A LOG_MARK=()
mark_log() { LOG_MARK[$1]=$(stat -c %s "$1" 2>/dev/null || echo 0); }

# Shows the end of a log file (from its mark, if it has one), indented, after a failure.
show_log() {
    local f=$1 n=${2:-25} from=${LOG_MARK[$1]:-0}
    [[ -s "$f" ]] || return 0
    printf '%s: --- last lines of %s ---\n' "$PROG" "$f" >&2
    tail -c +"$((from + 1))" "$f" | tail -n "$n" | sed 's/^/    /' >&2
}

# A path made absolute against the current directory (relative settings are relative to
# where the caller stands, like any command-line path; `make` stands in the repo root).
abs_path() {
    case "$1" in
    /*) printf '%s' "$1" ;;
    *) printf '%s/%s' "$PWD" "${1#./}" ;;
    esac
}

# ---------------------------------------------------------------- configuration

load_config() {
    VAR=$(abs_path "${RUNWATCH_VAR_DIR:-$REPO_DIR/var}")
    VAR=${VAR%/}
    HTTP_HOST=${RUNWATCH_HTTP_HOST:-127.0.0.1}
    HTTP_PORT=${RUNWATCH_HTTP_PORT:-8080}
    PG_PORT=${RUNWATCH_PG_PORT:-5439}
    REDIS_PORT=${RUNWATCH_REDIS_PORT:-6389}
    SSE_HOST=${RUNWATCH_SSE_HOST:-127.0.0.1}
    SSE_PORT=${RUNWATCH_SSE_PORT:-8089}
    BIN_DIR=$(abs_path "${RUNWATCH_BIN_DIR:-$REPO_DIR/build/release}")
    STATIC_DIR=$(abs_path "${RUNWATCH_STATIC_DIR:-$REPO_DIR/frontend/dist}")
    MIGRATIONS_DIR=$(abs_path "${RUNWATCH_MIGRATIONS_DIR:-$REPO_DIR/sql/migrations}")
    API_SOCKET=$(abs_path "${RUNWATCH_API_SOCKET:-$VAR/run/api.sock}")
    DATABASE_URL=${RUNWATCH_DATABASE_URL:-host=$VAR/run port=$PG_PORT dbname=runwatch user=runwatch}
    REDIS_URL=${RUNWATCH_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT}
    # Login throttling per client address, in nginx (the API adds a per-account backoff).
    LOGIN_RATE=${RUNWATCH_LOGIN_RATE:-10r/m}
    LOGIN_BURST=${RUNWATCH_LOGIN_BURST:-20}
    [[ "$LOGIN_RATE" =~ ^[0-9]+r/[sm]$ ]] || die "RUNWATCH_LOGIN_RATE must look like 10r/m or 5r/s, got '$LOGIN_RATE'"
    [[ "$LOGIN_BURST" =~ ^[0-9]+$ ]] || die "RUNWATCH_LOGIN_BURST must be a number, got '$LOGIN_BURST'"
    # Who may scrape /metrics (Prometheus): addresses or CIDRs, comma-separated; each
    # becomes an nginx `allow`, everyone else is denied.
    METRICS_ALLOW_LINES=''
    local addr
    local -a allow_list
    IFS=',' read -r -a allow_list <<<"${RUNWATCH_METRICS_ALLOW:-127.0.0.1,::1}"
    for addr in "${allow_list[@]}"; do
        addr=${addr// /}
        [[ -z "$addr" ]] && continue
        [[ "$addr" =~ ^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$ ]] ||
            die "RUNWATCH_METRICS_ALLOW: '$addr' is not an address or CIDR"
        METRICS_ALLOW_LINES+="allow $addr; "
    done

    local name
    for name in HTTP_PORT PG_PORT REDIS_PORT SSE_PORT; do
        if ! [[ "${!name}" =~ ^[0-9]+$ ]] || ((${!name} < 1 || ${!name} > 65535)); then
            die "RUNWATCH_$name must be a port number, got '${!name}'"
        fi
    done
    # These paths go into nginx, PostgreSQL and Redis config files; keep them to
    # characters none of those formats needs to escape.
    for name in VAR BIN_DIR STATIC_DIR MIGRATIONS_DIR API_SOCKET REPO_DIR; do
        [[ "${!name}" =~ ^[A-Za-z0-9._/+@:,=-]+$ ]] ||
            die "path '${!name}' (${name}) has spaces or special characters; use a plain path"
    done
    for name in HTTP_HOST SSE_HOST; do
        [[ "${!name}" =~ ^[A-Za-z0-9.:_-]+$ ]] || die "RUNWATCH_$name '${!name}' is not a host"
    done
    # sun_path holds 107 bytes: PostgreSQL's socket is $VAR/run/.s.PGSQL.<port>.
    (($(printf '%s' "$VAR/run/.s.PGSQL.$PG_PORT" | wc -c) <= 107)) ||
        die "RUNWATCH_VAR_DIR '$VAR' is too long for a unix socket path (keep it under ~80 bytes)"
    (($(printf '%s' "$API_SOCKET" | wc -c) <= 107)) ||
        die "RUNWATCH_API_SOCKET '$API_SOCKET' is too long for a unix socket path"

    PG_DATA=$VAR/pg
    RUN=$VAR/run
    LOGS=$VAR/log
    NGX=$VAR/nginx
    NGINX_CONF=$NGX/nginx.conf

    # Descriptors for nginx's workers: live streams take two each (docs/PERFORMANCE.md).
    # Only root can go past the hard limit.
    local hard
    hard=$(ulimit -Hn)
    if ((EUID == 0)); then
        NGINX_NOFILE=65536
    elif [[ "$hard" == unlimited ]] || ((hard > 65536)); then
        NGINX_NOFILE=65536
    else
        NGINX_NOFILE=$hard
    fi
    NGINX_CONNECTIONS=$((NGINX_NOFILE / 2 > 1024 ? NGINX_NOFILE / 2 : 1024))

    NGINX_USER='' NGINX_GROUP=''
    if ((EUID == 0)); then
        id -u postgres >/dev/null 2>&1 ||
            die "running as root needs the 'postgres' system user (install postgresql: deploy/install-deps.sh)"
        local u
        for u in www-data nobody; do
            if id -u "$u" >/dev/null 2>&1; then
                NGINX_USER=$u
                NGINX_GROUP=$(id -gn "$u")
                break
            fi
        done
        [[ -n "$NGINX_USER" ]] || die "running as root needs a www-data or nobody user for nginx's workers"
        RUNWATCH_API_SOCKET_GROUP=${RUNWATCH_API_SOCKET_GROUP:-$NGINX_GROUP}
    fi

    export RUNWATCH_VAR_DIR=$VAR RUNWATCH_HTTP_HOST=$HTTP_HOST RUNWATCH_HTTP_PORT=$HTTP_PORT
    export RUNWATCH_PG_PORT=$PG_PORT RUNWATCH_REDIS_PORT=$REDIS_PORT
    export RUNWATCH_SSE_HOST=$SSE_HOST RUNWATCH_SSE_PORT=$SSE_PORT
    export RUNWATCH_BIN_DIR=$BIN_DIR RUNWATCH_STATIC_DIR=$STATIC_DIR
    export RUNWATCH_MIGRATIONS_DIR=$MIGRATIONS_DIR RUNWATCH_API_SOCKET=$API_SOCKET
    export RUNWATCH_DATABASE_URL=$DATABASE_URL RUNWATCH_REDIS_URL=$REDIS_URL
    if [[ -n "${RUNWATCH_API_SOCKET_GROUP:-}" ]]; then export RUNWATCH_API_SOCKET_GROUP; fi
}

# host:port for a URL or a `listen`; IPv6 literals get brackets.
host_port() {
    if [[ "$1" == *:* ]]; then printf '[%s]:%s' "$1" "$2"; else printf '%s:%s' "$1" "$2"; fi
}

url() { printf 'http://%s/' "$(host_port "$HTTP_HOST" "$HTTP_PORT")"; }

# ---------------------------------------------------------------- processes

# Prints the pid in a pid file if that process is alive and its command line contains
# the pattern (so a stale pid reused by another program is never signalled).
pid_of() {
    local file=$1 pattern=$2 pid cmd
    [[ -r "$file" ]] || return 1
    read -r pid <"$file" 2>/dev/null || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ -r /proc/$pid/cmdline ]]; then
        cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
        [[ "$cmd" == *"$pattern"* ]] || return 1 # also a zombie: empty cmdline
    fi
    printf '%s' "$pid"
}

# True while pid $1 exists and is not a zombie. For a daemon we just spawned: right after
# the fork its command line is still this script's, so pid_of's check would fail.
proc_alive() {
    local line
    kill -0 "$1" 2>/dev/null || return 1
    read -r line <"/proc/$1/stat" 2>/dev/null || return 0
    [[ "${line##*) }" != Z* ]]
}

# Waits up to $2 seconds for pid $1 to exit.
wait_exit() {
    local pid=$1 secs=$2 i
    for ((i = 0; i < secs * 10; i++)); do
        proc_alive "$pid" || return 0
        sleep 0.1
    done
    return 1
}

# Stops a daemon of ours: signal, wait, then SIGKILL it and its process group.
stop_pidfile() {
    local name=$1 file=$2 pattern=$3 sig=${4:-TERM} secs=${5:-10} pid
    if pid=$(pid_of "$file" "$pattern"); then
        log "stopping $name (pid $pid)"
        kill "-$sig" "$pid" 2>/dev/null || true
        if ! wait_exit "$pid" "$secs"; then
            log "$name did not stop in ${secs}s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            wait_exit "$pid" 5 || true
        fi
    fi
    rm -f "$file"
}

# True while process group $1 has a live member (not a zombie, which `kill -0 -- -PGID`
# would count) whose command line contains $2.
group_alive() {
    local pgid=$1 pattern=$2 f line state _ppid pgrp cmd
    for f in /proc/[0-9]*/stat; do
        read -r line <"$f" 2>/dev/null || continue
        read -r state _ppid pgrp _ <<<"${line##*) }"
        [[ "$pgrp" == "$pgid" && "$state" != Z ]] || continue
        cmd=$(tr '\0' ' ' <"${f%/stat}/cmdline" 2>/dev/null) || continue
        if [[ "$cmd" == *"$pattern"* ]]; then return 0; fi
    done
    return 1
}

# Kills what is left of a process group we started with setsid (workers of a master that
# died without taking them along). $1 is the group id (the leader's pid).
reap_group() {
    local pgid=$1 pattern=$2 i
    for ((i = 0; i < 20; i++)); do
        group_alive "$pgid" "$pattern" || return 0
        sleep 0.1
    done
    log "killing leftover $pattern processes (process group $pgid)"
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
        group_alive "$pgid" "$pattern" || return 0
        sleep 0.1
    done
    kill -KILL -- "-$pgid" 2>/dev/null || true
}

# Starts a foreground binary of ours in the background in its own session, so a Ctrl-C
# at the terminal reaches this script (which stops things in order), not the daemon.
# The child is not a process-group leader, so setsid execs rather than forks and $! is
# the daemon's own pid.
spawn() {
    local logfile=$1 pidfile=$2
    shift 2
    (cd "$REPO_DIR" && exec setsid "$@" </dev/null >>"$logfile" 2>&1) &
    printf '%s\n' "$!" >"$pidfile"
}

port_busy() {
    command -v ss >/dev/null 2>&1 || return 1
    [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
}

check_port_free() {
    local port=$1 what=$2
    if port_busy "$port"; then
        fail "port $port is already in use by another program (set $what to a free port)"
    fi
}

# ---------------------------------------------------------------- directories

# Every directory above $VAR must be searchable by the postgres user and nginx's
# workers when we run as root; a mktemp -d dir (0700) is not, so it gets o+x (search
# only, no listing).
make_traversable() {
    local d=$1
    while [[ -n "$d" && "$d" != / ]]; do
        if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
            log "chmod o+x $d (so postgres and $NGINX_USER can reach $VAR)"
            chmod o+x "$d"
        fi
        d=$(dirname "$d")
    done
}

prepare_dirs() {
    mkdir -p "$VAR" "$PG_DATA" "$RUN" "$LOGS" "$NGX/tmp"
    if ((EUID == 0)); then
        make_traversable "$VAR"
        chown postgres: "$PG_DATA"
        chmod 0700 "$PG_DATA"
        # postgres creates its socket here; nginx's group may only pass through to the
        # API's socket; root (api, redis, nginx master) needs no permission bits.
        chown "postgres:$NGINX_GROUP" "$RUN"
        chmod 0710 "$RUN"
        chmod o+x "$LOGS"
        touch "$LOGS/postgresql.log"
        chown postgres: "$LOGS/postgresql.log"
    else
        chmod 0700 "$PG_DATA" "$RUN"
    fi
}

# ---------------------------------------------------------------- PostgreSQL

find_pg_bindir() {
    local d v
    if [[ -n "${RUNWATCH_PG_BINDIR:-}" ]]; then
        PG_BIN=$RUNWATCH_PG_BINDIR
    elif [[ -r "$PG_DATA/PG_VERSION" ]] && v=$(<"$PG_DATA/PG_VERSION") &&
        [[ -x /usr/lib/postgresql/$v/bin/pg_ctl ]]; then
        PG_BIN=/usr/lib/postgresql/$v/bin # the major the cluster was made with
    elif command -v pg_config >/dev/null 2>&1 && d=$(pg_config --bindir 2>/dev/null) &&
        [[ -x "$d/initdb" ]]; then
        PG_BIN=$d
    elif d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1) &&
        [[ -n "$d" && -x "$d/initdb" ]]; then
        PG_BIN=$d
    elif d=$(command -v initdb 2>/dev/null); then
        PG_BIN=$(dirname "$d")
    else
        die "PostgreSQL server binaries not found (install postgresql: deploy/install-deps.sh)"
    fi
    [[ -x "$PG_BIN/pg_ctl" ]] || die "no pg_ctl in $PG_BIN"
}

# Runs a server-side PostgreSQL tool; PostgreSQL refuses to run as root.
as_pg() {
    if ((EUID == 0)); then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

pg_running() { [[ -r "$PG_DATA/postmaster.pid" ]] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

pg_admin() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PG_PORT" -U postgres -d postgres "$@"
}

pg_init() {
    local locale_opt=(--no-locale)
    if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then locale_opt=(--locale=C.UTF-8); fi
    log "initdb $PG_DATA"
    # Local (socket) connections are trusted: the socket directory and the socket itself
    # are private to the stack's user. TCP needs a password, and no role has one.
    if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 "${locale_opt[@]}" \
        --auth-local=trust --auth-host=scram-sha-256 >"$LOGS/initdb.log" 2>&1; then
        show_log "$LOGS/initdb.log"
        fail "initdb failed"
    fi
    echo "include_if_exists = 'runwatch.conf'" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

# Our settings, rewritten at every start so a change of port or var dir takes effect.
pg_write_conf() {
    as_pg tee "$PG_DATA/runwatch.conf" >/dev/null <<EOF
# Written by deploy/stack.sh at every start: edit that script, not this file.
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$RUN'
unix_socket_permissions = 0700
max_connections = 100
# A dev box / CI runner: modest memory, durability left on (fsync, synchronous_commit).
shared_buffers = 128MB
effective_cache_size = 1GB
work_mem = 8MB
maintenance_work_mem = 128MB
wal_buffers = 16MB
max_wal_size = 2GB
checkpoint_timeout = 15min
random_page_cost = 1.1
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 1s
EOF
}

pg_start() {
    find_pg_bindir
    if pg_running; then
        log "postgresql already running"
        return 0
    fi
    check_port_free "$PG_PORT" RUNWATCH_PG_PORT
    if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then pg_init; fi
    pg_write_conf
    log "starting postgresql on port $PG_PORT (socket in $RUN)"
    STARTED+=(pg)
    mark_log "$LOGS/postgresql.log"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$LOGS/postgresql.log" -w -t 60 -s start; then
        show_log "$LOGS/postgresql.log"
        fail "postgresql did not start"
    fi
    if [[ "$(pg_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'runwatch'")" != 1 ]]; then
        log "creating role runwatch"
        pg_admin -c "CREATE ROLE runwatch LOGIN"
    fi
    # Ad-hoc SQL runs as its own login (docs/REPORTS.md): read-only, bounded, no other
    # role. It must not be a role runwatch SETs: a session can always SET ROLE back to
    # its login. Migration 0007 grants it the report schema and nothing else.
    if [[ "$(pg_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'runwatch_report'")" != 1 ]]; then
        log "creating role runwatch_report"
        pg_admin -c "CREATE ROLE runwatch_report LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT 64" \
            -c "ALTER ROLE runwatch_report SET default_transaction_read_only = on" \
            -c "ALTER ROLE runwatch_report SET statement_timeout = '5s'" \
            -c "ALTER ROLE runwatch_report SET search_path = report" \
            -c "ALTER ROLE runwatch_report SET work_mem = '16MB'" \
            -c "ALTER ROLE runwatch_report SET temp_file_limit = '256MB'"
    fi
    if [[ "$(pg_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'runwatch'")" != 1 ]]; then
        log "creating database runwatch"
        pg_admin -c "CREATE DATABASE runwatch OWNER runwatch"
    fi
}

pg_stop() {
    find_pg_bindir
    if pg_running; then
        log "stopping postgresql"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 -s stop -m fast ||
            log "warning: pg_ctl stop failed"
    fi
}

# ---------------------------------------------------------------- Redis

redis_start() {
    if pid_of "$RUN/redis.pid" redis-server >/dev/null; then
        log "redis already running"
        return 0
    fi
    check_port_free "$REDIS_PORT" RUNWATCH_REDIS_PORT
    command -v redis-server >/dev/null 2>&1 || die "redis-server not found (deploy/install-deps.sh)"
    cat >"$RUN/redis.conf" <<EOF
# Written by deploy/stack.sh. Redis only carries pub/sub here: no persistence.
port $REDIS_PORT
bind 127.0.0.1
protected-mode yes
daemonize yes
pidfile "$RUN/redis.pid"
logfile "$LOGS/redis.log"
dir "$RUN"
save ""
appendonly no
EOF
    log "starting redis on port $REDIS_PORT"
    STARTED+=(redis)
    mark_log "$LOGS/redis.log"
    redis-server "$RUN/redis.conf" || {
        show_log "$LOGS/redis.log"
        fail "redis did not start"
    }
    local i
    for ((i = 0; i < 100; i++)); do
        if [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; then return 0; fi
        sleep 0.1
    done
    show_log "$LOGS/redis.log"
    fail "redis did not answer PING within 10 s"
}

redis_stop() { stop_pidfile redis "$RUN/redis.pid" redis-server TERM 10; }

# ---------------------------------------------------------------- our binaries

need_bin() {
    [[ -x "$BIN_DIR/$1" ]] || die "$BIN_DIR/$1 not found: build it with \`make build\` (or set RUNWATCH_BIN_DIR)"
}

migrate() {
    need_bin runwatch-api
    log "applying migrations from $MIGRATIONS_DIR"
    mark_log "$LOGS/migrate.log"
    if ! (cd "$REPO_DIR" && "$BIN_DIR/runwatch-api" migrate) </dev/null >>"$LOGS/migrate.log" 2>&1; then
        show_log "$LOGS/migrate.log"
        fail "migrations failed"
    fi
}

# The first instance admin, only while the database has no user at all. The generated
# password goes to the terminal once and never into a log file.
bootstrap_admin() {
    local out
    if ! out=$(cd "$REPO_DIR" && "$BIN_DIR/runwatch-api" user bootstrap </dev/null 2>>"$LOGS/migrate.log"); then
        show_log "$LOGS/migrate.log"
        fail "creating the first admin failed"
    fi
    if [[ -n "$out" ]]; then
        BOOTSTRAP_OUT=$out
    fi
}

api_start() {
    need_bin runwatch-api
    if pid_of "$RUN/api.pid" runwatch-api >/dev/null; then
        log "runwatch-api already running"
        return 0
    fi
    rm -f "$API_SOCKET" # a stale socket would look like a started API
    log "starting runwatch-api (socket $API_SOCKET)"
    STARTED+=(api)
    mark_log "$LOGS/api.log"
    spawn "$LOGS/api.log" "$RUN/api.pid" "$BIN_DIR/runwatch-api" serve
    local i pid
    read -r pid <"$RUN/api.pid"
    for ((i = 0; i < 100; i++)); do
        if [[ -S "$API_SOCKET" ]]; then return 0; fi
        if ! proc_alive "$pid"; then break; fi
        sleep 0.1
    done
    show_log "$LOGS/api.log"
    if proc_alive "$pid"; then
        fail "runwatch-api did not create $API_SOCKET within 10 s"
    fi
    fail "runwatch-api exited during start"
}

api_stop() {
    local pid=''
    # The group id is the master's pid: read it even if the master is gone, so workers
    # it left behind are found.
    if [[ -r "$RUN/api.pid" ]]; then read -r pid <"$RUN/api.pid" || true; fi
    stop_pidfile runwatch-api "$RUN/api.pid" runwatch-api TERM 10
    if [[ "$pid" =~ ^[0-9]+$ ]]; then reap_group "$pid" runwatch-api; fi
}

sse_start() {
    need_bin runwatch-sse
    if pid_of "$RUN/sse.pid" runwatch-sse >/dev/null; then
        log "runwatch-sse already running"
        return 0
    fi
    check_port_free "$SSE_PORT" RUNWATCH_SSE_PORT
    log "starting runwatch-sse on $(host_port "$SSE_HOST" "$SSE_PORT")"
    # Its own settings (RUNWATCH_SSE_RING, _KEEPALIVE_MS, _CLIENT_BUFFER, _STALL_MS,
    # _MAX_CLIENTS, _MAX_AGE_S, _RETRY_MS; docs/CONTRACTS.md) pass through the environment;
    # it checks them and exits with a message naming a bad one.
    STARTED+=(sse)
    mark_log "$LOGS/sse.log"
    spawn "$LOGS/sse.log" "$RUN/sse.pid" "$BIN_DIR/runwatch-sse"
    local i pid
    read -r pid <"$RUN/sse.pid"
    for ((i = 0; i < 100; i++)); do
        if curl -fsS -o /dev/null --max-time 1 "http://$(host_port "$SSE_HOST" "$SSE_PORT")/healthz" 2>/dev/null; then
            return 0
        fi
        if ! proc_alive "$pid"; then break; fi
        sleep 0.1
    done
    show_log "$LOGS/sse.log"
    if proc_alive "$pid"; then
        fail "runwatch-sse did not answer /healthz with 200 within 10 s"
    fi
    fail "runwatch-sse exited during start"
}

sse_stop() {
    local pid=''
    # The group id is the master's pid: read it even if the master is gone, so workers
    # it left behind are found.
    if [[ -r "$RUN/sse.pid" ]]; then read -r pid <"$RUN/sse.pid" || true; fi
    stop_pidfile runwatch-sse "$RUN/sse.pid" runwatch-sse TERM 10
    if [[ "$pid" =~ ^[0-9]+$ ]]; then reap_group "$pid" runwatch-sse; fi
}

# ---------------------------------------------------------------- nginx

sed_escape() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

# Renders the template to $1 ("-" = stdout).
render_nginx() {
    local out=$1 tmpl=$REPO_DIR/nginx/runwatch.conf.in user_line=''
    [[ -r "$tmpl" ]] || die "$tmpl not found"
    if [[ -n "$NGINX_USER" ]]; then user_line="user $NGINX_USER $NGINX_GROUP;"; fi
    local -a args=(
        -e "s|@HTTP_HOST@:@HTTP_PORT@|$(sed_escape "$(host_port "$HTTP_HOST" "$HTTP_PORT")")|g"
        -e "s|@HTTP_HOST@|$(sed_escape "$HTTP_HOST")|g"
        -e "s|@HTTP_PORT@|$(sed_escape "$HTTP_PORT")|g"
        -e "s|@API_SOCKET@|$(sed_escape "$API_SOCKET")|g"
        -e "s|@SSE_ADDR@|$(sed_escape "$(host_port "$SSE_HOST" "$SSE_PORT")")|g"
        -e "s|@STATIC_DIR@|$(sed_escape "$STATIC_DIR")|g"
        -e "s|@VAR_DIR@|$(sed_escape "$VAR")|g"
        -e "s|@REPO_DIR@|$(sed_escape "$REPO_DIR")|g"
        -e "s|@USER_LINE@|$(sed_escape "$user_line")|g"
        -e "s|@LOGIN_RATE@|$(sed_escape "$LOGIN_RATE")|g"
        -e "s|@LOGIN_BURST@|$(sed_escape "$LOGIN_BURST")|g"
        -e "s|@NGINX_NOFILE@|$(sed_escape "$NGINX_NOFILE")|g"
        -e "s|@NGINX_CONNECTIONS@|$(sed_escape "$NGINX_CONNECTIONS")|g"
        -e "s|@METRICS_ALLOW@|$(sed_escape "$METRICS_ALLOW_LINES")|g"
    )
    local text left
    text=$(sed "${args[@]}" "$tmpl")
    if left=$(grep -o '@[A-Z_]*@' <<<"$text" | sort -u | tr '\n' ' ') && [[ -n "$left" ]]; then
        die "unrendered placeholders in $tmpl: $left"
    fi
    if [[ "$out" == - ]]; then
        printf '%s\n' "$text"
    else
        mkdir -p "$(dirname "$out")"
        printf '%s\n' "$text" >"$out.tmp"
        mv "$out.tmp" "$out"
    fi
}

nginx_cmd() { nginx -e "$LOGS/nginx-error.log" -p "$NGX/" -c "$NGINX_CONF" "$@"; }

nginx_start() {
    if pid_of "$RUN/nginx.pid" nginx >/dev/null; then
        log "nginx already running"
        return 0
    fi
    command -v nginx >/dev/null 2>&1 || die "nginx not found (deploy/install-deps.sh)"
    check_port_free "$HTTP_PORT" RUNWATCH_HTTP_PORT
    if [[ ! -d "$STATIC_DIR" ]]; then
        log "note: $STATIC_DIR does not exist (frontend not built): / will answer 404"
    elif ((EUID == 0)) && ! runuser -u "$NGINX_USER" -- test -r "$STATIC_DIR" 2>/dev/null; then
        log "warning: $NGINX_USER cannot read $STATIC_DIR: / will answer 403/404"
    fi
    mkdir -p "$NGX/tmp"
    render_nginx "$NGINX_CONF"
    local out
    if ! out=$(nginx_cmd -t -q 2>&1); then
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        fail "nginx rejected $NGINX_CONF"
    fi
    log "starting nginx on $(url)"
    STARTED+=(nginx)
    mark_log "$LOGS/nginx-error.log"
    if ! out=$(nginx_cmd 2>&1); then
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        show_log "$LOGS/nginx-error.log"
        fail "nginx did not start"
    fi
}

nginx_stop() {
    # QUIT lets requests in flight finish; worker_shutdown_timeout bounds SSE streams.
    stop_pidfile nginx "$RUN/nginx.pid" nginx QUIT 15
}

# ---------------------------------------------------------------- whole stack

STARTED=()
STARTING=0

# A failure during start: say so, stop what this run started (newest first), exit 1.
fail() {
    log "error: $*"
    if ((STARTING)); then
        STARTING=0
        local i
        for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
            stop_one "${STARTED[$i]}" || true
        done
    fi
    exit 1
}

stop_one() {
    case "$1" in
    nginx) nginx_stop ;;
    sse) sse_stop ;;
    api) api_stop ;;
    redis) redis_stop ;;
    pg) pg_stop ;;
    esac
}

# An unexpected error (set -e) during start also stops what was started.
on_exit_while_starting() {
    local rc=$?
    if ((STARTING)) && ((rc != 0)); then
        STARTING=0
        log "start failed; stopping what it started"
        local i
        for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
            stop_one "${STARTED[$i]}" || true
        done
    fi
}

all_running() {
    pg_running && pid_of "$RUN/redis.pid" redis-server >/dev/null &&
        pid_of "$RUN/api.pid" runwatch-api >/dev/null &&
        pid_of "$RUN/sse.pid" runwatch-sse >/dev/null &&
        pid_of "$RUN/nginx.pid" nginx >/dev/null
}

wait_healthy() {
    local u i code=''
    u="$(url)api/v1/healthz"
    for ((i = 0; i < 100; i++)); do
        code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "$u" 2>/dev/null || true)
        if [[ "$code" == 200 ]]; then return 0; fi
        sleep 0.1
    done
    show_log "$LOGS/nginx-error.log" 10
    show_log "$LOGS/api.log" 15
    fail "$u answered ${code:-nothing} instead of 200 within 10 s"
}

cmd_start() {
    find_pg_bindir
    need_bin runwatch-api
    need_bin runwatch-sse
    if [[ -d "$RUN" ]] && all_running; then
        log "already running at $(url)"
        return 0
    fi
    # Every port a component that is not running yet will need, before starting any.
    if ! pg_running; then check_port_free "$PG_PORT" RUNWATCH_PG_PORT; fi
    if ! pid_of "$RUN/redis.pid" redis-server >/dev/null; then check_port_free "$REDIS_PORT" RUNWATCH_REDIS_PORT; fi
    if ! pid_of "$RUN/sse.pid" runwatch-sse >/dev/null; then check_port_free "$SSE_PORT" RUNWATCH_SSE_PORT; fi
    if ! pid_of "$RUN/nginx.pid" nginx >/dev/null; then check_port_free "$HTTP_PORT" RUNWATCH_HTTP_PORT; fi
    STARTING=1
    trap on_exit_while_starting EXIT
    rm -f "$RUN/stop-requested"
    prepare_dirs
    pg_start
    redis_start
    migrate
    bootstrap_admin
    api_start
    sse_start
    nginx_start
    wait_healthy
    STARTING=0
    trap - EXIT
    log "Runwatch is up at $(url)"
    if [[ -n "${BOOTSTRAP_OUT:-}" ]]; then
        printf '\n%s\n' "$BOOTSTRAP_OUT"
        printf 'Sign in at %s with that email and password.\n\n' "$(url)"
    else
        log "sign in with your account; an operator resets a password with:"
        log "  RUNWATCH_VAR_DIR=$VAR $BIN_DIR/runwatch-api user reset-password --email EMAIL"
    fi
}

cmd_stop() {
    # Tells a `run` in another shell that this stop was asked for.
    if [[ -d "$RUN" ]]; then : >"$RUN/stop-requested" 2>/dev/null || true; fi
    nginx_stop
    sse_stop
    api_stop
    redis_stop
    if [[ -d "$PG_DATA" ]]; then pg_stop; fi
    rm -f "$API_SOCKET"
    log "stopped"
}

cmd_run() {
    if [[ -d "$RUN" ]] && all_running; then
        log "already running at $(url) — stop it first (make stop)"
        return 0
    fi
    cmd_start
    local tail_pid=''
    on_signal() {
        trap '' INT TERM
        echo >&2
        log "stopping"
        if [[ -n "$tail_pid" ]]; then kill "$tail_pid" 2>/dev/null || true; fi
        cmd_stop
        exit 0
    }
    trap on_signal INT TERM
    echo "Runwatch is running at $(url) — press Ctrl-C to stop (or \`make stop\` from another shell)"
    # The daemons' warnings and errors, as they happen.
    tail -q -n 0 -F --pid=$$ "$LOGS/api.log" "$LOGS/sse.log" 2>/dev/null |
        grep --line-buffered -E '"level":"(warn|error)"|^[^{]' &
    tail_pid=$!
    local dead=''
    while true; do
        sleep 1
        if [[ -e "$RUN/stop-requested" ]]; then
            kill "$tail_pid" 2>/dev/null || true
            log "stopped from another shell"
            exit 0
        fi
        pid_of "$RUN/api.pid" runwatch-api >/dev/null || dead=runwatch-api
        pid_of "$RUN/sse.pid" runwatch-sse >/dev/null || dead=${dead:-runwatch-sse}
        pid_of "$RUN/nginx.pid" nginx >/dev/null || dead=${dead:-nginx}
        if [[ -n "$dead" ]]; then
            trap '' INT TERM
            kill "$tail_pid" 2>/dev/null || true
            [[ -e "$RUN/stop-requested" ]] && exit 0
            log "error: $dead exited unexpectedly; stopping everything"
            case "$dead" in
            runwatch-api) show_log "$LOGS/api.log" ;;
            runwatch-sse) show_log "$LOGS/sse.log" ;;
            nginx) show_log "$LOGS/nginx-error.log" ;;
            esac
            cmd_stop
            exit 1
        fi
    done
}

cmd_status() {
    local rc=0 pid
    find_pg_bindir
    if pg_running; then
        read -r pid <"$PG_DATA/postmaster.pid"
        printf '%-14s running (pid %s, port %s)\n' postgresql "$pid" "$PG_PORT"
    else
        printf '%-14s stopped\n' postgresql
        rc=3
    fi
    if pid=$(pid_of "$RUN/redis.pid" redis-server); then
        printf '%-14s running (pid %s, port %s)\n' redis "$pid" "$REDIS_PORT"
    else
        printf '%-14s stopped\n' redis
        rc=3
    fi
    if pid=$(pid_of "$RUN/api.pid" runwatch-api); then
        printf '%-14s running (pid %s, socket %s)\n' runwatch-api "$pid" "$API_SOCKET"
    else
        printf '%-14s stopped\n' runwatch-api
        rc=3
    fi
    if pid=$(pid_of "$RUN/sse.pid" runwatch-sse); then
        printf '%-14s running (pid %s, %s)\n' runwatch-sse "$pid" "$(host_port "$SSE_HOST" "$SSE_PORT")"
    else
        printf '%-14s stopped\n' runwatch-sse
        rc=3
    fi
    if pid=$(pid_of "$RUN/nginx.pid" nginx); then
        printf '%-14s running (pid %s, %s)\n' nginx "$pid" "$(url)"
    else
        printf '%-14s stopped\n' nginx
        rc=3
    fi
    return "$rc"
}

# ---------------------------------------------------------------- demo

# The fleet simulator against the running stack. Its project "demo" and a write token are
# made on first use with `runwatch-api token create` (as the operator who holds the
# database, so no one has to sign in first); the token is kept in $VAR/demo.token (0600)
# and reused while the API accepts it. The token reaches curl and the fleet through stdin
# and the environment, never a command line.
cmd_demo() {
    need_bin runwatch-api
    need_bin runwatch-fleet
    find_pg_bindir
    if ! [[ -d "$RUN" ]] || ! all_running; then
        die "the stack is not running: start it with \`make run\` in another terminal first"
    fi
    local token_file=$VAR/demo.token token='' code base
    base=$(url)
    base=${base%/}
    if [[ -s "$token_file" ]]; then
        token=$(<"$token_file")
        code=$(printf 'Authorization: Bearer %s\n' "$token" |
            curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -H @- "$base/api/v1/auth/me" || true)
        case "$code" in
        200) ;;
        401) token='' ;; # revoked, or a database made anew: make another
        *) die "$base/api/v1/auth/me answered ${code:-nothing}; is the stack healthy? (deploy/stack.sh status)" ;;
        esac
    fi
    if [[ -z "$token" ]]; then
        log "making project \"demo\" (if missing) and a token for the simulated fleet"
        token=$(cd "$REPO_DIR" && "$BIN_DIR/runwatch-api" token create --project demo \
            --create-project --name "fleet simulator") || die "could not make a token"
        (umask 077 && printf '%s\n' "$token" >"$token_file")
    fi
    log "the simulated fleet reports to project \"demo\": watch it at $(url)"
    RUNWATCH_URL=$base RUNWATCH_TOKEN=$token exec "$BIN_DIR/runwatch-fleet" "$@"
}

usage() {
    sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
    exit 2
}

main() {
    local cmd=${1:-}
    [[ $# -gt 0 ]] && shift
    case "$cmd" in
    start | stop | run | status | pg-start | pg-stop | render-nginx | psql | demo) ;;
    -h | --help | help | '') usage ;;
    *)
        log "unknown command '$cmd'"
        usage
        ;;
    esac
    load_config
    case "$cmd" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    run) cmd_run ;;
    status) cmd_status ;;
    pg-start)
        STARTING=1
        trap on_exit_while_starting EXIT
        prepare_dirs
        pg_start
        STARTING=0
        trap - EXIT
        ;;
    pg-stop) pg_stop ;;
    render-nginx)
        local out=${1:-$NGINX_CONF}
        [[ "$out" == - ]] || out=$(abs_path "$out")
        render_nginx "$out"
        [[ "$out" == - ]] || printf '%s\n' "$out"
        ;;
    psql)
        find_pg_bindir
        exec "$PG_BIN/psql" "$DATABASE_URL" "$@"
        ;;
    demo) cmd_demo "$@" ;;
    esac
}

main "$@"
