-- Lists filter jobs by owner and audit entries by user (name or id) and target, newest first: each filter gets an
-- index in the order the list reads, so neither a page nor its total scans the table.
CREATE INDEX jobs_by_owner ON jobs (owner, create_time, id);
CREATE INDEX audit_logs_by_username ON audit_logs (username, create_time, id);
CREATE INDEX audit_logs_by_user_id ON audit_logs (user_id, create_time, id);
CREATE INDEX audit_logs_by_target ON audit_logs (event_target, create_time, id);
