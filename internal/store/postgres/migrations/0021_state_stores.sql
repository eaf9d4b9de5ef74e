-- State stores (git repositories, directories) and the destinations that write to them (issue 15).

CREATE TABLE state_stores (
	name            text COLLATE "C" NOT NULL,
	kind            text NOT NULL,
	spec            text NOT NULL, -- JSON api.StateStore without its credentials
	credentials_enc bytea,         -- the credentials, sealed (store.SealStateStore); NULL for none
	create_time     timestamptz NOT NULL,
	update_time     timestamptz NOT NULL,
	CONSTRAINT state_stores_pkey PRIMARY KEY (name)
);

CREATE TABLE destinations (
	name        text COLLATE "C" NOT NULL,
	store_kind  text NOT NULL,
	store_name  text COLLATE "C" NOT NULL, -- state_stores.name; a store is not deleted while a destination names it
	spec        text NOT NULL,             -- JSON api.Destination
	create_time timestamptz NOT NULL,
	update_time timestamptz NOT NULL,
	CONSTRAINT destinations_pkey PRIMARY KEY (name)
);
CREATE INDEX destinations_store ON destinations (store_name);
