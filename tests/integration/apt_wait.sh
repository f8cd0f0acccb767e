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

# hold LOCKFILE RELEASE: holds the lock as apt does; prints "held" once it has it, and lets
# it go once the file RELEASE exists (so nothing here depends on how fast apt-get starts).
hold() {
    python3 -c '
import fcntl, os, sys, time
f = open(sys.argv[1], "w")
fcntl.lockf(f, fcntl.LOCK_EX)
print("held", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)' "$1" "$2"
}

# check NAME LOCKFILE COMMAND…: while the lock is held, the command fails at once without
# apt_wait; under apt_wait, started while the lock is held, it succeeds once the lock is let
# go 3 s later. (If this machine is so slow that apt-get meets the lock only after it was
# let go, it succeeds anyway: the test never fails for slowness, and on any usual machine
# apt-get meets the held lock and fails without the wait.)
check() {
    local name=$1 lock=$2 rc t0 fd waiter
    shift 2
    rm -f "$tmp/release"
    exec {fd}< <(hold "$lock" "$tmp/release")
    read -r _ <&"$fd"
    rc=0
    "$@" >/dev/null 2>&1 || rc=$?
    if ((rc != 0)); then ok "$name: without the wait apt-get fails (rc $rc)"; else not_ok "$name: without the wait apt-get did not fail"; fi
    t0=$SECONDS
    APT_WAIT_S=120 APT_WAIT_STEP_S=1 apt_wait "$@" 2>/dev/null &
    waiter=$!
    sleep 3
    : >"$tmp/release"
    rc=0
    wait "$waiter" || rc=$?
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
