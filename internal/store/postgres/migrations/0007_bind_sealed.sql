-- Runner tokens and secrets are sealed bound to their row and field (AES-GCM additional data "runner/<name>/token",
-- "runner/<name>/secret"), so a value copied to another runner does not open. The values an older runplane sealed
-- unbound are resealed by the Go step of this version (resealRunners), in this migration's transaction: after it,
-- an unbound value is never accepted again.
SELECT 1;
