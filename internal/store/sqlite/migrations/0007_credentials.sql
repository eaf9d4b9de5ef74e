-- The lifecycle of credentials. A token disabled by someone other than its owner (an administrator) records it, so
-- that its owner alone cannot enable it again; a token revoked by its owner's password change or "revoke all"
-- records when, and stays disabled.
ALTER TABLE api_tokens ADD COLUMN disabled_by_admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN revoked_at INTEGER; -- NULL: not revoked

-- Sessions ended by a logout, kept until the session would have expired anyway. user_id is not a reference: a
-- record outlives nothing it needs.
CREATE TABLE revoked_sessions (
	id      TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	expires INTEGER NOT NULL
) STRICT;

CREATE INDEX revoked_sessions_by_user ON revoked_sessions (user_id, expires);
CREATE INDEX revoked_sessions_by_expiry ON revoked_sessions (expires);
