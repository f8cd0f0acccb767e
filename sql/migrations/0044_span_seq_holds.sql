-- 0044: a run's span numbers are reserved in a transaction of their own, so one run's
-- batches no longer wait for each other through their whole insert (docs/SQL.md, "A run's
-- span numbers"). span_reserve raises the run's counter (run_span_seqs) and writes a hold
-- of the range, and commits; span_insert then stores the spans with those numbers and
-- deletes the hold in its own transaction. Until it does, a reader of the run's spans by
-- sequence id stops below the run's lowest hold (span_list_run), so what it has seen is a
-- prefix that no later commit fills in: a reader fetching "after sequence id n" misses
-- nothing, as when the counter's row was held to the insert's commit.
-- A hold names the session that took it (pid; a session of that pid started after the
-- hold was made is another one, so created_at tells them apart): the API drops a failed
-- batch's holds (span_release), the session's next stored batch drops any left, and the
-- housekeeper's span_holds task drops holds whose session is gone or idle for ten seconds
-- (a worker that died between the two transactions), so a run's readers never wait on a
-- hold nobody will release for longer than that.
CREATE TABLE span_seq_holds (
    run_id        uuid NOT NULL,
    first         bigint NOT NULL,
    last          bigint NOT NULL,
    pid           integer NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, first)
);
CREATE INDEX span_seq_holds_pid_idx ON span_seq_holds (pid);

INSERT INTO housekeeping_tasks (name, fn, every) VALUES
    ('span_holds', 'housekeep_span_holds', interval '1 second');
