-- Events out: sinks, the outbox, and each event's deliveries to each sink.

CREATE TABLE event_sinks (
	name        TEXT PRIMARY KEY,
	sink        TEXT NOT NULL, -- JSON api.EventSink; a credential header only names a runner secret
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL
) STRICT;

-- An event waiting to be fanned out to the sinks it matches (fanned = 0), or being delivered to them.
CREATE TABLE event_outbox (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	id          TEXT NOT NULL UNIQUE, -- the CloudEvent's stable id
	kind        TEXT NOT NULL DEFAULT '', -- 'job', 'run': built from that object at fan-out; '': event holds it
	subject     TEXT NOT NULL DEFAULT '',
	type        TEXT NOT NULL,
	create_time INTEGER NOT NULL, -- the event's time
	event       TEXT,             -- the CloudEvent (structured JSON); NULL for a job or run event not fanned out
	fanned      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX event_outbox_pending ON event_outbox (seq) WHERE fanned = 0;
CREATE INDEX event_outbox_fanned ON event_outbox (create_time) WHERE fanned = 1;

CREATE TABLE event_deliveries (
	sink           TEXT NOT NULL,
	event_seq      INTEGER NOT NULL,
	attempts       INTEGER NOT NULL DEFAULT 0,
	next_time      INTEGER NOT NULL,
	delivered_time INTEGER,
	last_error     TEXT NOT NULL DEFAULT '',
	lease_owner    TEXT NOT NULL DEFAULT '',
	lease_until    INTEGER,
	PRIMARY KEY (sink, event_seq)
) STRICT;
CREATE INDEX event_deliveries_due ON event_deliveries (sink, event_seq) WHERE delivered_time IS NULL;
CREATE INDEX event_deliveries_by_event ON event_deliveries (event_seq);

-- Jobs and runs write their own events, in the transaction of the change they report, while a sink exists: the
-- outbox's at-least-once guarantee does not depend on any Go code remembering to append. With no sink, the
-- test costs one look at an empty table. A job or run reaches each of these statuses once, and the id makes a
-- repeated insert a no-op.
CREATE TRIGGER jobs_event_outbox AFTER UPDATE OF status ON jobs
WHEN NEW.status != OLD.status AND NEW.status != 'queued' AND EXISTS (SELECT 1 FROM event_sinks)
BEGIN
	INSERT OR IGNORE INTO event_outbox (id, kind, subject, type, create_time)
	VALUES ('job/' || NEW.id || '/' || iif(NEW.status = 'running', 'started', NEW.status), 'job', NEW.id,
		'dev.runplane.job.' || iif(NEW.status = 'running', 'started', NEW.status),
		coalesce(iif(NEW.status = 'running', NEW.start_time, NEW.completion_time),
			CAST(unixepoch('subsec') * 1000000000 AS INTEGER)));
END;

CREATE TRIGGER runs_event_outbox AFTER UPDATE OF status ON runs
WHEN NEW.status != OLD.status AND NEW.status != 'queued' AND EXISTS (SELECT 1 FROM event_sinks)
BEGIN
	INSERT OR IGNORE INTO event_outbox (id, kind, subject, type, create_time)
	VALUES ('run/' || NEW.id || '/' || iif(NEW.status = 'running', 'started', NEW.status), 'run', NEW.id,
		'dev.runplane.run.' || iif(NEW.status = 'running', 'started', NEW.status),
		coalesce(iif(NEW.status = 'running', NEW.start_time, NEW.completion_time),
			CAST(unixepoch('subsec') * 1000000000 AS INTEGER)));
END;

-- A run may be stored already running or ended.
CREATE TRIGGER runs_event_outbox_insert AFTER INSERT ON runs
WHEN NEW.status != 'queued' AND EXISTS (SELECT 1 FROM event_sinks)
BEGIN
	INSERT OR IGNORE INTO event_outbox (id, kind, subject, type, create_time)
	VALUES ('run/' || NEW.id || '/' || iif(NEW.status = 'running', 'started', NEW.status), 'run', NEW.id,
		'dev.runplane.run.' || iif(NEW.status = 'running', 'started', NEW.status),
		coalesce(iif(NEW.status = 'running', NEW.start_time, NEW.completion_time),
			CAST(unixepoch('subsec') * 1000000000 AS INTEGER)));
END;
