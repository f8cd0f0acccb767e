#!/usr/bin/env bash
# graph_cost.sh: what the run graph's reads (api/graph.c) cost PostgreSQL for a 5,000-run
# tree: a private stack, a project with a tree seeded in SQL (a root, ten stages chained by
# run_deps, 4,989 runs under them, the even stages' children in a group each) among 20,000
# other runs; then build/release/stmt-cost on the statements as the API prepares them
# (their SQL from the generated statement table): graph_tree's default page (5,000 nodes),
# a page of 1,000, and graph_lineage of the root (descendants_total 4,999, 1,000 listed).
# Backend CPU per execution is the figure (a busy box disturbs it least). Measured, never
# asserted. Figures: docs/PERFORMANCE.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN=${RUNWATCH_BIN_DIR:-$BENCH_REPO/build/release}
STMT_COST=$BIN/stmt-cost
GEN=$BIN/gen/db_stmt.c
[[ -x "$STMT_COST" && -f "$GEN" ]] || die "build first (make binaries): $STMT_COST, $GEN"

bench_start_stack
log "machine: $(nproc) cores, $(uptime | sed 's/.*load average/load average/')"
"$BENCH_STACK" psql -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO projects (slug, name) VALUES ('bench', 'bench');
INSERT INTO runs (project_id, kind, status, created_at)
SELECT id, 'other', 'queued', now() - interval '1 day' FROM projects, generate_series(1, 20000)
WHERE slug = 'bench';
INSERT INTO runs (id, project_id, kind, name, status, created_at)
SELECT '00000000-0000-4000-8000-000000000000', id, 'root', 'root', 'queued', now() - interval '1 hour'
FROM projects WHERE slug = 'bench';
INSERT INTO runs (id, project_id, kind, name, status, parent_id, root_id, created_at)
SELECT ('00000000-0000-4000-8000-0000000000' || lpad(s::text, 2, '0'))::uuid, p.id, 'stage',
    'stage.' || s, 'queued', '00000000-0000-4000-8000-000000000000',
    '00000000-0000-4000-8000-000000000000', now() - interval '1 hour' + s * interval '1 second'
FROM projects p, generate_series(1, 10) s WHERE p.slug = 'bench';
INSERT INTO run_deps (run_id, project_id, dep_run_id)
SELECT ('00000000-0000-4000-8000-0000000000' || lpad(s::text, 2, '0'))::uuid, p.id,
    ('00000000-0000-4000-8000-0000000000' || lpad((s - 1)::text, 2, '0'))::uuid
FROM projects p, generate_series(2, 10) s WHERE p.slug = 'bench';
INSERT INTO runs (project_id, kind, name, status, parent_id, root_id, group_id, created_at)
SELECT p.id, 'task', 'task.' || i, 'queued',
    ('00000000-0000-4000-8000-0000000000' || lpad((i % 10 + 1)::text, 2, '0'))::uuid,
    '00000000-0000-4000-8000-000000000000',
    CASE WHEN i % 2 = 0 THEN 'group-' || (i % 10 + 1) END,
    now() - interval '50 minutes' + i * interval '10 milliseconds'
FROM projects p, generate_series(1, 4989) i WHERE p.slug = 'bench';
ANALYZE runs, run_deps;
SQL
P=$("$BENCH_STACK" psql -Atc "SELECT id FROM projects WHERE slug = 'bench'")
ROOT=00000000-0000-4000-8000-000000000000

# A statement's SQL as the API prepares it, from the generated table.
stmt_sql() {
    /usr/bin/python3 - "$GEN" "$1" <<'PY'
import ast, re, sys
src = open(sys.argv[1]).read()
m = re.search(r'\{"%s",\s*((?:"(?:[^"\\]|\\.)*"\s*)+),' % re.escape(sys.argv[2]), src)
print("".join(ast.literal_eval(s) for s in re.findall(r'"(?:[^"\\]|\\.)*"', m.group(1))) + ";")
PY
}
D=$TMP/graph_cost
mkdir -p "$D"
tree=$(stmt_sql graph_tree)
printf -- '-- params: %s|%s|0|5000\n%s\n' "$ROOT" "$P" "$tree" >"$D/tree_5000.sql"
printf -- '-- params: %s|%s|0|1000\n%s\n' "$ROOT" "$P" "$tree" >"$D/tree_1000.sql"
printf -- '-- params: %s|%s|1000\n%s\n' "$ROOT" "$P" "$(stmt_sql graph_lineage)" >"$D/lineage.sql"
PORT=$("$BENCH_STACK" psql -c '\conninfo' | grep -o 'port "[0-9]*"' | tr -dc 0-9)
"$STMT_COST" "host=$TMP/var/run port=$PORT dbname=runwatch user=runwatch" 3 7 "$D/tree_5000.sql" \
    "$D/tree_1000.sql" "$D/lineage.sql"
