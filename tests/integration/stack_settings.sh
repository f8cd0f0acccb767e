#!/usr/bin/env bash
# stack_settings: a stack remembers the settings it was started with. Starts a private
# stack on free (non-default) ports, then, with every RUNWATCH_* variable unset but the
# var dir, checks that `deploy/stack.sh status`, `runwatch-api config --shell`, the CLI
# (`token create`, run with a relative var dir as the README runs it from the repo root),
# `deploy/stack.sh demo` and `deploy/stack.sh stop` all reach that stack; that the
# environment still wins over what is remembered; and that the first admin's generated
# password is kept in a 0600 file and signs in. Removes everything it made on exit.
#
# usage: tests/integration/stack_settings.sh   (RUNWATCH_BIN_DIR: the binaries, default
# build/release; tests/integration/run.sh runs it)
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
bin_dir=${RUNWATCH_BIN_DIR:-$repo/build/release}
case "$bin_dir" in /*) ;; *) bin_dir=$repo/$bin_dir ;; esac
stack=$repo/deploy/stack.sh

# Nothing of a caller's stack (run.sh exports its own) may leak into this one.
while read -r name; do unset "$name"; done < <(compgen -e | grep '^RUNWATCH_' || true)

# shellcheck source=tests/lib/ports.sh
. "$repo/tests/lib/ports.sh"
private_stack runwatch-settings
tmp=$stack_dir
var=$RUNWATCH_VAR_DIR
# shellcheck disable=SC2153 # set by free_port above
http=$RUNWATCH_HTTP_PORT pg=$RUNWATCH_PG_PORT redis=$RUNWATCH_REDIS_PORT sse=$RUNWATCH_SSE_PORT
export RUNWATCH_BIN_DIR=$bin_dir RUNWATCH_API_WORKERS=2
mkdir -p "$tmp/static"
echo '<!doctype html><title>Runwatch</title>' >"$tmp/static/index.html"
chmod -R a+rX "$tmp/static"
export RUNWATCH_STATIC_DIR=$tmp/static
full_env=(RUNWATCH_VAR_DIR="$var" RUNWATCH_HTTP_PORT="$http" RUNWATCH_PG_PORT="$pg"
    RUNWATCH_REDIS_PORT="$redis" RUNWATCH_SSE_PORT="$sse" RUNWATCH_BIN_DIR="$bin_dir")

# shellcheck source=tests/lib/tap.sh
. "$repo/tests/lib/tap.sh"

cleanup() {
    local rc=$?
    env "${full_env[@]}" "$stack" stop >/dev/null 2>&1 || true
    if ((rc != 0 || failed > 0)) && [[ -d "$var/log" ]]; then
        for f in "$var"/log/*.log; do
            echo "---- last lines of $(basename "$f")"
            tail -n 20 "$f"
        done
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT INT TERM

# Started without RUNWATCH_ADMIN_PASSWORD: the first admin's password is generated.
"$stack" start >"$tmp/start.out" 2>&1 || {
    cat "$tmp/start.out"
    exit 1
}

# From here on only the var dir is set: the ports come from what the stack remembers.
unset RUNWATCH_HTTP_PORT RUNWATCH_PG_PORT RUNWATCH_REDIS_PORT RUNWATCH_SSE_PORT \
    RUNWATCH_HTTP_HOST RUNWATCH_SSE_HOST RUNWATCH_BIN_DIR RUNWATCH_STATIC_DIR RUNWATCH_API_WORKERS
export RUNWATCH_VAR_DIR=$var

mode=$(stat -c %a "$var/stack.env" 2>/dev/null || echo none)
if [[ "$mode" == 600 ]]; then ok "stack.env is kept, mode 0600"; else not_ok "stack.env mode is $mode"; fi

# The secrets the processes share, and the files that hold them, are the owner's only;
# stack.env (which `config --shell` output feeds) holds their paths, never their values.
for f in run/redis.password run/sse.key run/redis.conf nginx/nginx.conf; do
    mode=$(stat -c %a "$var/$f" 2>/dev/null || echo none)
    if [[ "$mode" == 600 ]]; then ok "$f has mode 0600"; else not_ok "$f mode is $mode"; fi
done
if ! grep -qF -e "$(cat "$var/run/redis.password")" "$var/stack.env" &&
    ! grep -qF -e "$(cat "$var/run/sse.key")" "$var/stack.env"; then
    ok "stack.env holds no secret"
else
    not_ok "stack.env holds a secret"
fi
# Prometheus's bearer token for /metrics: made at the first start, private, never printed.
file=$var/metrics.token
mode=$(stat -c %a "$file" 2>/dev/null || echo none)
if [[ "$mode" == 600 ]] && grep -qE '^rwm_[0-9a-f]{64}$' "$file" && ! grep -qF "$(cat "$file")" "$tmp/start.out"; then
    ok "the metrics token is made at start, mode 0600, and not printed"
else
    not_ok "$file: mode $mode, or not a metrics token, or printed at start"
fi

file=$var/first-admin.txt
mode=$(stat -c %a "$file" 2>/dev/null || echo none)
if [[ "$mode" == 600 ]]; then ok "the first admin's password file has mode 0600"; else not_ok "$file mode is $mode"; fi
password=$(sed -n 's/^.*password, shown only now: //p' "$file" 2>/dev/null || true)
if [[ -n "$password" ]] && grep -qF -e "$password" "$tmp/start.out" && grep -qF "$file" "$tmp/start.out"; then
    ok "the password in the file is the one start printed, and start says where the file is"
else
    not_ok "the password file does not hold the printed password" "$(cat "$tmp/start.out")"
fi
code=$(printf '{"email":"admin@localhost","password":"%s"}' "$password" |
    curl -sS -o /dev/null -w '%{http_code}' --max-time 60 -H 'X-Runwatch-CSRF: 1' \
        -H 'Content-Type: application/json' --data-binary @- \
        "http://127.0.0.1:$http/api/v1/auth/login" || true)
if [[ "$code" == 200 ]]; then ok "the kept password signs in"; else not_ok "login with the kept password answered $code"; fi

out=$("$stack" status 2>&1) && rc=0 || rc=$?
if ((rc == 0)) && grep -q "^postgresql .*port $pg)" <<<"$out" && grep -q "^redis .*port $redis)" <<<"$out" &&
    grep -q "^runwatch-sse .*127.0.0.1:$sse)" <<<"$out" && grep -q "^nginx .*http://127.0.0.1:$http/)" <<<"$out"; then
    ok "status names the ports the stack was started with"
else
    not_ok "status (exit $rc) does not name the stack's ports" "$out"
fi

out=$("$bin_dir/runwatch-api" config --shell 2>&1) || true
if grep -qx "RUNWATCH_HTTP_PORT='$http'" <<<"$out" && grep -qx "RUNWATCH_PG_PORT='$pg'" <<<"$out" &&
    grep -qx "RUNWATCH_DATABASE_URL='host=$var/run port=$pg dbname=runwatch user=runwatch'" <<<"$out"; then
    ok "config --shell prints the remembered settings"
else
    not_ok "config --shell does not print the remembered settings" "$out"
fi
out=$(RUNWATCH_HTTP_PORT=1 "$bin_dir/runwatch-api" config --shell 2>&1) || true
if grep -qx "RUNWATCH_HTTP_PORT='1'" <<<"$out"; then
    ok "the environment wins over what is remembered"
else
    not_ok "RUNWATCH_HTTP_PORT=1 did not win" "$out"
fi

# The README's CLI, with a relative var dir as from the repository root (there, `var`).
token=$(cd "$tmp" && env -u RUNWATCH_VAR_DIR RUNWATCH_VAR_DIR=var "$bin_dir/runwatch-api" token create \
    --project settings --create-project --name settings-test 2>"$tmp/cli.err") || true
code=$(printf 'Authorization: Bearer %s\n' "$token" |
    curl -sS -o /dev/null -w '%{http_code}' --max-time 60 -H @- "http://127.0.0.1:$http/api/v1/auth/me" || true)
if [[ "$token" == rw_* && "$code" == 200 ]]; then
    ok "runwatch-api token create (relative var dir, no ports) made a token this stack accepts"
else
    not_ok "token create: '$token', /auth/me answered $code" "$(cat "$tmp/cli.err")"
fi

if out=$("$stack" demo --duration 1 --workers 1 2>&1); then
    ok "demo reaches the stack without its ports"
else
    not_ok "demo failed" "$(tail -n 5 <<<"$out")"
fi

"$stack" stop >/dev/null 2>&1 || true
out=$("$stack" status 2>&1) && rc=0 || rc=$?
still=$(ss -Hltn "sport = :$http or sport = :$pg or sport = :$redis or sport = :$sse" 2>/dev/null || true)
if ((rc == 3)) && ! grep -q running <<<"$out" && [[ -z "$still" ]]; then
    ok "stop without the ports stops everything"
else
    not_ok "after stop: status exit $rc" "$out"$'\n'"$still"
fi

echo "stack_settings: $passed passed, $failed failed"
((failed == 0))
