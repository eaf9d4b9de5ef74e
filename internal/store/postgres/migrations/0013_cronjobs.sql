-- Cron jobs: the same table as the SQLite backend's 0014, in native types. definition is the JSON api.CronJob as
-- saved (without its owner and read-only fields); scheduled is the latest scheduled time handled, so each time's
-- firing is recorded once.
CREATE TABLE cronjobs (
	name         text COLLATE "C" NOT NULL,
	id           text COLLATE "C" NOT NULL,
	owner        text NOT NULL,
	owner_id     text NOT NULL,
	definition   text NOT NULL,
	next_run     timestamptz,
	last_run     timestamptz,
	last_job     text NOT NULL DEFAULT '',
	last_status  text NOT NULL DEFAULT '',
	last_message text NOT NULL DEFAULT '',
	scheduled    timestamptz,
	create_time  timestamptz NOT NULL,
	update_time  timestamptz NOT NULL,
	CONSTRAINT cronjobs_pkey PRIMARY KEY (name),
	CONSTRAINT cronjobs_id_key UNIQUE (id)
);
