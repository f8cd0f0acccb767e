#!/bin/bash
# healthcheck api|hub: the container's health check (no curl in the slim image: bash's
# /dev/tcp). api: RUNWATCH_API_TCP accepts a connection (a full request needs nginx's
# FastCGI; /api/v1/readyz through the web container is the deeper check). hub: GET
# /healthz on RUNWATCH_SSE_PORT answers 200.
set -euo pipefail
case "${1:-}" in
api)
    addr=${RUNWATCH_API_TCP:?RUNWATCH_API_TCP is not set}
    port=${addr##*:}
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    ;;
hub)
    exec 3<>"/dev/tcp/127.0.0.1/${RUNWATCH_SSE_PORT:?RUNWATCH_SSE_PORT is not set}"
    printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
    read -r -t 2 _ status _ <&3
    [[ "$status" == 200 ]]
    ;;
*)
    echo "usage: healthcheck api|hub" >&2
    exit 2
    ;;
esac
