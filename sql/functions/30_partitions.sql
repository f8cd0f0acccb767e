-- Time partitions: tables partitioned by month on one timestamptz column, with a
-- DEFAULT partition for rows outside every month (listed in time_partitioned,
-- migration 0010). Month bounds are dates read in the session's TimeZone, as the first
-- partitions were made (migration 0001), so a month's partition is named
-- <parent>_YYYY_MM and found by that name.

-- The original helper of migration 0001, kept for callers of events alone.
CREATE OR REPLACE FUNCTION events_ensure_partitions(from_month date, months integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', from_month)::date;
    created integer := 0;
    part text;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        part := format('events_%s', to_char(m, 'YYYY_MM'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                           part, m, (m + interval '1 month')::date);
            created := created + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN created;
END $$;

-- The DEFAULT partition and the partition key column of a partitioned table.
CREATE OR REPLACE FUNCTION partition_default_and_key(p_parent text, OUT def regclass, OUT key text)
LANGUAGE sql STABLE AS $$
    SELECT nullif(pt.partdefid, 0)::regclass, a.attname::text
    FROM pg_partitioned_table pt
    JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
    WHERE pt.partrelid = p_parent::regclass
$$;

-- Creates p_parent's partition of the month holding p_month unless it exists. Returns
-- the rows moved into it from the default partition, or -1 when it existed.
-- PostgreSQL refuses to create a partition whose range holds rows of the default, so
-- those rows are taken out of the default first and put back through the parent once
-- the partition exists, all in the caller's transaction: readers see them in the
-- default before and in the month after, never missing. Creating a partition locks the
-- parent briefly (ACCESS EXCLUSIVE): the caller sets a lock_timeout.
CREATE OR REPLACE FUNCTION partition_create_month(p_parent text, p_month date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    lo date := date_trunc('month', p_month)::date;
    hi date := (date_trunc('month', p_month) + interval '1 month')::date;
    part text := format('%s_%s', p_parent, to_char(p_month, 'YYYY_MM'));
    pk record;
    moved bigint := 0;
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN -1;
    END IF;
    pk := partition_default_and_key(p_parent);
    IF pk.def IS NOT NULL THEN
        IF to_regclass('pg_temp.partition_moving') IS NOT NULL THEN
            DROP TABLE pg_temp.partition_moving;
        END IF;
        EXECUTE format('CREATE TEMP TABLE partition_moving (LIKE %I) ON COMMIT DROP', p_parent);
        EXECUTE format('WITH m AS (DELETE FROM %s WHERE %I >= %L AND %I < %L RETURNING *)'
                       ' INSERT INTO pg_temp.partition_moving SELECT * FROM m',
                       pk.def, pk.key, lo, pk.key, hi);
        GET DIAGNOSTICS moved = ROW_COUNT;
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                   part, p_parent, lo, hi);
    IF pk.def IS NOT NULL THEN
        IF moved > 0 THEN
            EXECUTE format('INSERT INTO %I SELECT * FROM pg_temp.partition_moving', p_parent);
        END IF;
        DROP TABLE pg_temp.partition_moving;
    END IF;
    RETURN moved;
END $$;

-- This month's partition and p_months_ahead more, and one for each month that has rows
-- in the default partition (an event dated far ahead, or months nobody created in
-- time): {"created": n, "moved": rows taken out of the default}.
CREATE OR REPLACE FUNCTION partitions_ensure(p_parent text, p_months_ahead integer) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    pk record := partition_default_and_key(p_parent);
    months date[];
    stray date[] := '{}';
    m date;
    r bigint;
    created integer := 0;
    moved bigint := 0;
BEGIN
    SELECT array_agg(g::date) INTO months
    FROM generate_series(date_trunc('month', now()),
                         date_trunc('month', now()) + make_interval(months => p_months_ahead),
                         interval '1 month') g;
    IF pk.def IS NOT NULL THEN
        EXECUTE format('SELECT coalesce(array_agg(DISTINCT date_trunc(''month'', %I)::date), ''{}'')'
                       ' FROM %s', pk.key, pk.def)
            INTO stray;
    END IF;
    FOREACH m IN ARRAY months || stray LOOP
        r := partition_create_month(p_parent, m);
        IF r >= 0 THEN
            created := created + 1;
            moved := moved + r;
        END IF;
    END LOOP;
    RETURN jsonb_build_object('created', created, 'moved', moved);
END $$;

-- Drops p_parent's partitions that end at or before now() - p_days days, and deletes
-- the default partition's rows older than that: only what is wholly past the
-- retention goes. A NULL p_days keeps everything. {"dropped": n, "deleted": rows}.
CREATE OR REPLACE FUNCTION partitions_drop_expired(p_parent text, p_days integer) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    pk record := partition_default_and_key(p_parent);
    cutoff timestamptz := now() - make_interval(days => p_days);
    part record;
    dropped integer := 0;
    deleted bigint := 0;
BEGIN
    IF p_days IS NULL THEN
        RETURN jsonb_build_object('dropped', 0, 'deleted', 0);
    END IF;
    -- A range partition's bound reads FOR VALUES FROM ('…') TO ('…'); the default's
    -- reads DEFAULT and MINVALUE/MAXVALUE bounds are unquoted: neither matches.
    FOR part IN
        SELECT b.rel, b.hi
        FROM (SELECT c.oid::regclass AS rel,
                     (regexp_match(pg_get_expr(c.relpartbound, c.oid), ' TO \(''([^'']+)''\)$'))[1] AS hi
              FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = p_parent::regclass) b
        WHERE b.hi IS NOT NULL AND b.hi::timestamptz <= cutoff
        ORDER BY b.hi
    LOOP
        EXECUTE format('DROP TABLE %s', part.rel);
        dropped := dropped + 1;
    END LOOP;
    IF pk.def IS NOT NULL THEN
        EXECUTE format('DELETE FROM %s WHERE %I < %L', pk.def, pk.key, cutoff);
        GET DIAGNOSTICS deleted = ROW_COUNT;
    END IF;
    RETURN jsonb_build_object('dropped', dropped, 'deleted', deleted);
END $$;
