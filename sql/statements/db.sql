-- The connection's own statements (db.c): the readiness ping and the transaction
-- boundaries. Transactions go through the table too, so a handler never builds SQL text.

-- name: ping
-- in:
-- out: one
SELECT 1 AS one;

-- name: begin
-- in:
-- out:
BEGIN;

-- name: commit
-- in:
-- out:
COMMIT;

-- name: rollback
-- in:
-- out:
ROLLBACK;
