-- 0014: failed logins are counted per (account, client) instead of per account. A count
-- on the user's row let anyone who knew an email keep that account locked, its owner
-- refused with the right password, by guessing once every 15 minutes from anywhere;
-- now a client's failures hold back that client only (sql/statements/auth.sql,
-- user_login_failed), and nginx still limits the login rate per address. The old
-- per-account count and lock go: a lock in them lasted 15 minutes at most.

CREATE TABLE login_failures (
    user_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The client's address as nginx saw it (REMOTE_ADDR); IPv6 by its /64, which one
    -- host commonly holds whole (login_client(), sql/functions/15_identity.sql).
    client         inet NOT NULL,
    failures       integer NOT NULL CHECK (failures > 0),
    locked_until   timestamptz,
    last_failed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, client)
);
-- The housekeeper forgets counts a day after their last failure (prune_login_failures).
CREATE INDEX login_failures_last_idx ON login_failures (last_failed_at);

INSERT INTO housekeeping_tasks (name, fn, every) VALUES
    ('prune_login_failures', 'housekeep_prune_login_failures', interval '1 hour');

ALTER TABLE users DROP COLUMN failed_logins, DROP COLUMN locked_until;
