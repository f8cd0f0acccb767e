#!/usr/bin/env bash
# runs_scroll.sh (`make bench`): the dashboard's runs page scrolling 10,000 loaded rows in
# real Chromium, against the same page with 100 rows, in interleaved rounds. A private
# stack serves the built frontend; BENCH_SCROLL_ROWS runs (10,000) are seeded with SQL in
# project "bench" (tag t0 on exactly 100 of them), then tests/bench/runs_scroll.mjs
# (playwright-core + /usr/bin/chromium, headless) loads them and measures frame times.
# Knobs: BENCH_SCROLL_ROWS (10000), BENCH_FRAMES (600), BENCH_STEP_PX (200), BENCH_ROUNDS
# (3), RUNWATCH_BIN_DIR. Figures go to docs/PERFORMANCE.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROWS=${BENCH_SCROLL_ROWS:-10000}
if ! [[ "$ROWS" =~ ^[0-9]+$ ]] || ((ROWS < 100)); then
    die "BENCH_SCROLL_ROWS must be a whole number >= 100"
fi
bench_start_dashboard_stack "${BENCH_DIST:-}"

curl -sS -c "$TMP/jar" -H 'Content-Type: application/json' -H 'X-Runwatch-CSRF: 1' \
    -d "{\"email\":\"$RUNWATCH_ADMIN_EMAIL\",\"password\":\"$RUNWATCH_ADMIN_PASSWORD\"}" \
    "$BASE/api/v1/auth/login" >/dev/null || die "login failed"
curl -sS -f -b "$TMP/jar" -H 'Content-Type: application/json' -H 'X-Runwatch-CSRF: 1' \
    -d '{"slug":"bench","name":"Benchmark"}' "$BASE/api/v1/projects" >/dev/null || die "no project"

log "seeding $ROWS runs with SQL"
"$BENCH_STACK" psql -q -v ON_ERROR_STOP=1 -c "
    INSERT INTO runs (project_id, kind, name, queue, status, priority, tags, input, created_at,
                      started_at, ended_at)
    SELECT p.id, (ARRAY['train','eval','etl','rollout'])[1 + g % 4], 'run-' || g,
           (ARRAY['default','gpu','cpu'])[1 + g % 3],
           (ARRAY['succeeded','succeeded','succeeded','failed','running','cancelled'])[1 + g % 6],
           g % 10, ARRAY['t' || (g % ($ROWS / 100))], jsonb_build_object('dataset', 'set-' || g, 'lr', 0.1),
           now() - g * interval '1 second', now() - g * interval '1 second' + interval '1 second',
           CASE WHEN g % 6 <> 4 THEN now() - g * interval '1 second' + interval '30 seconds' END
    FROM projects p, generate_series(1, $ROWS) g WHERE p.slug = 'bench';
    ANALYZE runs;" >/dev/null

BENCH_URL=$BASE BENCH_SCROLL_ROWS=$ROWS node "$BENCH_REPO/tests/bench/runs_scroll.mjs"
