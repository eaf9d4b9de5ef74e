-- A task's network (api.Task.Network: '' or none, private, host); '' is the executor's default, no network.
ALTER TABLE tasks ADD COLUMN network TEXT NOT NULL DEFAULT '';

-- A runner's image pull secret (a docker config.json), sealed as token_enc is; NULL when there is none.
ALTER TABLE runners ADD COLUMN pull_secret_enc BLOB;
