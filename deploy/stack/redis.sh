# shellcheck shell=bash
# redis.sh: the stack's Redis (sourced by deploy/stack.sh). Pub/sub only, no persistence,
# loopback port $REDIS_PORT; it daemonizes itself and writes $RUN/redis.pid.

redis_pid() { pid_of "$RUN/redis.pid" redis-server; }

redis_where() { printf 'port %s' "$REDIS_PORT"; }

redis_start() {
    check_port_free "$REDIS_PORT" RUNWATCH_REDIS_PORT
    command -v redis-server >/dev/null 2>&1 || die "redis-server not found (deploy/install-deps.sh run)"
    cat >"$RUN/redis.conf" <<EOF2
# Written by deploy/stack/redis.sh. Redis only carries pub/sub here: no persistence.
port $REDIS_PORT
bind 127.0.0.1
protected-mode yes
daemonize yes
pidfile "$RUN/redis.pid"
logfile "$LOGS/redis.log"
dir "$RUN"
save ""
appendonly no
EOF2
    log "starting redis on port $REDIS_PORT"
    redis-server "$RUN/redis.conf" || {
        show_log "$LOGS/redis.log"
        fail "redis did not start"
    }
}

redis_ready() {
    if [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; then return 0; fi
    printf '%s' "redis did not answer PING"
    return 1
}

redis_stop() { stop_pidfile redis "$RUN/redis.pid" redis-server TERM 10; }
