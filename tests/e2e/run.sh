#!/usr/bin/env bash
# Browser end-to-end tests of the dashboard: start a private stack (PostgreSQL, Redis,
# runwatch-api, runwatch-sse, nginx) on free loopback ports in a temporary directory,
# serving the built frontend (frontend/dist), drive it with playwright-core and Debian's
# /usr/bin/chromium (headless; no browser is downloaded), then stop everything and remove
# the directory, whatever happened. Screenshots go to RUNWATCH_E2E_OUT (default
# build/e2e), which is kept.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
bin_dir=${RUNWATCH_BIN_DIR:-$repo/build/release}
case "$bin_dir" in /*) ;; *) bin_dir=$repo/$bin_dir ;; esac
out=${RUNWATCH_E2E_OUT:-$repo/build/e2e}
case "$out" in /*) ;; *) out=$repo/$out ;; esac
chromium=${RUNWATCH_CHROMIUM:-/usr/bin/chromium}

[[ -f "$repo/frontend/dist/index.html" ]] || {
    echo "e2e: frontend/dist is not built (make frontend)" >&2
    exit 1
}
[[ -x "$chromium" ]] || {
    echo "e2e: $chromium not found (deploy/install-deps.sh installs chromium)" >&2
    exit 1
}
[[ -d "$repo/frontend/node_modules/playwright-core" ]] || {
    echo "e2e: playwright-core is not installed (make frontend runs npm ci)" >&2
    exit 1
}

# shellcheck source=tests/lib/ports.sh
. "$repo/tests/lib/ports.sh"

private_stack runwatch-e2e
tmp=$stack_dir
export RUNWATCH_BIN_DIR=$bin_dir
export RUNWATCH_API_WORKERS=${RUNWATCH_API_WORKERS:-2}
export RUNWATCH_ADMIN_EMAIL=admin@runwatch.test
export RUNWATCH_ADMIN_PASSWORD=admin-password-for-e2e
# Live updates the specs wait for are not dropped for a loaded machine's slow Redis reply
# (500 ms in production; tests/integration/run.sh says why).
export RUNWATCH_REDIS_TIMEOUT_MS=10000
# A copy of the build, so nginx's workers (www-data under root) can read it wherever the
# checkout lives.
cp -r "$repo/frontend/dist" "$tmp/static"
chmod -R a+rX "$tmp/static"
export RUNWATCH_STATIC_DIR=$tmp/static
rm -rf "$out"
mkdir -p "$out"

trap 'private_stack_end $?' EXIT INT TERM

"$repo/deploy/stack.sh" start >"$out/stack.log" 2>&1 || {
    cat "$out/stack.log"
    exit 1
}

# shellcheck disable=SC2153 # set by free_port above
export RUNWATCH_E2E_URL=http://$RUNWATCH_HTTP_HOST:$RUNWATCH_HTTP_PORT
export RUNWATCH_E2E_OUT=$out
export RUNWATCH_CHROMIUM=$chromium
# The live steps need the hub's stream; whether this tree has one is decided by what the
# tree contains (nginx authorising the stream location), never by whether a probe happens
# to succeed: once the stream is in the tree, a broken stream fails the e2e.
if grep -Eq '^[[:space:]]*auth_request[[:space:]]' "$repo/nginx/runwatch.conf.in"; then
    export RUNWATCH_E2E_STREAM=1
else
    export RUNWATCH_E2E_STREAM=0
fi
# Each spec (tests/e2e/*.e2e.mjs) makes its own project; all run, and any failing fails
# the e2e. RUNWATCH_E2E_SPECS="graph traces" runs only those (names without .e2e.mjs).
rc=0
if [[ -n ${RUNWATCH_E2E_SPECS:-} ]]; then
    specs=()
    for name in $RUNWATCH_E2E_SPECS; do specs+=("$repo/tests/e2e/$name.e2e.mjs"); done
else
    specs=("$repo"/tests/e2e/*.e2e.mjs)
fi
for spec in "${specs[@]}"; do
    echo "-- e2e: ${spec##*/}"
    node "$spec" || { echo "-- e2e FAILED: ${spec##*/}"; rc=1; }
done
((rc == 0))
