#!/usr/bin/env bash
# artifacts.sh: what an artifact upload and a streamed download cost (api/artifacts.c), on a
# private stack with the shipped settings: a 16 MiB file (RUNWATCH_ARTIFACT_MAX_BYTES, the
# default cap) uploaded ROUNDS times under new names, then downloaded ROUNDS times; each
# component's CPU per request (tests/bench/lib.sh), and the API workers' peak resident
# memory (VmHWM) before and after the downloads: a download streams 1 MiB slices, so the
# peak should grow by about a slice, not by the file. Every download is checked against
# the file's sha256. Measured, never asserted. Figures: docs/PERFORMANCE.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN=${RUNWATCH_BIN_DIR:-$BENCH_REPO/build/release}
ROUNDS=${ROUNDS:-10}
SIZE=$((16 * 1024 * 1024))

bench_start_stack
bench_machine
token=$(cd "$BENCH_REPO" && "$BIN/runwatch-api" token create --project bench --create-project \
    --name bench --scopes read,write)
[[ "$token" == rw_* ]] || die "no token"
auth=(-H "Authorization: Bearer $token")
run=$(api POST /api/v1/runs '{"kind":"bench","status":"running"}' "${auth[@]}" | field id)
[[ -n "$run" ]] || die "no run"

file=$TMP/blob.bin
head -c "$SIZE" /dev/urandom >"$file"
sha=$(sha256sum "$file" | cut -c1-64)

# Peak resident kB of the API's workers (the master's children but the housekeeper, whose
# peak the downloads do not touch): the largest of them.
peak_kb() {
    local p m=0 v
    for p in $(pgrep -P "$(cat "$RUNWATCH_VAR_DIR/run/api.pid")"); do
        v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
        ((v > m)) && m=$v
    done
    echo "$m"
}

bench_cpu_begin
for i in $(seq 1 "$ROUNDS"); do
    code=$(curl -sS -o /dev/null -w '%{http_code}' "${auth[@]}" --data-binary @"$file" \
        -H 'Content-Type: application/octet-stream' \
        "$BASE/api/v1/runs/$run/artifacts/upload?name=blob-$i&kind=model&sha256=$sha")
    [[ "$code" == 201 ]] || die "upload $i: $code"
done
BENCH_LAST_REQUESTS=$ROUNDS
bench_cpu_end upload
id=$(curl -sS "${auth[@]}" "$BASE/api/v1/runs/$run/artifacts?limit=1" | field id)

# Fresh workers (SIGHUP: the master replaces them all), so their peaks are the downloads'.
uploads_peak=$(peak_kb)
old=$(pgrep -P "$(cat "$RUNWATCH_VAR_DIR/run/api.pid")" | sort | tr '\n' ' ')
kill -HUP "$(cat "$RUNWATCH_VAR_DIR/run/api.pid")"
for _ in $(seq 1 600); do
    now=$(pgrep -P "$(cat "$RUNWATCH_VAR_DIR/run/api.pid")" | sort | tr '\n' ' ')
    [[ -n "$now" && -z "$(comm -12 <(tr ' ' '\n' <<<"$old" | sed '/^$/d') <(tr ' ' '\n' <<<"$now" | sed '/^$/d'))" ]] && break
    sleep 0.1
done
curl -sf "$BASE/api/v1/readyz" >/dev/null || die "not ready after the reload"
before=$(peak_kb)
bench_cpu_begin
for _ in $(seq 1 "$ROUNDS"); do
    got=$(curl -sS "${auth[@]}" "$BASE/api/v1/runs/$run/artifacts/$id/content" | sha256sum | cut -c1-64)
    [[ "$got" == "$sha" ]] || die "a download differs from the upload"
done
BENCH_LAST_REQUESTS=$ROUNDS
bench_cpu_end download
after=$(peak_kb)

echo "artifacts: $ROUNDS uploads and $ROUNDS downloads of $((SIZE / 1048576)) MiB"
for what in upload download; do
    printf '  %-9s CPU ms a request:' "$what"
    for c in "${BENCH_COMPONENTS[@]}"; do
        printf ' %s %s' "$c" "$(awk -v u="$(bench_cpu_median "$what" "$c")" 'BEGIN { printf "%.1f", u / 1000 }')"
    done
    echo
done
echo "  API workers' peak RSS (VmHWM, largest worker): $uploads_peak kB after the uploads; fresh workers $before kB, $after kB after the downloads (+$((after - before)) kB)"
