#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages Runwatch needs, by profile, and only those
# that are missing. Quick (one dpkg-query) when all are present, so make can call it every
# time.
#
#   deploy/install-deps.sh run     build and run the stack and the dashboard (make run)
#   deploy/install-deps.sh demo    run, plus what the fleet simulator links (make demo)
#   deploy/install-deps.sh lint    the checkers of make lint
#   deploy/install-deps.sh test    everything: run, demo, lint, the test and benchmark
#                                  tools and the browser (make build, test, asan, bench)
#   deploy/install-deps.sh         the same as test
#
# Profiles combine (`install-deps.sh run lint`). The dashboard (frontend/) needs Node.js
# >= 20 with npm: nodejs and npm are installed from Debian only when the commands are
# missing (a Node.js from elsewhere, such as NodeSource's nodejs that bundles npm, is
# kept), and an older Node.js is reported rather than replaced.
#
# The postgresql, redis-server and nginx packages may start their system services when
# installed; Runwatch never uses them (the stack runs private instances on its own ports).
set -euo pipefail

RUN_PACKAGES=(
    # toolchain
    build-essential pkg-config
    # libraries runwatch-api and runwatch-sse link against
    libfcgi-dev libpq-dev libjson-c-dev libhiredis-dev libevent-dev libcrypt-dev
    # runwatch-celery's TLS to rediss:// brokers (Debian's hiredis has no SSL)
    libssl-dev
    # gzip request bodies (OTLP's Content-Encoding: gzip)
    zlib1g-dev
    # servers of the local stack (deploy/stack.sh) and the tools it calls
    postgresql redis-server nginx curl iproute2
)
DEMO_PACKAGES=(
    # the fleet simulator (runwatch-fleet) and the integration tests speak HTTP with libcurl
    libcurl4-openssl-dev
)
LINT_PACKAGES=(clang-format cppcheck shellcheck)
TEST_PACKAGES=(
    # unit and integration tests (gcc's ASan/UBSan runtimes come with build-essential's gcc)
    libcunit1-dev
    # benchmarks
    wrk
    # the dashboard's browser tests (playwright-core drives it; no browser is downloaded)
    chromium
    # make fuzz: clang with libFuzzer and the sanitizer runtimes (tests/fuzz/README.md)
    clang libclang-rt-dev
    # the Python client (clients/python): its wheel builds offline with Debian's setuptools,
    # pip installs it, mypy --strict checks it (tests/python/run.sh)
    python3 python3-pip python3-setuptools python3-wheel python3-mypy
    # the Celery bridge's tests run a real Celery worker against the test stack's Redis
    # (tests/celery/run.sh)
    python3-celery python3-redis
    # promtool (checks the /metrics exposition and deploy/prometheus/alerts.yml in tests).
    # The package also ships a Prometheus server that Runwatch never starts.
    prometheus
    # the deployment files' offline checks (tests/deploy): YAML lint and a strict parser,
    # systemd-analyze verify, a throwaway certificate for nginx -t, readelf for the image's
    # libraries; the rehearsal's Redis Sentinels (tests/scale)
    yamllint python3-yaml systemd openssl binutils redis-sentinel
)
NODE_MIN_MAJOR=20

usage() {
    echo "usage: $0 [run|demo|lint|test]..." >&2
    exit 2
}

PACKAGES=()
need_node=0
(($# > 0)) || set -- test
for arg in "$@"; do
    case "$arg" in
    run)
        PACKAGES+=("${RUN_PACKAGES[@]}")
        need_node=1
        ;;
    demo)
        PACKAGES+=("${RUN_PACKAGES[@]}" "${DEMO_PACKAGES[@]}")
        need_node=1
        ;;
    lint) PACKAGES+=("${LINT_PACKAGES[@]}") ;;
    test | --with-browser) # the browser is part of test; the option is kept for old callers
        PACKAGES+=("${RUN_PACKAGES[@]}" "${DEMO_PACKAGES[@]}" "${LINT_PACKAGES[@]}" "${TEST_PACKAGES[@]}")
        need_node=1
        ;;
    -h | --help) usage ;;
    *) usage ;;
    esac
done
mapfile -t PACKAGES < <(printf '%s\n' "${PACKAGES[@]}" | sort -u)

# One dpkg-query for all of them; a package dpkg has never heard of prints nothing here
# (and an error on stderr), which counts as missing.
declare -A installed=()
while read -r name status; do
    [[ "$status" == "install ok installed" ]] && installed["$name"]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)

missing=()
for p in "${PACKAGES[@]}"; do
    [[ -n "${installed[$p]:-}" ]] || missing+=("$p")
done
# By command, not by package: NodeSource's nodejs provides npm without Debian's npm
# package, and installing that one beside it would conflict.
if ((need_node)); then
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
fi

# Node.js that is present but too old for the dashboard's toolchain (Vite, Vitest's
# jsdom, playwright-core): say what to do rather than fail later inside npm.
check_node() {
    local v
    ((need_node)) || return 0
    command -v node >/dev/null 2>&1 || return 0
    v=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    if ((v < NODE_MIN_MAJOR)); then
        echo "install-deps: Node.js $(node --version) is too old for the dashboard; it needs >= $NODE_MIN_MAJOR" >&2
        echo "install-deps: (Debian 13 ships Node.js 20; on Debian 12 use NodeSource's nodejs 20 package)" >&2
        return 1
    fi
}

if ((${#missing[@]} == 0)); then
    check_node
    echo "install-deps: all dependencies present ($*)"
    exit 0
fi

apt_env=(env DEBIAN_FRONTEND=noninteractive)
if ((EUID == 0)); then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: not root and no sudo; run as root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

# shellcheck source=deploy/lib/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"
echo "install-deps: installing ${missing[*]}" >&2
apt_wait "${sudo[@]}" "${apt_env[@]}" apt-get update -qq
apt_wait "${sudo[@]}" "${apt_env[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
check_node
