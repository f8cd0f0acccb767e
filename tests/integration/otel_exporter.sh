#!/usr/bin/env bash
# otel_exporter.sh: the unmodified OpenTelemetry JS exporters (@opentelemetry/exporter-trace-otlp-http
# and -proto, pinned in tests/otel/package-lock.json) send a trace each to the integration stack
# (run.sh calls it while the stack is up), in OTLP JSON and protobuf, plain and gzipped;
# tests/otel/export.mjs reads each back through the API and compares.
# Installs the pinned packages under tests/otel with `npm ci` when they are missing.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
url=${RUNWATCH_TEST_URL:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/runwatch-otel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
jar=$tmp/cookies

admin() { # admin METHOD PATH [BODY]
    curl -sS -b "$jar" -c "$jar" -X "$1" -H 'Content-Type: application/json' \
        -H 'X-Runwatch-CSRF: 1' ${3:+-d "$3"} "$url/api/v1$2"
}

if [ ! -d "$repo/tests/otel/node_modules/@opentelemetry/exporter-trace-otlp-http" ] ||
    [ ! -d "$repo/tests/otel/node_modules/@opentelemetry/exporter-trace-otlp-proto" ]; then
    (cd "$repo/tests/otel" && npm ci --no-audit --no-fund >/dev/null)
fi
admin POST /auth/login "{\"email\":\"$RUNWATCH_ADMIN_EMAIL\",\"password\":\"$RUNWATCH_ADMIN_PASSWORD\"}" >/dev/null
slug=otel-$$
admin POST /projects "{\"slug\":\"$slug\",\"name\":\"otel exporter\"}" >/dev/null
token=$(admin POST "/projects/$slug/tokens" '{"name":"otel exporter","scopes":["write","read"]}' |
    sed -n 's/.*"token" *: *"\(rw_[^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "no token"; exit 1; }
run=$(curl -sS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"kind":"otel"}' "$url/api/v1/runs" | sed -n 's/^{"id" *: *"\([0-9a-f-]*\)".*/\1/p')
[ -n "$run" ] || { echo "no run"; exit 1; }

echo "the OpenTelemetry JS exporters:"
rc=0
for protocol in json proto; do
    for compression in none gzip; do
        RUNWATCH_TEST_URL=$url RUNWATCH_TOKEN=$token RUNWATCH_RUN=$run OTEL_TEST_PROTOCOL=$protocol \
            OTEL_TEST_COMPRESSION=$compression node "$repo/tests/otel/export.mjs" || rc=1
    done
done
exit $rc
