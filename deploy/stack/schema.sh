# shellcheck shell=bash
# schema.sh: not a daemon but a step between the servers and the API (sourced by
# deploy/stack.sh): `runwatch-api migrate`, then the first instance admin while the
# database has no user at all.

schema_apply() {
    need_bin runwatch-api
    log "applying migrations from $MIGRATIONS_DIR"
    if ! (cd "$REPO_DIR" && "$BIN_DIR/runwatch-api" migrate) </dev/null >>"$LOGS/migrate.log" 2>&1; then
        show_log "$LOGS/migrate.log"
        fail "migrations failed"
    fi
    bootstrap_admin
}

# The generated password goes to the terminal once and, since a `make run` in the
# background hides the terminal, to $ADMIN_FILE (0600); never into a log file.
bootstrap_admin() {
    local out
    if ! out=$(cd "$REPO_DIR" && "$BIN_DIR/runwatch-api" user bootstrap </dev/null 2>>"$LOGS/migrate.log"); then
        show_log "$LOGS/migrate.log"
        fail "creating the first admin failed"
    fi
    [[ -n "$out" ]] || return 0
    BOOTSTRAP_OUT=$out
    if [[ "$out" == *password* ]]; then
        (umask 077 && printf '%s\n' "$out" >"$ADMIN_FILE.tmp" && mv "$ADMIN_FILE.tmp" "$ADMIN_FILE")
        BOOTSTRAP_OUT+=$'\n'"(also kept in $ADMIN_FILE, readable only by you)"
    fi
}
