-- Idempotency keys are scoped by the submitting user's id, not by the owner's name: a name can belong to a deleted
-- user and its successor, or to a local and a directory user. Keys stored before keep their old scope under a
-- prefix no user id has, so they stay unique and no new submission matches them.
ALTER TABLE jobs ADD COLUMN owner_id text COLLATE "C" NOT NULL DEFAULT '';
UPDATE jobs SET owner_id = 'name:' || owner WHERE idempotency_key <> '';
DROP INDEX jobs_by_idempotency_key;
CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (owner_id, idempotency_key) WHERE idempotency_key <> '';
