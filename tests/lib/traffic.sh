# shellcheck shell=bash
# shellcheck disable=SC2154 # tmp, url, auth, stack, DEADLINE, TRAFFIC_TAG: the caller's
# traffic.sh: live traffic against a test stack and the checks of what it saw, shared by
# the fault test (tests/faults) and the scale-out rehearsal (tests/scale). Sourced after
# tap.sh; the caller sets tmp (a scratch dir), url (nginx's base URL), auth (an
# "Authorization: Bearer …" header of a write token), stack (deploy/stack.sh, for psql),
# DEADLINE (seconds a recovery may take; polled, never slept) and TRAFFIC_TAG (the word
# the runs' kind, names and messages carry: one test's rows are told from another's).
#   writer      creates runs and posts events without pause, retrying each until it is
#               acknowledged; appends "run <id>" / "event <run> <message>" to $tmp/acked,
#               and one line per refused or failed try to $tmp/writer.fails
#   streamer    one live stream after another through nginx, each resuming from the last
#               id received (Last-Event-ID), as EventSource does, into $tmp/stream.log
#   serving_again NAME   writes are acknowledged again and the stream shows a new one
#   check_acked_stored, check_stream_gapless   the end-of-test verdicts

# Posts until the answer is 2xx; prints the answer's body. Every try has a bounded time.
post_acked() { # path body [header]
    local out code
    while [[ ! -e "$tmp/stop" ]]; do
        out=$(curl -sS -m 15 -w '\n%{http_code}' -H "$auth" -H 'Content-Type: application/json' \
            ${3:+-H "$3"} -d "$2" "$url/api/v1$1" 2>>"$tmp/writer.err") || true
        code=${out##*$'\n'}
        if [[ "$code" == 2?? ]]; then
            printf '%s' "${out%$'\n'*}"
            return 0
        fi
        echo "$SECONDS ${code:-000} $1" >>"$tmp/writer.fails"
        sleep 0.2
    done
    return 1
}

# Every 20th write creates a run (with an Idempotency-Key, so a retry makes no second);
# the others post an event to the newest run.
writer() {
    local i=0 run='' body msg
    while [[ ! -e "$tmp/stop" ]]; do
        i=$((i + 1))
        if ((i % 20 == 1)); then
            body=$(post_acked /runs "{\"kind\":\"$TRAFFIC_TAG\",\"name\":\"$TRAFFIC_TAG $i\"}" \
                "Idempotency-Key: $TRAFFIC_TAG-run-$i") || break
            run=$(sed -n 's/^{"id" *: *"\([0-9a-f-]*\)".*/\1/p' <<<"$body")
            [[ -n "$run" ]] || {
                echo "no run id in: $body" >>"$tmp/writer.err"
                continue
            }
            echo "run $run" >>"$tmp/acked"
            continue
        fi
        msg=$TRAFFIC_TAG-write-$i
        post_acked "/runs/$run/events" "{\"level\":\"info\",\"message\":\"$msg\"}" >/dev/null || break
        echo "event $run $msg" >>"$tmp/acked"
    done
}

# Connections are marked in the log with "# connect N".
streamer() {
    local n=0 last='' cpid
    local -a hdr
    while [[ ! -e "$tmp/stop" ]]; do
        n=$((n + 1))
        hdr=()
        if [[ -n "$last" ]]; then hdr=(-H "Last-Event-ID: $last"); fi
        echo "# connect $n last=$last" >>"$tmp/stream.log"
        curl -sS -N -m 900 -H "$auth" "${hdr[@]}" "$url/api/v1/stream" \
            >>"$tmp/stream.log" 2>>"$tmp/stream.err" &
        cpid=$!
        echo "$cpid" >"$tmp/stream.curl.pid"
        wait "$cpid" || true
        last=$(sed -n 's/^id: //p' "$tmp/stream.log" | tail -n 1)
        sleep 0.2
    done
}

# Starts both in the background: writer_pid, streamer_pid.
traffic_start() {
    : >"$tmp/acked"
    : >"$tmp/stream.log"
    : >"$tmp/writer.fails"
    streamer &
    streamer_pid=$!
    writer &
    writer_pid=$!
}

# Stops both (the caller's cleanup may call it again).
traffic_stop() {
    : >"$tmp/stop"
    if [[ -r "$tmp/stream.curl.pid" ]]; then kill "$(<"$tmp/stream.curl.pid")" 2>/dev/null || true; fi
    local p
    for p in ${writer_pid:-} ${streamer_pid:-}; do wait "$p" 2>/dev/null || true; done
    writer_pid='' streamer_pid=''
}

acked_count() { wc -l <"$tmp/acked"; }
fails_count() { wc -l <"$tmp/writer.fails"; }
connects_count() { grep -c '^# connect' "$tmp/stream.log" || true; }

# Polls a command until it succeeds or the deadline passes.
until_ok() { # seconds command...
    local secs=$1 end
    shift
    end=$((SECONDS + secs))
    while ((SECONDS < end)); do
        if "$@"; then return 0; fi
        sleep 0.2
    done
    return 1
}

# The stream carries a write acknowledged after a point: both the write path and the
# live path work (whatever was killed has been restarted and found again). Any later
# write will do: those published while the hub was away reach the stream as a reset.
STREAM_OK_AFTER=0
acked_since() { (($(acked_count) > $1)); }
write_num() { grep -o "$TRAFFIC_TAG-write-[0-9]*" | sed 's/.*-//' | sort -n | tail -n 1; }
stream_has_new_write() {
    local mark seen
    mark=$(head -n "$STREAM_OK_AFTER" "$tmp/acked" | write_num)
    seen=$(write_num <"$tmp/stream.log")
    [[ -n "$mark" && -n "$seen" ]] && ((seen > mark))
}
serving_again() { # name
    local before
    before=$(acked_count)
    until_ok "$DEADLINE" acked_since "$((before + 3))" || {
        not_ok "$1: writes are acknowledged again" "acknowledged writes stuck at $(acked_count)"
        return 1
    }
    STREAM_OK_AFTER=$(acked_count)
    until_ok "$DEADLINE" stream_has_new_write || {
        not_ok "$1: the stream delivers new writes again"
        return 1
    }
    ok "$1: writes and the stream work again"
}

# Every acknowledged write is stored: the runs by id, the events by (run, message).
check_acked_stored() {
    awk '$1 == "run" {print $2}' "$tmp/acked" | sort -u >"$tmp/acked.runs"
    awk '$1 == "event" {print $2 " " $3}' "$tmp/acked" | sort -u >"$tmp/acked.events"
    "$stack" psql -X -tA -F ' ' -c "select id from runs where kind = '$TRAFFIC_TAG'" | sort -u >"$tmp/db.runs"
    "$stack" psql -X -tA -F ' ' -c "select run_id, message from events e join runs r on r.id = e.run_id
                                     where r.kind = '$TRAFFIC_TAG'" | sort -u >"$tmp/db.events"
    local missing_runs missing_events
    missing_runs=$(comm -23 "$tmp/acked.runs" "$tmp/db.runs")
    missing_events=$(comm -23 "$tmp/acked.events" "$tmp/db.events")
    if [[ -z "$missing_runs$missing_events" ]]; then
        ok "all $(wc -l <"$tmp/acked.runs") acknowledged runs and $(wc -l <"$tmp/acked.events") events are in the database"
    else
        not_ok "every acknowledged write is in the database" "missing: $missing_runs $missing_events"
    fi
}

# The stream never skipped: consecutive ids follow each other within an epoch unless a
# reset came between (a replay continues the id; anything else must say reset).
check_stream_gapless() { # what-happened
    local gaps summary
    gaps=$(awk '
        /^event: reset/ { reset = 1; resets++ }
        /^# connect/ { connects++ }
        /^id: / {
            split(substr($0, 5), p, "-"); e = p[1]; s = p[2] + 0
            if (have && !reset && (e != le || s != ls + 1))
                printf "id %s-%d follows %s-%d with no reset between\n", e, s, le, ls
            le = e; ls = s; have = 1; reset = 0; frames++
        }
        END { printf "# %d frames, %d resets, %d connections\n", frames, resets, connects }
    ' "$tmp/stream.log")
    summary=$(grep '^#' <<<"$gaps")
    if ! grep -qv '^#' <<<"$gaps"; then
        ok "the stream resumed after $1 with a replay or a reset, never a silent gap ($summary)"
    else
        not_ok "the stream resumed after $1 with a replay or a reset, never a silent gap" "$gaps"
    fi
}
