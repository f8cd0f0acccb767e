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

# private_stack_end RC: the end of a script that ran a private_stack, from its EXIT trap
# (`trap 'private_stack_end $?' EXIT INT TERM`): stops the stack; fails on any sanitizer
# report in the daemons' logs (under `make asan` they report there, not to this terminal,
# and LeakSanitizer at each process's exit); on failure prints the last lines of each log;
# removes the stack's directory; exits with RC, or 1 for a sanitizer report.
private_stack_end() {
    local rc=$1 f
    "$(dirname "${BASH_SOURCE[0]}")/../../deploy/stack.sh" stop >/dev/null 2>&1 || true
    if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer' \
        "$RUNWATCH_VAR_DIR"/log/*.log 2>/dev/null; then
        echo "sanitizer reports found in the daemons' logs (files above):"
        grep -hE -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$RUNWATCH_VAR_DIR"/log/*.log | head -80
        rc=1
    fi
    if [ "$rc" -ne 0 ] && [ -d "$RUNWATCH_VAR_DIR/log" ]; then
        for f in "$RUNWATCH_VAR_DIR"/log/*.log; do
            echo "---- last lines of $(basename "$f")"
            tail -n 30 "$f"
        done
    fi
    rm -rf "$stack_dir"
    exit "$rc"
}
