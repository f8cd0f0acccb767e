-- 0042: where a queue's claim walk may start (sql/functions/26_queue_heads.sql). A claim
-- walks runs_queue_claim_idx from the front of its queue; every run claimed since the oldest
-- live snapshot leaves a dead entry there, which each walk visits in the heap. With a
-- transaction holding an old snapshot (a pg_dump, a long report) the claims of a busy
-- queue fell from 5,400 to under 1,000 a second (docs/PERFORMANCE.md). queue_heads holds,
-- per queue, a key (priority, created_at) that no queued run of the queue sorts before, so
-- a walk starts there and steps over the dead prefix in the index itself.
-- No row: not known, the walk starts at the front (the key below every run).
-- (-2147483648, 'infinity'), the key after every run: nothing is queued.
CREATE TABLE queue_heads (
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    queue      text NOT NULL,
    priority   integer NOT NULL DEFAULT 2147483647,
    created_at timestamptz NOT NULL DEFAULT '-infinity',
    checked_at timestamptz,  -- the housekeeper's last look, so it takes the least recent first
    PRIMARY KEY (project_id, queue)
) WITH (fillfactor = 50);

-- Every queue with queued runs starts unknown; the housekeeper moves it forward.
INSERT INTO queue_heads (project_id, queue)
SELECT DISTINCT project_id, queue FROM runs WHERE status = 'queued';

INSERT INTO housekeeping_tasks (name, fn, every) VALUES
    ('queue_heads', 'housekeep_queue_heads', interval '1 second');
