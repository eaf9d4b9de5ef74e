-- The version of the event rule sets: one counter, raised by every change to event_rules in the transaction of
-- the change. A dispatcher that holds the rule sets in memory stores an event dispatched with what it fired
-- only while the version is still the one it read them at (CreateDispatchedEvent), so it never dispatches
-- against rules another writer (another replica) changed meanwhile.
CREATE TABLE event_rules_version (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
) STRICT;
INSERT INTO event_rules_version (id, version) VALUES (1, 0);
CREATE TRIGGER event_rules_version_insert AFTER INSERT ON event_rules
	BEGIN UPDATE event_rules_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER event_rules_version_update AFTER UPDATE ON event_rules
	BEGIN UPDATE event_rules_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER event_rules_version_delete AFTER DELETE ON event_rules
	BEGIN UPDATE event_rules_version SET version = version + 1 WHERE id = 1; END;
