package executor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/runplane/runplane/api"
)

// ContainerHeader is the line written to a job's output before the output of each of its containers (Spec.
// Containers), in every executor: "==> container NAME (IMAGE)\n", or "==> container NAME\n" for a container
// without an image. It depends on the container alone, so a log reads the same whichever executor ran the job.
func ContainerHeader(c api.Container) string {
	if c.Image == "" {
		return "==> container " + c.Name + "\n"
	}
	return "==> container " + c.Name + " (" + c.Image + ")\n"
}

// SharedDirs are where the containers of one attempt find the input, output and metadata directories.
type SharedDirs struct {
	Input, Output, Metadata string
}

// MountedDirs are the shared directories where an executor mounts them (api.InputDir, ...).
var MountedDirs = SharedDirs{Input: api.InputDir, Output: api.OutputDir, Metadata: api.MetadataDir}

// Env names the directories: RUNPLANE_INPUT_DIR, RUNPLANE_OUTPUT_DIR and RUNPLANE_METADATA_DIR.
func (d SharedDirs) Env() []string {
	return []string{api.EnvInputDir + "=" + d.Input, api.EnvOutputDir + "=" + d.Output, api.EnvMetadataDir + "=" + d.Metadata}
}

// ContainerEnv is the environment of container c of spec, as NAME=value: c.Env first, then platform (what the
// executor adds: PATH, HOME, ...), then the job contract's (Spec.Env: identity, EXTRA_VARS, ExtraEnv, secrets)
// and the shared directories' (dirs.Env). A later name replaces an earlier one, so a container's own env never
// overrides the platform's or the contract's (the API refuses such names up front; this holds for any Spec).
// The order of first appearance is kept.
func ContainerEnv(spec Spec, c api.Container, dirs SharedDirs, platform ...string) []string {
	layers := [][]string{nil, platform, spec.Env(), dirs.Env()}
	for _, v := range c.Env {
		layers[0] = append(layers[0], v.Name+"="+v.Value)
	}
	var out []string
	at := map[string]int{}
	for _, l := range layers {
		for _, kv := range l {
			name, _, _ := strings.Cut(kv, "=")
			if i, ok := at[name]; ok {
				out[i] = kv
				continue
			}
			at[name] = len(out)
			out = append(out, kv)
		}
	}
	return out
}

// ContainerStatuses returns the statuses of cs before any ran: their names only.
func ContainerStatuses(cs []api.Container) []api.ContainerStatus {
	if len(cs) == 0 {
		return nil
	}
	out := make([]api.ContainerStatus, len(cs))
	for i, c := range cs {
		out[i].Name = c.Name
	}
	return out
}

// ErrNeedsImage is wrapped by the Start error of executors without images (local processes) for a container
// that has no command: only its image's entrypoint could run it.
var ErrNeedsImage = errors.New("executor: the container has no command")

// validateContainers checks what Validate needs of a spec's containers and input files.
func (s Spec) validateContainers() error {
	if len(s.Containers) == 0 {
		if len(s.InputFiles) > 0 {
			return errors.New("input files need containers")
		}
		return nil
	}
	if s.Command != "" {
		return errors.New("a command and containers: want one of them")
	}
	if err := api.ValidateContainers("containers", s.Containers); err != nil {
		return err
	}
	return ValidateInputFiles(s.InputFiles)
}

func (s Spec) validateExtraEnv() error {
	for _, kv := range s.ExtraEnv {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" || strings.IndexByte(kv, 0) >= 0 {
			return fmt.Errorf("extra env %.40q: want NAME=value without NUL bytes", kv)
		}
	}
	return nil
}

// MaxInputFiles bounds the bytes Spec.InputFiles may hold in all, in every executor: on Kubernetes they travel in
// the attempt's Secret, which the API server limits to 1 MiB (with the job's secrets).
const MaxInputFiles = 900 << 10

// ValidateInputFiles checks Spec.InputFiles: relative paths (ValidateInputFileName) of which none is a directory of
// another, MaxInputFiles bytes in all.
func ValidateInputFiles(files map[string][]byte) error {
	size := 0
	for name, b := range files {
		if err := ValidateInputFileName(name); err != nil {
			return err
		}
		size += len(b)
	}
	if c := InputFilesConflict(files); c != "" {
		return fmt.Errorf("input file %q: also a directory of another input file", c)
	}
	if size > MaxInputFiles {
		return fmt.Errorf("input files: %d bytes, over the %d KiB a job can carry", size, MaxInputFiles>>10)
	}
	return nil
}

// ValidateInputFileName checks the name of one of Spec.InputFiles: a relative, slash-separated path inside the
// input directory (a plain name, or Keptn's locust/basic.py), no empty, "." or ".." element, none starting with
// ".." (Kubernetes keeps a Secret volume's own files under such names), at most 255 bytes an element.
func ValidateInputFileName(name string) error {
	if name == "" || len(name) > 4096 || strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("input file %q: want a relative path", name)
	}
	for _, el := range strings.Split(name, "/") {
		if el == "" || el == "." || strings.HasPrefix(el, "..") || len(el) > 255 {
			return fmt.Errorf("input file %q: want a relative path of plain names", name)
		}
	}
	return nil
}

// InputFilesConflict reports a name of files that is also a directory of another's path ("a" and "a/b"), which
// no directory can hold both of; "" when there is none.
func InputFilesConflict(files map[string][]byte) string {
	for name := range files {
		for dir := name; ; {
			i := strings.LastIndexByte(dir, '/')
			if i < 0 {
				break
			}
			dir = dir[:i]
			if _, ok := files[dir]; ok {
				return dir
			}
		}
	}
	return ""
}

// MakeParents creates the directories of input file name (a relative path, ValidateInputFileName) under dir,
// each owned by uid:gid unless uid is -1, so that a job's user can write beside its input as in the input
// directory itself.
func MakeParents(dir, name string, uid, gid int) error {
	p := dir
	els := strings.Split(name, "/")
	for _, el := range els[:len(els)-1] {
		p = filepath.Join(p, el)
		if err := os.Mkdir(p, 0o755); err != nil {
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return err
		}
		if uid >= 0 {
			if err := os.Lchown(p, uid, gid); err != nil {
				return err
			}
		}
	}
	return nil
}

// ErrNeedsPod is wrapped by the Start error of executors without pods (local processes, podman) for a container
// whose kubernetes settings only a pod can give (api.ContainerKubernetes.NeedsPod).
var ErrNeedsPod = errors.New("executor: the container needs a Kubernetes pod")

// CheckNeedsPod refuses containers that need a pod, naming the first and what it needs; executor names the
// executor in the message ("the local executor").
func CheckNeedsPod(cs []api.Container, executor string) error {
	for _, c := range cs {
		if need := c.Kubernetes.NeedsPod(); need != "" {
			return fmt.Errorf("container %s sets kubernetes %s, which %s cannot give: run such jobs with the kubernetes executor: %w",
				c.Name, need, executor, ErrNeedsPod)
		}
	}
	return nil
}
