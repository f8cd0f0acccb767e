-- Identity changes, announced to the API's workers. Each worker keeps a few seconds' cache
-- of token and session lookups (fcgi/src/idcache.c, RUNWATCH_AUTH_CACHE_S) and LISTENs on
-- runwatch_ident; any notification there empties its cache. pg_notify is transactional:
-- it is delivered at COMMIT (a rolled-back change announces nothing), to the committing
-- session before its COMMIT returns, and it catches every path that writes these tables:
-- the API, the CLI, an operator's SQL, and the cascades of a deleted project or user.
--
-- Only changes that can end or narrow what a lookup answered fire: a token revoked,
-- deleted, re-scoped, moved or given another expiry; a session revoked, deleted, expired
-- early or made idle (last_seen_at moved back); a user disabled or re-enabled, made or
-- unmade instance admin, or given a new password; a user removed from a project or given
-- another role there. The lookups' own touches of last_used_at and last_seen_at (forward)
-- do not fire, nor do INSERTs: unknown secrets are never cached, so a new token or session
-- needs no announcement, and a new membership narrows nothing.
--
-- The payload names whose identity changed: `token:<id>`, `session:<id>` or `user:<id>`
-- (a membership names its user). The worker that committed the change forwards its own
-- notifications to the live hub (Redis channel runwatch:revoked, fcgi/src/pub.c), which
-- ends that identity's open streams (docs/CONTRACTS.md, `event: revoked`). Identical
-- payloads of one transaction are delivered once.
CREATE OR REPLACE FUNCTION ident_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'api_tokens' THEN
        PERFORM pg_notify('runwatch_ident', 'token:' || OLD.id);
    ELSIF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify('runwatch_ident', 'session:' || OLD.id);
    ELSIF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('runwatch_ident', 'user:' || OLD.id);
    ELSE -- project_members
        PERFORM pg_notify('runwatch_ident', 'user:' || OLD.user_id);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER api_tokens_ident_update AFTER UPDATE ON api_tokens
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
                       OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
                       OR OLD.scopes IS DISTINCT FROM NEW.scopes
                       OR OLD.project_id IS DISTINCT FROM NEW.project_id
                       OR OLD.token_hash IS DISTINCT FROM NEW.token_hash)
    EXECUTE FUNCTION ident_notify();

CREATE OR REPLACE TRIGGER api_tokens_ident_delete AFTER DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION ident_notify();

CREATE OR REPLACE TRIGGER sessions_ident_update AFTER UPDATE ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
                       OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
                       OR OLD.user_id IS DISTINCT FROM NEW.user_id
                       OR OLD.token_hash IS DISTINCT FROM NEW.token_hash
                       OR NEW.last_seen_at < OLD.last_seen_at)
    EXECUTE FUNCTION ident_notify();

CREATE OR REPLACE TRIGGER sessions_ident_delete AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION ident_notify();

CREATE OR REPLACE TRIGGER users_ident_update AFTER UPDATE ON users
    FOR EACH ROW WHEN (OLD.is_admin IS DISTINCT FROM NEW.is_admin
                       OR OLD.disabled_at IS DISTINCT FROM NEW.disabled_at
                       OR OLD.password_hash IS DISTINCT FROM NEW.password_hash)
    EXECUTE FUNCTION ident_notify();

CREATE OR REPLACE TRIGGER project_members_ident_update AFTER UPDATE ON project_members
    FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role
                       OR OLD.user_id IS DISTINCT FROM NEW.user_id
                       OR OLD.project_id IS DISTINCT FROM NEW.project_id)
    EXECUTE FUNCTION ident_notify();

CREATE OR REPLACE TRIGGER project_members_ident_delete AFTER DELETE ON project_members
    FOR EACH ROW EXECUTE FUNCTION ident_notify();

-- The client a failed login is counted against (login_failures, migration 0014): the
-- address nginx saw (REMOTE_ADDR, which a client cannot set: no X-Forwarded-For is
-- believed), or for IPv6 its /64, which one host commonly holds whole, so counting per
-- IPv6 address would throttle nobody (an IPv4 address written as IPv6, ::ffff:a.b.c.d,
-- stays itself). A request without an address (none reaches the API through the stack's
-- nginx) counts as 0.0.0.0.
CREATE OR REPLACE FUNCTION login_client(addr text) RETURNS inet
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN family(a) = 6 AND NOT a << inet '::ffff:0.0.0.0/96'
                THEN network(set_masklen(a, 64))::inet ELSE host(a)::inet END
    FROM (SELECT coalesce(nullif(addr, ''), '0.0.0.0')::inet AS a) x
$$;
