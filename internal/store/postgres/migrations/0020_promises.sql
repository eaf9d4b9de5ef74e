-- Kratix promises and the resource requests made of them: the same tables as the SQLite backend's 0021, in
-- native types. doc is JSON {apiVersion, kind, labels, annotations}; spec and status are JSON, written
-- separately: a status write never moves the generation. version moves on with every write (optimistic
-- concurrency); generation when the spec changes.
CREATE TABLE promises (
	name        text COLLATE "C" NOT NULL,
	uid         text NOT NULL,
	doc         text NOT NULL,
	spec        text NOT NULL,
	status      text NOT NULL,
	generation  bigint NOT NULL,
	version     bigint NOT NULL,
	create_time timestamptz NOT NULL,
	update_time timestamptz NOT NULL,
	CONSTRAINT promises_pkey PRIMARY KEY (name)
);

-- namespace is '' for a request of a cluster-scoped type. A promise is not deleted while it has requests.
CREATE TABLE resource_requests (
	promise     text COLLATE "C" NOT NULL CONSTRAINT resource_requests_promise_fkey REFERENCES promises (name),
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
	CONSTRAINT resource_requests_pkey PRIMARY KEY (promise, namespace, name)
);
