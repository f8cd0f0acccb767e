# shellcheck shell=bash
# sse.sh: runwatch-sse, the live hub (sourced by deploy/stack.sh). Its own settings
# (RUNWATCH_SSE_RING, _KEEPALIVE_MS, _CLIENT_BUFFER, _STALL_MS, _MAX_CLIENTS, _MAX_AGE_S,
# _RETRY_MS; docs/CONTRACTS.md) pass through the environment; it checks them and exits
# with a message naming a bad one. Ready once /healthz answers 200.

sse_pid() { pid_of "$RUN/sse.pid" runwatch-sse; }

sse_where() { host_port "$SSE_HOST" "$SSE_PORT"; }

sse_start() {
    need_bin runwatch-sse
    check_port_free "$SSE_PORT" RUNWATCH_SSE_PORT
    log "starting runwatch-sse on $(host_port "$SSE_HOST" "$SSE_PORT")"
    spawn "$LOGS/sse.log" "$RUN/sse.pid" "$BIN_DIR/runwatch-sse"
}

sse_ready() {
    local pid
    if curl -fsS -o /dev/null --max-time 1 "http://$(host_port "$SSE_HOST" "$SSE_PORT")/healthz" 2>/dev/null; then
        return 0
    fi
    read -r pid <"$RUN/sse.pid" || return 2
    proc_alive "$pid" || return 2
    printf '%s' "runwatch-sse did not answer /healthz with 200"
    return 1
}

sse_stop() {
    local pid=''
    # The group id is the master's pid: read it even if the master is gone, so workers
    # it left behind are found.
    if [[ -r "$RUN/sse.pid" ]]; then read -r pid <"$RUN/sse.pid" || true; fi
    stop_pidfile runwatch-sse "$RUN/sse.pid" runwatch-sse TERM 10
    if [[ "$pid" =~ ^[0-9]+$ ]]; then reap_group "$pid" runwatch-sse; fi
}
