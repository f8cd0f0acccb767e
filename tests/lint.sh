#!/usr/bin/env bash
# make lint: checks, never rewrites. clang-format conformance, cppcheck on the C
# sources, a ban on the unbounded string functions (use snprintf/memcpy with a
# length instead), the statement files (tools/sqlgen), and that SQL stays in them:
# no SQL text in C and no result column read by number in fcgi/src/api. Exits
# non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(git ls-files '*.c' '*.h'; git ls-files --others --exclude-standard '*.c' '*.h')
status=0

echo "== clang-format"
for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run make fmt)"
        status=1
    fi
done

echo "== banned functions"
if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|gets)\s*\(' "${files[@]}" \
    | grep -vE '^\S+:[0-9]+:\s*(/\*|\*|//)'; then
    echo "use snprintf / memcpy with explicit lengths instead"
    status=1
fi

echo "== layers"
# fcgi/src is layered: api/ on top (only api/ and routes.c include "api/…"), the
# database layer (db*.c/h) below HTTP (never includes req.h), and no include cycle
# among modules (a module is a .c and its .h; A depends on B when either includes B.h).
if ! (cd fcgi/src && for f in *.[ch] api/*.[ch]; do
    grep -oE '^\s*#\s*include\s+"[^"]+"' "$f" | sed -E 's/.*"([^"]+)"/\1/' |
        while read -r inc; do
            t=""
            if [ -f "$(dirname "$f")/$inc" ]; then t=$(realpath --relative-to=. "$(dirname "$f")/$inc")
            elif [ -f "$inc" ]; then t=$inc; fi
            [ -n "$t" ] && echo "$f $t"
        done
done) | awk '
    function mod(p) { sub(/\.[ch]$/, "", p); return p }
    {
        f = $1; t = $2
        if (t ~ /^api\// && f !~ /^api\// && f != "routes.c") {
            print f ": includes " t "; only api/ and routes.c may"; bad = 1
        }
        if (f ~ /^db[^\/]*\.[ch]$/ && t == "req.h") {
            print f ": the database layer includes req.h"; bad = 1
        }
        a = mod(f); b = mod(t)
        if (a != b && !((a, b) in edge)) { edge[a, b] = 1; out[a] = out[a] " " b; mods[a] = 1 }
    }
    function visit(m,    n, i, d, k, c, ds) {
        state[m] = 1; stack[++depth] = m
        n = split(out[m], ds, " ")
        for (i = 1; i <= n; i++) {
            d = ds[i]
            if (state[d] == 1) {
                c = ""; for (k = 1; k <= depth; k++) if (stack[k] == d) break
                for (; k <= depth; k++) c = c stack[k] " -> "
                print "include cycle: " c d; bad = 1
            } else if (!state[d]) {
                visit(d)
            }
        }
        depth--; state[m] = 2
    }
    END { for (m in mods) if (!state[m]) visit(m); exit bad }
'; then
    status=1
fi

echo "== statements (sql/statements, through tools/sqlgen)"
# The generated header is also what cppcheck needs to see the accessors.
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
if ! { cc -std=c17 -D_GNU_SOURCE -O1 -o "$gen/sqlgen" tools/sqlgen/sqlgen.c &&
    "$gen/sqlgen" -o "$gen" sql/statements/*.sql; }; then
    status=1
fi

echo "== SQL only in sql/"
if grep -nE '"(SELECT|INSERT|UPDATE|DELETE|WITH|BEGIN|COMMIT) ' -r fcgi/src; then
    echo "SQL text belongs in sql/statements (docs/SQL.md)"
    status=1
fi
if grep -nE 'PQget(value|isnull|length)\([^,]+,[^,]+, *[0-9]' fcgi/src/api/*.c; then
    echo "read columns by their generated names (<STATEMENT>_<COLUMN>), not by number"
    status=1
fi

echo "== cppcheck"
if command -v cppcheck >/dev/null; then
    mapfile -t srcs < <(printf '%s\n' "${files[@]}" | grep '\.c$' | grep -E '^(fcgi|tools)/')
    if ! cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
        --std=c11 --inline-suppr --suppress=missingIncludeSystem -I fcgi/src -I "$gen" \
        "${srcs[@]}"; then
        status=1
    fi
else
    echo "cppcheck not installed (deploy/install-deps.sh installs it)"
    status=1
fi

echo "== shellcheck"
mapfile -t scripts < <(git ls-files '*.sh' .ci/run; git ls-files --others --exclude-standard '*.sh')
if command -v shellcheck >/dev/null; then
    if ! shellcheck -x -P SCRIPTDIR -P . "${scripts[@]}"; then
        status=1
    fi
else
    echo "shellcheck not installed (deploy/install-deps.sh installs it)"
    status=1
fi

[ $status -eq 0 ] && echo "lint: clean"
exit $status
