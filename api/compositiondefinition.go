package api

// Krateo's names, as core-provider and composition-dynamic-controller spell them.
const (
	// KrateoCoreAPIVersion is the apiVersion of a CompositionDefinition.
	KrateoCoreAPIVersion      = "core.krateo.io/v1alpha1"
	KindCompositionDefinition = "CompositionDefinition"
	// CompositionGroup is the group of every type a CompositionDefinition generates.
	CompositionGroup = "composition.krateo.io"
	// Condition types a definition's status carries (provider-runtime's).
	ConditionReady  = "Ready"
	ConditionSynced = "Synced"
)

// ResourceCompositionDefinitions guards CompositionDefinitions, by "namespace/name".
const ResourceCompositionDefinitions = "composition_definitions"

// ResourceCompositions guards the instances of the types CompositionDefinitions generate (Krateo compositions),
// by the name of the definition whose type they are (write: may create, change and delete them, which installs,
// upgrades and uninstalls their releases).
const ResourceCompositions = "compositions"

// CompositionDefinition is a Krateo CompositionDefinition as core-provider reads it: a Helm chart whose
// values.schema.json becomes a resource type (group composition.krateo.io, one version per chart version), each
// instance of which is a Helm release of the chart. It is namespaced. A file written for Krateo reads unchanged;
// fields runplane does not know are ignored, and status is the server's.
type CompositionDefinition struct {
	APIVersion string                      `json:"apiVersion"`
	Kind       string                      `json:"kind"`
	Metadata   ObjectMeta                  `json:"metadata"`
	Spec       CompositionDefinitionSpec   `json:"spec"`
	Status     CompositionDefinitionStatus `json:"status,omitzero"`
}

// CompositionDefinitionSpec is spec: the chart.
type CompositionDefinitionSpec struct {
	Chart *ChartInfo `json:"chart,omitempty"`
}

// ChartInfo says where a chart is: URL is an oci:// reference, an http(s) Helm repository (then Repo is the
// chart's name in it and Version is required), or a direct .tgz URL. With an oci:// URL, Repo (when given) is
// appended to it as the repository. Credentials name where the password is: in embedded mode, a runner's secret
// (passwordRef.name the runner, passwordRef.key the key); on Kubernetes, a Secret.
type ChartInfo struct {
	URL                   string            `json:"url"`
	Version               string            `json:"version,omitempty"`
	Repo                  string            `json:"repo,omitempty"`
	InsecureSkipVerifyTLS bool              `json:"insecureSkipVerifyTLS,omitempty"`
	Credentials           *ChartCredentials `json:"credentials,omitempty"`
}

// ChartCredentials are a user name and where its password is.
type ChartCredentials struct {
	Username    string            `json:"username"`
	PasswordRef SecretKeySelector `json:"passwordRef"`
}

// SecretKeySelector names one key of a secret (provider-runtime's SecretKeySelector).
type SecretKeySelector struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Key       string `json:"key"`
}

// CompositionDefinitionStatus is core-provider's status: Ready and Synced conditions, the generated type
// (apiVersion, kind, resource = its plural), the versions it serves, the chart package's URL and digest.
type CompositionDefinitionStatus struct {
	Conditions []Condition `json:"conditions,omitempty"`
	Kind       string      `json:"kind,omitempty"`
	Resource   string      `json:"resource,omitempty"`
	APIVersion string      `json:"apiVersion,omitempty"`
	Managed    Managed     `json:"managed,omitzero"`
	PackageURL string      `json:"packageUrl,omitempty"`
	Digest     string      `json:"digest,omitempty"`
	// ObservedGeneration is runplane's: the generation the status was computed for.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// Managed is what a definition generated: its group, kind and the versions served.
type Managed struct {
	VersionInfo []VersionDetail `json:"versionInfo,omitempty"`
	Group       string          `json:"group,omitempty"`
	Kind        string          `json:"kind,omitempty"`
}

// VersionDetail is one served version of the generated type and the chart it came from.
type VersionDetail struct {
	Version string     `json:"version"`
	Served  bool       `json:"served"`
	Stored  bool       `json:"stored"`
	Chart   *ChartInfo `json:"chart"`
}
