# free_port NAME: sets and exports NAME to a loopback TCP port nobody listens on now,
# drawn from a random high range and never one this shell handed out before, so the
# several ports of one stack cannot collide. Sourced by the test and bench scripts.
free_port() {
    local p i
    for i in $(seq 1 200); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        case " ${_RW_TAKEN_PORTS:-} " in *" $p "*) continue ;; esac
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
