-- The anomaly thresholds' defaults get one home, report.anomaly_defaults() (its living
-- definition is in sql/functions/25_lifecycle.sql; it is defined here too because a
-- migration may not depend on sql/functions), and the anomalies report's view of the
-- thresholds reads them from there instead of repeating the numbers.

CREATE OR REPLACE FUNCTION report.anomaly_defaults(OUT stuck_after_s integer,
                                                   OUT stale_after_s integer,
                                                   OUT lease_window_s integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 300, 3600, 3600
$$;
GRANT EXECUTE ON FUNCTION report.anomaly_defaults() TO runwatch_report;

CREATE OR REPLACE VIEW report.thresholds WITH (security_barrier) AS
SELECT p.id AS project_id,
       coalesce(t.stuck_after_s, d.stuck_after_s) AS stuck_after_s,
       coalesce(t.stale_after_s, d.stale_after_s) AS stale_after_s,
       coalesce(t.lease_window_s, d.lease_window_s) AS lease_window_s
FROM public.projects p
CROSS JOIN report.anomaly_defaults() d
LEFT JOIN public.anomaly_thresholds t ON t.project_id = p.id
WHERE p.id = ANY ((SELECT report.visible_projects())::bigint[]);
