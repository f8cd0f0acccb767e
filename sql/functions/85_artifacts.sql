-- The request snapshot of a run linked to an experiment (migration 0035): the experiment's
-- flags as they were at that moment. The experiments table is another lane's to evolve
-- (its `config` becomes `flags`): the row is read as jsonb, so whichever column exists is
-- taken and neither version of the schema breaks this trigger. A run linked again to
-- another experiment takes a new snapshot; linked to the same one, the first stays.
CREATE OR REPLACE FUNCTION run_snapshot_take() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    e jsonb;
BEGIN
    SELECT to_jsonb(x) INTO e FROM experiments x WHERE x.id = NEW.experiment_id;
    IF e IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO run_snapshots (run_id, experiment_id, experiment_name, flags)
    VALUES (NEW.id, NEW.experiment_id, e->>'name', coalesce(e->'flags', e->'config', '{}'))
    ON CONFLICT (run_id) DO UPDATE
        SET experiment_id = EXCLUDED.experiment_id, experiment_name = EXCLUDED.experiment_name,
            flags = EXCLUDED.flags, taken_at = now()
        WHERE run_snapshots.experiment_id <> EXCLUDED.experiment_id;
    RETURN NULL;
END $$;

-- An artifact as the API answers it. Content Runwatch stores has no uri: its download path.
CREATE OR REPLACE FUNCTION artifact_json(a artifacts) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', a.id, 'run_id', a.run_id, 'name', a.name, 'kind', a.kind, 'uri', a.uri,
        'size', a.size, 'sha256', a.sha256, 'step', a.step, 'metadata', a.metadata,
        'stored', a.stored,
        'download', CASE WHEN a.stored
                         THEN '/api/v1/runs/' || a.run_id || '/artifacts/' || a.id || '/content' END,
        'created_at', a.created_at)
$$;

-- A promoted entry with its lineage: the artifact, the run (name, status, kind), the run's
-- experiment (name), who promoted it and, once demoted, who did and why.
CREATE OR REPLACE FUNCTION promotion_json(p promotions) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', p.id, 'project', (SELECT slug FROM projects WHERE id = p.project_id),
        'name', p.name, 'kind', p.kind, 'version', p.version, 'sha256', p.sha256,
        'note', p.note,
        'artifact', json_build_object('id', p.artifact_id, 'name', p.artifact_name,
                                      'kind', a.kind, 'uri', a.uri, 'size', a.size,
                                      'stored', a.stored, 'step', a.step),
        'run', json_build_object('id', p.run_id, 'name', r.name, 'kind', r.kind,
                                 'status', r.status),
        'experiment', CASE WHEN p.experiment_id IS NOT NULL THEN
            json_build_object('id', p.experiment_id,
                              'name', (SELECT name FROM experiments WHERE id = p.experiment_id)) END,
        'promoted_by', coalesce((SELECT email FROM users WHERE id = p.promoted_by_user),
                                (SELECT 'token ' || prefix FROM api_tokens WHERE id = p.promoted_by_token)),
        'promoted_at', p.promoted_at,
        'demoted_at', p.demoted_at,
        'demoted_by', CASE WHEN p.demoted_at IS NOT NULL THEN
            coalesce((SELECT email FROM users WHERE id = p.demoted_by_user),
                     (SELECT 'token ' || prefix FROM api_tokens WHERE id = p.demoted_by_token)) END,
        'demote_reason', p.demote_reason)
    FROM (SELECT 1) one
    LEFT JOIN artifacts a ON a.id = p.artifact_id
    LEFT JOIN runs r ON r.id = p.run_id
$$;

-- A run's table as the API answers it.
CREATE OR REPLACE FUNCTION run_table_json(t run_tables) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('name', t.name, 'columns', t.columns, 'rows', t.rows,
                             'row_count', t.row_count, 'updated_at', t.updated_at)
$$;
