# shellcheck shell=bash
# sse.sh: runwatch-sse, the live hub (sourced by deploy/stack.sh). Its own settings
# (RUNWATCH_SSE_RING, _RING_BYTES, _FRAME_MAX, _KEEPALIVE_MS, _CLIENT_BUFFER, _STALL_MS,
# _MAX_CLIENTS, _MAX_AGE_S, _RETRY_MS; docs/CONTRACTS.md) pass through the environment; it checks them and exits
# with a message naming a bad one. Ready once /healthz answers 200.
# It opens a stream only for a request that carries the key in $SSE_KEY_FILE (made here,
# 0600), which nginx adds: without it the hub could not tell nginx's X-Runwatch-Projects
# from one any local process forged.

sse_pid() { pid_of "$RUN/sse.pid" runwatch-sse; }

sse_where() { host_port "$SSE_HOST" "$SSE_PORT"; }

sse_start() {
    need_bin runwatch-sse
    check_port_free "$SSE_PORT" RUNWATCH_SSE_PORT
    make_secret "$SSE_KEY_FILE"
    log "starting runwatch-sse on $(host_port "$SSE_HOST" "$SSE_PORT")"
    spawn "$LOGS/sse.log" "$RUN/sse.pid" "$BIN_DIR/runwatch-sse"
}

sse_ready() {
    if curl -fsS -o /dev/null --max-time 1 "http://$(host_port "$SSE_HOST" "$SSE_PORT")/healthz" 2>/dev/null; then
        return 0
    fi
    not_ready "$RUN/sse.pid" "runwatch-sse did not answer /healthz with 200"
}

sse_stop() { stop_group runwatch-sse "$RUN/sse.pid"; }
