# shellcheck shell=bash
# tap.sh: the "ok - …" / "not ok - …" lines of the shell tests, counted in passed and
# failed (sourced; the test prints the totals and fails when failed > 0).
passed=0 failed=0

ok() {
    passed=$((passed + 1))
    echo "ok - $1"
}

# not_ok NAME [DETAIL]: DETAIL, when given, follows indented.
not_ok() {
    failed=$((failed + 1))
    echo "not ok - $1"
    if [[ -n "${2:-}" ]]; then printf '%s\n' "$2" | sed 's/^/    /'; fi
}
