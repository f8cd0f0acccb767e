#!/usr/bin/env bash
# A producer's life cycle with nothing but curl: create a run, start it, beat, log
# events in a batch, report progress, finish (or fail with an error). Run it against a
# stack from `make run` with a project token:
#
#   RUNWATCH_URL=http://127.0.0.1:8080 RUNWATCH_TOKEN=rw_… examples/producer.sh
#
# Every call is retried safely: the create carries an Idempotency-Key, status reports
# are idempotent, and events are written in one transaction per batch.
set -euo pipefail

url=${RUNWATCH_URL:-http://127.0.0.1:8080}
token=${RUNWATCH_TOKEN:?set RUNWATCH_TOKEN to a project token with the write scope}
key=${RUN_KEY:-example-$(date +%s)-$$}

api() {
    local method=$1 path=$2 body=${3:-}
    local -a args=(-fsS --retry 3 --retry-all-errors -X "$method"
        -H "Authorization: Bearer $token" -H 'Content-Type: application/json'
        -H "Idempotency-Key: $key")
    [ -n "$body" ] && args+=(-d "$body")
    curl "${args[@]}" "$url/api/v1$path"
}
field() { sed -n "s/.*\"$1\" *: *\"\([^\"]*\)\".*/\1/p"; }

run=$(api POST /runs '{"kind":"train","name":"example run","queue":"gpu","tags":["example"],
                      "params":{"lr":0.001,"epochs":3,"api_key":"never stored"}}' | field id)
echo "created run $run"

api PATCH "/runs/$run" '{"status":"running"}' >/dev/null
for epoch in 1 2 3; do
    beat=$(api POST "/runs/$run/heartbeat" "{\"progress\":$(awk "BEGIN{printf \"%.2f\", $epoch/3}")}")
    case "$beat" in *'"cancel_requested":true'*) api PATCH "/runs/$run" '{"status":"cancelled"}' >/dev/null
                                               echo "cancelled on request"; exit 0 ;; esac
    api POST "/runs/$run/events" "{\"events\":[
        {\"level\":\"info\",\"message\":\"epoch $epoch started\"},
        {\"kind\":\"metric\",\"message\":\"loss\",\"data\":{\"epoch\":$epoch,\"loss\":0.$((9 - epoch))}}]}" >/dev/null
    echo "epoch $epoch reported"
done

if [ "${FAIL:-0}" = 1 ]; then
    api PATCH "/runs/$run" '{"status":"failed","error":{"type":"RuntimeError",
        "message":"CUDA out of memory at step 1200","traceback":"Traceback (most recent call last): …"}}' >/dev/null
    echo "run $run failed"
else
    api PATCH "/runs/$run" '{"status":"succeeded","result":{"accuracy":0.93},"summary":{"loss":0.6}}' >/dev/null
    echo "run $run succeeded"
fi
api GET "/runs/$run/events?limit=10" >/dev/null
echo "see it: $url/api/v1/runs/$run"
