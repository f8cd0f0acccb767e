-- Housekeeping (serve.c).

-- name: rollup_fold
-- At most max_deltas deltas: the report rollups' folder (migration 0009). Returns how many it
-- folded, or -1 when another session is folding.
-- in: max_deltas
-- out: folded
SELECT rollup_fold($1::integer) AS folded;
