-- State stores (git repositories, directories) and the destinations that write to them (issue 15).

CREATE TABLE state_stores (
	name            TEXT PRIMARY KEY,
	kind            TEXT NOT NULL,
	spec            TEXT NOT NULL, -- JSON api.StateStore without its credentials
	credentials_enc BLOB,          -- the credentials, sealed (store.SealStateStore); NULL for none
	create_time     INTEGER NOT NULL,
	update_time     INTEGER NOT NULL
) STRICT;

CREATE TABLE destinations (
	name        TEXT PRIMARY KEY,
	store_kind  TEXT NOT NULL,
	store_name  TEXT NOT NULL, -- state_stores.name; a store is not deleted while a destination names it
	spec        TEXT NOT NULL, -- JSON api.Destination
	create_time INTEGER NOT NULL,
	update_time INTEGER NOT NULL
) STRICT;
CREATE INDEX destinations_store ON destinations (store_name);
