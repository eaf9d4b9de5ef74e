-- Leases: 0001 made the columns (lease_owner, lease_until); ClaimJob now sets them and FinishJob clears them. Jobs
-- running from before have no lease (NULL), so the first replica to look for expired leases recovers them.

-- Only running jobs hold leases. ClaimExpired takes them in this index's order, lease-less first; RenewLeases finds
-- an owner's.
CREATE INDEX jobs_running_by_lease_until ON jobs (lease_until NULLS FIRST) WHERE status = 'running';
CREATE INDEX jobs_running_by_lease_owner ON jobs (lease_owner) WHERE status = 'running';
