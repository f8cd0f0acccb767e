#!/usr/bin/env bash
# The Python client (clients/python) and the `runwatch` command line against a private
# stack: builds the wheel with Debian's setuptools (offline, no build isolation), installs
# it into a scratch directory, type-checks the package with `mypy --strict`, then runs
# tests/python/test_*.py with Debian's /usr/bin/python3 against the stack, whose processes
# the tests kill and restart (an API restart, a disconnected stream). The stack is
# started like every test stack (tests/lib/ports.sh, deploy/stack.sh) and always stopped.
# `run.sh bench` runs tests/python/bench.py against the stack instead (make bench).
set -euo pipefail

mode=${1:-test}
case "$mode" in test | bench) ;; *) echo "usage: $0 [test|bench]" >&2; exit 2 ;; esac

repo=$(cd "$(dirname "$0")/../.." && pwd)
bin_dir=${RUNWATCH_BIN_DIR:-$repo/build/release}
case "$bin_dir" in /*) ;; *) bin_dir=$repo/$bin_dir ;; esac
py=${RUNWATCH_PYTHON:-/usr/bin/python3}

# shellcheck source=tests/lib/ports.sh
. "$repo/tests/lib/ports.sh"

private_stack runwatch-py
tmp=$stack_dir
export RUNWATCH_BIN_DIR=$bin_dir
export RUNWATCH_API_WORKERS=${RUNWATCH_API_WORKERS:-3}
export RUNWATCH_ADMIN_EMAIL=admin@runwatch.test
export RUNWATCH_ADMIN_PASSWORD=admin-password-for-tests
# A write whose published data holds this text makes its worker exit after the COMMIT,
# before answering (a test stack only; never remembered): a lost answer, which the
# client's retry with the same Idempotency-Key must not store twice (test_library.py).
export RUNWATCH_TEST_FAULT_EXIT_BEFORE_PUBLISH=python-client-lost-answer
# Short keepalives, so a stream's reader notices a dead connection soon.
export RUNWATCH_SSE_KEEPALIVE_MS=1000
mkdir -p "$tmp/static"
echo '<!doctype html><title>Runwatch</title>' >"$tmp/static/index.html"
export RUNWATCH_STATIC_DIR=$tmp/static

trap 'private_stack_end $?' EXIT INT TERM

failed=()
part() { # name command…
    local name=$1
    shift
    echo "-- $name"
    "$@" || failed+=("$name")
}

# The package builds and installs offline, with its console script (from a copy: a build
# leaves build/ and *.egg-info beside the sources).
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
cp -r "$repo/clients/python" "$tmp/src"
part "wheel" "$py" -m pip wheel -q --no-deps --no-build-isolation -w "$tmp/wheel" "$tmp/src"
part "install" "$py" -m pip install -q --no-deps --no-index --target "$tmp/site" "$tmp"/wheel/runwatch-*.whl
part "mypy --strict" "$py" -m mypy --strict --python-version 3.9 --no-incremental --cache-dir=/dev/null \
    "$repo/clients/python/src/runwatch" "$repo/tests/python"

"$repo/deploy/stack.sh" start >"$tmp/start.log" 2>&1 || {
    cat "$tmp/start.log"
    exit 1
}
token=$(cd "$repo" && "$bin_dir/runwatch-api" token create --project pyclient --create-project \
    --name "python client tests" --scopes read,write)
[[ "$token" == rw_* ]] || {
    echo "no token"
    exit 1
}
# shellcheck disable=SC2153 # set by private_stack
export RUNWATCH_URL=http://$RUNWATCH_HTTP_HOST:$RUNWATCH_HTTP_PORT
export RUNWATCH_TOKEN=$token
unset RUNWATCH_PROJECT
export RUNWATCH_TEST_STACK=$repo/deploy/stack.sh
# The installed wheel first: the tests use its package and its `runwatch` script.
export PYTHONPATH=$tmp/site
export RUNWATCH_CLI=$tmp/site/bin/runwatch
export PYTHONDONTWRITEBYTECODE=1
if [[ "$mode" == bench ]]; then
    part "bench" "$py" "$repo/tests/python/bench.py"
else
    # RUNWATCH_PY_TESTS=test_artifacts.py runs one file (a developer's shortcut).
    part "tests" "$py" -m unittest discover -v -s "$repo/tests/python" -p "${RUNWATCH_PY_TESTS:-test_*.py}"
fi

if ((${#failed[@]})); then
    echo "python: failed: ${failed[*]}"
    exit 1
fi
echo "python: every part passed"
