#!/usr/bin/env bash
# rollouts_cost.sh: what the dashboard's reads of the agent-lightning store (api/rollouts.c)
# cost PostgreSQL at scale: a private stack, a project of 20,000 rollouts (a quarter with a
# second attempt; the newest tenth running, the rest ended) naming 50 resources ids of 3 versions each, seeded in SQL; then
# build/release/stmt-cost on the statements as the API prepares them (their SQL taken from
# the generated statement table): the first page of 100, a page filtered by status, by
# resources id, and the resources list. Measured, never asserted. Figures:
# docs/PERFORMANCE.md.
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
SELECT set_config('runwatch.transition', 'agl', false);
INSERT INTO projects (slug, name) VALUES ('bench', 'bench');
INSERT INTO workers (project_id, name, status)
SELECT id, 'runner-' || w, 'busy' FROM projects, generate_series(1, 8) w WHERE slug = 'bench';
INSERT INTO resources (project_id, resources_id, version, resources, created_at)
SELECT p.id, 'rs-' || lpad(i::text, 12, '0'), v,
    jsonb_build_object('llm', jsonb_build_object('resource_type', 'llm', 'model', 'm' || v)),
    now() - interval '2 days' + (i * 3 + v) * interval '1 minute'
FROM projects p, generate_series(1, 50) i, generate_series(1, 3) v WHERE p.slug = 'bench';
INSERT INTO runs (project_id, kind, queue, status, input, mode, resources_id, created_at,
    queued_at)
SELECT p.id, 'rollout', 'rollouts', 'queued', jsonb_build_object('question', 'q' || i),
    'train', 'rs-' || lpad((i % 50 + 1)::text, 12, '0'), now() - (20000 - i) * interval '1 second',
    now() - (20000 - i) * interval '1 second'
FROM projects p, generate_series(1, 20000) i WHERE p.slug = 'bench';
INSERT INTO attempts (run_id, seq, status, worker_id, created_at, started_at, last_heartbeat_at)
SELECT r.id, s, 'running', (SELECT min(id) FROM workers WHERE project_id = r.project_id),
    r.created_at, r.created_at, r.created_at
FROM runs r, generate_series(1, 2) s
WHERE r.project_id = (SELECT id FROM projects WHERE slug = 'bench')
  AND (s = 1 OR right(r.id::text, 1) IN ('0', '4', '8', 'c'));
UPDATE attempts a SET status = 'failed', ended_at = a.created_at
WHERE a.seq = 1 AND EXISTS (SELECT 1 FROM attempts b WHERE b.run_id = a.run_id AND b.seq = 2);
-- As a live project: the newest tenth running, the rest ended (a tenth of them failed).
UPDATE runs SET status = CASE WHEN created_at > now() - interval '2000 seconds' THEN 'running'
        WHEN right(id::text, 1) IN ('1', '2') THEN 'failed' ELSE 'succeeded' END,
    started_at = created_at,
    ended_at = CASE WHEN created_at <= now() - interval '2000 seconds' THEN created_at END
WHERE project_id = (SELECT id FROM projects WHERE slug = 'bench');
UPDATE attempts a SET status = r.status, ended_at = r.ended_at FROM runs r
WHERE a.run_id = r.id AND r.status <> 'running' AND a.status = 'running';
SELECT count(agl_sync(id)) FROM runs WHERE project_id = (SELECT id FROM projects WHERE slug = 'bench');
VACUUM ANALYZE runs, attempts, resources, workers;
SQL
P=$("$BENCH_STACK" psql -Atc "SELECT id FROM projects WHERE slug = 'bench'")

# A statement's SQL as the API prepares it, from the generated table.
stmt_sql() {
    /usr/bin/python3 - "$GEN" "$1" <<'PY'
import ast, re, sys
src = open(sys.argv[1]).read()
m = re.search(r'\{"%s",\s*((?:"(?:[^"\\]|\\.)*"\s*)+),' % re.escape(sys.argv[2]), src)
print("".join(ast.literal_eval(s) for s in re.findall(r'"(?:[^"\\]|\\.)*"', m.group(1))) + ";")
PY
}
D=$TMP/rollouts_cost
mkdir -p "$D"
list=$(stmt_sql rollout_list)
filtered=$(stmt_sql rollout_list_filtered)
printf -- '-- params: %s|\\N|\\N|\\N|101\n%s\n' "$P" "$list" >"$D/page.sql"
printf -- '-- params: %s|{requeuing}|\\N|\\N|101\n%s\n' "$P" "$filtered" >"$D/by_status.sql"
printf -- '-- params: %s|\\N|rs-000000000007|\\N|101\n%s\n' "$P" "$filtered" >"$D/by_resources.sql"
printf -- '-- params: %s|\\N|101\n%s\n' "$P" "$(stmt_sql resources_list)" >"$D/resources.sql"
printf -- '-- params: %s|rs-000000000007\n%s\n' "$P" "$(stmt_sql resources_versions)" >"$D/versions.sql"
PORT=$("$BENCH_STACK" psql -c '\conninfo' | grep -o 'port "[0-9]*"' | tr -dc 0-9)
"$STMT_COST" "host=$TMP/var/run port=$PORT dbname=runwatch user=runwatch" 5 9 "$D/page.sql" \
    "$D/by_status.sql" "$D/by_resources.sql" "$D/resources.sql" "$D/versions.sql"
