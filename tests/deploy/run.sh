#!/usr/bin/env bash
# tests/deploy/run.sh: the production deployment files (deploy/systemd, deploy/container,
# deploy/k8s) checked offline, as `make test`'s deploy suite:
#   - each generated nginx configuration is what its settings render today
#     (deploy/generate.sh --check), and nginx accepts it (nginx -t, in a temp prefix with a
#     throwaway certificate);
#   - every key of a settings file is a setting some part of Runwatch reads, and has a
#     comment saying what it is;
#   - systemd accepts the units (systemd-analyze verify), each hardened as OPERATIONS.md
#     says;
#   - yamllint --strict on every YAML file, then a strict parser (no duplicate keys, no
#     YAML 1.1 booleans: tests/deploy/strictyaml.py) and the structural assertions of
#     check_containers.py (Dockerfile rules in place of hadolint, which Debian lacks; the
#     runtime image's packages against what the binaries link; compose against the
#     settings) and check_k8s.py (the manifests and overlays).
# Needs a built runwatch-api (RUNWATCH_BIN_DIR, default build/release).
set -uo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO_DIR" || exit 1
BIN_DIR=$(realpath -m "${RUNWATCH_BIN_DIR:-build/release}")
export RUNWATCH_BIN_DIR=$BIN_DIR
PY=/usr/bin/python3 # Debian's, with python3-yaml (not a pyenv python on PATH)
failed=()
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() {
    local name=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        printf 'ok   %s\n' "$name"
    else
        printf 'FAIL %s\n' "$name"
        sed 's/^/     /' "$tmp/out" | head -n 60
        failed+=("$name")
    fi
}

# The settings every part reads: runwatch-api's (config --shell), the hub's RUNWATCH_SSE_*,
# the renderer's RUNWATCH_NGINX_*, the stack's RUNWATCH_BIN_DIR, retention per family, and
# the Celery bridge's RUNWATCH_CELERY_* (those its source reads).
known_setting() {
    grep -qx "$1" "$tmp/known" || [[ "$1" =~ ^RUNWATCH_(SSE_[A-Z_]+|NGINX_[A-Z_]+|RETENTION_DAYS_[A-Z_]+|BIN_DIR)$ ]]
}

settings_documented() {
    local f line prev='' bad=0 name
    "$BIN_DIR/runwatch-api" config --shell | sed -n 's/^\(RUNWATCH_[A-Z0-9_]*\)=.*/\1/p' >"$tmp/known"
    grep -oh 'getenv("RUNWATCH_CELERY_[A-Z0-9_]*"\|env_or("RUNWATCH_CELERY_[A-Z0-9_]*"' fcgi/src/celery/*.c |
        sed 's/.*("//; s/"$//' >>"$tmp/known"
    for f in "$@"; do
        prev=''
        while IFS= read -r line; do
            if [[ "$line" =~ ^(RUNWATCH_[A-Z0-9_]+)= ]]; then
                name=${BASH_REMATCH[1]}
                if ! known_setting "$name"; then
                    echo "$f: $name is no setting of Runwatch's"
                    bad=1
                fi
                if [[ "$prev" != \#* && "$prev" != RUNWATCH_* ]]; then
                    echo "$f: $name has no comment above it"
                    bad=1
                fi
            elif [[ -n "$line" && "$line" != \#* ]]; then
                echo "$f: not a NAME='value' line: $line"
                bad=1
            fi
            prev=$line
        done <"$f"
    done
    return "$bad"
}

# nginx -t on a generated file, its install paths pointed at this checkout and a temp
# prefix, with a throwaway certificate where it names one.
nginx_accepts() {
    local f=$1 d=$tmp/ngx.$RANDOM
    mkdir -p "$d/run" "$d/log" "$d/nginx/tmp" "$d/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=runwatch.test -keyout "$d/tls/key.pem" -out "$d/tls/cert.pem" 2>/dev/null || return 1
    sed -e "s|/usr/share/runwatch/|$REPO_DIR/|g" -e "s|\"/var/lib/runwatch/|\"$d/|g" \
        -e "s|\"/etc/runwatch/tls/[a-z]*chain.pem\"|\"$d/tls/cert.pem\"|g" \
        -e "s|\"/etc/runwatch/tls/[a-z]*key.pem\"|\"$d/tls/key.pem\"|g" \
        -e "s|\"/run/secrets/tls_cert\"|\"$d/tls/cert.pem\"|g" -e "s|\"/run/secrets/tls_key\"|\"$d/tls/key.pem\"|g" \
        -e 's|server "api:|server "127.0.0.1:|' -e 's|server hub:|server 127.0.0.1:|' \
        -e "s|^user .*;||" -e 's|listen [^;]*:\([0-9]*\)|listen 127.0.0.1:\1|' "$f" >"$d/nginx.conf"
    if grep -n '"/var/lib\|"/etc/runwatch\|"/usr/share\|"/run/secrets' "$d/nginx.conf"; then
        echo "$f: an install path the check did not map"
        return 1
    fi
    nginx -t -q -p "$d/nginx/" -c "$d/nginx.conf" -e "$d/log/error.log"
}

# systemd's own parser; a missing install path (/usr/lib/runwatch, /usr/share/runwatch) is
# expected on a build box, anything else is an error.
units_verify() {
    local out
    out=$(systemd-analyze verify --man=no deploy/systemd/*.service 2>&1)
    out=$(grep -v 'Command /usr/\(lib\|share\)/runwatch/[^ ]* is not executable' <<<"$out" || true)
    [[ -z "$out" ]] || {
        printf '%s\n' "$out"
        return 1
    }
}

# The hardening docs/OPERATIONS.md promises, in every long-running unit.
units_hardened() {
    local f k bad=0
    for f in deploy/systemd/runwatch-{api,sse,housekeeper,celery}.service; do
        for k in '^User=runwatch$' '^ProtectSystem=strict$' '^NoNewPrivileges=yes$' \
            '^Restart=on-failure$' '^LimitNOFILE=' '^MemoryMax=' '^TasksMax=' \
            '^EnvironmentFile=/etc/runwatch/runwatch.env$' '^CapabilityBoundingSet=$'; do
            grep -q "$k" "$f" || {
                echo "$f: no line matching $k"
                bad=1
            }
        done
    done
    return "$bad"
}

[[ -x "$BIN_DIR/runwatch-api" ]] || {
    echo "deploy: $BIN_DIR/runwatch-api not found (make binaries)"
    exit 1
}
check "generated files match their settings (deploy/generate.sh --check)" deploy/generate.sh --check
check "settings files: known and commented" settings_documented deploy/systemd/runwatch.env deploy/systemd/celery.env \
    deploy/container/celery.env \
    deploy/k8s/base/runwatch.env deploy/container/tls.env
for f in deploy/systemd/runwatch-nginx.conf deploy/container/nginx.conf deploy/container/nginx-tls.conf; do
    check "nginx -t: $f" nginx_accepts "$f"
done
check "systemd-analyze verify deploy/systemd/*.service" units_verify
check "units hardened" units_hardened
check "yamllint (strict) deploy/container deploy/k8s" yamllint --strict -c tests/deploy/yamllint.yaml \
    deploy/container deploy/k8s
check "container files: Dockerfiles, runtime libraries, compose (check_containers.py)" \
    "$PY" tests/deploy/check_containers.py
check "kubernetes: base and overlays built and asserted (check_k8s.py)" "$PY" tests/deploy/check_k8s.py

if ((${#failed[@]})); then
    printf 'deploy: %d check(s) failed\n' "${#failed[@]}"
    exit 1
fi
echo "deploy: every check passed"
