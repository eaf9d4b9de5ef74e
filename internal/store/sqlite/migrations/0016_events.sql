-- CloudEvents received (POST /api/v1/events) and produced (Keptn .started/.finished answers), and event rule
-- sets (Keptn job-executor configs).

-- One row per event, keyed by (source, id): the CloudEvents rule for duplicates. event is the JSON api.Event;
-- create_time is when it was received; dispatch_time is NULL for a received event still to match against the
-- rules (the dispatcher's queue, which survives restarts).
CREATE TABLE events (
	source        TEXT NOT NULL,
	id            TEXT NOT NULL,
	type          TEXT NOT NULL,
	event         TEXT NOT NULL,
	produced      INTEGER NOT NULL DEFAULT 0,
	create_time   INTEGER NOT NULL,
	dispatch_time INTEGER,
	PRIMARY KEY (source, id)
) STRICT;
CREATE INDEX events_by_create_time ON events (create_time, id);
CREATE INDEX events_by_type ON events (type, create_time);
CREATE INDEX events_undispatched ON events (create_time) WHERE dispatch_time IS NULL AND produced = 0;

-- A rule set by name; id stays for good (it scopes the idempotency keys of what the rules fire). rules is the
-- JSON api.EventRules.
CREATE TABLE event_rules (
	name        TEXT PRIMARY KEY,
	id          TEXT NOT NULL UNIQUE,
	owner_id    TEXT NOT NULL,
	rules       TEXT NOT NULL,
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL
) STRICT;
