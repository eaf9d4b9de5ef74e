-- Times are unix nanoseconds (UTC). Sealed columns (*_enc) hold secret.Cipher output, never plaintext.

CREATE TABLE runners (
	name        TEXT PRIMARY KEY,
	image       TEXT NOT NULL,
	git_url     TEXT NOT NULL,
	branch      TEXT NOT NULL,
	token_enc   BLOB,          -- sealed token; NULL when there is none
	secret_enc  BLOB,          -- sealed JSON object of the secret map; NULL when empty
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL
) STRICT;

-- tasks.runner is deliberately not a foreign key: the API checks the runner exists, and DeleteRunner reports the
-- tasks in the way by name, which a constraint failure cannot.
CREATE TABLE tasks (
	name            TEXT PRIMARY KEY,
	runner          TEXT NOT NULL,
	command         TEXT NOT NULL,
	synchronous     INTEGER NOT NULL,
	schema          TEXT,      -- JSON; NULL when the task has none
	timeout_ns      INTEGER NOT NULL,
	sync_timeout_ns INTEGER NOT NULL,
	create_time     INTEGER NOT NULL,
	update_time     INTEGER NOT NULL
) STRICT;

CREATE INDEX tasks_by_runner ON tasks (runner);

-- completed and failed (Kriten's counters) are derived from status when reading.
CREATE TABLE jobs (
	id              TEXT PRIMARY KEY,
	owner           TEXT NOT NULL,
	task            TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
	create_time     INTEGER NOT NULL,
	start_time      INTEGER,
	completion_time INTEGER,
	exit_code       INTEGER,
	reason          TEXT NOT NULL DEFAULT '',
	warnings        TEXT,      -- JSON array; NULL when none
	stdout          TEXT NOT NULL DEFAULT '',
	json_data       TEXT,      -- JSON; NULL when the job printed none
	input           BLOB,      -- the request body; NULL when empty
	idempotency_key TEXT NOT NULL DEFAULT '',
	handle          TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (owner, idempotency_key) WHERE idempotency_key != '';
CREATE INDEX jobs_by_create_time ON jobs (create_time, id);
-- Also the queue: ClaimJob takes the first entry with status 'queued'.
CREATE INDEX jobs_by_status ON jobs (status, create_time, id);
CREATE INDEX jobs_by_task ON jobs (task, create_time, id);

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL,
	provider      TEXT NOT NULL,
	password_hash TEXT NOT NULL DEFAULT '',
	create_time   INTEGER NOT NULL,
	UNIQUE (provider, username)
) STRICT;
