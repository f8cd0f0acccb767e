-- The housekeeper (housekeep.c; its tasks are sql/functions/70_housekeeping.sql). It
-- prepares these on its own connection; the API's workers prepare them too, which checks
-- them at every start.

-- name: housekeep_lead
-- Leadership: a session advisory lock, held while the connection lives.
-- in:
-- out: leading
SELECT pg_try_advisory_lock(7243002) AS leading;

-- name: housekeep_due
-- The names of the tasks to run now (all of them when all is true).
-- in: all
-- out: task
SELECT housekeeping_due($1::boolean) AS task;

-- name: housekeep_run
-- Runs one task: whether it succeeded, its result (jsonb text) and the live events to
-- publish after its commit.
-- in: task, settings
-- out: ok, result, publish
SELECT ok, result, publish FROM housekeeping_run($1, $2::jsonb);
