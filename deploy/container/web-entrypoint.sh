#!/bin/bash
# web-entrypoint [CONFIG]: starts nginx in the foreground with /usr/share/runwatch/nginx/
# CONFIG (nginx.conf or nginx-tls.conf, rendered by deploy/generate.sh), the hub's key
# put in from RUNWATCH_SSE_KEY_FILE (a mounted secret) in the shell, never on a command
# line. `web-entrypoint healthcheck`: nginx answers /nginx-healthz.
set -euo pipefail
conf=${1:-nginx.conf}
if [[ "$conf" == healthcheck ]]; then
    # 8080 in both renderings: the server of nginx.conf, the redirect of nginx-tls.conf.
    exec 3<>/dev/tcp/127.0.0.1/8080
    printf 'GET /nginx-healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
    read -r -t 2 _ status _ <&3
    [[ "$status" == 204 ]]
    exit
fi
[[ "$conf" =~ ^[a-z-]+\.conf$ ]] || { echo "web-entrypoint: no such configuration: $conf" >&2; exit 2; }
src=/usr/share/runwatch/nginx/$conf
key_file=${RUNWATCH_SSE_KEY_FILE:-/run/secrets/sse_key}
key=$(<"$key_file")
key=${key%%[[:space:]]*}
[[ "$key" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || { echo "web-entrypoint: $key_file: no key" >&2; exit 1; }
text=$(<"$src")
text=${text//RUNWATCH_SSE_KEY_PLACEHOLDER/"$key"}
# In the foreground: the container's main process (the template says `daemon on` for
# the stack and systemd).
text=${text/$'\n'daemon on;/$'\n'daemon off;}
out=/var/lib/runwatch/nginx/nginx.conf
(umask 077 && printf '%s\n' "$text" >"$out")
exec nginx -p /var/lib/runwatch/nginx/ -c "$out" -e /dev/stderr
