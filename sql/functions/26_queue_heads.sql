-- Queue heads (migration 0042): per queue, a key (priority, created_at) that no queued run of
-- the queue sorts before in the claim order (priority DESC, created_at). The claims
-- (sql/statements/queue.sql) walk runs_queue_claim_idx from it, so the dead entries of runs
-- claimed earlier, which a held snapshot keeps from being marked dead, are not visited.
--
-- The invariant holds in every committed state, so in every claim's snapshot:
-- - A run that becomes queued, or changes its key while queued, lowers its queue's head in
--   its own transaction (the trigger below): the run and the lower head commit together.
-- - The housekeeper moves a head forward (housekeep_queue_heads) only to the first queued
--   run it sees, in a snapshot taken after it holds the queue's lock exclusively. An enterer
--   holds the same lock shared from its trigger to its commit, so the housekeeper's snapshot
--   includes every enterer before it, and every enterer after it reads the new head.
-- - Claims only read the head: a claim's snapshot sees a head and the runs it bounds from
--   the same committed state. A run claimed and rolled back was queued in the housekeeper's
--   snapshot too, so the head never passes it.
-- The key after every run, (-2147483648, 'infinity'), says the queue is empty; a queue with no
-- row is walked from its front (a claim reads a missing row as the key before every run).

-- The two-key advisory lock space (class 7243004) of one queue; a hash collision only makes
-- two queues share a lock.
CREATE OR REPLACE FUNCTION queue_head_lock(p_project bigint, p_queue text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashtext(p_project::text || '/' || p_queue)
$$;

-- The head the claims walk from: the row's key, or the key before every run when the queue
-- has no row. A single SELECT of a set-returning SQL function, so the planner inlines it
-- into the claim's statement.
CREATE OR REPLACE FUNCTION queue_head(p_project bigint, p_queue text)
RETURNS TABLE (hp integer, hc timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(max(priority), 2147483647), coalesce(max(created_at), '-infinity')
    FROM queue_heads WHERE project_id = p_project AND queue = p_queue
$$;

-- Whether key (p1, c1) comes before key (p2, c2) in the claim order.
CREATE OR REPLACE FUNCTION queue_key_before(p1 integer, c1 timestamptz, p2 integer,
                                            c2 timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p1 > p2 OR (p1 = p2 AND c1 < c2)
$$;

-- A run entered its queue (inserted or moved to queued, or its queue, priority or age changed
-- while queued): the head comes back to it if it sorts before.
CREATE OR REPLACE FUNCTION queue_heads_on_enter() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    h queue_heads;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(7243004, queue_head_lock(NEW.project_id, NEW.queue));
    -- After the lock: this statement's snapshot sees any advance that committed before it.
    SELECT * INTO h FROM queue_heads WHERE project_id = NEW.project_id AND queue = NEW.queue;
    IF NOT FOUND THEN
        -- A new queue: known later, once the housekeeper has walked it.
        INSERT INTO queue_heads (project_id, queue) VALUES (NEW.project_id, NEW.queue)
        ON CONFLICT DO NOTHING;
    ELSIF current_setting('transaction_isolation') <> 'read committed' THEN
        -- One snapshot for the whole transaction, which may predate an advance: back to the
        -- front, which is always right.
        UPDATE queue_heads SET priority = 2147483647, created_at = '-infinity'
        WHERE project_id = NEW.project_id AND queue = NEW.queue
          AND (priority, created_at) <> (2147483647, '-infinity');
    ELSIF queue_key_before(NEW.priority, NEW.created_at, h.priority, h.created_at) THEN
        -- Only a lowering locks the row (run creation at the queue's tail never does); a
        -- concurrent lowering is waited for and compared with again.
        UPDATE queue_heads SET priority = NEW.priority, created_at = NEW.created_at
        WHERE project_id = NEW.project_id AND queue = NEW.queue
          AND queue_key_before(NEW.priority, NEW.created_at, priority, created_at);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER runs_queue_head_insert AFTER INSERT ON runs
    FOR EACH ROW WHEN (NEW.status = 'queued')
    EXECUTE FUNCTION queue_heads_on_enter();
CREATE OR REPLACE TRIGGER runs_queue_head_update
    AFTER UPDATE OF status, priority, created_at, queue, project_id ON runs
    FOR EACH ROW
    WHEN (NEW.status = 'queued'
          AND (OLD.status <> 'queued' OR OLD.priority <> NEW.priority
               OR OLD.created_at <> NEW.created_at OR OLD.queue <> NEW.queue
               OR OLD.project_id <> NEW.project_id))
    EXECUTE FUNCTION queue_heads_on_enter();

-- Moves one queue's head forward to its first queued run (the empty key when none), reading
-- from the head, so the walk crosses only the runs claimed since the last move. The caller
-- holds the queue's lock exclusively (queue_heads_advance, or a test that waits for it);
-- each statement here has a snapshot taken after it. Returns whether the head moved.
CREATE OR REPLACE FUNCTION queue_head_advance(p_project bigint, p_queue text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    h queue_heads;
    np integer;
    nc timestamptz;
BEGIN
    -- The snapshots after the lock are what make a move right: a transaction with one
    -- snapshot (a server whose default isolation is stricter) moves nothing.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN false;
    END IF;
    SELECT * INTO h FROM queue_heads WHERE project_id = p_project AND queue = p_queue;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    SELECT r.priority, r.created_at INTO np, nc FROM runs r
    WHERE r.project_id = h.project_id AND r.queue = h.queue AND r.status = 'queued'
      AND r.priority = h.priority AND r.created_at >= h.created_at
    ORDER BY r.created_at LIMIT 1;
    IF NOT FOUND THEN
        SELECT r.priority, r.created_at INTO np, nc FROM runs r
        WHERE r.project_id = h.project_id AND r.queue = h.queue AND r.status = 'queued'
          AND r.priority < h.priority
        ORDER BY r.priority DESC, r.created_at LIMIT 1;
        IF NOT FOUND THEN
            np := -2147483648;
            nc := 'infinity';
        END IF;
    END IF;
    UPDATE queue_heads SET priority = np, created_at = nc, checked_at = now()
    WHERE project_id = h.project_id AND queue = h.queue;
    RETURN (np, nc) <> (h.priority, h.created_at);
END $$;

-- The housekeeper's pass: moves the heads whose lock it can take (queue_head_advance), at
-- most p_limit, of queues not known empty, the least recently looked at first (a lock each,
-- held to the commit). A queue whose lock an enterer holds is skipped until the next pass,
-- so run creation never waits for this. Returns how many heads moved.
CREATE OR REPLACE FUNCTION queue_heads_advance(p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    q record;
    moved integer := 0;
BEGIN
    FOR q IN SELECT project_id, queue FROM queue_heads
             WHERE (priority, created_at) <> (-2147483648, 'infinity')
             ORDER BY checked_at NULLS FIRST LIMIT p_limit LOOP
        CONTINUE WHEN NOT pg_try_advisory_xact_lock(7243004,
                                                    queue_head_lock(q.project_id, q.queue));
        IF queue_head_advance(q.project_id, q.queue) THEN
            moved := moved + 1;
        END IF;
    END LOOP;
    RETURN moved;
END $$;
