# shellcheck shell=bash
# apt.sh: apt-get that waits for another apt instead of failing (sourced by
# deploy/install-deps.sh). unattended-upgrades, a second `make` or an admin's apt hold
# dpkg's lock (/var/lib/dpkg/lock-frontend) or the lists' (/var/lib/apt/lists/lock), and
# apt-get then exits 100 at once. dpkg's lock is waited for by apt itself
# (DPkg::Lock::Timeout, apt >= 1.9.11); the lists' lock of `apt-get update` is not, so a
# run that failed only for a lock is retried every APT_WAIT_STEP_S seconds until
# APT_WAIT_S have passed.

APT_WAIT_S=${APT_WAIT_S:-600}
APT_WAIT_STEP_S=${APT_WAIT_STEP_S:-5}

# apt_wait apt-get ARGS…: runs it (output to stderr), waiting out apt's locks.
apt_wait() {
    local start=$SECONDS out rc said=0
    while :; do
        rc=0
        out=$("$@" -o "DPkg::Lock::Timeout=$APT_WAIT_S" 2>&1) || rc=$?
        if ((rc != 0)) && grep -q 'Could not get lock\|Unable to lock\|Unable to acquire' <<<"$out" &&
            ((SECONDS - start < APT_WAIT_S)); then
            if ((!said)); then
                echo "install-deps: another apt holds its lock; waiting (up to ${APT_WAIT_S} s)" >&2
                said=1
            fi
            sleep "$APT_WAIT_STEP_S"
            continue
        fi
        [ -z "$out" ] || printf '%s\n' "$out" >&2
        return "$rc"
    done
}
