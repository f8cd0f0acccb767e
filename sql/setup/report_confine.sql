-- report_confine: what the ad-hoc SQL login (runwatch_report) may not reach in
-- PostgreSQL's own catalogue. Run by a superuser, in the Runwatch database, after the
-- roles and the database exist and before `runwatch-api migrate` (deploy/stack.sh does it
-- at every start; docs/REPORTS.md, "Operator set-up"). Idempotent.
--
-- Why a superuser: these functions and views belong to the bootstrap superuser, and
-- every role may use them through PUBLIC, so no grant to or revoke from runwatch_report
-- alone can take them away. Their privileges are per database: the rest of the cluster
-- is untouched. The application's role (the database's owner, or :app_role) and
-- pg_monitor get them back by name.
--
-- Every tenant's ad-hoc SQL runs as the same login, and PostgreSQL lets a role see the
-- query text of, and signal, every backend of the same role. So runwatch_report loses:
-- - the statistics functions and views (pg_stat_*, pg_statio_*, pg_stats*, pg_locks):
--   other tenants' query texts, instance-wide row counts and activity;
-- - pg_class's size estimates (reltuples, relpages, relallvisible; relfrozenxid and
--   relminmxid, which move with the write rate) and the size functions;
-- - transaction ids, snapshots and WAL positions: instance-wide write rates;
-- - pg_terminate_backend and pg_cancel_backend: ending another tenant's query;
-- - advisory locks (all but pg_advisory_unlock_all, which frees only one's own): the
--   wait slots of POST /runs/wait, the rollup folder's lock, housekeeping leadership.
-- runwatch-api checks on every new report connection that this was done (statement
-- adhoc_confined) and refuses ad-hoc SQL when it was not.
--
-- psql -v app_role=NAME names the application's role when it is not the database's owner.

\if :{?app_role}
\else
SELECT pg_get_userbyid(datdba) AS app_role FROM pg_database WHERE datname = current_database() \gset
\endif

SELECT set_config('runwatch.confine_app_role', :'app_role', false) AS confine_app_role \gset

DO $$
DECLARE
    app text := current_setting('runwatch.confine_app_role');
    mon text := 'pg_monitor';
    f regprocedure;
    v regclass;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'runwatch_report') THEN
        RAISE EXCEPTION 'role runwatch_report is missing: create it first (docs/REPORTS.md)';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = app) THEN
        RAISE EXCEPTION 'application role % is missing', app;
    END IF;
    IF app = 'runwatch_report' THEN
        RAISE EXCEPTION 'the application role must not be runwatch_report';
    END IF;

    FOR f IN
        SELECT p.oid::regprocedure
        FROM pg_proc p
        WHERE p.pronamespace = 'pg_catalog'::regnamespace
          AND (p.proname LIKE 'pg\_stat\_%'
               OR p.proname IN ('pg_lock_status', 'pg_blocking_pids',
                                'pg_safe_snapshot_blocking_pids', 'pg_prepared_xact',
                                'pg_terminate_backend', 'pg_cancel_backend',
                                'pg_relation_size', 'pg_total_relation_size', 'pg_table_size',
                                'pg_indexes_size', 'pg_database_size', 'pg_tablespace_size',
                                'pg_current_snapshot', 'txid_current_snapshot',
                                'pg_current_xact_id', 'pg_current_xact_id_if_assigned',
                                'txid_current', 'txid_current_if_assigned', 'pg_xact_status',
                                'txid_status', 'pg_last_committed_xact',
                                'pg_xact_commit_timestamp', 'pg_xact_commit_timestamp_origin',
                                'pg_get_multixact_members', 'pg_current_wal_lsn',
                                'pg_current_wal_insert_lsn', 'pg_current_wal_flush_lsn',
                                'pg_last_wal_receive_lsn', 'pg_last_wal_replay_lsn',
                                'pg_sequence_last_value')
               OR (p.proname LIKE '%advisory%lock%' AND p.proname <> 'pg_advisory_unlock_all'))
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f, app);
        -- Monitoring keeps what it reads, not what signals or locks.
        IF f::text NOT LIKE '%advisory%' AND f::text NOT LIKE 'pg\_terminate%'
           AND f::text NOT LIKE 'pg\_cancel%' THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f, mon);
        END IF;
    END LOOP;

    FOR v IN
        SELECT c.oid::regclass
        FROM pg_class c
        WHERE (c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'v'
               AND (c.relname LIKE 'pg\_stat%' OR c.relname IN ('pg_locks', 'pg_prepared_xacts')))
           -- pg_stat_statements, wherever it was installed (its texts are every role's).
           OR (c.relname IN ('pg_stat_statements', 'pg_stat_statements_info')
               AND c.relnamespace <> 'pg_catalog'::regnamespace)
    LOOP
        EXECUTE format('REVOKE SELECT ON %s FROM PUBLIC', v);
        EXECUTE format('GRANT SELECT ON %s TO %I, %I', v, app, mon);
    END LOOP;
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.proname LIKE 'pg\_stat\_statements%'
          AND p.pronamespace <> 'pg_catalog'::regnamespace
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I, %I', f, app, mon);
    END LOOP;

    -- pg_class stays readable (the catalogue the dashboard lists), all but its estimates.
    REVOKE SELECT ON pg_catalog.pg_class FROM PUBLIC;
    EXECUTE (SELECT format('GRANT SELECT (%s) ON pg_catalog.pg_class TO PUBLIC',
                           string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum))
             FROM pg_attribute a
             WHERE a.attrelid = 'pg_catalog.pg_class'::regclass AND a.attnum > 0
               AND NOT a.attisdropped
               AND a.attname NOT IN ('reltuples', 'relpages', 'relallvisible', 'relfrozenxid',
                                     'relminmxid'));
    EXECUTE format('GRANT SELECT ON pg_catalog.pg_class TO %I, %I', app, mon);
END $$;

RESET runwatch.confine_app_role;
