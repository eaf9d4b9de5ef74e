-- jobs_by_task holds only the jobs of a task. A workflow step's job and a pipeline's have no task (task is ''):
-- every one of them cost an entry in this index, under one key no query asks for (listing jobs by task names a
-- task, and task names are never empty), in the write that stores it. ListJobs adds task <> '' to its task
-- filters so the index still serves them.
DROP INDEX jobs_by_task;
CREATE INDEX jobs_by_task ON jobs (task, create_time, id) WHERE task <> '';
