#!/usr/bin/env bash
# A producer's whole life cycle with nothing but curl: register a worker, queue a run,
# claim it (a new attempt with a lease), beat with the attempt, log events in a batch,
# record metrics, finish (or fail with an error), stop the worker. Run it against a
# stack from `make run` with a project token:
#
#   RUNWATCH_URL=http://127.0.0.1:8080 RUNWATCH_TOKEN=rw_… examples/producer.sh
#   FAIL=1 … examples/producer.sh      # the run fails with an error and a traceback
#
# Every call is safe to retry: the create carries an Idempotency-Key, status reports
# are idempotent, and each batch of events or metrics is one transaction. It prints the
# run's id on its last line.
set -euo pipefail

url=${RUNWATCH_URL:-http://127.0.0.1:8080}
token=${RUNWATCH_TOKEN:?set RUNWATCH_TOKEN to a project token with the write scope}
key=${RUN_KEY:-example-$(date +%s)-$$}
queue=${QUEUE:-example-$$}

api() {
    local method=$1 path=$2 body=${3:-}
    local -a args=(-fsS --retry 3 --retry-all-errors -X "$method"
        -H "Authorization: Bearer $token" -H 'Content-Type: application/json')
    [ -n "$body" ] && args+=(-d "$body")
    curl "${args[@]}" "$url/api/v1$path"
}
# The value of the first member of the JSON object on stdin when it is named $1 (the
# answers here begin with their "id"): enough for this script, no jq needed.
field() { sed -n "s/^{\"$1\" *: *\"\{0,1\}\([^\",}]*\).*/\1/p"; }

worker=$(api POST /workers "{\"name\":\"example-$(hostname)-$$\",\"host\":\"$(hostname)\",
                            \"pid\":$$,\"kinds\":[\"train\"],\"labels\":{\"gpu\":\"none\"}}" | field id)
echo "registered worker $worker"

run=$(curl -fsS --retry 3 --retry-all-errors -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -H "Idempotency-Key: $key" \
    -d "{\"kind\":\"train\",\"name\":\"example run\",\"queue\":\"$queue\",\"tags\":[\"example\"],
         \"params\":{\"lr\":0.001,\"epochs\":3,\"api_key\":\"never stored\"}}" \
    "$url/api/v1/runs" | field id)
echo "queued run $run"

claimed=$(api POST "/queues/$queue/claim" "{\"worker_id\":$worker,\"lease_s\":60,\"kinds\":[\"train\"]}")
[ "$(printf '%s' "$claimed" | field id)" = "$run" ] || { echo "claimed something else: $claimed" >&2; exit 1; }
attempt=1 # a fresh run's first attempt; the claim's answer has it as latest_attempt.seq
echo "claimed it as attempt $attempt"

for epoch in 1 2 3; do
    beat=$(api POST "/runs/$run/heartbeat" \
        "{\"attempt\":$attempt,\"progress\":$(awk "BEGIN{printf \"%.2f\", $epoch/3}")}")
    case "$beat" in *'"cancel_requested":true'*)
        api PATCH "/runs/$run/attempts/$attempt" '{"status":"cancelled"}' >/dev/null
        api POST "/workers/$worker/stop" >/dev/null
        echo "cancelled on request"
        exit 0
        ;;
    esac
    api POST "/runs/$run/events" "{\"events\":[
        {\"level\":\"info\",\"message\":\"epoch $epoch started\"},
        {\"level\":\"info\",\"message\":\"epoch $epoch done\",\"data\":{\"epoch\":$epoch}}]}" >/dev/null
    api POST "/runs/$run/metrics" "{\"metrics\":[
        {\"key\":\"train/loss\",\"value\":0.$((9 - epoch)),\"step\":$epoch},
        {\"key\":\"train/accuracy\",\"value\":0.$((6 + epoch)),\"step\":$epoch}]}" >/dev/null
    echo "epoch $epoch reported"
done

if [ "${FAIL:-0}" = 1 ]; then
    api PATCH "/runs/$run/attempts/$attempt" '{"status":"failed","error":{"type":"RuntimeError",
        "message":"CUDA out of memory at step 1200",
        "traceback":"Traceback (most recent call last):\n  File \"train.py\", line 12\nRuntimeError: CUDA out of memory"}}' >/dev/null
    echo "run $run failed"
else
    api PATCH "/runs/$run/attempts/$attempt" '{"status":"succeeded"}' >/dev/null
    api PATCH "/runs/$run" '{"result":{"accuracy":0.93},"summary":{"loss":0.6}}' >/dev/null
    echo "run $run succeeded"
fi
api POST "/workers/$worker/stop" >/dev/null
echo "see it: $url/api/v1/runs/$run"
echo "$run"
