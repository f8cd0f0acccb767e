# shellcheck shell=bash
# redis.sh: the stack's Redis (sourced by deploy/stack.sh). Pub/sub only, no persistence,
# loopback port $REDIS_PORT; it daemonizes itself and writes $RUN/redis.pid. It requires
# the password in $REDIS_PASSWORD_FILE (made here, 0600): any local process can reach the
# port, and one that could PUBLISH could put events in other projects' streams. The
# password is in redis.conf (0600 too), never on a command line; redis-cli takes it from
# REDISCLI_AUTH.

redis_pid() { pid_of "$RUN/redis.pid" redis-server; }

redis_where() { printf 'port %s' "$REDIS_PORT"; }

# redis-cli against the stack's Redis, authenticated through the environment.
redis_cli() {
    local pw=''
    [[ -r "$REDIS_PASSWORD_FILE" ]] && pw=$(<"$REDIS_PASSWORD_FILE")
    REDISCLI_AUTH=$pw redis-cli --no-auth-warning -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

redis_start() {
    check_port_free "$REDIS_PORT" RUNWATCH_REDIS_PORT
    command -v redis-server >/dev/null 2>&1 || die "redis-server not found (deploy/install-deps.sh run)"
    make_secret "$REDIS_PASSWORD_FILE"
    local pw
    pw=$(<"$REDIS_PASSWORD_FILE")
    [[ "$pw" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || fail "$REDIS_PASSWORD_FILE: a password of letters, digits and ._~+/=- only"
    (umask 077 && cat >"$RUN/redis.conf.tmp") <<EOF2
# Written by deploy/stack/redis.sh. Redis only carries pub/sub here: no persistence.
port $REDIS_PORT
bind 127.0.0.1
protected-mode yes
requirepass $pw
# The same password toward a primary: if Sentinel makes this server a replica after a
# failover (tests/scale), it can follow the new primary.
masterauth $pw
daemonize yes
pidfile "$RUN/redis.pid"
logfile "$LOGS/redis.log"
dir "$RUN"
save ""
appendonly no
EOF2
    mv "$RUN/redis.conf.tmp" "$RUN/redis.conf"
    log "starting redis on port $REDIS_PORT"
    redis-server "$RUN/redis.conf" || {
        show_log "$LOGS/redis.log"
        fail "redis did not start"
    }
}

redis_ready() {
    if [[ "$(redis_cli ping 2>/dev/null)" == PONG ]]; then return 0; fi
    printf '%s' "redis did not answer PING"
    return 1
}

redis_stop() { stop_pidfile redis "$RUN/redis.pid" redis-server TERM 10; }
