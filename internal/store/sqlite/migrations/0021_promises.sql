-- Kratix promises and the resource requests made of them. doc is JSON {apiVersion, kind, labels, annotations};
-- spec and status are JSON, written separately: a status write never moves the generation. version moves on with
-- every write (optimistic concurrency); generation when the spec changes.
CREATE TABLE promises (
	name        TEXT PRIMARY KEY,
	uid         TEXT NOT NULL,
	doc         TEXT NOT NULL,
	spec        TEXT NOT NULL,
	status      TEXT NOT NULL,
	generation  INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL
) STRICT;

-- namespace is '' for a request of a cluster-scoped type. A promise is not deleted while it has requests.
CREATE TABLE resource_requests (
	promise     TEXT NOT NULL REFERENCES promises (name),
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
	PRIMARY KEY (promise, namespace, name)
) STRICT, WITHOUT ROWID;
