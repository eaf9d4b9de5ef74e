package jobs

import (
	"context"
	"fmt"
	"io"
	"maps"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/store"
)

// prepare turns a claimed job, its task and its runner (the zero Runner for a task without one) into what the
// executor runs, writing its output to out, and the values to mask in its log.
func (e *Engine) prepare(ctx context.Context, job store.Job, task api.Task, runner api.Runner, out io.Writer) (executor.Spec, []string, error) {
	spec := executor.Spec{
		JobID:      job.ID,
		Task:       task.Name,
		Runner:     runner.Name,
		Owner:      job.Owner,
		Image:      runner.Image,
		Repo:       executor.Repo{URL: runner.GitURL, Branch: runner.Branch, Token: runner.Token},
		Command:    task.Command,
		Containers: task.Containers,
		ExtraVars:  job.Input,
		Secrets:    runner.Secret,
		Timeout:    e.timeout(task),
		Output:     out,
		Kubernetes: podSettings(task),
		Limits:     limits(task),
		Network:    task.Network,
		PullSecret: runner.ImagePullSecret,
		InputFiles: job.InputFiles,
	}
	masks := secretValues(runner)
	discard := false
	if job.Run != "" && e.opts.StepEnv != nil {
		step, err := e.opts.StepEnv(ctx, job)
		if err != nil {
			return executor.Spec{}, nil, fmt.Errorf("step %s of run %s: %w", job.Step, job.Run, err)
		}
		discard = step.DiscardFiles
		spec.ExtraEnv = step.Env
		if len(step.Secrets) > 0 {
			merged := make(map[string]string, len(runner.Secret)+len(step.Secrets))
			maps.Copy(merged, runner.Secret)
			maps.Copy(merged, step.Secrets)
			spec.Secrets = merged
			masks = append(masks, values(step.Secrets)...)
		}
		masks = append(masks, step.Masks...)
		spec.Timeout = shorter(spec.Timeout, step.Timeout)
	}
	if len(task.Containers) > 0 && e.opts.Files != nil && !discard {
		keep, err := e.opts.Files.Prepare(job.ID)
		if err != nil {
			return executor.Spec{}, nil, err
		}
		spec.Keep = keep
	}
	return spec, masks, nil
}

// shorter is the shorter of two timeouts, where 0 is no limit.
func shorter(a, b time.Duration) time.Duration {
	if a <= 0 || (b > 0 && b < a) {
		return b
	}
	return a
}

// timeout is how long a job of task may run: the task's timeout, else the server's default; 0 is no limit.
func (e *Engine) timeout(task api.Task) time.Duration {
	if task.Timeout > 0 {
		return time.Duration(task.Timeout)
	}
	return e.opts.DefaultTimeout
}

// limits are the task's effective resource limits (its resources, else its kubernetes.resources) as numbers.
func limits(task api.Task) executor.Limits {
	r := task.EffectiveLimits()
	return executor.Limits{
		CPU:    r.LimitValue(api.ResourceCPU),
		Memory: r.LimitValue(api.ResourceMemory),
		Pids:   r.LimitValue(api.ResourcePids),
	}
}

// podSettings are the task's Kubernetes settings, with its resources as the pod's when it sets none there: a task
// limited for every executor is limited on Kubernetes too. pids has no pod equivalent and is left out.
func podSettings(task api.Task) *api.TaskKubernetes {
	k := task.Kubernetes
	if task.Resources.IsZero() || (k != nil && k.Resources != nil && (len(k.Resources.Requests) > 0 || len(k.Resources.Limits) > 0)) {
		return k
	}
	pod := &api.ResourceRequirements{Requests: withoutPids(task.Resources.Requests), Limits: withoutPids(task.Resources.Limits)}
	if len(pod.Requests) == 0 && len(pod.Limits) == 0 {
		return k
	}
	var merged api.TaskKubernetes
	if k != nil {
		merged = *k
	}
	merged.Resources = pod
	return &merged
}

func withoutPids(m map[string]string) map[string]string {
	var out map[string]string
	for name, q := range m {
		if name == api.ResourcePids {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(m))
		}
		out[name] = q
	}
	return out
}

// checkInputFiles refuses (400) input files for a job of task that cannot take them.
func checkInputFiles(task api.Task, files map[string][]byte) error {
	if len(files) == 0 {
		return nil
	}
	if len(task.Containers) == 0 {
		return api.Invalidf("input files need a job of containers; task %q runs a command", task.Name)
	}
	if err := executor.ValidateInputFiles(files); err != nil {
		return api.Invalidf("%v", err)
	}
	return nil
}
