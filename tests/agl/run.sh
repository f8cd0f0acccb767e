#!/usr/bin/env bash
# The agent-lightning store's conformance suite (conformance.py), against the stack
# tests/integration/run.sh started (RUNWATCH_TEST_URL and the first admin's credentials).
# Debian's python (tests use /usr/bin/python3, standard library only).
set -euo pipefail
exec /usr/bin/python3 -W ignore "$(dirname "$0")/conformance.py" "$@"
