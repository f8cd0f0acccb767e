-- 0019: an event row costs one btree entry instead of two (issue 14; measured in
-- docs/PERFORMANCE.md, "a 1000-event batch's PostgreSQL time and WAL"). The primary key
-- (id, ts) was read by no statement: every read of events names the run (event_list,
-- event_list_desc, runs_delete_logs, the reports), and ids come from events_id_seq, which
-- the key never checked on its own (ts is in it, as a partitioned table's unique keys must
-- hold the partition key). The key becomes (run_id, id, ts), which serves the reads the
-- old events_run_idx (run_id, id) served, in the same order; that index goes. Every event
-- written saves an index entry and its WAL record (about 70 bytes).
ALTER TABLE events DROP CONSTRAINT events_pkey,
    ADD CONSTRAINT events_pkey PRIMARY KEY (run_id, id, ts);
DROP INDEX events_run_idx;
