package kubeexec

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/inpod"
	"github.com/runplane/runplane/internal/inpod/pid1"
)

// Paths and names inside a job's pod. The in-pod side (internal/inpod) is told them through its environment.
const (
	containerJob      = "job"
	containerCheckout = "checkout"
	containerKeep     = "keep"
	workspaceDir      = "/workspace"
	// toolsDir holds runplane-pid1. Not /runplane: the shared directories are mounted under it (api.InputDir).
	toolsDir        = "/run/runplane/bin"
	secretDir       = "/etc/secret"
	secretSrcDir    = "/run/runplane/secret-src"
	secretDstDir    = "/run/runplane/secret"
	inputSrcDir     = "/run/runplane/input-src"
	tmpDir          = "/tmp"
	runplaneInImage = "/usr/local/bin/runplane"
	// tokenKey holds the repository token in the attempt's Secret. It starts with a dot, so it can never be the
	// name of one of the runner's secrets (environment variable names), and it is never projected into the job.
	tokenKey = ".git-token"
	// jobUID runs every container: runplane's image has this user; any other image just runs as this id.
	jobUID = 65532
)

// deadlineSlack is added to a task's timeout for the Job's activeDeadlineSeconds: the engine stops a job at its
// timeout itself; the deadline is the backstop for when no runplane server is watching.
const deadlineSlack = 30 * time.Second

// objects builds the Secret (nil when the attempt needs none) and the Job of one attempt; its pod is the
// one-container pod when fast is not nil (fastPath). It is pure.
func (e *Executor) objects(name string, spec executor.Spec, fast *fastPath) (*corev1.Secret, *batchv1.Job, error) {
	k := spec.Kubernetes
	if k == nil {
		k = &api.TaskKubernetes{}
	}
	steps, err := stepsOf(spec)
	if err != nil {
		return nil, nil, err
	}
	inputs, err := inputFiles(spec.InputFiles)
	if err != nil {
		return nil, nil, err
	}
	labels := map[string]string{
		labelManagedBy: managedBy,
		labelAttempt:   name,
		labelJob:       labelValue(spec.JobID),
		labelTask:      labelValue(spec.Task),
	}
	annotations := map[string]string{annJob: spec.JobID, annTask: spec.Task, annRunner: spec.Runner, annOwner: spec.Owner}
	if len(spec.Containers) > 0 {
		annotations[annContainers] = stepsAnnotation(steps)
	}
	if spec.Keep != "" {
		annotations[annKeep] = "true"
	}
	if fast != nil {
		annotations[annLogEnd] = fast.nonce
	}
	meta := metav1.ObjectMeta{Name: name, Namespace: e.ns, Labels: labels, Annotations: annotations}

	var secret *corev1.Secret
	if fast != nil {
		// The server read the tree with the token: the pod gets the files, never the token.
		if fast.tree != nil {
			secret = &corev1.Secret{ObjectMeta: *meta.DeepCopy(), Type: corev1.SecretTypeOpaque, Immutable: ptr.To(true),
				Data: map[string][]byte{treeKey: fast.tree}}
		}
	} else if len(spec.Secrets) > 0 || spec.Repo.Token != "" || len(inputs) > 0 {
		secret = &corev1.Secret{ObjectMeta: *meta.DeepCopy(), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{}, Immutable: ptr.To(true)}
		for k, v := range spec.Secrets {
			secret.Data[k] = []byte(v)
		}
		if spec.Repo.Token != "" {
			secret.Data[tokenKey] = []byte(spec.Repo.Token)
		}
		for _, in := range inputs {
			secret.Data[in.Key] = spec.InputFiles[in.Path]
		}
	}
	keys := make([]string, 0, len(spec.Secrets))
	for k := range spec.Secrets {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	checkoutEnv := []corev1.EnvVar{
		{Name: inpod.EnvWorkspace, Value: workspaceDir},
		{Name: inpod.EnvTools, Value: toolsDir},
		{Name: "HOME", Value: tmpDir},
	}
	if spec.Repo.URL == "" {
		checkoutEnv = append(checkoutEnv, corev1.EnvVar{Name: inpod.EnvNoGit, Value: "1"})
	} else {
		branch := spec.Repo.Branch
		if branch == "" {
			branch = api.DefaultBranch
		}
		checkoutEnv = append(checkoutEnv,
			corev1.EnvVar{Name: inpod.EnvGitURL, Value: spec.Repo.URL},
			corev1.EnvVar{Name: inpod.EnvGitBranch, Value: branch})
	}
	if spec.Repo.Token != "" {
		checkoutEnv = append(checkoutEnv, secretEnv(inpod.EnvGitToken, name, tokenKey))
	}
	if len(keys) > 0 {
		checkoutEnv = append(checkoutEnv,
			corev1.EnvVar{Name: inpod.EnvSecretsSrc, Value: secretSrcDir},
			corev1.EnvVar{Name: inpod.EnvSecretsDst, Value: secretDstDir})
	}
	if len(inputs) > 0 {
		checkoutEnv = append(checkoutEnv,
			corev1.EnvVar{Name: inpod.EnvInputSrc, Value: inputSrcDir},
			corev1.EnvVar{Name: inpod.EnvInputDst, Value: api.InputDir})
	}

	jobEnv := []corev1.EnvVar{
		{Name: "HOME", Value: workspaceDir},
		{Name: "RUNPLANE_JOB_ID", Value: spec.JobID},
		{Name: "RUNPLANE_TASK", Value: spec.Task},
		{Name: "RUNPLANE_RUNNER", Value: spec.Runner},
		{Name: "RUNPLANE_OWNER", Value: spec.Owner},
	}
	if spec.ExtraVars != nil {
		jobEnv = append(jobEnv, corev1.EnvVar{Name: "EXTRA_VARS", Value: string(spec.ExtraVars)})
	}
	if len(spec.Containers) > 0 {
		jobEnv = append(jobEnv,
			corev1.EnvVar{Name: api.EnvInputDir, Value: api.InputDir},
			corev1.EnvVar{Name: api.EnvOutputDir, Value: api.OutputDir},
			corev1.EnvVar{Name: api.EnvMetadataDir, Value: api.MetadataDir})
	}
	for _, kv := range spec.ExtraEnv {
		n, v, _ := strings.Cut(kv, "=")
		jobEnv = append(jobEnv, corev1.EnvVar{Name: n, Value: v})
	}
	for _, key := range keys {
		jobEnv = append(jobEnv, secretEnv(key, name, key))
	}

	volumes := []corev1.Volume{
		emptyDir("workspace", ""),
		emptyDir("tools", ""),
		emptyDir("tmp", ""),
	}
	checkoutMounts := []corev1.VolumeMount{
		{Name: "workspace", MountPath: workspaceDir},
		{Name: "tools", MountPath: toolsDir},
		{Name: "tmp", MountPath: tmpDir},
	}
	jobMounts := []corev1.VolumeMount{
		{Name: "workspace", MountPath: workspaceDir},
		{Name: "tools", MountPath: toolsDir, ReadOnly: true},
		{Name: "tmp", MountPath: tmpDir},
	}
	if len(keys) > 0 {
		items := make([]corev1.KeyToPath, len(keys))
		for i, k := range keys {
			items[i] = corev1.KeyToPath{Key: k, Path: k}
		}
		volumes = append(volumes,
			corev1.Volume{Name: "secret-src", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: name, Items: items, DefaultMode: ptr.To[int32](0o440),
			}}},
			emptyDir("secret", corev1.StorageMediumMemory))
		checkoutMounts = append(checkoutMounts,
			corev1.VolumeMount{Name: "secret-src", MountPath: secretSrcDir, ReadOnly: true},
			corev1.VolumeMount{Name: "secret", MountPath: secretDstDir})
		jobMounts = append(jobMounts, corev1.VolumeMount{Name: "secret", MountPath: secretDir, ReadOnly: true})
	}
	if len(spec.Containers) > 0 {
		// The three shared directories, each at its runplane and its Kratix path.
		for _, d := range []struct{ vol, at, kratix string }{
			{"input", api.InputDir, api.KratixInputDir},
			{"output", api.OutputDir, api.KratixOutputDir},
			{"metadata", api.MetadataDir, api.KratixMetadataDir},
		} {
			volumes = append(volumes, emptyDir(d.vol, ""))
			jobMounts = append(jobMounts,
				corev1.VolumeMount{Name: d.vol, MountPath: d.at},
				corev1.VolumeMount{Name: d.vol, MountPath: d.kratix})
		}
		// The input directory a third time, where Keptn's job-executor puts a task's files.
		jobMounts = append(jobMounts, corev1.VolumeMount{Name: "input", MountPath: api.KeptnDir})
		if len(inputs) > 0 {
			volumes = append(volumes, corev1.Volume{Name: "input-src", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: name, Items: inputs, DefaultMode: ptr.To[int32](0o440),
			}}})
			checkoutMounts = append(checkoutMounts,
				corev1.VolumeMount{Name: "input-src", MountPath: inputSrcDir, ReadOnly: true},
				corev1.VolumeMount{Name: "input", MountPath: api.InputDir})
		}
	}

	resources, err := resourcesOf(k.Resources)
	if err != nil {
		return nil, nil, err
	}
	var pullSecrets []corev1.LocalObjectReference
	for _, s := range k.ImagePullSecrets {
		pullSecrets = append(pullSecrets, corev1.LocalObjectReference{Name: s})
	}
	var tolerations []corev1.Toleration
	for _, t := range k.Tolerations {
		tolerations = append(tolerations, corev1.Toleration{
			Key: t.Key, Operator: corev1.TolerationOperator(t.Operator), Value: t.Value,
			Effect: corev1.TaintEffect(t.Effect), TolerationSeconds: t.TolerationSeconds,
		})
	}
	sa := e.opts.ServiceAccount
	if k.ServiceAccount != "" {
		sa = k.ServiceAccount
	}
	pullPolicy := corev1.PullIfNotPresent
	if k.ImagePullPolicy != "" {
		pullPolicy = corev1.PullPolicy(k.ImagePullPolicy)
	}

	// A task's network host is the pod's hostNetwork (with cluster DNS still first). Pods have no "none": none and
	// private both run on the pod network, which a NetworkPolicy restricts.
	hostNetwork, dnsPolicy := spec.Network == api.NetworkHost, corev1.DNSPolicy("")
	if hostNetwork {
		dnsPolicy = corev1.DNSClusterFirstWithHostNet
	}

	// The job's own containers: the one running the command, or each of spec.Containers in order (see
	// podShape for which of them are init containers).
	var run []corev1.Container
	for _, st := range steps {
		c := corev1.Container{
			Name:            st.Container,
			Image:           st.Image,
			ImagePullPolicy: pullPolicy,
			WorkingDir:      workspaceDir,
			Env:             jobEnv,
			VolumeMounts:    jobMounts,
			Resources:       resources,
			SecurityContext: hardened(),
		}
		if st.Name == "" {
			// Started beside the checkout, before runplane-pid1 is in the pod: sh waits for it (awaitCheckout).
			c.Command = []string{"sh", "-c", awaitCheckout, "runplane", spec.Command}
		} else {
			uc := spec.Containers[st.index]
			if len(uc.Command) > 0 {
				// runplane-pid1 runs the command; a container without one runs its image's entrypoint as it is.
				c.Command = append([]string{toolsDir + "/" + pid1.Name, "--"}, uc.Command...)
			}
			c.Args = uc.Args
			if uc.WorkingDir != "" {
				c.WorkingDir = uc.WorkingDir
			}
			c.Env = withEnv(jobEnv, uc.Env)
			if err := applyContainerKube(&c, uc.Kubernetes); err != nil {
				return nil, nil, fmt.Errorf("container %s: %w", uc.Name, err)
			}
		}
		run = append(run, c)
	}
	if len(spec.Containers) > 0 && spec.Keep != "" {
		// The last container takes what the job's containers left back to the server.
		keep := corev1.Container{
			Name:            containerKeep,
			Image:           e.opts.JobImage,
			ImagePullPolicy: e.opts.JobImagePullPolicy,
			Command:         []string{runplaneInImage, "pod", "keep"},
			Env: []corev1.EnvVar{
				{Name: inpod.EnvKeepDirs, Value: keptDirs[0][0] + "=" + keptDirs[0][1] + "," + keptDirs[1][0] + "=" + keptDirs[1][1]},
				{Name: inpod.EnvKeepMax, Value: strconv.FormatInt(e.opts.MaxKeep, 10)},
			},
			VolumeMounts: []corev1.VolumeMount{
				{Name: "output", MountPath: api.OutputDir, ReadOnly: true},
				{Name: "metadata", MountPath: api.MetadataDir, ReadOnly: true},
			},
			SecurityContext: hardened(),
		}
		run = append(run, keep)
	}
	checkout := corev1.Container{
		Name:            containerCheckout,
		Image:           e.opts.JobImage,
		ImagePullPolicy: e.opts.JobImagePullPolicy,
		Command:         []string{runplaneInImage, "pod", "checkout"},
		Env:             checkoutEnv,
		VolumeMounts:    checkoutMounts,
		SecurityContext: hardened(),
	}
	var initContainers, containers []corev1.Container
	if fast != nil {
		volumes = fastShape(name, &run[0], spec.Command, fast)
		containers = run
	} else {
		var stepVolume bool
		initContainers, containers, stepVolume = podShape(checkout, run, spec)
		if stepVolume {
			volumes = append(volumes, emptyDir("steps", ""))
		}
	}
	extra, err := extraVolumes(k)
	if err != nil {
		return nil, nil, err
	}
	volumes = append(volumes, extra...)

	job := &batchv1.Job{
		ObjectMeta: meta,
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](0),
			TTLSecondsAfterFinished: ptr.To(int32(e.opts.TTL / time.Second)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: meta.Annotations},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					ServiceAccountName:            sa,
					AutomountServiceAccountToken:  ptr.To(k.ServiceAccountToken && k.ServiceAccount != ""),
					EnableServiceLinks:            ptr.To(false),
					TerminationGracePeriodSeconds: ptr.To(seconds(e.opts.StopGrace)),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To[int64](jobUID),
						RunAsGroup:     ptr.To[int64](jobUID),
						FSGroup:        ptr.To[int64](jobUID),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					NodeSelector:     k.NodeSelector,
					Tolerations:      tolerations,
					ImagePullSecrets: pullSecrets,
					HostNetwork:      hostNetwork,
					DNSPolicy:        dnsPolicy,
					InitContainers:   initContainers,
					Containers:       containers,
					Volumes:          volumes,
				},
			},
		},
	}
	if spec.Timeout > 0 {
		job.Spec.ActiveDeadlineSeconds = ptr.To(seconds(spec.Timeout + deadlineSlack))
	}
	return secret, job, nil
}

func hardened() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

func emptyDir(name string, medium corev1.StorageMedium) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: medium}}}
}

func secretEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key,
	}}}
}

// seconds rounds d up to whole seconds, at least 1.
func seconds(d time.Duration) int64 {
	return max(1, int64(math.Ceil(d.Seconds())))
}

func resourcesOf(r *api.ResourceRequirements) (corev1.ResourceRequirements, error) {
	var out corev1.ResourceRequirements
	if r == nil {
		return out, nil
	}
	parse := func(what string, in map[string]string) (corev1.ResourceList, error) {
		if len(in) == 0 {
			return nil, nil
		}
		list := corev1.ResourceList{}
		for name, v := range in {
			q, err := resource.ParseQuantity(strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("kubernetes.resources.%s.%s: %q is not a quantity", what, name, v)
			}
			list[corev1.ResourceName(name)] = q
		}
		return list, nil
	}
	var err error
	if out.Requests, err = parse("requests", r.Requests); err != nil {
		return out, err
	}
	out.Limits, err = parse("limits", r.Limits)
	return out, err
}
