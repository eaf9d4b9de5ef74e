package events

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	// yaml.v2, as Keptn's job-executor formats values: the same text (sequences not indented under their key).
	yamlv2 "go.yaml.in/yaml/v2"

	"github.com/runplane/runplane/api"
)

// DefaultMaxPollDuration is how long a task may run when its maxPollDuration is not set (Keptn's default).
const DefaultMaxPollDuration = 300 * time.Second

// Build returns the workflow that runs action i of r for an event: one step per task, each depending on the one
// before (so they run in order and the first failure ends the run), each one container with the task's image,
// cmd as command, args, workingDir, and its env resolved now — from the event by JSONPath (as string, json or
// yaml; objects default to JSON, as in Keptn), or a string — plus Keptn's KEPTN_PROJECT, KEPTN_STAGE,
// KEPTN_SERVICE and LABELS_<KEY> from the event's data. An env entry valueFrom secret reads the runner's secret
// of its name (${secrets.NAME}). $(NAME) in cmd and args is replaced by the value of env NAME, as Kubernetes does
// ($$ escapes it). The workflow is named after the rule set.
func Build(r api.EventRules, i int, e api.Event, doc map[string]any) (api.Workflow, error) {
	if i < 0 || i >= len(r.Actions) {
		return api.Workflow{}, fmt.Errorf("events: build: no action %d", i)
	}
	a := r.Actions[i]
	w := api.Workflow{
		Name:        r.Name,
		Description: fmt.Sprintf("event rules %s, action %q, for event %s from %s", r.Name, a.Name, e.ID, e.Source),
	}
	keptnEnv := keptnEnv(doc)
	prev := ""
	for j, t := range a.Tasks {
		name := StepName(j, t.Name)
		env, secrets, err := taskEnv(t, doc)
		if err != nil {
			return api.Workflow{}, fmt.Errorf("task %q: %w", t.Name, err)
		}
		env = append(env, keptnEnv...)
		vars := map[string]string{}
		for _, v := range env {
			vars[v.Name] = v.Value
		}
		c := api.Container{Name: name, Image: t.Image, Command: expandAll(t.Cmd, vars), Args: expandAll(t.Args, vars),
			Env: env, WorkingDir: t.WorkingDir}
		timeout := DefaultMaxPollDuration
		if t.MaxPollDuration != nil && *t.MaxPollDuration > 0 {
			timeout = time.Duration(*t.MaxPollDuration) * time.Second
		}
		res, err := TaskResources(t)
		if err != nil {
			return api.Workflow{}, fmt.Errorf("task %q: %w", t.Name, err)
		}
		// Keptn's contract has no output files: nothing reads what a task leaves in its output and metadata
		// directories, so its job does not keep them (a copy per job; on Kubernetes, one more container).
		s := api.Step{Name: name, Containers: []api.Container{c}, Runner: r.Runner, Env: secrets,
			Timeout: api.Duration(timeout), Spec: stepSpec(a.Name, t.Name), Resources: res, Kubernetes: TaskKubernetes(t),
			DiscardFiles: true}
		if prev != "" {
			s.DependsOn = api.Strings{prev}
		}
		w.Steps = append(w.Steps, s)
		prev = name
	}
	return w, nil
}

// StepName is the workflow step (and container) name of task j named name: "<j+1>-<name in lower case, other
// characters as '-'>", at most 63 characters.
func StepName(j int, name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := fmt.Sprintf("%d-%s", j+1, strings.TrimSuffix(b.String(), "-"))
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.TrimRight(s, "-")
}

// taskEnv resolves t's env: static values for the container, and secret references for the step.
func taskEnv(t api.KeptnTask, doc map[string]any) (env, secrets api.EnvVars, err error) {
	for _, e := range t.Env {
		switch e.ValueFrom {
		case api.EnvFromString:
			env = append(env, api.EnvVar{Name: e.Name, Value: e.Value})
		case api.EnvFromSecret:
			secrets = append(secrets, api.EnvVar{Name: e.Name, Value: "${secrets." + e.Name + "}"})
		case api.EnvFromEvent:
			v, err := EnvFromEvent(e, doc)
			if err != nil {
				return nil, nil, err
			}
			env = append(env, api.EnvVar{Name: e.Name, Value: v})
		default:
			return nil, nil, fmt.Errorf("could not add env with name %v, unknown valueFrom %v", e.Name, e.ValueFrom)
		}
	}
	return env, secrets, nil
}

// EnvFromEvent is the value of an env entry valueFrom event, as Keptn's job-executor formats it: YAML when as is
// yaml, JSON when as is json or the value is an object, else the value as text (fmt's %v).
func EnvFromEvent(e api.KeptnEnv, doc map[string]any) (string, error) {
	p, err := ParsePath(e.Value)
	if err != nil {
		return "", err
	}
	v, err := p.Get(doc)
	if err != nil {
		return "", fmt.Errorf("could not add env with name '%v', value '%v', valueFrom '%v': %v", e.Name, e.Value, e.ValueFrom, err)
	}
	switch {
	case strings.EqualFold(e.As, "yaml"):
		b, err := yamlv2.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("could not convert env with name '%v' to YAML: %v", e.Name, err)
		}
		return string(b), nil
	case strings.EqualFold(e.As, "json") || reflect.ValueOf(v).Kind() == reflect.Map:
		b, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("could not convert env with name '%v' to JSON: %v", e.Name, err)
		}
		return string(b), nil
	}
	return fmt.Sprintf("%v", v), nil
}

// keptnEnv is what Keptn's job-executor adds to every task: KEPTN_PROJECT, KEPTN_STAGE, KEPTN_SERVICE and
// LABELS_<KEY> (upper case, '-' and ' ' as '_') for each of the event's data.labels (those that make valid names).
func keptnEnv(doc map[string]any) api.EnvVars {
	data, _ := doc["data"].(map[string]any)
	str := func(k string) string { s, _ := data[k].(string); return s }
	env := api.EnvVars{{Name: "KEPTN_PROJECT", Value: str("project")}, {Name: "KEPTN_STAGE", Value: str("stage")},
		{Name: "KEPTN_SERVICE", Value: str("service")}}
	labels, _ := data["labels"].(map[string]any)
	r := strings.NewReplacer("-", "_", " ", "_")
	for _, k := range sortedKeys(labels) {
		name := "LABELS_" + strings.ToUpper(r.Replace(k))
		if api.ValidateSecretKey(name) != nil {
			continue
		}
		env = append(env, api.EnvVar{Name: name, Value: fmt.Sprintf("%v", labels[k])})
	}
	return env
}

func expandAll(l []string, vars map[string]string) []string {
	if l == nil {
		return nil
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = expand(s, vars)
	}
	return out
}

// expand replaces $(NAME) by vars[NAME] as Kubernetes expands a container's command and args: $$ is a literal
// $, and a reference to a name not in vars stays as it is.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteByte(s[i])
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// stepSpec records, in a step's spec, the Keptn action and task it runs (the .finished message names the task).
// Names that read as templates are left out: a spec's strings are evaluated.
func stepSpec(action, task string) json.RawMessage {
	if strings.Contains(action+task, "${") {
		return nil
	}
	b, _ := json.Marshal(map[string]string{"action": action, "task": task})
	return b
}

// TaskResources are a Keptn task's resources as runplane's task resources, which every executor applies (cpu,
// memory): nil when the task sets none (Keptn's server-wide defaults have no equivalent). Errors name the field.
func TaskResources(t api.KeptnTask) (*api.TaskResources, error) {
	if t.Resources == nil {
		return nil, nil
	}
	list := func(l api.KeptnResourceList) map[string]string {
		m := map[string]string{}
		if l.CPU != "" {
			m[api.ResourceCPU] = l.CPU
		}
		if l.Memory != "" {
			m[api.ResourceMemory] = l.Memory
		}
		if len(m) == 0 {
			return nil
		}
		return m
	}
	r := &api.TaskResources{Requests: list(t.Resources.Requests), Limits: list(t.Resources.Limits)}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// TaskKubernetes are the Kubernetes settings of a Keptn task that runplane's tasks have too: imagePullPolicy and
// serviceAccount; nil when it sets neither.
func TaskKubernetes(t api.KeptnTask) *api.TaskKubernetes {
	if t.ImagePullPolicy == "" && (t.ServiceAccount == nil || *t.ServiceAccount == "") {
		return nil
	}
	k := &api.TaskKubernetes{ImagePullPolicy: t.ImagePullPolicy}
	if t.ServiceAccount != nil {
		k.ServiceAccount = *t.ServiceAccount
	}
	return k
}
