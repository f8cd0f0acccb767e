# shellcheck shell=bash
# lib.sh: what the benchmark scripts share. A private stack on free loopback ports in a
# temp dir, removed on exit; a wrk runner that records req/s, p50 and p99 per target and
# refuses a round with errors; medians and ratios. Sourced by tests/bench/*.sh.

BENCH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_STACK=$BENCH_REPO/deploy/stack.sh

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# wrk prints latencies as 850.00us, 1.23ms, 1.01s or 2.00m: to milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n }'
}

# median of the arguments
median() {
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
        if (NR % 2) printf "%.3f", a[(NR + 1) / 2]; else printf "%.3f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }

# bench_start_stack: exports the stack's settings, starts it, arranges its removal.
# Sets TMP (scratch dir) and BASE (the URL).
bench_start_stack() {
    command -v wrk >/dev/null 2>&1 || die "wrk not found (deploy/install-deps.sh)"
    command -v curl >/dev/null 2>&1 || die "curl not found (deploy/install-deps.sh)"
    # shellcheck source=tests/lib/ports.sh
    . "$BENCH_REPO/tests/lib/ports.sh"
    private_stack rwbench || die "no private directory or free port"
    TMP=$stack_dir
    BENCH_STACK_STARTED=0
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    export RUNWATCH_STATIC_DIR=$TMP/static
    # The stack's own defaults for everything else (the API's worker count, log level).
    unset RUNWATCH_API_SOCKET RUNWATCH_DATABASE_URL RUNWATCH_REDIS_URL RUNWATCH_REDIS_PASSWORD_FILE
    # Every load generator here is one client address: nginx's per-address connection
    # limits would measure themselves, not the stack.
    export RUNWATCH_STREAM_CONN_LIMIT=${RUNWATCH_STREAM_CONN_LIMIT:-65535}
    export RUNWATCH_API_CONN_LIMIT=${RUNWATCH_API_CONN_LIMIT:-65535}

    mkdir -p "$RUNWATCH_STATIC_DIR"
    head -c 1024 /dev/zero | tr '\0' 'x' >"$RUNWATCH_STATIC_DIR/1k.txt"
    printf '<!doctype html><title>Runwatch bench</title>\n' >"$RUNWATCH_STATIC_DIR/index.html"
    chmod 0755 "$RUNWATCH_STATIC_DIR"
    chmod 0644 "$RUNWATCH_STATIC_DIR"/*

    # shellcheck disable=SC2153 # set by free_port above
    log "starting a private stack in $TMP (http port $RUNWATCH_HTTP_PORT)"
    BENCH_STACK_STARTED=1
    "$BENCH_STACK" start
    # shellcheck disable=SC2034 # for the sourcing script
    BASE=http://127.0.0.1:$RUNWATCH_HTTP_PORT
}

# bench_start_dashboard_stack [DIST]: a private stack serving the dashboard build DIST
# (default frontend/dist) for the browser benchmarks, with an admin whose email and
# password are exported (RUNWATCH_ADMIN_EMAIL, RUNWATCH_ADMIN_PASSWORD) for the page to log
# in with; then the machine's line (cores, load, Chromium's version) in the log.
bench_start_dashboard_stack() {
    local dist=${1:-$BENCH_REPO/frontend/dist}
    [[ -f "$dist/index.html" ]] || die "$dist is not built (make frontend)"
    [[ -d "$BENCH_REPO/frontend/node_modules/playwright-core" ]] || die "playwright-core is not installed (make frontend)"
    [[ -x "${RUNWATCH_CHROMIUM:-/usr/bin/chromium}" ]] || die "chromium not found (deploy/install-deps.sh)"
    export RUNWATCH_ADMIN_EMAIL=bench@runwatch.test
    RUNWATCH_ADMIN_PASSWORD=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    export RUNWATCH_ADMIN_PASSWORD
    bench_start_stack
    # The dashboard itself, readable by nginx's workers.
    cp -r "$dist/." "$RUNWATCH_STATIC_DIR/"
    chmod -R a+rX "$RUNWATCH_STATIC_DIR"
    log "machine: $(nproc) cores, $(uptime | sed 's/.*load average/load average/'); $("${RUNWATCH_CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null || true)"
}

bench_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if ((BENCH_STACK_STARTED)); then
        "$BENCH_STACK" stop >/dev/null 2>&1 || log "warning: stack stop failed"
    fi
    rm -rf "$TMP"
    exit "$rc"
}

declare -A RPS=() P50=() P99=()
FAILED=()
BENCH_LAST_REQUESTS=0 # requests of the last bench_wrk round

# bench_wrk NAME OUTFILE WRK-ARGS…: one measured round; appends to RPS/P50/P99[NAME] and
# records a round with non-2xx/3xx responses or socket errors in FAILED.
bench_wrk() {
    local name=$1 out=$2 rps p50 p99 bad sockerr
    shift 2
    if ! wrk --latency "$@" >"$out" 2>&1; then
        sed 's/^/    /' "$out" >&2
        die "wrk failed on $name"
    fi
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    p50=$(awk '/Latency Distribution/ { d = 1 } d && $1 == "50%" { print $2; exit }' "$out")
    p99=$(awk '/Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' "$out")
    [[ -n "$rps" && -n "$p99" && -n "$p50" ]] || {
        sed 's/^/    /' "$out" >&2
        die "could not read wrk's output for $name"
    }
    BENCH_LAST_REQUESTS=$(awk '/requests in/ { print $1; exit }' "$out")
    RPS[$name]+="$rps "
    P50[$name]+="$(to_ms "$p50") "
    P99[$name]+="$(to_ms "$p99") "
    bad=$(awk -F: '/Non-2xx or 3xx responses/ { gsub(/ /, "", $2); print $2 }' "$out")
    sockerr=$(awk '/Socket errors:/ { s = 0; for (i = 3; i <= NF; i++) { x = $i; gsub(/,/, "", x); if (x ~ /^[0-9]+$/) s += x } print s }' "$out")
    if [[ -n "$bad" && "$bad" != 0 ]] || [[ -n "$sockerr" && "$sockerr" != 0 ]]; then
        FAILED+=("$name: ${bad:-0} non-2xx/3xx responses, ${sockerr:-0} socket errors")
        sed 's/^/    /' "$out" >&2
    fi
}

# bench_medians NAME: prints "median-rps median-p50 median-p99".
bench_medians() {
    local -a rs ps qs
    read -r -a rs <<<"${RPS[$1]}"
    read -r -a ps <<<"${P50[$1]}"
    read -r -a qs <<<"${P99[$1]}"
    printf '%s %s %s\n' "$(median "${rs[@]}")" "$(median "${ps[@]}")" "$(median "${qs[@]}")"
}

bench_machine() {
    local workers=${RUNWATCH_API_WORKERS:-$((2 * $(nproc)))}
    echo "machine:  $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown cpu)), $(uname -sr) $(uname -m)"
    echo "software: $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }'), runwatch-api with $workers workers"
}

# For seeding through the API of the stack bench_start_stack started (BASE): method path
# body [extra curl args]; dies on a transport error. field NAME: the first string or
# number member NAME of the JSON on stdin.
# The Prometheus exposition of the stack at BASE ($1), with its metrics token (the file in
# its var dir, $2, default RUNWATCH_VAR_DIR): /metrics is closed without it.
bench_scrape() {
    printf 'Authorization: Bearer %s\n' "$(<"${2:-$RUNWATCH_VAR_DIR}/metrics.token")" |
        curl -sf -H @- "$1/metrics"
}

api() { # method path body [extra curl args]
    local out
    out=$(curl -sS -X "$1" -H 'Content-Type: application/json' -H 'X-Runwatch-CSRF: 1' \
        "${@:4}" ${3:+-d "$3"} "$BASE$2") || die "$1 $2 failed"
    printf '%s' "$out"
}
field() { sed -n "s/.*\"$1\" *: *\"\{0,1\}\([^\",}]*\).*/\1/p" | head -n 1; }

# CPU time by component, so a round's cost per request can be read on a shared machine
# where req/s moves with the neighbours' load: nginx's workers, runwatch-api (master and
# workers), PostgreSQL (server and backends), Redis with the hub. From the stack's pid
# files under RUNWATCH_VAR_DIR.
BENCH_COMPONENTS=(nginx api postgres redis)
bench_component_pids() {
    local run=$RUNWATCH_VAR_DIR/run p
    case $1 in
    nginx) p=$(cat "$run/nginx.pid" 2>/dev/null) && pgrep -P "$p" ;;
    api) p=$(cat "$run/api.pid" 2>/dev/null) && echo "$p" && pgrep -P "$p" ;;
    postgres) p=$(head -n 1 "$RUNWATCH_VAR_DIR/pg/postmaster.pid" 2>/dev/null) && echo "$p" &&
        pgrep -P "$p" ;;
    redis) cat "$run/redis.pid" "$run/sse.pid" 2>/dev/null ;;
    esac
    return 0
}
# Clock ticks (user + system) of the given pids, those still alive.
bench_ticks() {
    local p t=0 a b
    for p in "$@"; do
        read -r a b < <(awk '{ print $14, $15 }' "/proc/$p/stat" 2>/dev/null) || continue
        t=$((t + a + b))
    done
    echo "$t"
}
declare -A BENCH_CPU_PIDS=() BENCH_CPU_T0=() CPU=()
# bench_cpu_begin: notes each component's processes and ticks before a round.
bench_cpu_begin() {
    local c
    for c in "${BENCH_COMPONENTS[@]}"; do
        BENCH_CPU_PIDS[$c]=$(bench_component_pids "$c" | tr '\n' ' ')
        # shellcheck disable=SC2086 # a list of pids
        BENCH_CPU_T0[$c]=$(bench_ticks ${BENCH_CPU_PIDS[$c]})
    done
}
# bench_cpu_end NAME: appends each component's CPU µs per request of the round just
# measured (BENCH_LAST_REQUESTS) to CPU[NAME:component].
bench_cpu_end() {
    local c t hz
    hz=$(getconf CLK_TCK)
    for c in "${BENCH_COMPONENTS[@]}"; do
        # shellcheck disable=SC2086
        t=$(bench_ticks ${BENCH_CPU_PIDS[$c]})
        CPU[$1:$c]+="$(awk -v a="${BENCH_CPU_T0[$c]}" -v b="$t" -v n="$BENCH_LAST_REQUESTS" -v hz="$hz" \
            'BEGIN { printf "%.1f", (n > 0 ? (b - a) / hz * 1e6 / n : 0) }') "
    done
}
# bench_cpu_median NAME COMPONENT
bench_cpu_median() {
    local -a xs
    read -r -a xs <<<"${CPU[$1:$2]}"
    median "${xs[@]}"
}
