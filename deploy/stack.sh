#!/usr/bin/env bash
# stack.sh: the local Runwatch stack — a private PostgreSQL, Redis, runwatch-api,
# runwatch-sse and nginx, all on loopback, all state under RUNWATCH_VAR_DIR; and
# runwatch-celery when RUNWATCH_CELERY_BROKER names a Celery fleet's broker.
# Settings come from the environment (README, docs/CONTRACTS.md), then from the settings
# the stack was last started with ($VAR/stack.env), then from the defaults, which live
# in the binary (`runwatch-api config --shell`). `make run` and the test harnesses drive it.
#
#   deploy/stack.sh start          start what is not running, wait until healthy, and
#                                  leave the supervisor running, which restarts any
#                                  server that dies (deploy/stack/supervisor.sh)
#   deploy/stack.sh stop           stop everything, the supervisor first (never fails
#                                  if nothing runs)
#   deploy/stack.sh run            start, stay in the foreground reporting restarts,
#                                  Ctrl-C stops
#   deploy/stack.sh status         one line per component; exit 3 if any is down
#   deploy/stack.sh pg-stop        stop only PostgreSQL, and keep it stopped (tests of
#                                  readyz): the supervisor leaves it until pg-start
#   deploy/stack.sh pg-start       start only PostgreSQL
#   deploy/stack.sh render-nginx [FILE|-]   render nginx/runwatch.conf.in
#   deploy/stack.sh psql [ARGS]    psql on the stack's database
#   deploy/stack.sh psql-admin [ARGS]  psql as the cluster's superuser, on the stack's
#                                  database over its socket (tests, operators' repairs)
#   deploy/stack.sh demo [ARGS]    a simulated fleet reporting to the running stack (make demo)
#   deploy/stack.sh supervise      the supervisor itself (start leaves it running)
#
# Layout: $VAR/pg (data), $VAR/run (sockets, pid files, the secrets the processes share:
# redis.password, sse.key, each 0600), $VAR/log (one log per process; supervisor.log:
# deaths and restarts), $VAR/nginx (rendered config, temp files), $VAR/stack.env (the
# settings of the last start), $VAR/first-admin.txt (the first admin's generated
# password, 0600), $VAR/metrics.token (Prometheus's bearer token for /metrics, 0600).
# Each component's recipe is a file in deploy/stack; the table below puts them in order.
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

# What a start remembers in $VAR/stack.env, so that stop, status, demo, psql and the
# runwatch-api CLI find the stack without being told its ports again: these always...
REMEMBERED=(RUNWATCH_VAR_DIR RUNWATCH_HTTP_HOST RUNWATCH_HTTP_PORT RUNWATCH_PG_PORT
    RUNWATCH_REDIS_PORT RUNWATCH_SSE_HOST RUNWATCH_SSE_PORT RUNWATCH_BIN_DIR
    RUNWATCH_STATIC_DIR RUNWATCH_MIGRATIONS_DIR RUNWATCH_LOGIN_RATE RUNWATCH_LOGIN_BURST
    RUNWATCH_METRICS_ALLOW RUNWATCH_STREAM_CONN_LIMIT RUNWATCH_API_CONN_LIMIT)
# ...and any other setting of the stack's (those `runwatch-api config --shell` prints, the
# hub's RUNWATCH_SSE_*, nginx's RUNWATCH_NGINX_*, the Celery bridge's RUNWATCH_CELERY_*,
# RUNWATCH_STACK_COMPONENTS, RUNWATCH_PG_BINDIR) that was set by hand.
# Never the first admin's password or a producer's token.
EXPLICIT=()

# Fills every RUNWATCH_* variable the environment leaves unset from $VAR/stack.env.
recall_settings() {
    local file=$VAR/stack.env line name value re="^(RUNWATCH_[A-Z0-9_]+)='(.*)'\$"
    [[ -r "$file" ]] || return 0
    while IFS= read -r line; do
        [[ "$line" =~ $re ]] || continue
        name=${BASH_REMATCH[1]}
        value=${BASH_REMATCH[2]//"'\''"/"'"}
        [[ -z "${!name:-}" ]] || continue
        export "$name=$value"
    done <"$file"
}

# Writes $VAR/stack.env (0600: a database URL may hold a password). NAME='value' lines,
# which the shell and runwatch-api's config both read.
remember_settings() {
    local name value
    local -A seen=()
    {
        echo "# Written by deploy/stack.sh at start: the settings this stack runs with."
        echo "# The environment overrides them; delete this file to go back to the defaults."
        for name in "${REMEMBERED[@]}" "${EXPLICIT[@]}"; do
            [[ -z "${seen[$name]:-}" ]] || continue
            seen[$name]=1
            value=${!name:-}
            printf "%s='%s'\n" "$name" "${value//"'"/"'\''"}"
        done
    } | (umask 077 && cat >"$VAR/stack.env.tmp")
    mv "$VAR/stack.env.tmp" "$VAR/stack.env"
}

# $1 is the command: stop, status and pg-stop also work without a built runwatch-api
# (what they need is under $VAR), the others need its settings.
load_config() {
    local cmd=$1 name settings
    local -a known
    VAR=$(abs_path "${RUNWATCH_VAR_DIR:-$REPO_DIR/var}")
    VAR=${VAR%/}
    export RUNWATCH_VAR_DIR=$VAR
    recall_settings
    for name in RUNWATCH_BIN_DIR RUNWATCH_STATIC_DIR RUNWATCH_MIGRATIONS_DIR RUNWATCH_API_SOCKET; do
        if [[ -n "${!name:-}" ]]; then export "$name=$(abs_path "${!name}")"; fi
    done
    # The binary is how the script finds every other default, so its own default is here.
    BIN_DIR=${RUNWATCH_BIN_DIR:-$REPO_DIR/build/release}
    export RUNWATCH_BIN_DIR=$BIN_DIR
    PG_DATA=$VAR/pg
    RUN=$VAR/run
    LOGS=$VAR/log
    NGX=$VAR/nginx
    NGINX_CONF=$NGX/nginx.conf
    ADMIN_FILE=$VAR/first-admin.txt

    if [[ ! -x "$BIN_DIR/runwatch-api" ]]; then
        case "$cmd" in
        stop | status | pg-stop) ;;
        *) need_bin runwatch-api ;;
        esac
        # Only what stack.env remembers; a port nobody remembers shows as "?".
        HTTP_HOST=${RUNWATCH_HTTP_HOST:-?} HTTP_PORT=${RUNWATCH_HTTP_PORT:-?}
        PG_PORT=${RUNWATCH_PG_PORT:-?} REDIS_PORT=${RUNWATCH_REDIS_PORT:-?}
        SSE_HOST=${RUNWATCH_SSE_HOST:-?} SSE_PORT=${RUNWATCH_SSE_PORT:-?}
        API_SOCKET=${RUNWATCH_API_SOCKET:-?}
        return 0
    fi
    # Run from the repository, so the binary's relative defaults (var, frontend/dist,
    # sql/migrations) are the repository's whatever directory the caller stands in.
    settings=$(cd "$REPO_DIR" && "$BIN_DIR/runwatch-api" config --shell) ||
        die "$BIN_DIR/runwatch-api config --shell failed (a setting above is wrong, or the binary predates it: make build)"
    mapfile -t known < <(sed -n 's/^\(RUNWATCH_[A-Z0-9_]*\)=.*/\1/p' <<<"$settings")
    for name in "${known[@]}" $(compgen -e | grep -E '^RUNWATCH_(SSE_[A-Z0-9_]+|NGINX_[A-Z0-9_]+|CELERY_[A-Z0-9_]+|STACK_COMPONENTS|PG_BINDIR)$' |
        grep -vx RUNWATCH_CELERY_TOKEN || true); do
        if [[ -n "${!name:-}" ]]; then EXPLICIT+=("$name"); fi
    done
    eval "$settings"

    HTTP_HOST=$RUNWATCH_HTTP_HOST
    HTTP_PORT=$RUNWATCH_HTTP_PORT
    PG_PORT=$RUNWATCH_PG_PORT
    REDIS_PORT=$RUNWATCH_REDIS_PORT
    SSE_HOST=$RUNWATCH_SSE_HOST
    SSE_PORT=$RUNWATCH_SSE_PORT
    STATIC_DIR=$RUNWATCH_STATIC_DIR
    MIGRATIONS_DIR=$RUNWATCH_MIGRATIONS_DIR
    API_SOCKET=$RUNWATCH_API_SOCKET
    DATABASE_URL=$RUNWATCH_DATABASE_URL
    REDIS_URL=$RUNWATCH_REDIS_URL
    # Secrets, each in a 0600 file under $RUN (made at start, kept across restarts): the
    # password Redis requires, and the key nginx shows the hub with every stream.
    REDIS_PASSWORD_FILE=$RUNWATCH_REDIS_PASSWORD_FILE
    SSE_KEY_FILE=$RUNWATCH_SSE_KEY_FILE
    # Requests one client address may have in flight (nginx limit_conn), per location.
    STREAM_CONN_LIMIT=$RUNWATCH_STREAM_CONN_LIMIT
    API_CONN_LIMIT=$RUNWATCH_API_CONN_LIMIT
        # Login throttling per client address, in nginx (the API adds a backoff per (account, address)).
    LOGIN_RATE=$RUNWATCH_LOGIN_RATE
    LOGIN_BURST=$RUNWATCH_LOGIN_BURST
    [[ "$LOGIN_RATE" =~ ^[0-9]+r/[sm]$ ]] || die "RUNWATCH_LOGIN_RATE must look like 10r/m or 5r/s, got '$LOGIN_RATE'"
    # Who may scrape /metrics (Prometheus): addresses or CIDRs, comma-separated; each
    # becomes an nginx `allow`, everyone else is denied.
    METRICS_ALLOW_LINES=''
    local addr
    local -a allow_list
    IFS=',' read -r -a allow_list <<<"$RUNWATCH_METRICS_ALLOW"
    for addr in "${allow_list[@]}"; do
        addr=${addr// /}
        [[ -z "$addr" ]] && continue
        [[ "$addr" =~ ^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$ ]] ||
            die "RUNWATCH_METRICS_ALLOW: '$addr' is not an address or CIDR"
        METRICS_ALLOW_LINES+="allow $addr; "
    done

    # These paths go into nginx, PostgreSQL and Redis config files; keep them to
    # characters none of those formats needs to escape.
    for name in VAR BIN_DIR STATIC_DIR MIGRATIONS_DIR API_SOCKET REPO_DIR REDIS_PASSWORD_FILE SSE_KEY_FILE; do
        [[ "${!name}" =~ ^[A-Za-z0-9._/+@:,=-]+$ ]] ||
            die "path '${!name}' (${name}) has spaces or special characters; use a plain path"
    done
    for name in HTTP_HOST SSE_HOST; do
        [[ "${!name}" =~ ^[A-Za-z0-9.:_-]+$ ]] || die "RUNWATCH_$name '${!name}' is not a host"
    done
    # sun_path holds 107 bytes: PostgreSQL's socket is $VAR/run/.s.PGSQL.<port>.
    (($(printf '%s' "$VAR/run/.s.PGSQL.$PG_PORT" | wc -c) <= 107)) ||
        die "RUNWATCH_VAR_DIR '$VAR' is too long for a unix socket path (keep it under ~80 bytes)"

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
    # A rendering for another host (deploy/generate.sh, a container image) says its own.
    if [[ -n "${RUNWATCH_NGINX_NOFILE:-}" ]]; then
        [[ "$RUNWATCH_NGINX_NOFILE" =~ ^[0-9]{3,7}$ ]] || die "RUNWATCH_NGINX_NOFILE must be a number"
        NGINX_NOFILE=$RUNWATCH_NGINX_NOFILE
    fi
    NGINX_CONNECTIONS=$((NGINX_NOFILE / 2 > 1024 ? NGINX_NOFILE / 2 : 1024))

    NGINX_USER='' NGINX_GROUP=''
    if [[ "$cmd" == render-nginx && -n "${RUNWATCH_NGINX_USER+set}" ]]; then
        # "user group" for the rendered `user` line, or empty for none (a non-root master).
        [[ "$RUNWATCH_NGINX_USER" =~ ^([a-z_][a-z0-9_-]*( [a-z_][a-z0-9_-]*)?)?$ ]] ||
            die "RUNWATCH_NGINX_USER must be 'user group' or empty"
        read -r NGINX_USER NGINX_GROUP <<<"$RUNWATCH_NGINX_USER"
    elif ((EUID == 0)); then
        id -u postgres >/dev/null 2>&1 ||
            die "running as root needs the 'postgres' system user (install postgresql: deploy/install-deps.sh run)"
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
    export RUNWATCH_REDIS_PASSWORD_FILE=$REDIS_PASSWORD_FILE RUNWATCH_SSE_KEY_FILE=$SSE_KEY_FILE
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
    read -r pid 2>/dev/null <"$file" || return 1
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
    read -r line 2>/dev/null <"/proc/$1/stat" || return 0
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
        read -r line 2>/dev/null <"$f" || continue
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

# Stops a binary of ours that leads its own process group (spawn), then reaps the
# workers it left behind. The pid file is read first, even if the leader is gone: its
# pid is the group id.
stop_group() {
    local name=$1 file=$2 pid=''
    if [[ -r "$file" ]]; then read -r pid <"$file" || true; fi
    stop_pidfile "$name" "$file" "$name" TERM 10
    if [[ "$pid" =~ ^[0-9]+$ ]]; then reap_group "$pid" "$name"; fi
}

# The end of a <component>_ready that found it not ready yet: 2 (give up) when the
# process in the pid file is gone, else prints why it is still waiting and returns 1.
not_ready() {
    local file=$1 why=$2 pid
    read -r pid <"$file" || return 2
    proc_alive "$pid" || return 2
    printf '%s' "$why"
    return 1
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
    # Not a job of ours: its death (the supervisor's business) is no message of this shell.
    disown "$!" 2>/dev/null || true
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

need_bin() {
    [[ -x "$BIN_DIR/$1" ]] || die "$BIN_DIR/$1 not found: build it with \`make build\` (or set RUNWATCH_BIN_DIR)"
}

# ---------------------------------------------------------------- secrets

# make_secret FILE: 32 random bytes as 64 hex digits in FILE (0600), unless FILE already
# holds one: a restarted component keeps the secret the others use. The secret never
# appears on a command line.
make_secret() {
    local file=$1
    [[ -s "$file" ]] && return 0
    mkdir -p "$(dirname "$file")"
    (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$file.tmp" && mv "$file.tmp" "$file")
    [[ -s "$file" ]] || fail "cannot write a secret to $file"
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

# The logs of every process of the stack. A log can hold what clients sent (addresses,
# user agents, the statements PostgreSQL found slow), so only the stack's user may read
# them: the directory is 0700 and each log is made 0600 before anything writes to it (a
# daemon appends to the file it finds and keeps its mode); logs of older starts are
# narrowed too. Every daemon opens its log as the stack's user, even PostgreSQL's server
# running as `postgres` under root: it writes to the file this script opened for it.
STACK_LOGS=(postgresql.log redis.log migrate.log api.log sse.log nginx-error.log nginx-access.log)

prepare_logs() {
    local f
    chmod 0700 "$LOGS"
    for f in "${STACK_LOGS[@]}"; do (umask 077 && : >>"$LOGS/$f"); done
    find "$LOGS" -maxdepth 1 -type f ! -perm 0600 -exec chmod 0600 {} +
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
    else
        chmod 0700 "$PG_DATA" "$RUN"
    fi
    prepare_logs
}

# The bearer token Prometheus scrapes /metrics with (fcgi/src/prom.c), made once at the
# first start: RUNWATCH_METRICS_TOKEN_FILE (default $VAR/metrics.token), 0600, never
# printed. Give Prometheus a copy as its credentials_file (README "Monitoring"); delete the
# file and restart to get a new one.
ensure_metrics_token() {
    local file=$RUNWATCH_METRICS_TOKEN_FILE
    [[ -s "$file" ]] && return 0
    mkdir -p "$(dirname "$file")"
    (umask 077 && printf 'rwm_%s\n' "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" >"$file.tmp")
    mv "$file.tmp" "$file"
    log "made the metrics token for Prometheus: $file"
}

# ---------------------------------------------------------------- the components

# shellcheck source=deploy/stack/postgres.sh
. "$SCRIPT_DIR/stack/postgres.sh"
# shellcheck source=deploy/stack/redis.sh
. "$SCRIPT_DIR/stack/redis.sh"
# shellcheck source=deploy/stack/schema.sh
. "$SCRIPT_DIR/stack/schema.sh"
# shellcheck source=deploy/stack/api.sh
. "$SCRIPT_DIR/stack/api.sh"
# shellcheck source=deploy/stack/sse.sh
. "$SCRIPT_DIR/stack/sse.sh"
# shellcheck source=deploy/stack/nginx.sh
. "$SCRIPT_DIR/stack/nginx.sh"
# shellcheck source=deploy/stack/celery.sh
. "$SCRIPT_DIR/stack/celery.sh"
# shellcheck source=deploy/stack/supervisor.sh
. "$SCRIPT_DIR/stack/supervisor.sh"

# One line per component, in start order (stop goes in reverse). Columns: its name (as
# status shows it); the functions that print its pid while it runs, start it, say whether
# it is ready (0 yes, 1 not yet, 2 it died: give up; what it waits for on stdout), stop
# it, and describe where it listens; its logs under $VAR/log (comma-separated; a failure
# shows their new lines); the variable holding its TCP port, checked free before anything
# starts; whether `run` shows its log when it dies (the supervisor restarts every
# component that has a pid function). "-": none.
STACK_TABLE='
postgresql    pg_pid     pg_start      pg_ready     pg_stop     pg_where     postgresql.log          PG_PORT     no
redis         redis_pid  redis_start   redis_ready  redis_stop  redis_where  redis.log               REDIS_PORT  no
schema        -          schema_apply  -            -           -            migrate.log             -           no
runwatch-api  api_pid    api_start     api_ready    api_stop    api_where    api.log                 -           yes
runwatch-sse  sse_pid    sse_start     sse_ready    sse_stop    sse_where    sse.log                 SSE_PORT    yes
nginx         nginx_pid  nginx_start   nginx_ready  nginx_stop  nginx_where  nginx-error.log,api.log HTTP_PORT   yes
runwatch-celery celery_pid celery_start celery_ready celery_stop celery_where celery.log           -           yes
'
mapfile -t STACK < <(grep -v '^[[:space:]]*$' <<<"$STACK_TABLE")

# How long a started component may take to become ready (generous: a loaded CI box).
READY_SECS=30

# row NAME: sets C_NAME C_PID C_START C_READY C_STOP C_WHERE C_LOGS C_PORT C_WATCH.
row() {
    local line
    for line in "${STACK[@]}"; do
        read -r C_NAME C_PID C_START C_READY C_STOP C_WHERE C_LOGS C_PORT C_WATCH <<<"$line"
        [[ "$C_NAME" == "$1" ]] && return 0
    done
    die "no component '$1'"
}

# The components of this stack, in start order: every one, or those RUNWATCH_STACK_COMPONENTS
# names (space- or comma-separated; "all" for every one): a node of a scaled-out
# deployment that runs only an API pool and a hub against another node's PostgreSQL and
# Redis (tests/scale). start, stop, status and the supervisor all go by this list.
# runwatch-celery is one only when configured (deploy/stack/celery.sh).
names() {
    local line want=" ${RUNWATCH_STACK_COMPONENTS:-all} "
    want=${want//,/ }
    for line in "${STACK[@]}"; do
        if [[ "${line%% *}" == runwatch-celery ]] && ! celery_configured; then continue; fi
        if [[ "$want" == *" all "* || "$want" == *" ${line%% *} "* ]]; then
            printf '%s\n' "${line%% *}"
        fi
    done
}

# Prints the component's pid and succeeds while it runs; a step (no pid) never runs.
running() {
    row "$1"
    [[ "$C_PID" != - ]] && "$C_PID"
}

show_logs() {
    local f
    local -a files
    IFS=',' read -r -a files <<<"$1"
    for f in "${files[@]}"; do show_log "$LOGS/$f"; done
}

# Starts one component unless it runs, then waits until it is ready.
start_one() {
    local name=$1 i rc=1 f why="$1 is not ready"
    local -a files
    row "$name"
    if [[ "$C_PID" != - ]] && "$C_PID" >/dev/null; then
        log "$name already running"
        return 0
    fi
    IFS=',' read -r -a files <<<"$C_LOGS"
    for f in "${files[@]}"; do mark_log "$LOGS/$f"; done
    STARTED+=("$name")
    "$C_START"
    [[ "$C_READY" != - ]] || return 0
    for ((i = 0; i < READY_SECS * 10; i++)); do
        rc=0
        why=$("$C_READY") || rc=$?
        ((rc == 0)) && return 0
        ((rc == 2)) && break
        sleep 0.1
    done
    show_logs "$C_LOGS"
    if ((rc == 2)); then fail "$name exited during start"; fi
    fail "${why:-$name is not ready} within $READY_SECS s"
}

stop_one() {
    row "$1"
    [[ "$C_STOP" == - ]] || "$C_STOP"
}

all_running() {
    local name
    for name in $(names); do
        row "$name"
        [[ "$C_PID" == - ]] || "$C_PID" >/dev/null || return 1
    done
}

# ---------------------------------------------------------------- whole stack

STARTED=()
STARTING=0

# Stops what this run started, newest first.
undo_start() {
    local i
    STARTING=0
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
        stop_one "${STARTED[$i]}" || true
    done
}

# A failure during start: say so, stop what this run started, exit 1.
fail() {
    log "error: $*"
    if ((STARTING)); then undo_start; fi
    exit 1
}

# An unexpected error (set -e) during start also stops what was started.
on_exit_while_starting() {
    local rc=$?
    if ((STARTING)) && ((rc != 0)); then
        log "start failed; stopping what it started"
        undo_start
    fi
}

cmd_start() {
    local name
    find_pg_bindir
    need_bin runwatch-api
    need_bin runwatch-sse
    if [[ -d "$RUN" ]] && all_running; then
        rm -f "$RUN"/held.*
        supervisor_start
        log "already running at $(url)"
        return 0
    fi
    # Every port a component that is not running yet will need, before starting any.
    for name in $(names); do
        row "$name"
        if [[ "$C_PORT" != - ]] && ! running "$name" >/dev/null; then
            row "$name"
            check_port_free "${!C_PORT}" "RUNWATCH_$C_PORT"
        fi
    done
    STARTING=1
    trap on_exit_while_starting EXIT
    prepare_dirs
    ensure_metrics_token
    rm -f "$RUN/stop-requested" "$RUN"/held.*
    remember_settings
    for name in $(names); do start_one "$name"; done
    supervisor_start
    STARTING=0
    trap - EXIT
    log "Runwatch is up at $(url)"
    if [[ -n "${BOOTSTRAP_OUT:-}" ]]; then
        printf '\n%s\n' "$BOOTSTRAP_OUT"
        printf 'Sign in at %s with that email and password.\n\n' "$(url)"
    else
        log "sign in with your account; an operator resets a password with:"
        log "  $BIN_DIR/runwatch-api user reset-password --email EMAIL"
    fi
}

cmd_stop() {
    local -a order
    local i
    # Tells a `run` in another shell that this stop was asked for.
    if [[ -d "$RUN" ]]; then : >"$RUN/stop-requested" 2>/dev/null || true; fi
    # First, so that it does not restart what is being stopped.
    supervisor_stop
    mapfile -t order < <(names)
    for ((i = ${#order[@]} - 1; i >= 0; i--)); do stop_one "${order[$i]}"; done
    if [[ "$API_SOCKET" == /* ]]; then rm -f "$API_SOCKET"; fi
    log "stopped"
}

cmd_run() {
    if [[ -d "$RUN" ]] && all_running; then
        log "already running at $(url) — stop it first (make stop)"
        return 0
    fi
    cmd_start
    local tail_pid='' name
    local -a watched=()
    for name in $(names); do
        row "$name"
        if [[ "$C_WATCH" == yes ]]; then watched+=("$name"); fi
    done
    local -A was_up=()
    for name in "${watched[@]}"; do was_up[$name]=1; done
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
    # The daemons' warnings and errors, and the supervisor's restarts, as they happen.
    tail -q -n 0 -F --pid=$$ "$LOGS/api.log" "$LOGS/sse.log" "$LOGS/celery.log" "$LOGS/supervisor.log" 2>/dev/null |
        grep --line-buffered -E '"level":"(warn|error)"|^[^{]' &
    tail_pid=$!
    while true; do
        sleep 1
        if [[ -e "$RUN/stop-requested" ]]; then
            kill "$tail_pid" 2>/dev/null || true
            log "stopped from another shell"
            exit 0
        fi
        # A server that died is the supervisor's to restart; here it is reported, with
        # the end of its log (why it died).
        for name in "${watched[@]}"; do
            if running "$name" >/dev/null; then
                was_up[$name]=1
            elif ((was_up[$name])); then
                was_up[$name]=0
                log "$name exited unexpectedly; the supervisor restarts it"
                row "$name"
                show_logs "${C_LOGS%%,*}"
            fi
        done
        if ! supervisor_pid >/dev/null && [[ ! -e "$RUN/stop-requested" ]]; then
            log "the supervisor is gone; starting it again"
            supervisor_start
        fi
    done
}

cmd_status() {
    local rc=0 pid name
    for name in $(names); do
        row "$name"
        [[ "$C_PID" != - ]] || continue
        if pid=$("$C_PID"); then
            printf '%-14s running (pid %s, %s)\n' "$name" "$pid" "$("$C_WHERE")"
        else
            printf '%-14s stopped\n' "$name"
            rc=3
        fi
    done
    if pid=$(supervisor_pid); then
        printf '%-14s running (pid %s, log %s)\n' supervisor "$pid" "$LOGS/supervisor.log"
    else
        printf '%-14s stopped\n' supervisor
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
            curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -H @- "$base/api/v1/auth/me" || true)
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
    start | stop | run | status | pg-start | pg-stop | render-nginx | psql | psql-admin | demo | supervise) ;;
    -h | --help | help | '') usage ;;
    *)
        log "unknown command '$cmd'"
        usage
        ;;
    esac
    load_config "$cmd"
    case "$cmd" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    run) cmd_run ;;
    status) cmd_status ;;
    supervise) cmd_supervise ;;
    pg-start)
        STARTING=1
        trap on_exit_while_starting EXIT
        prepare_dirs
        rm -f "$RUN/held.postgresql"
        start_one postgresql
        STARTING=0
        trap - EXIT
        ;;
    pg-stop)
        if [[ -d "$RUN" ]]; then : >"$RUN/held.postgresql"; fi
        pg_stop
        ;;
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
    psql-admin)
        find_pg_bindir
        exec "$PG_BIN/psql" -h "$RUN" -p "$PG_PORT" -U postgres -d runwatch "$@"
        ;;
    demo) cmd_demo "$@" ;;
    esac
}

main "$@"
