#!/usr/bin/env bash
# The Celery bridge against a real Celery worker (Debian's python3-celery, python3-redis):
# a private stack (tests/lib/ports.sh, deploy/stack.sh), runwatch-celery pointed at the
# stack's Redis as a Celery broker and result backend (DB 3, so the DB number in the
# channel prefix is exercised), and tests/celery/test_bridge.py, which runs workers, fires
# tasks and canvases, kills a worker and restarts the bridge, and asserts every run,
# attempt, status, edge and worker session in the database. Always stops what it started.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
bin_dir=${RUNWATCH_BIN_DIR:-$repo/build/release}
case "$bin_dir" in /*) ;; *) bin_dir=$repo/$bin_dir ;; esac
py=${RUNWATCH_PYTHON:-/usr/bin/python3}

"$py" -c 'import celery, redis' 2>/dev/null || {
    echo "celery: Debian's python3-celery and python3-redis are needed (deploy/install-deps.sh test)"
    exit 1
}

# shellcheck source=tests/lib/ports.sh
. "$repo/tests/lib/ports.sh"

private_stack runwatch-celery
tmp=$stack_dir
export RUNWATCH_BIN_DIR=$bin_dir
export RUNWATCH_API_WORKERS=${RUNWATCH_API_WORKERS:-2}
export RUNWATCH_ADMIN_EMAIL=admin@runwatch.test
export RUNWATCH_ADMIN_PASSWORD=admin-password-for-tests
mkdir -p "$tmp/static"
echo '<!doctype html><title>Runwatch</title>' >"$tmp/static/index.html"
export RUNWATCH_STATIC_DIR=$tmp/static

cleanup() {
    local rc=$?
    # The test's own processes (workers, the bridge) are stopped by the test; these are
    # the process groups it recorded, in case it died first.
    if [[ -f "$tmp/pgids" ]]; then
        while read -r g; do kill -9 -- "-$g" 2>/dev/null || true; done <"$tmp/pgids"
    fi
    private_stack_end "$rc"
}
trap cleanup EXIT INT TERM

"$repo/deploy/stack.sh" start >"$tmp/start.log" 2>&1 || {
    cat "$tmp/start.log"
    exit 1
}
token=$(cd "$repo" && "$bin_dir/runwatch-api" token create --project celery --create-project \
    --name "celery bridge tests" --scopes read,write)
[[ "$token" == rw_* ]] || {
    echo "no token"
    exit 1
}
export RWCELERY_TOKEN=$token
# shellcheck disable=SC2153 # set by private_stack
export RWCELERY_URL=http://$RUNWATCH_HTTP_HOST:$RUNWATCH_HTTP_PORT
redis_password=$(cat "$RUNWATCH_VAR_DIR/run/redis.password")
export RWCELERY_BROKER="redis://:$redis_password@127.0.0.1:$RUNWATCH_REDIS_PORT/3"
export RWCELERY_BIN=$bin_dir/runwatch-celery
export RWCELERY_STACK=$repo/deploy/stack.sh
export RWCELERY_TMP=$tmp
export PYTHONDONTWRITEBYTECODE=1
"$py" "$repo/tests/celery/test_bridge.py"
# The bridge as a supervised component of the stack, on a TLS broker (its own private stack).
RUNWATCH_BIN_DIR=$bin_dir "$repo/tests/celery/stack.sh"
