# shellcheck shell=bash
# free_port NAME: sets and exports NAME to a loopback TCP port nobody listens on now,
# drawn at random from below the kernel's ephemeral range (so an outgoing connection
# cannot take it between this check and the server's bind) and never one this shell
# handed out before, so the several ports of one stack cannot collide. Sourced by the
# test and bench scripts.
free_port() {
    local p lo=20000 hi=32767 eph
    if read -r eph _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null && ((eph > lo + 1000)); then
        hi=$((eph - 1))
    fi
    for _ in $(seq 1 200); do
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        case " ${_RW_TAKEN_PORTS:-} " in *" $p "*) continue ;; esac
        # ss also sees listeners on other addresses; the probe covers a machine without it.
        if command -v ss >/dev/null 2>&1 && [[ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]]; then
            continue
        fi
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            _RW_TAKEN_PORTS="${_RW_TAKEN_PORTS:-} $p"
            printf -v "$1" '%s' "$p"
            export "${1?}"
            return 0
        fi
    done
    echo "free_port: no free port found" >&2
    return 1
}

# private_stack PREFIX: a private directory for a whole stack (mktemp under
# ${TMPDIR:-/tmp}, mode 755 so PostgreSQL and nginx's workers can enter it as their own
# users when we are root), with the stack's settings exported for it: its var dir,
# loopback, and a free port for each server. Sets `stack_dir` to the directory. Sourced
# by the integration, e2e and bench scripts, which add what is theirs.
private_stack() {
    stack_dir=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || return 1
    chmod 755 "$stack_dir"
    export RUNWATCH_VAR_DIR=$stack_dir/var
    export RUNWATCH_HTTP_HOST=127.0.0.1 RUNWATCH_SSE_HOST=127.0.0.1
    free_port RUNWATCH_HTTP_PORT && free_port RUNWATCH_PG_PORT &&
        free_port RUNWATCH_REDIS_PORT && free_port RUNWATCH_SSE_PORT
}
