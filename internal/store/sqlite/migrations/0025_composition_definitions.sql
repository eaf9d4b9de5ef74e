-- Krateo CompositionDefinitions (issue 16), by (namespace, name). doc is JSON {apiVersion, kind, labels,
-- annotations}; spec and status are JSON, written separately: a status write never moves the generation. generated
-- is the CustomResourceDefinition the chart(s) generated, JSON, '' before the chart was read.
CREATE TABLE composition_definitions (
	namespace   TEXT NOT NULL,
	name        TEXT NOT NULL,
	uid         TEXT NOT NULL,
	doc         TEXT NOT NULL,
	spec        TEXT NOT NULL,
	status      TEXT NOT NULL,
	generated   TEXT NOT NULL,
	generation  INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL,
	PRIMARY KEY (namespace, name)
) STRICT, WITHOUT ROWID;
