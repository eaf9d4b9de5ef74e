-- Krateo CompositionDefinitions (issue 16), by (namespace, name). doc is JSON {apiVersion, kind, labels,
-- annotations}; spec and status are JSON, written separately: a status write never moves the generation. generated
-- is the CustomResourceDefinition the chart(s) generated, JSON, '' before the chart was read.
CREATE TABLE composition_definitions (
	namespace   text COLLATE "C" NOT NULL,
	name        text COLLATE "C" NOT NULL,
	uid         text NOT NULL,
	doc         text NOT NULL,
	spec        text NOT NULL,
	status      text NOT NULL,
	generated   text NOT NULL,
	generation  bigint NOT NULL,
	version     bigint NOT NULL,
	create_time timestamptz NOT NULL,
	update_time timestamptz NOT NULL,
	CONSTRAINT composition_definitions_pkey PRIMARY KEY (namespace, name)
);
