package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runplane/runplane/api"
)

// SupportedAPIVersion is the only job-executor config version there is.
const SupportedAPIVersion = "v2"

// KindEventRules is the kind of a rule set in `runplane apply`.
const KindEventRules = "EventRules"

// MaxConfigBytes bounds a config or rule set document.
const MaxConfigBytes = 1 << 20

// ruleDoc is a rule set document: Keptn's config keys, the rule set's own (name, owner, multiple, runner), and
// what a document from `apply` or a GET may also carry.
type ruleDoc struct {
	Kind           string `json:"kind,omitempty" yaml:"kind,omitempty"`
	api.EventRules `yaml:",inline"`
	// What a GET answers besides, read and ignored so that a rule set read can be written back.
	CreatedAt any `json:"created_at,omitempty" yaml:"created_at,omitempty"`
	UpdatedAt any `json:"updated_at,omitempty" yaml:"updated_at,omitempty"`
}

// keptnDoc is exactly Keptn's job/config.yaml.
type keptnDoc struct {
	APIVersion *string           `yaml:"apiVersion"`
	Actions    []api.KeptnAction `yaml:"actions"`
}

// ParseConfig reads a Keptn job-executor config (job/config.yaml) as the job-executor-service does: strictly
// (unknown and repeated keys are errors) with apiVersion v2; then it checks what runplane needs to run it
// (Validate). Errors are *api.InvalidError.
func ParseConfig(b []byte) (api.EventRules, error) {
	var d keptnDoc
	if err := decodeYAML(b, &d); err != nil {
		return api.EventRules{}, err
	}
	if d.APIVersion == nil {
		return api.EventRules{}, api.Invalidf("apiVersion must be specified")
	}
	r := api.EventRules{APIVersion: *d.APIVersion, Actions: d.Actions}
	return r, Validate(r)
}

// ParseRules reads a rule set: a Keptn config plus name, owner (ignored: the server sets it), multiple and
// runner, and kind (EventRules, when given). isJSON reads JSON (unknown keys refused too), else YAML.
func ParseRules(b []byte, isJSON bool) (api.EventRules, error) {
	var d ruleDoc
	if isJSON {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			return api.EventRules{}, api.Invalidf("event rules: %v", err)
		}
		if dec.More() {
			return api.EventRules{}, api.Invalidf("event rules: data after the JSON value")
		}
	} else if err := decodeYAML(b, &d); err != nil {
		return api.EventRules{}, err
	}
	if d.Kind != "" && d.Kind != KindEventRules {
		return api.EventRules{}, api.Invalidf("kind %q: want %s", d.Kind, KindEventRules)
	}
	if d.APIVersion == "" && d.Path == "" {
		return api.EventRules{}, api.Invalidf("apiVersion must be specified (or path, naming the config in the runner's repository)")
	}
	if err := Validate(d.EventRules); err != nil {
		return api.EventRules{}, err
	}
	if err := needsRunner(d.EventRules); err != nil {
		return api.EventRules{}, err
	}
	return d.EventRules, nil
}

// needsRunner refuses files in a rule set without a runner: they are read from the runner's repository.
func needsRunner(r api.EventRules) error {
	if r.Runner != "" {
		return nil
	}
	for i, a := range r.Actions {
		for j, t := range a.Tasks {
			if len(t.Files) > 0 {
				return api.Invalidf("actions[%d].tasks[%d].files: files are read from the runner's repository: name the rule set's runner", i, j)
			}
		}
	}
	return nil
}

// decodeYAML decodes one YAML document strictly.
func decodeYAML(b []byte, v any) error {
	if len(b) > MaxConfigBytes {
		return api.Invalidf("config: larger than %d bytes", MaxConfigBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return api.Invalidf("config: empty document")
	}
	if err != nil {
		return api.Invalidf("config: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return api.Invalidf("config: one document expected")
	}
	return nil
}

// Validate checks a rule set as Keptn would run it and as runplane must: apiVersion v2, regular expressions and
// JSONPaths that compile, env entries of a known source and format, a container per task. Errors name the field.
func Validate(r api.EventRules) error {
	if r.Path != "" {
		return validatePath(r)
	}
	if r.APIVersion != SupportedAPIVersion {
		return api.Invalidf("apiVersion %s is not supported, use %s", r.APIVersion, SupportedAPIVersion)
	}
	for i, a := range r.Actions {
		at := fmt.Sprintf("actions[%d]", i)
		if len(a.Events) == 0 {
			return api.Invalidf("%s.events: at least one event is required", at)
		}
		for j, e := range a.Events {
			if _, err := regexp.Compile(e.Name); err != nil {
				return api.Invalidf("%s.events[%d].name: %v", at, j, err)
			}
			if e.JSONPath.Property != "" {
				if _, err := ParsePath(e.JSONPath.Property); err != nil {
					return api.Invalidf("%s.events[%d].jsonpath.property: %v", at, j, err)
				}
			}
		}
		if len(a.Tasks) == 0 {
			return api.Invalidf("%s.tasks: at least one task is required", at)
		}
		if len(a.Tasks) > api.MaxContainers {
			return api.Invalidf("%s.tasks: %d tasks, at most %d", at, len(a.Tasks), api.MaxContainers)
		}
		for j, t := range a.Tasks {
			if err := validateTask(fmt.Sprintf("%s.tasks[%d]", at, j), t); err != nil {
				return err
			}
		}
	}
	return nil
}

// validatePath checks a rule set whose config is read from its runner's repository: a runner, a relative path,
// and no actions of its own (the file has them).
func validatePath(r api.EventRules) error {
	if r.Runner == "" {
		return api.Invalidf("path: the config is read from the runner's repository: name the runner")
	}
	if len(r.Actions) > 0 || r.APIVersion != "" {
		return api.Invalidf("path: the config's apiVersion and actions are in the file; give path or actions, not both")
	}
	if !validRepoPath(r.Path) {
		return api.Invalidf("path: %q is not a file path inside the repository", r.Path)
	}
	return nil
}

// validRepoPath reports whether p names something inside a repository: relative (a leading "/" is the root, as
// Keptn reads resource paths), no "." or ".." element, no NUL.
func validRepoPath(p string) bool {
	p = strings.TrimLeft(p, "/")
	if p == "" || len(p) > 4096 || strings.IndexByte(p, 0) >= 0 {
		return false
	}
	for _, el := range strings.Split(strings.TrimRight(p, "/"), "/") {
		if el == "" || el == "." || el == ".." {
			return false
		}
	}
	return true
}

func validateTask(at string, t api.KeptnTask) error {
	if t.Image == "" && len(t.Cmd) == 0 {
		return api.Invalidf("%s: needs an image, a cmd, or both", at)
	}
	if t.WorkingDir != "" && !strings.HasPrefix(t.WorkingDir, "/") {
		return api.Invalidf("%s.workingDir: %q is not an absolute path", at, t.WorkingDir)
	}
	if t.MaxPollDuration != nil && *t.MaxPollDuration < 0 {
		return api.Invalidf("%s.maxPollDuration: %d is negative", at, *t.MaxPollDuration)
	}
	for _, f := range t.Files {
		if !validRepoPath(f) {
			return api.Invalidf("%s.files: %q is not a path inside the repository", at, f)
		}
	}
	if _, err := TaskResources(t); err != nil {
		return api.Invalidf("%s.%v", at, err)
	}
	switch t.ImagePullPolicy {
	case "", api.PullAlways, api.PullIfNotPresent, api.PullNever:
	default:
		return api.Invalidf("%s.imagePullPolicy: %q: want Always, IfNotPresent or Never", at, t.ImagePullPolicy)
	}
	if k := TaskKubernetes(t); k != nil {
		if err := k.Validate(); err != nil {
			return api.Invalidf("%s.%s", at, strings.TrimPrefix(err.Error(), "kubernetes."))
		}
	}
	for k, e := range t.Env {
		eat := fmt.Sprintf("%s.env[%d]", at, k)
		if err := api.ValidateEnvName(e.Name); err != nil {
			return api.Invalidf("%s.name: %s", eat, strings.TrimPrefix(err.Error(), "env name "))
		}
		switch e.ValueFrom {
		case api.EnvFromEvent:
			if _, err := ParsePath(e.Value); err != nil {
				return api.Invalidf("%s.value: %v", eat, err)
			}
		case api.EnvFromSecret, api.EnvFromString:
		default:
			return api.Invalidf("%s.valueFrom: %q: want event, secret or string", eat, e.ValueFrom)
		}
		switch strings.ToLower(e.As) {
		case "", "string", "json", "yaml":
		default:
			return api.Invalidf("%s.as: %q: want string, json or yaml", eat, e.As)
		}
	}
	return nil
}

// Privileged reports the first task of r that asks for a privileged container, as "actions[i].tasks[j]".
func Privileged(r api.EventRules) (string, bool) {
	for i, a := range r.Actions {
		for j, t := range a.Tasks {
			if p := t.SecurityContext.Privileged; p != nil && *p {
				return fmt.Sprintf("actions[%d].tasks[%d]", i, j), true
			}
		}
	}
	return "", false
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
