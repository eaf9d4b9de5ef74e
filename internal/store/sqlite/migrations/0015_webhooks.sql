-- Webhooks: a signed delivery to /webhooks/run/{id} starts a job of task (or a run of workflow) as owner. The
-- secret is sealed (AES-GCM, bound to the row). owner is not a reference: a webhook outlives its owner, and its
-- deliveries are then refused.
CREATE TABLE webhooks (
	id          TEXT PRIMARY KEY,
	owner       TEXT NOT NULL,
	secret_enc  BLOB NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	task        TEXT NOT NULL DEFAULT '',
	workflow    TEXT NOT NULL DEFAULT '',
	scheme      TEXT NOT NULL,
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL
) STRICT;

CREATE INDEX webhooks_by_owner ON webhooks (owner, create_time, id);
CREATE INDEX webhooks_by_create_time ON webhooks (create_time, id);
