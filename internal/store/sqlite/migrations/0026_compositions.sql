-- Krateo compositions (issue 16): instances of the types CompositionDefinitions generate, by (resource, namespace,
-- name), resource being the generated type's plural. Columns as resource_requests'.
CREATE TABLE compositions (
	resource    TEXT NOT NULL,
	namespace   TEXT NOT NULL,
	name        TEXT NOT NULL,
	uid         TEXT NOT NULL,
	doc         TEXT NOT NULL,
	spec        TEXT NOT NULL,
	status      TEXT NOT NULL,
	generation  INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL,
	PRIMARY KEY (resource, namespace, name)
) STRICT, WITHOUT ROWID;
