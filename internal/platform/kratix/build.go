package kratix

import (
	"fmt"
	"time"

	"github.com/runplane/runplane/api"
)

// DefaultResources are the requests and limits Kratix gives a pipeline container that sets none
// (v1alpha1.DefaultResourceRequirements). They apply where pods run (the Kubernetes executor).
func DefaultResources() *api.ResourceRequirements {
	return &api.ResourceRequirements{
		Requests: map[string]string{"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "128Mi"},
		Limits:   map[string]string{"cpu": "200m", "memory": "256Mi", "ephemeral-storage": "256Mi"},
	}
}

// maxRetries is the most retries a workflow step may have (workflow.MaxRetries): a larger backoffLimit is cut to it.
const maxRetries = 10

// Input is what Build needs: the workflow's target, the object its pipelines read and the pipelines.
type Input struct {
	// Name is the workflow's name (runs.Request.Workflow and its Definition's Name); "" is WorkflowName's (with
	// the pipeline's name for BuildPipeline).
	Name   string
	Target Target
	// Object is the object as ObjectYAML takes it: the request, or the promise for a promise workflow. Kratix's
	// reader reads it afresh before each pipeline: to give a pipeline what earlier ones set in the status, build
	// and run each pipeline on its own (BuildPipeline) with the object as it is then.
	Object any
	// Pipelines are the workflow's pipelines, in order (the promise's spec.workflows.<type>.<action>).
	Pipelines []api.Pipeline
	// Timeout bounds each pipeline's job; 0: the server's default job timeout.
	Timeout time.Duration
}

// ToRun returns the pipelines of a workflow that run: all of them for configure; for delete the first only, with a
// warning when there are more, as Kratix's ReconcileDelete does.
func ToRun(a Action, ps []api.Pipeline) (run []api.Pipeline, warning string) {
	if a == ActionDelete && len(ps) > 1 {
		return ps[:1], fmt.Sprintf("%d delete pipelines: only the first (%s) runs, as in Kratix", len(ps), ps[0].Metadata.Name)
	}
	return ps, ""
}

// Names are the names of pipelines, for ResetPipelines and AfterPipeline.
func Names(ps []api.Pipeline) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Metadata.Name
	}
	return out
}

// Build returns the inline workflow of in: one step per pipeline that runs (ToRun), in order, each depending on the
// one before (so the first failure ends the run), each step one job of the pipeline's containers in order, with
// object.yaml (ObjectYAML of in.Object) as its input file (/kratix/input/object.yaml), and each container's env
// the KRATIX_* variables (Env) followed by its own (its own replacing a KRATIX_* variable it sets again, as
// Kubernetes lets the later of two entries win). Pod-only container settings (valueFrom, envFrom, volumeMounts,
// securityContext, imagePullPolicy, resources) go to the container's kubernetes settings, Kratix's default
// resources where it sets none; the pipeline's imagePullSecrets, nodeSelector, tolerations and volumes to the
// step's, and, for a pipeline that asked for rbac, its service account (ServiceAccountOf) with its token;
// jobOptions.backoffLimit becomes the step's retries (at most 10). Not carried: restartPolicy (a step's job is
// attempted again by its retries instead), rbac.permissions (the controller grants them on Kubernetes, Access)
// and the pipeline's labels and annotations. Errors name the pipeline and field.
func Build(in Input) (api.Workflow, error) {
	obj, err := ObjectYAML(in.Object)
	if err != nil {
		return api.Workflow{}, err
	}
	ps, _ := ToRun(in.Target.Action, in.Pipelines)
	if len(ps) == 0 {
		return api.Workflow{}, api.Invalidf("no %s %s pipelines to run", in.Target.Type, in.Target.Action)
	}
	if in.Name == "" {
		in.Name = WorkflowName(in.Target, "")
	}
	w := api.Workflow{Name: in.Name, Description: describe(in.Target)}
	seen := map[string]bool{}
	for i, p := range ps {
		s, err := step(in, p, obj)
		if err != nil {
			return api.Workflow{}, err
		}
		if seen[s.Name] {
			return api.Workflow{}, api.Invalidf("pipelines[%d]: name %q is used twice", i, s.Name)
		}
		seen[s.Name] = true
		if i > 0 {
			s.DependsOn = api.Strings{ps[i-1].Metadata.Name}
		}
		w.Steps = append(w.Steps, s)
	}
	return w, nil
}

// BuildPipeline returns the workflow of pipeline i of in.Pipelines alone: Build's step for it, with the object as
// in.Object is now. A controller that runs a workflow pipeline by pipeline (as Kratix does, reading the object
// before each, so that a pipeline sees the status earlier ones wrote) runs one of these for each.
func BuildPipeline(in Input, i int) (api.Workflow, error) {
	if i < 0 || i >= len(in.Pipelines) {
		return api.Workflow{}, fmt.Errorf("kratix: build: no pipeline %d", i)
	}
	obj, err := ObjectYAML(in.Object)
	if err != nil {
		return api.Workflow{}, err
	}
	s, err := step(in, in.Pipelines[i], obj)
	if err != nil {
		return api.Workflow{}, err
	}
	if in.Name == "" {
		in.Name = WorkflowName(in.Target, s.Name)
	}
	return api.Workflow{Name: in.Name, Description: describe(in.Target) + ": " + s.Name, Steps: []api.Step{s}}, nil
}

func describe(t Target) string {
	obj := t.Name
	if t.Namespace != "" {
		obj = t.Namespace + "/" + t.Name
	}
	return fmt.Sprintf("Kratix %s %s workflow of promise %s for %s %s", t.Type, t.Action, t.Promise, t.Kind, obj)
}

// step is the workflow step of pipeline p: one job of its containers.
func step(in Input, p api.Pipeline, obj []byte) (api.Step, error) {
	name := p.Metadata.Name
	at := fmt.Sprintf("pipeline %q", name)
	if err := api.ValidateName(name); err != nil {
		return api.Step{}, api.Invalidf("%s: metadata.name: %s", at, err.Error())
	}
	if len(p.Spec.Containers) == 0 {
		return api.Step{}, api.Invalidf("%s: spec.containers: at least one container is required", at)
	}
	s := api.Step{
		Name:    name,
		Files:   map[string][]byte{ObjectFile: obj},
		Timeout: api.Duration(in.Timeout),
	}
	kratixEnv := Env(in.Target, name)
	for i, pc := range p.Spec.Containers {
		c, err := container(pc, kratixEnv)
		if err != nil {
			return api.Step{}, api.Invalidf("%s: spec.containers[%d]: %s", at, i, err.Error())
		}
		s.Containers = append(s.Containers, c)
	}
	if err := api.ValidateContainers(at+": spec.containers", s.Containers); err != nil {
		return api.Step{}, err
	}
	k := &api.TaskKubernetes{NodeSelector: p.Spec.NodeSelector, Tolerations: p.Spec.Tolerations, Volumes: p.Spec.Volumes}
	for _, ps := range p.Spec.ImagePullSecrets {
		k.ImagePullSecrets = append(k.ImagePullSecrets, ps.Name)
	}
	if sa := ServiceAccountOf(in.Target.Promise, in.Target.Type, in.Target.Action, p); sa != "" {
		k.ServiceAccount = sa
	}
	if err := k.Validate(); err != nil {
		return api.Step{}, api.Invalidf("%s: spec: %s", at, err.Error())
	}
	// After Validate: a token is refused to tasks and saved workflows, given to the pipelines that asked for rbac.
	k.ServiceAccountToken = k.ServiceAccount != ""
	if !k.IsZero() {
		s.Kubernetes = k
	}
	if o := p.Spec.JobOptions; o != nil && o.BackoffLimit != nil {
		if *o.BackoffLimit < 0 {
			return api.Step{}, api.Invalidf("%s: spec.jobOptions.backoffLimit: must not be negative", at)
		}
		s.Retries = min(int(*o.BackoffLimit), maxRetries)
	}
	return s, nil
}

// container is the job container of a pipeline's container pc.
func container(pc api.PipelineContainer, kratixEnv api.EnvVars) (api.Container, error) {
	c := api.Container{Name: pc.Name, Image: pc.Image, Command: pc.Command, Args: pc.Args, WorkingDir: pc.WorkingDir}
	own := map[string]bool{}
	for _, v := range pc.Env {
		own[v.Name] = true
	}
	for _, v := range kratixEnv {
		if !own[v.Name] {
			c.Env = append(c.Env, v)
		}
	}
	k := &api.ContainerKubernetes{EnvFrom: pc.EnvFrom, VolumeMounts: pc.VolumeMounts, SecurityContext: pc.SecurityContext,
		ImagePullPolicy: pc.ImagePullPolicy, Resources: pc.Resources}
	for _, v := range pc.Env {
		if len(v.ValueFrom) > 0 {
			if v.Value != "" {
				return api.Container{}, fmt.Errorf("env %s: value and valueFrom: want one of them", v.Name)
			}
			k.Env = append(k.Env, api.KubeEnvVar{Name: v.Name, ValueFrom: v.ValueFrom})
			continue
		}
		c.Env = append(c.Env, api.EnvVar{Name: v.Name, Value: v.Value})
	}
	if k.Resources == nil {
		k.Resources = DefaultResources()
	}
	c.Kubernetes = k
	return c, nil
}
