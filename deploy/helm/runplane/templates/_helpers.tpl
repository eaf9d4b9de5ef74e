{{/* The chart's name, or nameOverride. */}}
{{- define "runplane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: "<release>-runplane", or just the release name when it already says runplane. */}}
{{- define "runplane.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "runplane.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "runplane.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "runplane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "runplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "runplane.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "runplane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "runplane.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "runplane.jobServiceAccountName" -}}
{{- default (printf "%s-job" (include "runplane.fullname" .)) .Values.jobServiceAccount.name }}
{{- end }}

{{/* Where jobs run. */}}
{{- define "runplane.jobNamespace" -}}
{{- default .Release.Namespace .Values.executor.namespace }}
{{- end }}

{{- define "runplane.kubernetesExecutor" -}}
{{- if eq .Values.executor.type "kubernetes" }}true{{ end }}
{{- end }}

{{/* The Secret holding root's password: the user's, or the one the chart makes. */}}
{{- define "runplane.authSecretName" -}}
{{- default (include "runplane.fullname" .) .Values.auth.existingSecret }}
{{- end }}

{{- define "runplane.sqlite" -}}
{{- if not .Values.store.existingSecret }}true{{ end }}
{{- end }}

{{/* Settings that cannot work together fail the install with a message saying what to change. */}}
{{- define "runplane.validate" -}}
{{- if not (has .Values.executor.type (list "kubernetes" "local")) }}
{{- fail (printf "executor.type %q: want kubernetes or local" .Values.executor.type) }}
{{- end }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- if include "runplane.sqlite" . }}
{{- fail "replicaCount > 1 needs PostgreSQL: set store.existingSecret (SQLite is one server's file)" }}
{{- end }}
{{- if not .Values.keys.existingSecret }}
{{- fail "replicaCount > 1 needs keys.existingSecret: replicas must share the signing and encryption keys" }}
{{- end }}
{{- if .Values.persistence.enabled }}
{{- fail "replicaCount > 1 needs persistence.enabled=false: each replica keeps its own scratch data dir, the state is in PostgreSQL" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The pod template's checksum/secret: a digest of what the chart puts into the Secret it renders, so that a
changed Secret rolls the pods. A generated password is not part of it (it is made once and then kept; under `helm
template` it would change on every render), and a fixed one goes in only through scrypt (derivePassword, salted
with the release), so the annotation, which whoever reads pods can see, makes guessing no cheaper than a password
hash would. Empty with auth.existingSecret: the chart does not see that Secret. */}}
{{- define "runplane.secretChecksum" -}}
{{- if not .Values.auth.existingSecret }}
{{- $password := "generated" }}
{{- with .Values.auth.rootPassword }}
{{- $password = derivePassword 1 "maximum" . "runplane" (printf "%s/%s" $.Release.Namespace (include "runplane.fullname" $)) }}
{{- end }}
{{- dict "name" (include "runplane.fullname" .) "key" .Values.auth.existingSecretKey "password" $password | toJson | sha256sum }}
{{- end }}
{{- end }}
