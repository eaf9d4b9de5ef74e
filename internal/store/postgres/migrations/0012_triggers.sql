-- What started a job or run when no one submitted it directly (JSON api.Trigger: a cron job, a webhook, an event
-- rule); NULL for one submitted through the API.
ALTER TABLE jobs ADD COLUMN trigger text;
ALTER TABLE runs ADD COLUMN trigger text;
