-- The version of the event rule sets: one counter, raised by every change to event_rules in the transaction of
-- the change. A dispatcher that holds the rule sets in memory stores an event dispatched with what it fired
-- only while the version is still the one it read them at (CreateDispatchedEvent, which locks the row FOR
-- SHARE), so it never dispatches against rules another replica changed meanwhile.
CREATE TABLE event_rules_version (
	id      integer PRIMARY KEY CHECK (id = 1),
	version bigint NOT NULL
);
INSERT INTO event_rules_version (id, version) VALUES (1, 0);
CREATE FUNCTION event_rules_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE event_rules_version SET version = version + 1 WHERE id = 1;
	RETURN NULL;
END $$;
CREATE TRIGGER event_rules_version_bump AFTER INSERT OR UPDATE OR DELETE ON event_rules
	FOR EACH STATEMENT EXECUTE FUNCTION event_rules_version_bump();
