-- Webhooks: a signed delivery to /webhooks/run/{id} starts a job of task (or a run of workflow) as owner. The
-- secret is sealed (AES-GCM, bound to the row). owner is not a reference: a webhook outlives its owner, and its
-- deliveries are then refused.
CREATE TABLE webhooks (
	id          text COLLATE "C" NOT NULL,
	owner       text COLLATE "C" NOT NULL,
	secret_enc  bytea NOT NULL,
	description text NOT NULL DEFAULT '',
	task        text COLLATE "C" NOT NULL DEFAULT '',
	workflow    text COLLATE "C" NOT NULL DEFAULT '',
	scheme      text NOT NULL,
	create_time timestamptz NOT NULL,
	update_time timestamptz NOT NULL,
	CONSTRAINT webhooks_pkey PRIMARY KEY (id)
);

CREATE INDEX webhooks_by_owner ON webhooks (owner, create_time, id);
CREATE INDEX webhooks_by_create_time ON webhooks (create_time, id);
