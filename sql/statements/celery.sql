-- The Celery bridge's ingest (api/celery.c, sql/functions/85_celery.sql).

-- name: celery_ingest
-- A burst of normalized Celery events, applied in one transaction by the caller.
-- in: project_id, batch
-- out: result
SELECT celery_ingest($1::bigint, $2::jsonb)::text AS result;
