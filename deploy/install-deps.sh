#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages Runwatch needs to build, test and run
# locally, and only those that are missing. Quick (one dpkg-query) when all are present,
# so `make build` can call it every time.
#
#   deploy/install-deps.sh                 # build + test + local stack
#   deploy/install-deps.sh --with-browser  # also chromium, for browser e2e tests
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
    # promtool (checks the /metrics exposition and deploy/prometheus/alerts.yml in tests).
    # The package also ships a Prometheus server that Runwatch never starts.
    prometheus
)

usage() {
    echo "usage: $0 [--with-browser]" >&2
    exit 2
}

for arg in "$@"; do
    case "$arg" in
    --with-browser) PACKAGES+=(chromium) ;;
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

if ((${#missing[@]} == 0)); then
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
