# shellcheck shell=bash
# supervisor.sh: the stack's supervisor (sourced by deploy/stack.sh). `stack.sh start`
# (and so `run`, the tests and the benches) leaves it running beside the servers; it
# restarts any of them that dies, through the very functions that started it (start_one
# and the table in deploy/stack.sh), so ports, sockets and settings stay the same. Each
# server has its own backoff: 0.5 s before the first restart, doubling after each one
# up to 30 s, back to 0.5 s once it has stayed up a minute. `stack.sh stop` stops the
# supervisor first, so it never restarts what stop is stopping. It logs every death
# and restart to $VAR/log/supervisor.log (0600), writes $RUN/supervisor.pid, and runs
# in a process group of its own (the restarts it has in hand go with it). A server
# stopped on purpose with `stack.sh pg-stop` is held ($RUN/held.<name>) until
# `pg-start` or `start`, and left alone meanwhile.

# How often it looks, how the backoff grows (milliseconds), and how long a server must
# stay up for its backoff to start over.
SUPERVISE_TICK=1
SUPERVISE_FIRST_MS=500
SUPERVISE_MAX_MS=30000
SUPERVISE_STABLE_MS=60000

supervisor_pid() { pid_of "$RUN/supervisor.pid" "stack.sh supervise"; }

# Sets now (milliseconds), without a subshell: the loop runs for the stack's life.
now_ms() { now=$((${EPOCHREALTIME/[.,]/} / 1000)); }

slog() { printf '%s supervisor: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

# Starts the supervisor unless it runs (after every server is up: it restarts, it never
# starts a stack).
supervisor_start() {
    if supervisor_pid >/dev/null; then return 0; fi
    (umask 077 && : >>"$LOGS/supervisor.log")
    chmod 0600 "$LOGS/supervisor.log"
    log "starting the supervisor (restarts a server that dies; log $LOGS/supervisor.log)"
    spawn "$LOGS/supervisor.log" "$RUN/supervisor.pid" "$SCRIPT_DIR/stack.sh" supervise
}

# Its group goes with it: a restart it had in hand (pg_ctl, a readiness probe).
supervisor_stop() {
    local pid=''
    if [[ -r "$RUN/supervisor.pid" ]]; then read -r pid <"$RUN/supervisor.pid" || true; fi
    stop_pidfile supervisor "$RUN/supervisor.pid" "stack.sh supervise" TERM 10
    if [[ "$pid" =~ ^[0-9]+$ ]]; then reap_group "$pid" "stack.sh supervise"; fi
}

# What a dead server may leave behind that would keep its successor from starting: the
# workers of an nginx master killed outright keep its port, a killed postmaster's
# backends its shared memory. Both lead their own process group (nginx and pg_ctl
# detach with setsid), whose id is the pid their pid file still holds. runwatch-api's
# workers are left alone: they finish the requests in hand (and publish them), then exit
# with their master, and the new master binds a socket of its own.
supervise_leftovers() {
    local name=$1 file='' pattern='' pid=''
    case "$name" in
    postgresql) file=$PG_DATA/postmaster.pid pattern=postgres ;;
    nginx) file=$RUN/nginx.pid pattern=nginx ;;
    *) return 0 ;;
    esac
    if [[ -r "$file" ]]; then read -r pid <"$file" || true; fi
    if [[ "$pid" =~ ^[0-9]+$ ]] && ((pid > 1)); then reap_group "$pid" "$pattern"; fi
}

# `stack.sh supervise`: the loop. Its signals are its own (TERM and INT end it, with
# the restart it has in hand); it never spins: it sleeps SUPERVISE_TICK between looks.
cmd_supervise() {
    local name now stopping=0 job=''
    local -a servers=()
    local -A delay=() due=() up_since=() down=()
    for name in $(names); do
        row "$name"
        [[ "$C_PID" == - ]] || servers+=("$name")
    done
    for name in "${servers[@]}"; do
        delay[$name]=$SUPERVISE_FIRST_MS
        now_ms
        up_since[$name]=$now
        down[$name]=0
    done
    # shellcheck disable=SC2317 # invoked by the traps
    on_term() { stopping=1; }
    trap on_term TERM INT
    trap '' HUP
    printf '%s\n' "$$" >"$RUN/supervisor.pid"
    slog "watching ${servers[*]} (pid $$)"
    while ((!stopping)) && [[ ! -e "$RUN/stop-requested" ]]; do
        for name in "${servers[@]}"; do
            ((!stopping)) || break
            now_ms
            # Stopped on purpose (`stack.sh pg-stop`): not ours to restart.
            if [[ -e "$RUN/held.$name" ]]; then
                down[$name]=0
                continue
            fi
            if running "$name" >/dev/null; then
                if ((down[$name])); then # someone else started it meanwhile
                    down[$name]=0
                    up_since[$name]=$now
                    slog "$name is running again (pid $(running "$name"))"
                elif ((now - up_since[$name] >= SUPERVISE_STABLE_MS)); then
                    delay[$name]=$SUPERVISE_FIRST_MS
                fi
                continue
            fi
            if ((down[$name] == 0)); then
                down[$name]=1
                due[$name]=$((now + delay[$name]))
                slog "$name is not running; restarting it in ${delay[$name]} ms"
                continue
            fi
            ((now >= due[$name])) || continue
            slog "restarting $name"
            supervise_leftovers "$name"
            # In a subshell, so that its failure (fail, die) is not ours; in the
            # background, so that a TERM is handled at once.
            (start_one "$name") &
            job=$!
            wait "$job" || true # returns early on a signal, the restart still in hand
            if ((stopping)); then break; fi
            job=''
            now_ms
            if running "$name" >/dev/null; then
                down[$name]=0
                up_since[$name]=$now
                slog "$name is back (pid $(running "$name"))"
            else
                due[$name]=$((now + delay[$name]))
                slog "$name did not come back; trying again in ${delay[$name]} ms"
            fi
            delay[$name]=$((delay[$name] * 2 > SUPERVISE_MAX_MS ? SUPERVISE_MAX_MS : delay[$name] * 2))
        done
        ((!stopping)) || break
        sleep "$SUPERVISE_TICK" &
        wait $! || true
    done
    trap '' TERM INT
    # A restart in hand goes with us: pg_ctl, curl, a sleep (ours, by group id).
    if [[ -n "$job" ]]; then kill -TERM -- "-$$" 2>/dev/null || true; fi
    slog "stopped"
    rm -f "$RUN/supervisor.pid"
    exit 0
}
