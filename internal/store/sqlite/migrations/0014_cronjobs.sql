-- Cron jobs. definition is the JSON api.CronJob as saved (without its owner and read-only fields); owner and
-- owner_id name the user it runs as. id scopes the idempotency keys of its firings, so a cron job created again
-- under the same name never finds the jobs of the old one. scheduled is the latest scheduled time handled: a
-- firing of a time at or before it records nothing, so each time is recorded once.
CREATE TABLE cronjobs (
	name         TEXT PRIMARY KEY,
	id           TEXT NOT NULL UNIQUE,
	owner        TEXT NOT NULL,
	owner_id     TEXT NOT NULL,
	definition   TEXT NOT NULL,
	next_run     INTEGER,
	last_run     INTEGER,
	last_job     TEXT NOT NULL DEFAULT '',
	last_status  TEXT NOT NULL DEFAULT '',
	last_message TEXT NOT NULL DEFAULT '',
	scheduled    INTEGER,
	create_time  INTEGER NOT NULL,
	update_time  INTEGER NOT NULL
) STRICT;
