-- A task's Kubernetes settings (api.TaskKubernetes: resources, serviceAccount, nodeSelector, tolerations,
-- imagePullSecrets, imagePullPolicy) as JSON text, kept as written like tasks.schema; NULL when the task sets none.
-- Executors other than Kubernetes ignore them.
ALTER TABLE tasks ADD COLUMN kubernetes text;
