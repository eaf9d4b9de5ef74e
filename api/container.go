package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Container is one step of a multi-container job: Kratix's Pipeline container, Keptn's action task, Relay's
// step image. A job's containers run in order in one workspace, sharing the input, output and metadata
// directories (ContainerDirs); the first that fails ends the job.
type Container struct {
	Name string `json:"name"`
	// Image runs the container in container executors (podman, Kubernetes); the local process modes ignore it.
	Image string `json:"image,omitempty"`
	// Command replaces the image's entrypoint; empty runs the entrypoint (container executors only).
	Command []string `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	Env     EnvVars  `json:"env,omitempty"`
	// WorkingDir is where the container starts; empty: the checkout when the job has a runner, else the
	// workspace's root.
	WorkingDir string `json:"workingDir,omitempty"`
	// Kubernetes are settings only a pod can take (a Kratix pipeline's container's envFrom, volumeMounts, ...).
	Kubernetes *ContainerKubernetes `json:"kubernetes,omitempty"`
}

// The directories every container of a job shares, where the executor can mount them (Kubernetes, podman), and the
// environment variables that always name them (every executor). KratixDirs are the same three directories, for
// pipelines written for Kratix.
const (
	InputDir    = "/runplane/input"
	OutputDir   = "/runplane/output"
	MetadataDir = "/runplane/metadata"

	EnvInputDir    = "RUNPLANE_INPUT_DIR"
	EnvOutputDir   = "RUNPLANE_OUTPUT_DIR"
	EnvMetadataDir = "RUNPLANE_METADATA_DIR"

	KratixInputDir    = "/kratix/input"
	KratixOutputDir   = "/kratix/output"
	KratixMetadataDir = "/kratix/metadata"

	// KeptnDir is the input directory again, where Keptn's job-executor puts a task's files (/keptn/<path>).
	KeptnDir = "/keptn"
)

// MaxContainers bounds the containers of one job.
const MaxContainers = 32

// EnvVar is one environment variable, in Kubernetes' form.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// EnvVars is a container's environment. It reads Kubernetes' list form ([{name, value}]) and Relay's and Keptn's
// map form ({NAME: value}, written sorted), and writes the list form.
type EnvVars []EnvVar

// UnmarshalJSON reads a list of {name, value} or a map of names to values.
func (e *EnvVars) UnmarshalJSON(b []byte) error {
	if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "{") {
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("env: %w", err)
		}
		out := make(EnvVars, 0, len(m))
		for k, v := range m {
			out = append(out, EnvVar{Name: k, Value: v})
		}
		slices.SortFunc(out, func(a, b EnvVar) int { return strings.Compare(a.Name, b.Name) })
		*e = out
		return nil
	}
	var l []EnvVar
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("env: %w", err)
	}
	*e = l
	return nil
}

// ValidateEnvName checks a container's environment variable name as Kubernetes does (letters, digits, '_', '-'
// and '.', not starting with a digit: Keptn's job configs name variables "E2E-jsonPathLabel"), and that it is not
// one runplane sets.
func ValidateEnvName(name string) error {
	if name == "" || len(name) > 253 {
		return Invalidf("env name %.20q: want 1 to 253 characters", name)
	}
	for i, c := range name {
		ok := c == '_' || c == '-' || c == '.' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(i > 0 && c >= '0' && c <= '9')
		if !ok {
			return Invalidf("env name %q: use letters, digits, '_', '-' and '.', not starting with a digit", name)
		}
	}
	if reservedEnv(name) {
		return Invalidf("env name %q: reserved environment variable", name)
	}
	return nil
}

// Validate checks the names and values of e as what they become: one environment variable each.
func (e EnvVars) Validate(what string) error {
	seen := make(map[string]bool, len(e))
	for i, v := range e {
		if err := ValidateEnvName(v.Name); err != nil {
			return Invalidf("%s.env[%d]: %s", what, i, err.Error())
		}
		if seen[v.Name] {
			return Invalidf("%s.env[%d]: %s is set twice", what, i, v.Name)
		}
		seen[v.Name] = true
		if err := checkEnvValue(fmt.Sprintf("%s.env[%d]", what, i), v.Name, v.Value); err != nil {
			return err
		}
	}
	return nil
}

// ValidateContainers checks a job's list of containers: 1 to MaxContainers, unique valid names, no NUL bytes.
// what names the field in errors ("containers", "steps[2].containers").
func ValidateContainers(what string, cs []Container) error {
	if len(cs) == 0 {
		return Invalidf("%s: at least one container is required", what)
	}
	if len(cs) > MaxContainers {
		return Invalidf("%s: %d containers, at most %d", what, len(cs), MaxContainers)
	}
	seen := make(map[string]bool, len(cs))
	for i, c := range cs {
		at := fmt.Sprintf("%s[%d]", what, i)
		if err := ValidateName(c.Name); err != nil {
			return Invalidf("%s.name: %s", at, err.Error())
		}
		if seen[c.Name] {
			return Invalidf("%s.name: %q is used twice", at, c.Name)
		}
		seen[c.Name] = true
		if c.Image == "" && len(c.Command) == 0 {
			return Invalidf("%s: needs an image, a command, or both", at)
		}
		for _, s := range append(append([]string{c.Image, c.WorkingDir}, c.Command...), c.Args...) {
			if strings.IndexByte(s, 0) >= 0 {
				return Invalidf("%s: must not contain NUL bytes", at)
			}
		}
		if c.WorkingDir != "" && !strings.HasPrefix(c.WorkingDir, "/") {
			return Invalidf("%s.workingDir: %q is not an absolute path", at, c.WorkingDir)
		}
		if err := c.Env.Validate(at); err != nil {
			return err
		}
		if err := c.Kubernetes.validate(at, c.Env); err != nil {
			return err
		}
	}
	return nil
}

// ContainerStatus is how one container of a job ran. A container that never started (an earlier one failed)
// has no times and no exit code.
type ContainerStatus struct {
	Name           string     `json:"name"`
	ExitCode       *int       `json:"exit_code,omitempty"`
	StartTime      *time.Time `json:"start_time,omitempty"`
	CompletionTime *time.Time `json:"completion_time,omitempty"`
	Reason         string     `json:"reason,omitempty"`
}
