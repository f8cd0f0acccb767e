#!/usr/bin/env bash
# celery_tls.sh (`make bench`): what TLS (rediss://, the bridge's own pump: fcgi/src/celery/
# tls.c) costs the Celery bridge. One redis-server listens plain and TLS (a throwaway CA made
# here); tests/bench/celery_gen.py publishes the same load on the plain port
# (BENCH_CELERY_TLS_WORKERS 100 workers, BENCH_CELERY_TLS_RATE 2000 task events/s for
# BENCH_CELERY_TLS_SECONDS 20 s) while a runwatch-celery subscribed over plain or TLS posts
# to a private stack; rounds alternate plain, TLS (BENCH_CELERY_TLS_ROUNDS pairs, 2). Prints
# the bridge's CPU (user + system, every thread: the pump included) per round and per 1,000
# events, and the medians. Measured, never asserted.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORKERS=${BENCH_CELERY_TLS_WORKERS:-100}
RATE=${BENCH_CELERY_TLS_RATE:-2000}
SECS=${BENCH_CELERY_TLS_SECONDS:-20}
ROUNDS=${BENCH_CELERY_TLS_ROUNDS:-2}
for v in WORKERS RATE SECS ROUNDS; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done

bench_start_stack
bin=${RUNWATCH_BIN_DIR:-$BENCH_REPO/build/release}
token=$("$bin/runwatch-api" token create --project celery-tls-bench --name bench --scopes read,write \
    --create-project | tail -n 1)
[[ "$token" == rw_* ]] || die "no token"

t=$TMP/tls
mkdir -p "$t"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -days 2 -subj /CN=bench-ca -keyout "$t/ca.key" -out "$t/ca.pem" 2>/dev/null
openssl req "${ec[@]}" -subj /CN=localhost -keyout "$t/b.key" -out "$t/b.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' >"$t/ext.cnf"
openssl x509 -req -in "$t/b.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 2 \
    -extfile "$t/ext.cnf" -out "$t/b.pem" 2>/dev/null
free_port PLAIN_PORT
free_port TLS_PORT
printf 'port %s\ntls-port %s\nbind 127.0.0.1\ntls-cert-file %s\ntls-key-file %s\ntls-ca-cert-file %s\ntls-auth-clients no\nsave ""\nappendonly no\ndir %s\n' \
    "$PLAIN_PORT" "$TLS_PORT" "$t/b.pem" "$t/b.key" "$t/ca.pem" "$TMP" >"$t/redis.conf"
redis-server "$t/redis.conf" >"$TMP/broker.log" 2>&1 &
broker=$!
bridge=''
trap 'kill "$broker" $bridge 2>/dev/null || true; bench_cleanup' EXIT
for _ in $(seq 1 100); do
    [[ "$(redis-cli -p "$PLAIN_PORT" ping 2>/dev/null)" == PONG ]] && break
    sleep 0.1
done
bench_machine
hz=$(getconf CLK_TCK)
declare -A per=()
want=0
for ((r = 1; r <= ROUNDS; r++)); do
    for mode in plain tls; do
        if [[ $mode == plain ]]; then
            url="redis://127.0.0.1:$PLAIN_PORT/2"
        else
            url="rediss://localhost:$TLS_PORT/2?ssl_ca_certs=$t/ca.pem"
        fi
        log="$TMP/bridge-$mode-$r.log"
        RUNWATCH_CELERY_BROKER=$url RUNWATCH_CELERY_BACKEND=none RUNWATCH_CELERY_TOKEN=$token \
            RUNWATCH_CELERY_URL=$BASE "$bin/runwatch-celery" >"$log" 2>&1 &
        bridge=$!
        for _ in $(seq 1 100); do
            grep -q '"msg":"subscribed to' "$log" && break
            sleep 0.1
        done
        b0=$(bench_ticks "$bridge")
        out=$(/usr/bin/python3 "$BENCH_REPO/tests/bench/celery_gen.py" "redis://127.0.0.1:$PLAIN_PORT/2" \
            "$WORKERS" "$RATE" "$SECS")
        # Until every task of the round is stored as succeeded (the bridge has worked off its
        # backlog, which may wait in Redis while a post is in flight), within two minutes.
        want=$((want + $(sed -n 's/^tasks \([0-9]*\)$/\1/p' <<<"$out")))
        for _ in $(seq 1 600); do
            got=$("$BENCH_STACK" psql -X -q -tA -c "SELECT count(*) FROM runs WHERE status = 'succeeded'
                AND project_id = (SELECT id FROM projects WHERE slug = 'celery-tls-bench')")
            ((got < want)) || break
            sleep 0.2
        done
        b1=$(bench_ticks "$bridge")
        kill -TERM "$bridge"
        wait "$bridge" 2>/dev/null || true
        bridge=''
        events=$(grep -o ' events=[0-9]*' "$log" | tail -n 1 | cut -d= -f2)
        sent=$(sed -n 's/^task_events \([0-9]*\)$/\1/p' <<<"$out")
        ms=$(((b1 - b0) * 1000 / hz))
        k=$(awk -v m="$ms" -v e="${events:-0}" 'BEGIN { printf "%.1f", (e > 0) ? m * 1000 / e : 0 }')
        per[$mode]+="$k "
        lost=$(grep -c 'broker connection lost' "$log" || true)
        printf 'round %d %-5s bridge CPU %5d ms for %s events decoded (%s task events sent; %s broker disconnects): %s ms per 1,000\n' \
            "$r" "$mode" "$ms" "${events:-?}" "${sent:-?}" "$lost" "$k"
    done
done
for mode in plain tls; do
    # shellcheck disable=SC2086 # a list of numbers
    printf 'median %-5s %s ms of bridge CPU per 1,000 events\n' "$mode" "$(median ${per[$mode]})"
done
