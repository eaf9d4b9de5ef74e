-- Multi-container jobs and workflow runs. JSON columns hold what store.EncodeJSON writes; NULL when empty.

-- A task's containers (api.Task.Containers), run instead of its command; such a task may name no runner ('').
ALTER TABLE tasks ADD COLUMN containers TEXT;

-- A job of a workflow step: its run and step, and its definition when it names no task (an api.Task). How each
-- container of a multi-container job ran, and what its containers wrote in Kratix's metadata files (api.JobMetadata),
-- are set when it finishes.
ALTER TABLE jobs ADD COLUMN run TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN step TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN inline TEXT;
ALTER TABLE jobs ADD COLUMN containers TEXT;
ALTER TABLE jobs ADD COLUMN metadata TEXT;
CREATE INDEX jobs_by_run ON jobs (run, create_time, id) WHERE run != '';

CREATE TABLE workflows (
	name        TEXT PRIMARY KEY,
	definition  TEXT NOT NULL, -- JSON api.Workflow
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL
) STRICT;

-- A run keeps the definition it started with: workflow is not a reference, and deleting the workflow keeps its
-- runs. steps (JSON []api.StepRun) change with the run, under its version: UpdateRun writes only over the version
-- it read.
CREATE TABLE runs (
	id              TEXT PRIMARY KEY,
	workflow        TEXT NOT NULL,
	owner           TEXT NOT NULL,
	owner_id        TEXT NOT NULL DEFAULT '',
	idempotency_key TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
	parameters      TEXT,          -- JSON as the client sent it; NULL when none
	definition      TEXT NOT NULL, -- JSON api.Workflow
	steps           TEXT NOT NULL, -- JSON []api.StepRun
	reason          TEXT NOT NULL DEFAULT '',
	create_time     INTEGER NOT NULL,
	start_time      INTEGER,
	completion_time INTEGER,
	version         INTEGER NOT NULL,
	-- Someone asked the run to end cancelled; the advancer cancels its steps and ends it.
	cancel_requested INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE UNIQUE INDEX runs_by_idempotency_key ON runs (owner_id, idempotency_key) WHERE idempotency_key != '';
CREATE INDEX runs_by_create_time ON runs (create_time, id);
-- Also the advancer's recovery: the live runs (queued, running) when a server starts.
CREATE INDEX runs_by_status ON runs (status, create_time, id);
CREATE INDEX runs_by_workflow ON runs (workflow, create_time, id);
CREATE INDEX runs_by_owner ON runs (owner, create_time, id);

-- Outputs and state the steps of a run set through the metadata API. A sensitive value is sealed in value_enc
-- (bound to its row, store.RunValueBinding) and value is ''; otherwise value is its JSON and value_enc NULL.
CREATE TABLE run_values (
	run         TEXT NOT NULL REFERENCES runs (id),
	step        TEXT NOT NULL,
	kind        TEXT NOT NULL,
	name        TEXT NOT NULL,
	value       TEXT NOT NULL,
	value_enc   BLOB,
	sensitive   INTEGER NOT NULL,
	update_time INTEGER NOT NULL,
	PRIMARY KEY (run, step, kind, name)
) STRICT, WITHOUT ROWID;
