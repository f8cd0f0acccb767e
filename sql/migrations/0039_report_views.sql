-- The report schema (0007) for what was added since: spans, the experiments as 0034 made
-- them and their launchers' actions, artifacts, promotions, run tables and snapshots, worker
-- log lines and sessions, the Celery bridge's task and worker rows, agent-lightning's
-- resources and the queues' retry policies; and the run, attempt and worker columns added
-- since 0007 (appended: a view may only grow at its end, and saved queries keep working).
-- Every view keeps only the caller's projects, as 0007's do (docs/REPORTS.md).

-- ---------------------------------------------------------------- grown views

CREATE OR REPLACE VIEW report.runs WITH (security_barrier) AS
SELECT r.id, r.project_id, r.experiment_id, r.kind, r.name, r.queue, r.status, r.priority,
       r.input, r.params, r.tags, r.parent_id, r.root_id, r.group_id, r.worker_id, r.progress,
       r.created_at, r.queued_at, r.started_at, r.ended_at, r.last_heartbeat_at, r.updated_at,
       r.cancel_requested, r.error_type, r.error_message, r.error_traceback,
       r.error_fingerprint, r.result, r.summary, r.lease_s, r.lease_expires_at,
       -- 0024: the latest attempt, as the run row keeps it
       r.attempt_seq, r.attempt_status, r.attempt_worker_id,
       -- 0025: agent-lightning's stage and the run's own retry policy
       r.phase, r.mode, r.resources_id, r.max_attempts, r.retry_on, r.timeout_s,
       r.unresponsive_s
FROM public.runs r
WHERE r.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE OR REPLACE VIEW report.attempts WITH (security_barrier) AS
SELECT a.id, r.project_id, a.run_id, a.seq, a.status, a.worker_id, a.created_at, a.started_at,
       a.ended_at, a.last_heartbeat_at, a.error_type, a.error_message, a.error_traceback,
       a.phase, a.metadata
FROM public.attempts a
JOIN public.runs r ON r.id = a.run_id
WHERE r.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE OR REPLACE VIEW report.workers WITH (security_barrier) AS
SELECT w.id, w.project_id, w.name, w.host, w.pid, w.labels, w.kinds, w.status, w.started_at,
       w.last_heartbeat_at, w.stopped_at, w.resources, w.created_at,
       w.last_dequeue_at, w.last_busy_at, w.last_idle_at, w.current_run_id,
       w.current_attempt_seq
FROM public.workers w
WHERE w.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

-- 0034 renamed config to flags and changed the desired states; the view's column kept the
-- old name. Rebuilt with the table's columns; `config` stays, last, for saved queries.
DROP VIEW report.experiments;
CREATE VIEW report.experiments WITH (security_barrier) AS
-- The actual state as experiment_actual() says it, written out: the report role may not
-- call the public schema's functions (0007 revoked it), while a view reads as its owner.
SELECT x.id, x.project_id, x.name, x.description, x.flags, x.kind, x.queue, x.tags,
       x.desired_state, act.id AS active_run_id,
       CASE WHEN act.id IS NOT NULL THEN 'running' WHEN x.terminated_at IS NOT NULL THEN
           'terminated' ELSE 'stopped' END AS actual_state,
       x.lease_action, x.lease_launcher, x.lease_expires_at, x.last_error, x.retry_at,
       x.terminated_at, x.created_at, x.updated_at, x.flags AS config
FROM public.experiments x
LEFT JOIN LATERAL (SELECT r.id FROM public.runs r WHERE r.experiment_id = x.id AND
    r.status IN ('queued', 'running', 'retrying') LIMIT 1) act ON true
WHERE x.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

-- ---------------------------------------------------------------- new views

-- Spans with their resource and scope joined back (stored once each: 0027). Ids as
-- lowercase hex, as the API and OpenTelemetry write them; the raw bytes stay in the table.
CREATE VIEW report.spans WITH (security_barrier) AS
SELECT s.project_id, encode(s.trace_id, 'hex') AS trace_id, encode(s.span_id, 'hex') AS span_id,
       encode(s.parent_span_id, 'hex') AS parent_span_id, s.name, s.kind, s.start_at,
       s.start_ns, s.end_ns, (s.end_ns - s.start_ns) / 1e6 AS duration_ms, s.status_code,
       s.status_message, s.attributes, s.events, s.links, s.dropped_attributes_count,
       s.dropped_events_count, s.dropped_links_count, s.trace_state, s.flags,
       o_res.body AS resource, o_sco.body AS scope, s.run_id, s.attempt_seq, s.sequence_id,
       s.received_at
FROM public.spans s
JOIN public.span_origins o_res ON o_res.id = s.resource_id
JOIN public.span_origins o_sco ON o_sco.id = s.scope_id
WHERE s.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.experiment_actions WITH (security_barrier) AS
SELECT a.id, x.project_id, a.experiment_id, a.action, a.launcher, a.claimed_at, a.expires_at,
       a.outcome, a.reported_at, a.run_id, a.error
FROM public.experiment_actions a
JOIN public.experiments x ON x.id = a.experiment_id
WHERE x.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

-- Artifacts without their stored bytes (artifact_blobs): `stored` says Runwatch holds them.
CREATE VIEW report.artifacts WITH (security_barrier) AS
SELECT a.id, a.project_id, a.run_id, a.name, a.kind, a.uri, a.size, a.sha256,
       a.step, a.metadata, a.stored, a.created_at
FROM public.artifacts a
WHERE a.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.promotions WITH (security_barrier) AS
SELECT p.id, p.project_id, p.name, p.kind, p.version, p.artifact_id, p.artifact_name, p.run_id,
       p.experiment_id, p.sha256, p.note, p.promoted_at, p.demoted_at,
       p.demote_reason
FROM public.promotions p
WHERE p.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.run_tables WITH (security_barrier) AS
SELECT t.project_id, t.run_id, t.name, t.columns, t.rows, t.row_count, t.updated_at
FROM public.run_tables t
WHERE t.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.run_snapshots WITH (security_barrier) AS
SELECT r.project_id, s.run_id, s.experiment_id, s.experiment_name, s.flags, s.taken_at
FROM public.run_snapshots s
JOIN public.runs r ON r.id = s.run_id
WHERE r.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.worker_events WITH (security_barrier) AS
SELECT e.id, e.project_id, e.worker_id, e.ts, e.kind, e.level, e.message, e.data
FROM public.worker_events e
WHERE e.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.worker_sessions WITH (security_barrier) AS
SELECT s.id, w.project_id, s.worker_id, s.host, s.pid, s.started_at, s.ended_at, s.end_reason
FROM public.worker_sessions s
JOIN public.workers w ON w.id = s.worker_id
WHERE w.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.celery_tasks WITH (security_barrier) AS
SELECT t.*
FROM public.celery_tasks t
WHERE t.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.celery_workers WITH (security_barrier) AS
SELECT w.*
FROM public.celery_workers w
WHERE w.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.resources WITH (security_barrier) AS
SELECT r.project_id, r.resources_id, r.version, r.resources, r.created_at
FROM public.resources r
WHERE r.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.queue_policies WITH (security_barrier) AS
SELECT q.project_id, q.queue, q.max_attempts, q.retry_on, q.timeout_s, q.unresponsive_s
FROM public.queue_policies q
WHERE q.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

GRANT SELECT ON ALL TABLES IN SCHEMA report TO runwatch_report;
