# shellcheck shell=bash
# api.sh: runwatch-api serve, the FastCGI master and its workers (sourced by
# deploy/stack.sh). Ready once it has bound $API_SOCKET.

api_pid() { pid_of "$RUN/api.pid" runwatch-api; }

api_where() { printf 'socket %s' "$API_SOCKET"; }

api_start() {
    need_bin runwatch-api
    rm -f "$API_SOCKET" # a stale socket would look like a started API
    log "starting runwatch-api (socket $API_SOCKET)"
    spawn "$LOGS/api.log" "$RUN/api.pid" "$BIN_DIR/runwatch-api" serve
}

api_ready() {
    local pid
    [[ -S "$API_SOCKET" ]] && return 0
    read -r pid <"$RUN/api.pid" || return 2
    proc_alive "$pid" || return 2
    printf '%s' "runwatch-api did not create $API_SOCKET"
    return 1
}

api_stop() {
    local pid=''
    # The group id is the master's pid: read it even if the master is gone, so workers
    # it left behind are found.
    if [[ -r "$RUN/api.pid" ]]; then read -r pid <"$RUN/api.pid" || true; fi
    stop_pidfile runwatch-api "$RUN/api.pid" runwatch-api TERM 10
    if [[ "$pid" =~ ^[0-9]+$ ]]; then reap_group "$pid" runwatch-api; fi
}
