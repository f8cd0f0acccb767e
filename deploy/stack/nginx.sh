# shellcheck shell=bash
# nginx.sh: nginx in front of everything (sourced by deploy/stack.sh): renders
# nginx/runwatch.conf.in into $NGINX_CONF and starts it. Ready once the API's /healthz
# answers 200 through it, which proves the whole request path.

nginx_pid() { pid_of "$RUN/nginx.pid" nginx; }

nginx_where() { url; }

sed_escape() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

# The lines of a list setting (comma-separated), each checked against a pattern and
# wrapped in a format: nginx_lines SETTING FORMAT PATTERN VALUE.
nginx_lines() {
    local name=$1 fmt=$2 re=$3 item out=''
    local -a items
    IFS=',' read -r -a items <<<"$4"
    for item in "${items[@]}"; do
        item=${item// /}
        [[ -z "$item" ]] && continue
        [[ "$item" =~ $re ]] || die "$name: '$item' is not a valid entry"
        # shellcheck disable=SC2059 # the format is ours
        out+="$(printf "$fmt" "$item") "
    done
    [[ -n "$out" ]] || die "$name is empty"
    printf '%s' "${out% }"
}

# The production knobs of the template (RUNWATCH_NGINX_*; docs/OPERATIONS.md): several API
# pools and hubs behind the upstreams, and TLS with a redirect from plain HTTP. Unset,
# the stack's one socket, one hub and plain HTTP. Sets API_SERVERS SSE_SERVERS
# LISTEN_TLS TLS_LINES EXTRA_SERVERS.
nginx_topology() {
    local addr='[A-Za-z0-9._-]+:[0-9]{1,5}|\[[0-9A-Fa-f:]+\]:[0-9]{1,5}'
    API_SERVERS=$(nginx_lines RUNWATCH_NGINX_API_SERVERS 'server "%s";' "^(unix:/[A-Za-z0-9._/+@:,=-]+|$addr)\$" \
        "${RUNWATCH_NGINX_API_SERVERS:-${RUNWATCH_API_TCP:-unix:$API_SOCKET}}")
    SSE_SERVERS=$(nginx_lines RUNWATCH_NGINX_SSE_SERVERS 'server %s;' "^($addr)\$" \
        "${RUNWATCH_NGINX_SSE_SERVERS:-$(host_port "$SSE_HOST" "$SSE_PORT")}")
    LISTEN_TLS='' TLS_LINES='' EXTRA_SERVERS=''
    local cert=${RUNWATCH_NGINX_TLS_CERT:-} key=${RUNWATCH_NGINX_TLS_KEY:-} redirect=${RUNWATCH_NGINX_REDIRECT_PORT:-}
    if [[ -z "$cert" && -z "$key" ]]; then
        [[ -z "$redirect" ]] || die "RUNWATCH_NGINX_REDIRECT_PORT needs TLS (RUNWATCH_NGINX_TLS_CERT and _KEY)"
        return 0
    fi
    [[ -n "$cert" && -n "$key" ]] || die "RUNWATCH_NGINX_TLS_CERT and RUNWATCH_NGINX_TLS_KEY go together"
    local f
    for f in "$cert" "$key"; do
        [[ "$f" =~ ^/[A-Za-z0-9._/+@:,=-]+$ ]] || die "TLS file '$f': an absolute plain path"
    done
    LISTEN_TLS=' ssl http2'
    TLS_LINES="ssl_certificate \"$cert\"; ssl_certificate_key \"$key\"; include \"$REPO_DIR/nginx/tls.conf\";"
    if [[ -n "$redirect" ]]; then
        [[ "$redirect" =~ ^[0-9]{1,5}$ ]] || die "RUNWATCH_NGINX_REDIRECT_PORT must be a port"
        # The https port clients use: HTTP_PORT, unless a container's port is published
        # as another (RUNWATCH_NGINX_REDIRECT_TO).
        local to=\$host https_port=${RUNWATCH_NGINX_REDIRECT_TO:-$HTTP_PORT} # \$host: nginx's
        [[ "$https_port" =~ ^[0-9]{1,5}$ ]] || die "RUNWATCH_NGINX_REDIRECT_TO must be a port"
        [[ "$https_port" == 443 ]] || to+=":$https_port"
        EXTRA_SERVERS="server { listen $(host_port "$HTTP_HOST" "$redirect"); server_name _; location = /nginx-healthz { access_log off; return 204; } location / { return 301 https://$to\$request_uri; } }"
    fi
}

# Renders the template to $1 ("-" = stdout). The file holds the hub's key, so it is 0600
# (nginx's master reads it before it drops privileges).
render_nginx() {
    local out=$1 tmpl=$REPO_DIR/nginx/runwatch.conf.in user_line='' sse_key
    [[ -r "$tmpl" ]] || die "$tmpl not found"
    if [[ -n "$NGINX_USER" ]]; then user_line="user $NGINX_USER $NGINX_GROUP;"; fi
    make_secret "$SSE_KEY_FILE"
    sse_key=$(<"$SSE_KEY_FILE")
    nginx_topology
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
        -e "s|@ARTIFACT_MAX_BYTES@|$(sed_escape "${RUNWATCH_ARTIFACT_MAX_BYTES:-16777216}")|g"
        -e "s|@API_SERVERS@|$(sed_escape "$API_SERVERS")|g"
        -e "s|@SSE_SERVERS@|$(sed_escape "$SSE_SERVERS")|g"
        -e "s|@LISTEN_TLS@|$(sed_escape "$LISTEN_TLS")|g"
        -e "s|@TLS_LINES@|$(sed_escape "$TLS_LINES")|g"
        -e "s|@EXTRA_SERVERS@|$(sed_escape "$EXTRA_SERVERS")|g"
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
