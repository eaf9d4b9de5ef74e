-- Events out: sinks, the outbox, and each event's deliveries to each sink.

CREATE TABLE event_sinks (
	name        text COLLATE "C" NOT NULL,
	sink        text NOT NULL, -- JSON api.EventSink; a credential header only names a runner secret
	create_time timestamptz NOT NULL,
	update_time timestamptz NOT NULL,
	CONSTRAINT event_sinks_pkey PRIMARY KEY (name)
);

-- An event waiting to be fanned out to the sinks it matches (fanned false), or being delivered to them.
CREATE TABLE event_outbox (
	seq         bigint GENERATED ALWAYS AS IDENTITY,
	id          text COLLATE "C" NOT NULL, -- the CloudEvent's stable id
	kind        text NOT NULL DEFAULT '', -- 'job', 'run': built from that object at fan-out; '': event holds it
	subject     text NOT NULL DEFAULT '',
	type        text NOT NULL,
	create_time timestamptz NOT NULL, -- the event's time
	event       text,                 -- the CloudEvent (structured JSON); NULL for a job or run event not fanned out
	fanned      boolean NOT NULL DEFAULT false,
	CONSTRAINT event_outbox_pkey PRIMARY KEY (seq),
	CONSTRAINT event_outbox_id_key UNIQUE (id)
);
CREATE INDEX event_outbox_pending ON event_outbox (seq) WHERE NOT fanned;
CREATE INDEX event_outbox_fanned ON event_outbox (create_time) WHERE fanned;

CREATE TABLE event_deliveries (
	sink           text COLLATE "C" NOT NULL,
	event_seq      bigint NOT NULL,
	attempts       integer NOT NULL DEFAULT 0,
	next_time      timestamptz NOT NULL,
	delivered_time timestamptz,
	last_error     text NOT NULL DEFAULT '',
	lease_owner    text NOT NULL DEFAULT '',
	lease_until    timestamptz,
	CONSTRAINT event_deliveries_pkey PRIMARY KEY (sink, event_seq)
);
CREATE INDEX event_deliveries_due ON event_deliveries (sink, event_seq) WHERE delivered_time IS NULL;
CREATE INDEX event_deliveries_by_event ON event_deliveries (event_seq);

-- Jobs and runs write their own events, in the transaction of the change they report, while a sink exists: the
-- outbox's at-least-once guarantee does not depend on any Go code remembering to append. With no sink, the
-- function costs one look at an empty table. A job or run reaches each of these statuses once, and the id makes
-- a repeated insert a no-op. TG_ARGV[0] is the kind: 'job' or 'run'.
CREATE FUNCTION event_outbox_append() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	transition text := CASE NEW.status WHEN 'running' THEN 'started' ELSE NEW.status END;
BEGIN
	IF EXISTS (SELECT 1 FROM event_sinks) THEN
		INSERT INTO event_outbox (id, kind, subject, type, create_time)
		VALUES (TG_ARGV[0] || '/' || NEW.id || '/' || transition, TG_ARGV[0], NEW.id,
			'dev.runplane.' || TG_ARGV[0] || '.' || transition,
			coalesce(CASE WHEN NEW.status = 'running' THEN NEW.start_time ELSE NEW.completion_time END, now()))
		ON CONFLICT (id) DO NOTHING;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER jobs_event_outbox AFTER UPDATE OF status ON jobs FOR EACH ROW
	WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status <> 'queued')
	EXECUTE FUNCTION event_outbox_append('job');
CREATE TRIGGER runs_event_outbox AFTER UPDATE OF status ON runs FOR EACH ROW
	WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status <> 'queued')
	EXECUTE FUNCTION event_outbox_append('run');
-- A run may be stored already running or ended.
CREATE TRIGGER runs_event_outbox_insert AFTER INSERT ON runs FOR EACH ROW
	WHEN (NEW.status <> 'queued')
	EXECUTE FUNCTION event_outbox_append('run');
