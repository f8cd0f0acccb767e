# shellcheck shell=bash
# postgres.sh: the stack's PostgreSQL (sourced by deploy/stack.sh, whose table names these
# functions). A cluster of its own in $PG_DATA, on loopback port $PG_PORT and a socket in
# $RUN; the roles runwatch and runwatch_report and the database runwatch are made on
# first start. As root the server runs as the `postgres` system user.

find_pg_bindir() {
    local d v
    if [[ -n "${PG_BIN:-}" ]]; then
        return 0
    elif [[ -n "${RUNWATCH_PG_BINDIR:-}" ]]; then
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
        die "PostgreSQL server binaries not found (install postgresql: deploy/install-deps.sh run)"
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

pg_running() {
    find_pg_bindir
    [[ -r "$PG_DATA/postmaster.pid" ]] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_pid() {
    local pid
    pg_running || return 1
    read -r pid <"$PG_DATA/postmaster.pid" || return 1
    printf '%s' "$pid"
}

pg_where() { printf 'port %s' "$PG_PORT"; }

pg_admin() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PG_PORT" -U postgres -d postgres "$@"
}

pg_init() {
    local locale_opt=(--no-locale)
    if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then locale_opt=(--locale=C.UTF-8); fi
    log "initdb $PG_DATA"
    # Local (socket) connections are trusted: the socket directory and the socket itself
    # are private to the stack's user. TCP needs a password, and no role has one.
    (umask 077 && : >"$LOGS/initdb.log")
    if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 "${locale_opt[@]}" \
        --auth-local=trust --auth-host=scram-sha-256 >"$LOGS/initdb.log" 2>&1; then
        show_log "$LOGS/initdb.log"
        fail "initdb failed"
    fi
    echo "include_if_exists = 'runwatch.conf'" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

# Our settings, rewritten at every start so a change of port or var dir takes effect.
pg_write_conf() {
    as_pg tee "$PG_DATA/runwatch.conf" >/dev/null <<EOF2
# Written by deploy/stack/postgres.sh at every start: edit that script, not this file.
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
EOF2
}

# pg_ctl -w waits until the server accepts connections, so pg_ready only confirms it.
# The server's output goes to the log this script opened (prepare_logs: 0600, in a
# directory only the stack's user enters), not to one pg_ctl -l would open as postgres.
pg_start() {
    find_pg_bindir
    check_port_free "$PG_PORT" RUNWATCH_PG_PORT
    if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then pg_init; fi
    pg_write_conf
    log "starting postgresql on port $PG_PORT (socket in $RUN)"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 -s start >>"$LOGS/postgresql.log" 2>&1; then
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
    # What runwatch_report may not reach in PostgreSQL's own catalogue (other tenants'
    # query texts, statistics, signals, advisory locks): only a superuser can take it,
    # per database, and runwatch-api refuses ad-hoc SQL until it is done. Idempotent.
    pg_admin -d runwatch -v app_role=runwatch -f "$REPO_DIR/sql/setup/report_confine.sql" ||
        fail "confining runwatch_report failed"
}

pg_ready() {
    pg_running && return 0
    printf '%s' "postgresql is not running after pg_ctl start"
    return 2
}

pg_stop() {
    [[ -d "$PG_DATA" ]] || return 0
    if pg_running; then
        log "stopping postgresql"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 -s stop -m fast ||
            log "warning: pg_ctl stop failed"
    fi
}
