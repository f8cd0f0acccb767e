# shellcheck shell=bash
# api.sh: runwatch-api serve, the FastCGI master and its workers (sourced by
# deploy/stack.sh). Ready once it has bound $API_SOCKET.

api_pid() { pid_of "$RUN/api.pid" runwatch-api; }

api_where() {
    if [[ -n "${RUNWATCH_API_TCP:-}" ]]; then printf 'tcp %s' "$RUNWATCH_API_TCP"; else printf 'socket %s' "$API_SOCKET"; fi
}

api_start() {
    need_bin runwatch-api
    rm -f "$API_SOCKET" # a stale socket would look like a started API
    log "starting runwatch-api ($(api_where))"
    spawn "$LOGS/api.log" "$RUN/api.pid" "$BIN_DIR/runwatch-api" serve
}

api_ready() {
    # FastCGI over TCP (RUNWATCH_API_TCP): ready once the port accepts connections.
    if [[ -n "${RUNWATCH_API_TCP:-}" ]]; then
        local host=${RUNWATCH_API_TCP%:*} port=${RUNWATCH_API_TCP##*:}
        host=${host#[} host=${host%]}
        (: <"/dev/tcp/$host/$port") 2>/dev/null && return 0
        not_ready "$RUN/api.pid" "runwatch-api does not accept connections on $RUNWATCH_API_TCP"
        return
    fi
    [[ -S "$API_SOCKET" ]] && return 0
    not_ready "$RUN/api.pid" "runwatch-api did not create $API_SOCKET"
}

api_stop() { stop_group runwatch-api "$RUN/api.pid"; }
