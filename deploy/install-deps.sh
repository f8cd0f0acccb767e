#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages Runwatch needs to build, test and run
# locally, and only those that are missing. Quick (one dpkg-query) when all are present,
# so `make build` can call it every time.
#
#   deploy/install-deps.sh                 # build + test + local stack + dashboard
#
# The dashboard (frontend/) needs Node.js >= 20 with npm, and its browser tests need
# Chromium: nodejs and npm are installed from Debian only when the commands are missing
# (a Node.js from elsewhere, such as NodeSource's nodejs that bundles npm, is kept), and
# an older Node.js is reported rather than replaced.
#
# The postgresql, redis-server and nginx packages may start their system services when
# installed; Runwatch never uses them (the stack runs private instances on its own ports).
set -euo pipefail

PACKAGES=(
    # toolchain (gcc's ASan/UBSan runtimes come with build-essential's gcc)
    build-essential pkg-config
    # libraries the C code links against
    libfcgi-dev libpq-dev libjson-c-dev libhiredis-dev libevent-dev libcurl4-openssl-dev
    libcrypt-dev libcunit1-dev
    # servers of the local stack (deploy/stack.sh) and the tools it calls
    postgresql redis-server nginx curl iproute2
    # benchmark and lint
    wrk clang-format cppcheck shellcheck
    # the dashboard's browser tests (playwright-core drives it; no browser is downloaded)
    chromium
    # promtool (checks the /metrics exposition and deploy/prometheus/alerts.yml in tests).
    # The package also ships a Prometheus server that Runwatch never starts.
    prometheus
)
NODE_MIN_MAJOR=20

usage() {
    echo "usage: $0 [--with-browser]" >&2
    exit 2
}

for arg in "$@"; do
    case "$arg" in
    --with-browser) ;; # chromium is always installed now; kept for old callers
    -h | --help) usage ;;
    *) usage ;;
    esac
done

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
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

# Node.js that is present but too old for the dashboard's toolchain (Vite, Vitest's
# jsdom, playwright-core): say what to do rather than fail later inside npm.
check_node() {
    local v
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
    echo "install-deps: all dependencies present"
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

echo "install-deps: installing ${missing[*]}" >&2
"${sudo[@]}" "${apt_env[@]}" apt-get update -qq >&2
"${sudo[@]}" "${apt_env[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
echo "install-deps: installed ${missing[*]}"
check_node
