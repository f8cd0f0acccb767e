-- 0002: a token created already expired is a mistake of its creator, not a token:
-- refuse it (answered 422 naming expires_at) instead of storing something unusable.
ALTER TABLE api_tokens
    ADD CONSTRAINT api_tokens_expires_after_creation CHECK (expires_at IS NULL OR expires_at > created_at);
