-- CloudEvents received (POST /api/v1/events) and produced (Keptn .started/.finished answers), and event rule
-- sets (Keptn job-executor configs).

-- One row per event, keyed by (source, id): the CloudEvents rule for duplicates. event is the JSON api.Event;
-- create_time is when it was received; dispatch_time is NULL for a received event still to match against the
-- rules (the dispatcher's queue, which survives restarts).
CREATE TABLE events (
	source        text NOT NULL,
	id            text NOT NULL,
	type          text NOT NULL,
	event         text NOT NULL,
	produced      boolean NOT NULL DEFAULT false,
	create_time   timestamptz NOT NULL,
	dispatch_time timestamptz,
	PRIMARY KEY (source, id)
);
CREATE INDEX events_by_create_time ON events (create_time, id);
CREATE INDEX events_by_type ON events (type, create_time);
CREATE INDEX events_undispatched ON events (create_time) WHERE dispatch_time IS NULL AND NOT produced;

-- A rule set by name; id stays for good (it scopes the idempotency keys of what the rules fire). rules is the
-- JSON api.EventRules.
CREATE TABLE event_rules (
	name        text PRIMARY KEY,
	id          text NOT NULL UNIQUE,
	owner_id    text NOT NULL,
	rules       text NOT NULL,
	create_time timestamptz NOT NULL,
	update_time timestamptz NOT NULL
);
