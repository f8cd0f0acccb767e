# shellcheck shell=bash
# nginx.sh: nginx in front of everything (sourced by deploy/stack.sh): renders
# nginx/runwatch.conf.in into $NGINX_CONF and starts it. Ready once the API's /healthz
# answers 200 through it, which proves the whole request path.

nginx_pid() { pid_of "$RUN/nginx.pid" nginx; }

nginx_where() { url; }

sed_escape() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

# Renders the template to $1 ("-" = stdout). The file holds the hub's key, so it is 0600
# (nginx's master reads it before it drops privileges).
render_nginx() {
    local out=$1 tmpl=$REPO_DIR/nginx/runwatch.conf.in user_line='' sse_key
    [[ -r "$tmpl" ]] || die "$tmpl not found"
    if [[ -n "$NGINX_USER" ]]; then user_line="user $NGINX_USER $NGINX_GROUP;"; fi
    make_secret "$SSE_KEY_FILE"
    sse_key=$(<"$SSE_KEY_FILE")
    [[ "$sse_key" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || die "$SSE_KEY_FILE: a key of letters, digits and ._~+/=- only"
    local -a args=(
        -e "s|@HTTP_HOST@:@HTTP_PORT@|$(sed_escape "$(host_port "$HTTP_HOST" "$HTTP_PORT")")|g"
        -e "s|@HTTP_HOST@|$(sed_escape "$HTTP_HOST")|g"
        -e "s|@HTTP_PORT@|$(sed_escape "$HTTP_PORT")|g"
        -e "s|@API_SOCKET@|$(sed_escape "$API_SOCKET")|g"
        -e "s|@SSE_ADDR@|$(sed_escape "$(host_port "$SSE_HOST" "$SSE_PORT")")|g"
        -e "s|@STATIC_DIR@|$(sed_escape "$STATIC_DIR")|g"
        -e "s|@VAR_DIR@|$(sed_escape "$VAR")|g"
        -e "s|@REPO_DIR@|$(sed_escape "$REPO_DIR")|g"
        -e "s|@USER_LINE@|$(sed_escape "$user_line")|g"
        -e "s|@LOGIN_RATE@|$(sed_escape "$LOGIN_RATE")|g"
        -e "s|@LOGIN_BURST@|$(sed_escape "$LOGIN_BURST")|g"
        -e "s|@NGINX_NOFILE@|$(sed_escape "$NGINX_NOFILE")|g"
        -e "s|@NGINX_CONNECTIONS@|$(sed_escape "$NGINX_CONNECTIONS")|g"
        -e "s|@METRICS_ALLOW@|$(sed_escape "$METRICS_ALLOW_LINES")|g"
        -e "s|@STREAM_CONN_LIMIT@|$(sed_escape "$STREAM_CONN_LIMIT")|g"
        -e "s|@API_CONN_LIMIT@|$(sed_escape "$API_CONN_LIMIT")|g"
    )
    local text left
    text=$(sed "${args[@]}" "$tmpl")
    # In the shell, not as a sed argument: a command line is visible to every local user.
    text=${text//@SSE_KEY@/"$sse_key"}
    if left=$(grep -o '@[A-Z_]*@' <<<"$text" | sort -u | tr '\n' ' ') && [[ -n "$left" ]]; then
        die "unrendered placeholders in $tmpl: $left"
    fi
    if [[ "$out" == - ]]; then
        printf '%s\n' "$text"
    else
        mkdir -p "$(dirname "$out")"
        (umask 077 && printf '%s\n' "$text" >"$out.tmp")
        chmod 0600 "$out.tmp"
        mv "$out.tmp" "$out"
    fi
}

nginx_cmd() { nginx -e "$LOGS/nginx-error.log" -p "$NGX/" -c "$NGINX_CONF" "$@"; }

nginx_start() {
    command -v nginx >/dev/null 2>&1 || die "nginx not found (deploy/install-deps.sh run)"
    check_port_free "$HTTP_PORT" RUNWATCH_HTTP_PORT
    if [[ ! -d "$STATIC_DIR" ]]; then
        log "note: $STATIC_DIR does not exist (frontend not built): / will answer 404"
    elif ((EUID == 0)) && ! runuser -u "$NGINX_USER" -- test -r "$STATIC_DIR" 2>/dev/null; then
        log "warning: $NGINX_USER cannot read $STATIC_DIR: / will answer 403/404"
    fi
    mkdir -p "$NGX/tmp"
    render_nginx "$NGINX_CONF"
    local out
    if ! out=$(nginx_cmd -t -q 2>&1); then
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        fail "nginx rejected $NGINX_CONF"
    fi
    log "starting nginx on $(url)"
    if ! out=$(nginx_cmd 2>&1); then
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        show_log "$LOGS/nginx-error.log"
        fail "nginx did not start"
    fi
}

nginx_ready() {
    local code
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "$(url)api/v1/healthz" 2>/dev/null || true)
    [[ "$code" == 200 ]] && return 0
    printf '%s' "$(url)api/v1/healthz answered ${code:-nothing} instead of 200"
    return 1
}

nginx_stop() {
    # QUIT lets requests in flight finish; worker_shutdown_timeout bounds SSE streams.
    stop_pidfile nginx "$RUN/nginx.pid" nginx QUIT 15
}
