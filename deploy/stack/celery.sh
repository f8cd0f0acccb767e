# shellcheck shell=bash
# celery.sh: runwatch-celery, the Celery bridge (sourced by deploy/stack.sh). A component of
# the stack only when RUNWATCH_CELERY_BROKER is set (names() leaves it out otherwise, so a
# stack without Celery is what it was); then it starts after nginx, posts to the stack's
# own URL (unless RUNWATCH_CELERY_URL says another), logs to $VAR/log/celery.log and is
# restarted by the supervisor like every server. Its other settings (RUNWATCH_CELERY_*,
# README "Watching a Celery fleet") pass through the environment and are remembered in
# stack.env, except a token given by value. Without RUNWATCH_CELERY_TOKEN or
# RUNWATCH_CELERY_TOKEN_FILE, the stack makes the token the README's step 2 makes
# (`runwatch-api token create`, project RUNWATCH_CELERY_PROJECT, default "celery", scopes
# read,write) once, keeps it in $VAR/celery.token (0600) and hands the bridge the file,
# never the token on a command line. Ready once the bridge has read its settings (it logs
# "runwatch-celery started"): a broker that is down is the bridge's to wait for, not a
# reason for the stack not to start.

celery_configured() { [[ -n "${RUNWATCH_CELERY_BROKER:-}" ]]; }

celery_pid() { pid_of "$RUN/celery.pid" runwatch-celery; }

# The broker without its credentials or query.
celery_where() {
    local b=${RUNWATCH_CELERY_BROKER#*://}
    b=${b##*@}
    printf 'broker %s' "${b%%\?*}"
}

# Prints the token file the bridge reads: the operator's, or $VAR/celery.token, made (again,
# if the API no longer accepts it: a database made anew) with runwatch-api.
celery_token_file() {
    if [[ -n "${RUNWATCH_CELERY_TOKEN_FILE:-}" ]]; then
        printf '%s' "$RUNWATCH_CELERY_TOKEN_FILE"
        return 0
    fi
    local file=$VAR/celery.token token='' code base
    base=$(url)
    base=${base%/}
    if [[ -s "$file" ]]; then
        token=$(<"$file")
        code=$(printf 'Authorization: Bearer %s\n' "$token" |
            curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -H @- "$base/api/v1/auth/me" || true)
        [[ "$code" != 401 ]] || token=''
    fi
    if [[ -z "$token" ]]; then
        log "making a token for runwatch-celery (project \"${RUNWATCH_CELERY_PROJECT:-celery}\"): $file"
        token=$(cd "$REPO_DIR" && "$BIN_DIR/runwatch-api" token create \
            --project "${RUNWATCH_CELERY_PROJECT:-celery}" --create-project \
            --name "runwatch-celery (deploy/stack.sh)" --scopes read,write) ||
            fail "could not make a token for runwatch-celery"
        (umask 077 && printf '%s\n' "$token" >"$file.tmp")
        mv "$file.tmp" "$file"
    fi
    printf '%s' "$file"
}

celery_start() {
    need_bin runwatch-celery
    local token_file='' base
    base=$(url)
    if [[ -z "${RUNWATCH_CELERY_TOKEN:-}" ]]; then token_file=$(celery_token_file); fi
    (umask 077 && : >>"$LOGS/celery.log")
    log "starting runwatch-celery ($(celery_where))"
    spawn "$LOGS/celery.log" "$RUN/celery.pid" env \
        RUNWATCH_CELERY_URL="${RUNWATCH_CELERY_URL:-${base%/}}" \
        ${token_file:+RUNWATCH_CELERY_TOKEN_FILE="$token_file"} "$BIN_DIR/runwatch-celery"
}

celery_ready() {
    local from=${LOG_MARK[$LOGS/celery.log]:-0} pid
    if tail -c +"$((from + 1))" "$LOGS/celery.log" 2>/dev/null | grep -q '"msg":"runwatch-celery started' &&
        read -r pid 2>/dev/null <"$RUN/celery.pid" && proc_alive "$pid"; then
        return 0
    fi
    not_ready "$RUN/celery.pid" "runwatch-celery did not start"
}

celery_stop() { stop_group runwatch-celery "$RUN/celery.pid"; }
