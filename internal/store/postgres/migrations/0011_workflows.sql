-- Multi-container jobs and workflow runs: the same tables as the SQLite backend's 0012, in native types. JSON
-- columns hold what store.EncodeJSON writes (text, as tasks.schema); NULL when empty.

-- A task's containers (api.Task.Containers), run instead of its command; such a task may name no runner ('').
ALTER TABLE tasks ADD COLUMN containers text;

-- A job of a workflow step: its run and step, and its definition when it names no task (an api.Task). How each
-- container of a multi-container job ran, and what its containers wrote in Kratix's metadata files (api.JobMetadata),
-- are set when it finishes.
ALTER TABLE jobs ADD COLUMN run text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN step text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN inline text;
ALTER TABLE jobs ADD COLUMN containers text;
ALTER TABLE jobs ADD COLUMN metadata text;
CREATE INDEX jobs_by_run ON jobs (run, create_time, id) WHERE run <> '';

CREATE TABLE workflows (
	name        text COLLATE "C" NOT NULL,
	definition  text NOT NULL, -- JSON api.Workflow
	create_time timestamptz NOT NULL,
	update_time timestamptz NOT NULL,
	CONSTRAINT workflows_pkey PRIMARY KEY (name)
);

-- A run keeps the definition it started with: workflow is not a reference, and deleting the workflow keeps its
-- runs. steps (JSON []api.StepRun) change with the run, under its version: UpdateRun writes only over the version
-- it read.
CREATE TABLE runs (
	id              text COLLATE "C" NOT NULL,
	workflow        text COLLATE "C" NOT NULL,
	owner           text COLLATE "C" NOT NULL,
	owner_id        text COLLATE "C" NOT NULL DEFAULT '',
	idempotency_key text COLLATE "C" NOT NULL DEFAULT '',
	status          text NOT NULL
		CONSTRAINT runs_status_check CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
	parameters      text,          -- JSON as the client sent it; NULL when none
	definition      text NOT NULL, -- JSON api.Workflow
	steps           text NOT NULL, -- JSON []api.StepRun
	reason          text NOT NULL DEFAULT '',
	create_time     timestamptz NOT NULL,
	start_time      timestamptz,
	completion_time timestamptz,
	version         bigint NOT NULL,
	-- Someone asked the run to end cancelled; the advancer cancels its steps and ends it.
	cancel_requested boolean NOT NULL DEFAULT false,
	CONSTRAINT runs_pkey PRIMARY KEY (id)
);

-- CreateRun's ON CONFLICT names this index's columns and predicate.
CREATE UNIQUE INDEX runs_by_idempotency_key ON runs (owner_id, idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX runs_by_create_time ON runs (create_time, id);
-- Also the advancer's recovery: the live runs (queued, running) when a replica starts.
CREATE INDEX runs_by_status ON runs (status, create_time, id);
CREATE INDEX runs_by_workflow ON runs (workflow, create_time, id);
CREATE INDEX runs_by_owner ON runs (owner, create_time, id);

-- Outputs and state the steps of a run set through the metadata API. A sensitive value is sealed in value_enc
-- (bound to its row, store.RunValueBinding) and value is ''; otherwise value is its JSON and value_enc NULL.
CREATE TABLE run_values (
	run         text COLLATE "C" NOT NULL CONSTRAINT run_values_run_fkey REFERENCES runs (id),
	step        text COLLATE "C" NOT NULL,
	kind        text COLLATE "C" NOT NULL,
	name        text COLLATE "C" NOT NULL,
	value       text NOT NULL,
	value_enc   bytea,
	sensitive   boolean NOT NULL,
	update_time timestamptz NOT NULL,
	CONSTRAINT run_values_pkey PRIMARY KEY (run, step, kind, name)
);
