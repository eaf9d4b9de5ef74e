-- Identity: groups and their members, roles, role bindings, API tokens and the audit log. Times are unix
-- nanoseconds (UTC); booleans are 0 or 1.
--
-- The references are foreign keys, as a last guard: the store checks them itself first, because it answers a
-- dangling reference with ErrInvalid and a delete that something blocks with ErrConflict naming what is in the
-- way, which a constraint failure cannot say. The rule that a group's members share its provider is the store's.

ALTER TABLE users ADD COLUMN builtin INTEGER NOT NULL DEFAULT 0;
-- Counts password changes; session tokens carry it.
ALTER TABLE users ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN update_time INTEGER NOT NULL DEFAULT 0;
UPDATE users SET update_time = create_time;
-- The server created root before users could be built in; it is the one built-in user.
UPDATE users SET builtin = 1 WHERE provider = 'local' AND username = 'root';

CREATE TABLE groups (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	provider    TEXT NOT NULL,
	builtin     INTEGER NOT NULL DEFAULT 0,
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL,
	UNIQUE (provider, name)
) STRICT;

CREATE TABLE group_members (
	group_id TEXT NOT NULL REFERENCES groups (id),
	user_id  TEXT NOT NULL REFERENCES users (id),
	PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX group_members_by_user ON group_members (user_id, group_id);

CREATE TABLE roles (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL UNIQUE,
	resource     TEXT NOT NULL,
	resource_ids TEXT NOT NULL, -- JSON array of names or ids, '*' for all
	access       TEXT NOT NULL,
	builtin      INTEGER NOT NULL DEFAULT 0,
	create_time  INTEGER NOT NULL,
	update_time  INTEGER NOT NULL
) STRICT;

CREATE TABLE role_bindings (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	role_id     TEXT NOT NULL REFERENCES roles (id),
	group_id    TEXT NOT NULL REFERENCES groups (id),
	builtin     INTEGER NOT NULL DEFAULT 0,
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL,
	UNIQUE (role_id, group_id)
) STRICT;

-- A group's roles: Group.RoleIDs, and UserAccess on every authorized request.
CREATE INDEX role_bindings_by_group ON role_bindings (group_id, role_id);

-- Only a keyed hash of each key is kept.
CREATE TABLE api_tokens (
	id          TEXT PRIMARY KEY,
	owner       TEXT NOT NULL REFERENCES users (id),
	key_hash    TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	enabled     INTEGER NOT NULL,
	expires     INTEGER, -- NULL: never
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL
) STRICT;

CREATE INDEX api_tokens_by_owner ON api_tokens (owner, create_time, id);
CREATE INDEX api_tokens_by_create_time ON api_tokens (create_time, id);

-- user_id is not a reference: entries outlive their users, and a failed login may name no user at all.
CREATE TABLE audit_logs (
	id             TEXT PRIMARY KEY,
	user_id        TEXT NOT NULL,
	username       TEXT NOT NULL,
	provider       TEXT NOT NULL,
	event_type     TEXT NOT NULL,
	event_category TEXT NOT NULL,
	event_target   TEXT NOT NULL,
	status         TEXT NOT NULL,
	reason         TEXT NOT NULL,
	source         TEXT NOT NULL,
	create_time    INTEGER NOT NULL
) STRICT;

CREATE INDEX audit_logs_by_create_time ON audit_logs (create_time, id);
