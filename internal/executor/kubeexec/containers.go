package kubeexec

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/inpod/pid1"
)

// annContainers, on a multi-container attempt's Job and pod, lists its steps in order (stepsAnnotation), so that
// a server that did not start the attempt (Recover) knows which containers are the job's and what to call them.
const annContainers = "runplane.dev/containers"

// annKeep, on an attempt's Job and pod, says Spec.Keep asked for the files the containers wrote: the pod's last
// container is containerKeep, which writes them to its log (`runplane pod keep`), for the executor to take back.
const annKeep = "runplane.dev/keep"

// keptDirs are the directories a keep container archives, by their names in the archive and under Spec.Keep.
var keptDirs = [][2]string{{"output", api.OutputDir}, {"metadata", api.MetadataDir}}

// warnNotKept starts the Result warning of an attempt whose files could not be kept.
const warnNotKept = "output files are not kept: "

// step is one container whose log is part of the attempt's output, in order: the one running a job's command, or
// one of Spec.Containers.
type step struct {
	Name      string `json:"name"`      // the user's name; "" for a command job's container (no header)
	Container string `json:"container"` // its name in the pod
	Image     string `json:"image"`
	index     int    // in Spec.Containers
	keep      bool   // the keep container: its log is the kept files, not output
}

// reserved are the names of the pod's own containers.
var reserved = map[string]bool{containerCheckout: true, containerKeep: true}

// stepsOf is the steps of spec, with the names of their containers in the pod: the user's name when it is a
// valid container name that is free, else "step-<i>".
func stepsOf(spec executor.Spec) ([]step, error) {
	if len(spec.Containers) == 0 {
		return []step{{Container: containerJob, Image: spec.Image}}, nil
	}
	if err := api.ValidateContainers("containers", spec.Containers); err != nil {
		return nil, err
	}
	taken := map[string]bool{containerCheckout: true, containerKeep: true}
	for _, c := range spec.Containers {
		if isDNSLabel(c.Name) && !reserved[c.Name] {
			taken[c.Name] = true
		}
	}
	steps := make([]step, len(spec.Containers))
	for i, c := range spec.Containers {
		image := c.Image
		if image == "" {
			image = spec.Image
		}
		if image == "" {
			return nil, fmt.Errorf("container %s has no image and the runner has none: the Kubernetes executor runs containers in images", c.Name)
		}
		name := c.Name
		if !isDNSLabel(name) || reserved[name] {
			name = fmt.Sprintf("step-%d", i)
			for n := 2; taken[name]; n++ {
				name = fmt.Sprintf("step-%d-%d", i, n)
			}
			taken[name] = true
		}
		steps[i] = step{Name: c.Name, Container: name, Image: image, index: i}
	}
	return steps, nil
}

func stepsAnnotation(steps []step) string {
	b, _ := json.Marshal(steps)
	return string(b)
}

// stepsFromAnnotations reads a Job's or pod's annotations back: nil for a command job (or an annotation that is
// not ours), whose one step is the "job" container.
func stepsFromAnnotations(ann map[string]string) []step {
	v, ok := ann[annContainers]
	if !ok {
		return nil
	}
	var steps []step
	if err := json.Unmarshal([]byte(v), &steps); err != nil || len(steps) == 0 {
		return nil
	}
	for i := range steps {
		steps[i].index = i
	}
	return steps
}

// commandStep is the one step of a command job.
var commandStep = []step{{Container: containerJob}}

// header is the line before a container's output in a multi-container job's log, as every executor writes it.
func header(s step) string {
	return executor.ContainerHeader(api.Container{Name: s.Name, Image: s.Image})
}

// inputFiles names the Secret keys of spec's input files (".input.<i>", by sorted name) and the file each
// becomes; it refuses names that are not plain base names, and more than executor.MaxInputFiles bytes.
func inputFiles(files map[string][]byte) ([]corev1.KeyToPath, error) {
	if err := executor.ValidateInputFiles(files); err != nil {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(files))
	items := make([]corev1.KeyToPath, len(names))
	for i, n := range names {
		items[i] = corev1.KeyToPath{Key: fmt.Sprintf(".input.%d", i), Path: n}
	}
	return items, nil
}

// withEnv is base with add after it; a name in add replaces base's.
func withEnv(base []corev1.EnvVar, add api.EnvVars) []corev1.EnvVar {
	if len(add) == 0 {
		return base
	}
	set := make(map[string]bool, len(add))
	for _, v := range add {
		set[v.Name] = true
	}
	out := make([]corev1.EnvVar, 0, len(base)+len(add))
	for _, v := range base {
		if !set[v.Name] {
			out = append(out, v)
		}
	}
	for _, v := range add {
		out = append(out, corev1.EnvVar{Name: v.Name, Value: v.Value})
	}
	return out
}

// containerStatuses is how each step ran, by the pod's statuses; steps never started have their name only. A
// step whose container started together with the one before it (podShape) waited for it: it counts as started when
// its command did (its runplane-pid1 reports when), and one that did not run its command has its name only.
func containerStatuses(p *corev1.Pod, steps []step) []api.ContainerStatus {
	by := map[string]corev1.ContainerStatus{}
	regular := map[string]bool{}
	if p != nil {
		for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
			by[cs.Name] = cs
		}
		for _, c := range p.Spec.Containers {
			regular[c.Name] = true
		}
	}
	out := make([]api.ContainerStatus, len(steps))
	for i, s := range steps {
		out[i] = api.ContainerStatus{Name: s.Name}
		cs, ok := by[s.Container]
		if !ok {
			continue
		}
		waited := i > 0 && regular[s.Container] && regular[steps[i-1].Container]
		switch {
		case cs.State.Terminated != nil:
			t := cs.State.Terminated
			rep := pid1.ParseReport(t.Message)
			if rep.NotRun != "" {
				continue
			}
			out[i].ExitCode = new(int)
			*out[i].ExitCode = int(t.ExitCode)
			switch {
			case !rep.Started.IsZero():
				out[i].StartTime = new(rep.Started)
			case !t.StartedAt.IsZero():
				out[i].StartTime = new(t.StartedAt.Time)
			}
			switch {
			case !rep.Ended.IsZero():
				out[i].CompletionTime = new(rep.Ended)
			case !t.FinishedAt.IsZero():
				out[i].CompletionTime = new(t.FinishedAt.Time)
			}
			if t.Reason != "Completed" && t.Reason != "Error" {
				out[i].Reason = t.Reason
			}
		case cs.State.Running != nil && !waited:
			out[i].StartTime = new(cs.State.Running.StartedAt.Time)
		case cs.State.Running != nil:
			// It runs its command once the one before ended well, and waits (or will not run) until then.
			prev := out[i-1]
			if prev.ExitCode == nil || *prev.ExitCode != 0 || prev.CompletionTime == nil {
				continue
			}
			start := cs.State.Running.StartedAt.Time
			if prev.CompletionTime.After(start) {
				start = *prev.CompletionTime
			}
			out[i].StartTime = new(start)
		}
	}
	return out
}
