#!/usr/bin/env bash
# apt_wait.sh: deploy/lib/apt.sh waits for another apt's lock instead of failing at once.
# The real apt-get and its real locks: a holder takes the lock as apt does (an fcntl
# lock) for a few seconds, and an apt-get under apt_wait must then succeed where the same
# command without it fails at once. Nothing is changed: dpkg's lock is probed with
# `install` of a package that is installed, and the lists' lock with `update` of a local,
# empty repository in a lists directory of the test's own. Needs root (dpkg's lock is
# root's): skipped, and said so, otherwise.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lib/tap.sh
. "$repo/tests/lib/tap.sh"
# shellcheck source=deploy/lib/apt.sh
. "$repo/deploy/lib/apt.sh"

if ((EUID != 0)) || ! command -v apt-get >/dev/null || ! command -v python3 >/dev/null; then
    echo "apt_wait: skipped (needs root, apt-get and python3)"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/repo" "$tmp/parts" "$tmp/lists/partial"
: >"$tmp/repo/Packages"
echo "deb [trusted=yes] file:$tmp/repo ./" >"$tmp/sources.list"

# hold LOCKFILE SECONDS: holds the lock as apt does; prints "held" once it has it.
hold() {
    python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "w")
fcntl.lockf(f, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))' "$1" "$2"
}

# check NAME LOCKFILE COMMAND…: fails at once without apt_wait, waits and succeeds with it.
check() {
    local name=$1 lock=$2 fd rc t0
    shift 2
    exec {fd}< <(hold "$lock" 4)
    read -r _ <&"$fd"
    rc=0
    "$@" >/dev/null 2>&1 || rc=$?
    if ((rc != 0)); then ok "$name: without the wait apt-get fails (rc $rc)"; else not_ok "$name: without the wait apt-get did not fail"; fi
    t0=$SECONDS
    rc=0
    APT_WAIT_S=60 APT_WAIT_STEP_S=1 apt_wait "$@" 2>/dev/null || rc=$?
    if ((rc == 0)); then ok "$name: apt_wait waited $((SECONDS - t0)) s and succeeded"; else not_ok "$name: apt_wait failed (rc $rc)"; fi
    exec {fd}<&-
}

check "dpkg's lock" /var/lib/dpkg/lock-frontend \
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-download coreutils
check "the lists' lock" "$tmp/lists/lock" \
    apt-get update -qq -o "Dir::Etc::sourcelist=$tmp/sources.list" \
    -o "Dir::Etc::sourceparts=$tmp/parts" -o "Dir::State::Lists=$tmp/lists"

echo "apt_wait: $passed passed, $failed failed"
((failed == 0))
