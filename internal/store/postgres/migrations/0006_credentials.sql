-- The lifecycle of credentials. A token disabled by someone other than its owner (an administrator) records it, so
-- that its owner alone cannot enable it again; a token revoked by its owner's password change or "revoke all"
-- records when, and stays disabled.
ALTER TABLE api_tokens ADD COLUMN disabled_by_admin boolean NOT NULL DEFAULT false;
ALTER TABLE api_tokens ADD COLUMN revoked_at timestamptz; -- NULL: not revoked

-- Sessions ended by a logout, kept until the session would have expired anyway. user_id is not a reference: a
-- record outlives nothing it needs.
CREATE TABLE revoked_sessions (
	id      text COLLATE "C" NOT NULL,
	user_id text COLLATE "C" NOT NULL,
	expires timestamptz NOT NULL,
	CONSTRAINT revoked_sessions_pkey PRIMARY KEY (id)
);

CREATE INDEX revoked_sessions_by_user ON revoked_sessions (user_id, expires);
CREATE INDEX revoked_sessions_by_expiry ON revoked_sessions (expires);
