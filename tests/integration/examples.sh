#!/usr/bin/env bash
# examples.sh: runs examples/producer.sh, the README's producer walk-through, against the
# integration stack (run.sh calls it while the stack is up) and checks through the API
# what it left: a succeeded run with its attempt, events and metrics, a failed one with a
# fingerprinted error, stopped workers. A README example that stops working fails here.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
url=${RUNWATCH_TEST_URL:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/runwatch-examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
jar=$tmp/cookies
failed=0

check() { # check WHAT TEXT REGEX
    if grep -Eq -- "$3" <<<"$2"; then
        echo "  ok: $1"
    else
        echo "  FAILED: $1: /$3/ not in: ${2:0:400}"
        failed=1
    fi
}
admin() { # admin METHOD PATH [BODY]
    curl -sS -b "$jar" -c "$jar" -X "$1" -H 'Content-Type: application/json' \
        -H 'X-Runwatch-CSRF: 1' ${3:+-d "$3"} "$url/api/v1$2"
}

admin POST /auth/login "{\"email\":\"$RUNWATCH_ADMIN_EMAIL\",\"password\":\"$RUNWATCH_ADMIN_PASSWORD\"}" >/dev/null
slug=examples-$$
admin POST /projects "{\"slug\":\"$slug\",\"name\":\"examples\"}" >/dev/null
token=$(admin POST "/projects/$slug/tokens" '{"name":"example producer","scopes":["write"]}' |
    sed -n 's/.*"token" *: *"\(rw_[^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "no token"; exit 1; }

echo "examples/producer.sh:"
out=$(RUNWATCH_URL=$url RUNWATCH_TOKEN=$token "$repo/examples/producer.sh")
run=$(tail -n1 <<<"$out")
check "it reports success" "$out" "run $run succeeded"
check "the run succeeded, with a result" "$(admin GET "/runs/$run")" \
    '"status" *: *"succeeded".*"result" *: *\{"accuracy" *: *0.93\}'
check "params' api_key was redacted" "$(admin GET "/runs/$run")" '"api_key" *: *"\[redacted\]"'
check "one attempt, by a worker, succeeded" "$(admin GET "/runs/$run/attempts")" \
    '^\{"items":\[\{"seq" *: *1, "status" *: *"succeeded", "worker_id" *: *[0-9]+'
check "six events" "$(admin GET "/runs/$run/events" | grep -o '"message" *: *"epoch [0-9] [a-z]*"' | wc -l)" '^6$'
check "two metric keys of three points" "$(admin GET "/runs/$run/metrics")" \
    '"key" *: *"train/accuracy", "count" *: *3.*"key" *: *"train/loss", "count" *: *3'
check "its worker stopped" "$(admin GET "/workers?project=$slug")" '"status" *: *"stopped"'

out=$(FAIL=1 RUNWATCH_URL=$url RUNWATCH_TOKEN=$token "$repo/examples/producer.sh")
run=$(tail -n1 <<<"$out")
check "FAIL=1: the run failed with a fingerprinted error" "$(admin GET "/runs/$run")" \
    '"status" *: *"failed".*"type" *: *"RuntimeError".*"fingerprint" *: *"[0-9a-f]{16}"'
exit $failed
