-- Krateo compositions (issue 16): instances of the types CompositionDefinitions generate, by (resource, namespace,
-- name), resource being the generated type's plural. Columns as resource_requests'.
CREATE TABLE compositions (
	resource    text COLLATE "C" NOT NULL,
	namespace   text COLLATE "C" NOT NULL,
	name        text COLLATE "C" NOT NULL,
	uid         text NOT NULL,
	doc         text NOT NULL,
	spec        text NOT NULL,
	status      text NOT NULL,
	generation  bigint NOT NULL,
	version     bigint NOT NULL,
	create_time timestamptz NOT NULL,
	update_time timestamptz NOT NULL,
	CONSTRAINT compositions_pkey PRIMARY KEY (resource, namespace, name)
);
