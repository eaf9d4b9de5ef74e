-- runplane's schema for PostgreSQL: the same tables as the SQLite backend's 0001 and 0002, in native types.
--
-- Times are timestamptz (microseconds). Sealed columns (*_enc) hold secret.Cipher output, never plaintext. Every
-- text column that is a key, a name or sorted on is COLLATE "C": orders and uniqueness are by bytes, as in SQLite,
-- whatever collation the database was created with.
--
-- The references are foreign keys, as a last guard: the store checks them itself first, because it answers a
-- dangling reference with ErrInvalid and a delete that something blocks with ErrConflict naming what is in the
-- way, which a constraint failure cannot say. Constraints are named: the store tells its conflicts apart by name.

CREATE TABLE runners (
	name        text COLLATE "C" NOT NULL,
	image       text NOT NULL,
	git_url     text NOT NULL,
	branch      text NOT NULL,
	token_enc   bytea,       -- sealed token; NULL when there is none
	secret_enc  bytea,       -- sealed JSON object of the secret map; NULL when empty
	create_time timestamptz NOT NULL,
	update_time timestamptz NOT NULL,
	CONSTRAINT runners_pkey PRIMARY KEY (name)
);

-- tasks.runner is deliberately not a foreign key: the API checks the runner exists, and DeleteRunner reports the
-- tasks in the way by name, which a constraint failure cannot.
CREATE TABLE tasks (
	name            text COLLATE "C" NOT NULL,
	runner          text COLLATE "C" NOT NULL,
	command         text NOT NULL,
	synchronous     boolean NOT NULL,
	schema          text,    -- JSON as the client sent it; NULL when the task has none
	timeout_ns      bigint NOT NULL,
	sync_timeout_ns bigint NOT NULL,
	create_time     timestamptz NOT NULL,
	update_time     timestamptz NOT NULL,
	CONSTRAINT tasks_pkey PRIMARY KEY (name)
);

CREATE INDEX tasks_by_runner ON tasks (runner);

-- completed and failed (Kriten's counters) are derived from status when reading. stdout is bytea: a job's output
-- is whatever bytes it printed, which text (valid UTF-8, no NUL) cannot always hold.
CREATE TABLE jobs (
	id              text COLLATE "C" NOT NULL,
	owner           text COLLATE "C" NOT NULL,
	task            text COLLATE "C" NOT NULL,
	status          text NOT NULL
		CONSTRAINT jobs_status_check CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
	create_time     timestamptz NOT NULL,
	start_time      timestamptz,
	completion_time timestamptz,
	exit_code       integer,
	reason          text NOT NULL DEFAULT '',
	warnings        text[],  -- NULL when none
	stdout          bytea NOT NULL DEFAULT '',
	json_data       text,    -- JSON as the job printed it; NULL when it printed none
	input           bytea,   -- the request body; NULL when empty
	idempotency_key text COLLATE "C" NOT NULL DEFAULT '',
	handle          text NOT NULL DEFAULT '',
	-- The replica that runs the job and until when its claim holds unless renewed; not used yet.
	lease_owner     text NOT NULL DEFAULT '',
	lease_until     timestamptz,
	CONSTRAINT jobs_pkey PRIMARY KEY (id)
);

-- CreateJob's ON CONFLICT names this index's columns and predicate.
CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (owner, idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX jobs_by_create_time ON jobs (create_time, id);
-- Also the queue: ClaimJob takes the first entry with status 'queued'.
CREATE INDEX jobs_by_status ON jobs (status, create_time, id);
CREATE INDEX jobs_by_task ON jobs (task, create_time, id);

CREATE TABLE users (
	id            text COLLATE "C" NOT NULL,
	username      text COLLATE "C" NOT NULL,
	provider      text COLLATE "C" NOT NULL,
	password_hash text NOT NULL DEFAULT '',
	builtin       boolean NOT NULL DEFAULT false,
	-- Counts password changes; session tokens carry it.
	generation    bigint NOT NULL DEFAULT 0,
	create_time   timestamptz NOT NULL,
	update_time   timestamptz NOT NULL,
	CONSTRAINT users_pkey PRIMARY KEY (id),
	CONSTRAINT users_provider_username_key UNIQUE (provider, username)
);

CREATE TABLE groups (
	id          text COLLATE "C" NOT NULL,
	name        text COLLATE "C" NOT NULL,
	provider    text COLLATE "C" NOT NULL,
	builtin     boolean NOT NULL DEFAULT false,
	create_time timestamptz NOT NULL,
	update_time timestamptz NOT NULL,
	CONSTRAINT groups_pkey PRIMARY KEY (id),
	CONSTRAINT groups_provider_name_key UNIQUE (provider, name)
);

CREATE TABLE group_members (
	group_id text COLLATE "C" NOT NULL CONSTRAINT group_members_group_fkey REFERENCES groups (id),
	user_id  text COLLATE "C" NOT NULL CONSTRAINT group_members_user_fkey REFERENCES users (id),
	CONSTRAINT group_members_pkey PRIMARY KEY (group_id, user_id)
);

CREATE INDEX group_members_by_user ON group_members (user_id, group_id);

CREATE TABLE roles (
	id           text COLLATE "C" NOT NULL,
	name         text COLLATE "C" NOT NULL,
	resource     text NOT NULL,
	resource_ids text[] NOT NULL, -- names or ids, '*' for all
	access       text NOT NULL,
	builtin      boolean NOT NULL DEFAULT false,
	create_time  timestamptz NOT NULL,
	update_time  timestamptz NOT NULL,
	CONSTRAINT roles_pkey PRIMARY KEY (id),
	CONSTRAINT roles_name_key UNIQUE (name)
);

CREATE TABLE role_bindings (
	id          text COLLATE "C" NOT NULL,
	name        text COLLATE "C" NOT NULL,
	role_id     text COLLATE "C" NOT NULL CONSTRAINT role_bindings_role_fkey REFERENCES roles (id),
	group_id    text COLLATE "C" NOT NULL CONSTRAINT role_bindings_group_fkey REFERENCES groups (id),
	builtin     boolean NOT NULL DEFAULT false,
	create_time timestamptz NOT NULL,
	update_time timestamptz NOT NULL,
	CONSTRAINT role_bindings_pkey PRIMARY KEY (id),
	CONSTRAINT role_bindings_name_key UNIQUE (name),
	CONSTRAINT role_bindings_role_group_key UNIQUE (role_id, group_id)
);

-- A group's roles: Group.RoleIDs, and UserAccess on every authorized request.
CREATE INDEX role_bindings_by_group ON role_bindings (group_id, role_id);

-- Only a keyed hash of each key is kept.
CREATE TABLE api_tokens (
	id          text COLLATE "C" NOT NULL,
	owner       text COLLATE "C" NOT NULL CONSTRAINT api_tokens_owner_fkey REFERENCES users (id),
	key_hash    text COLLATE "C" NOT NULL,
	description text NOT NULL DEFAULT '',
	enabled     boolean NOT NULL,
	expires     timestamptz, -- NULL: never
	create_time timestamptz NOT NULL,
	update_time timestamptz NOT NULL,
	CONSTRAINT api_tokens_pkey PRIMARY KEY (id),
	CONSTRAINT api_tokens_key_hash_key UNIQUE (key_hash)
);

CREATE INDEX api_tokens_by_owner ON api_tokens (owner, create_time, id);
CREATE INDEX api_tokens_by_create_time ON api_tokens (create_time, id);

-- user_id is not a reference: entries outlive their users, and a failed login may name no user at all.
CREATE TABLE audit_logs (
	id             text COLLATE "C" NOT NULL,
	user_id        text NOT NULL,
	username       text NOT NULL,
	provider       text NOT NULL,
	event_type     text NOT NULL,
	event_category text NOT NULL,
	event_target   text NOT NULL,
	status         text NOT NULL,
	reason         text NOT NULL,
	source         text NOT NULL,
	create_time    timestamptz NOT NULL,
	CONSTRAINT audit_logs_pkey PRIMARY KEY (id)
);

CREATE INDEX audit_logs_by_create_time ON audit_logs (create_time, id);
