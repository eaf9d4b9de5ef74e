package api

import "encoding/json"

// Pipeline is one Kratix pipeline (apiVersion platform.kratix.io/v1alpha1, kind Pipeline) as a promise's
// workflows list it: containers run one after another in one job sharing /kratix/input, /kratix/output and
// /kratix/metadata. The fields are spelled as Kratix spells them, so a promise written for Kratix is read
// unchanged; fields runplane passes through to Kubernetes untouched are kept as raw JSON.
type Pipeline struct {
	APIVersion string           `json:"apiVersion,omitempty"`
	Kind       string           `json:"kind,omitempty"`
	Metadata   PipelineMetadata `json:"metadata"`
	Spec       PipelineSpec     `json:"spec"`
}

// PipelineMetadata names a pipeline; its labels and annotations are copied to the pipeline's pod.
type PipelineMetadata struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PipelineSpec is a Kratix PipelineSpec.
type PipelineSpec struct {
	Containers       []PipelineContainer    `json:"containers,omitempty"`
	ImagePullSecrets []LocalObjectReference `json:"imagePullSecrets,omitempty"`
	JobOptions       *PipelineJobOptions    `json:"jobOptions,omitempty"`
	NodeSelector     map[string]string      `json:"nodeSelector,omitempty"`
	RBAC             *PipelineRBAC          `json:"rbac,omitempty"`
	RestartPolicy    string                 `json:"restartPolicy,omitempty"`
	Tolerations      []Toleration           `json:"tolerations,omitempty"`
	// Volumes are Kubernetes volumes (corev1.Volume) the containers' volumeMounts may name.
	Volumes json.RawMessage `json:"volumes,omitempty"`
}

// PipelineContainer is one container of a pipeline: a Kubernetes container (corev1.Container) restricted to the
// fields Kratix documents.
type PipelineContainer struct {
	Name       string       `json:"name"`
	Image      string       `json:"image"`
	Command    []string     `json:"command,omitempty"`
	Args       []string     `json:"args,omitempty"`
	Env        []KubeEnvVar `json:"env,omitempty"`
	WorkingDir string       `json:"workingDir,omitempty"`
	// EnvFrom ([]corev1.EnvFromSource), VolumeMounts ([]corev1.VolumeMount) and SecurityContext
	// (corev1.SecurityContext) are passed to Kubernetes as written.
	EnvFrom         json.RawMessage       `json:"envFrom,omitempty"`
	VolumeMounts    json.RawMessage       `json:"volumeMounts,omitempty"`
	SecurityContext json.RawMessage       `json:"securityContext,omitempty"`
	ImagePullPolicy string                `json:"imagePullPolicy,omitempty"`
	Resources       *ResourceRequirements `json:"resources,omitempty"`
}

// KubeEnvVar is a Kubernetes container's env entry: a value, or valueFrom (corev1.EnvVarSource) passed to
// Kubernetes as written.
type KubeEnvVar struct {
	Name      string          `json:"name"`
	Value     string          `json:"value,omitempty"`
	ValueFrom json.RawMessage `json:"valueFrom,omitempty"`
}

// LocalObjectReference names an object in the same namespace (an image pull secret).
type LocalObjectReference struct {
	Name string `json:"name"`
}

// PipelineJobOptions are a pipeline job's options.
type PipelineJobOptions struct {
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`
}

// PipelineRBAC is the service account a pipeline runs as on Kubernetes and the extra permissions it gets.
type PipelineRBAC struct {
	ServiceAccount string               `json:"serviceAccount,omitempty"`
	Permissions    []PipelinePermission `json:"permissions,omitempty"`
}

// PipelinePermission is a Kubernetes PolicyRule granted to a pipeline, in the pipeline's namespace
// (ResourceNamespace ""), in one other namespace, or in all ("*").
type PipelinePermission struct {
	ResourceNamespace string   `json:"resourceNamespace,omitempty"`
	APIGroups         []string `json:"apiGroups,omitempty"`
	Resources         []string `json:"resources,omitempty"`
	ResourceNames     []string `json:"resourceNames,omitempty"`
	Verbs             []string `json:"verbs"`
	NonResourceURLs   []string `json:"nonResourceURLs,omitempty"`
}
