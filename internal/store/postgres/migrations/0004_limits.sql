-- A task's resources (api.TaskResources: requests and limits of cpu, memory and pids) as JSON text; NULL when the
-- task sets none. Every executor applies the limits.
ALTER TABLE tasks ADD COLUMN resources text;

-- CreateJobCapped counts an owner's queued jobs at every submission.
CREATE INDEX jobs_queued_by_owner ON jobs (owner) WHERE status = 'queued';
