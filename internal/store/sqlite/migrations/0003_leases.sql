-- Leases: the server that runs a job and until when (unix nanoseconds) it has promised to renew its claim. Both
-- are cleared when the job ends. Jobs running from before this migration have no lease (NULL), so the first
-- server to look for expired leases recovers them.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN lease_until INTEGER;

-- Only running jobs hold leases. ClaimExpired reads the first of them by lease_until (status leads, or the planner
-- prefers jobs_by_status and sorts); RenewLeases finds an owner's.
CREATE INDEX jobs_running_by_lease_until ON jobs (status, lease_until) WHERE status = 'running';
CREATE INDEX jobs_running_by_lease_owner ON jobs (lease_owner) WHERE status = 'running';
