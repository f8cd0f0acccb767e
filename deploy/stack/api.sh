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
    [[ -S "$API_SOCKET" ]] && return 0
    not_ready "$RUN/api.pid" "runwatch-api did not create $API_SOCKET"
}

api_stop() { stop_group runwatch-api "$RUN/api.pid"; }
