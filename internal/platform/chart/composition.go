package chart

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/promise"
)

// Krateo's names on a composition (an instance of a generated type).
const (
	// VersionLabel is the chart version (as a type version, v0-1-0) a composition is installed from; core-provider's
	// webhook stamps it on create, and relabelling moves a composition to another served version.
	VersionLabel = "krateo.io/composition-version"
	// PausedAnnotation "true" stops a composition's (or definition's) reconciliation.
	PausedAnnotation = "krateo.io/paused"
)

// Offer is the type a Ready definition serves, as a composition is checked against it.
type Offer struct {
	Namespace, Name string // the definition's
	Resource        string // the type's plural
	API             *promise.API
	Versions        []api.VersionDetail
}

// OfferOf is the type definition d generated (generated is its stored CRD); nil when it generated none yet.
func OfferOf(d api.CompositionDefinition, generated json.RawMessage) (*Offer, error) {
	if len(generated) == 0 || d.Status.Resource == "" {
		return nil, nil
	}
	var crd CRD
	if err := json.Unmarshal(generated, &crd); err != nil {
		return nil, fmt.Errorf("composition definition %s/%s: generated type: %w", d.Metadata.Namespace, d.Metadata.Name, err)
	}
	a, err := API(crd)
	if err != nil {
		return nil, err
	}
	return &Offer{Namespace: d.Metadata.Namespace, Name: d.Metadata.Name, Resource: crd.Spec.Names.Plural, API: a,
		Versions: d.Status.Managed.VersionInfo}, nil
}

// Chart is the chart the type's version (v0-1-0) is installed from; nil if the definition never served it.
func (o *Offer) Chart(version string) *api.ChartInfo {
	for _, v := range o.Versions {
		if v.Version == version && v.Served {
			return v.Chart
		}
	}
	return nil
}

// Serves reports whether the offer serves apiVersion (composition.krateo.io/v0-1-0).
func (o *Offer) Serves(apiVersion string) bool {
	_, v, _ := strings.Cut(apiVersion, "/")
	return o.API.Served(apiVersion) != nil && o.Chart(v) != nil
}

// CheckComposition checks a composition against the type o offers and returns it as it is stored: its spec
// pruned, defaulted and validated with the schema of the version it names (400 naming each failing field), its
// apiVersion kept (it says which chart version the release is installed from: there is no storage version to
// convert to), and VersionLabel set to that version. A VersionLabel naming another served version than
// apiVersion wins over it when prev (the composition as stored) carried the old label: relabelling, as
// core-provider does it, moves a composition to another chart version.
func CheckComposition(o *Offer, c api.ResourceRequest, prev *api.ResourceRequest) (api.ResourceRequest, error) {
	if want := c.Metadata.Labels[VersionLabel]; want != "" {
		relabelled := prev != nil && prev.Metadata.Labels[VersionLabel] != want
		if _, v, _ := strings.Cut(c.APIVersion, "/"); v != want && (relabelled || c.APIVersion == "") {
			c.APIVersion = api.CompositionGroup + "/" + want
		}
	}
	if c.Metadata.Namespace == "" {
		c.Metadata.Namespace = promise.DefaultNamespace
	}
	apiVersion := c.APIVersion
	if !o.Serves(apiVersion) {
		return c, api.Invalidf("apiVersion: Unsupported value: %q: supported values: %s", apiVersion, served(o))
	}
	checked, err := promise.CheckRequest(o.API, c)
	if err != nil {
		return c, err
	}
	checked.APIVersion = apiVersion
	labels := make(map[string]string, len(checked.Metadata.Labels)+1)
	for k, v := range checked.Metadata.Labels {
		labels[k] = v
	}
	_, labels[VersionLabel], _ = strings.Cut(apiVersion, "/")
	checked.Metadata.Labels = labels
	checked.Status = nil
	return checked, nil
}

func served(o *Offer) string {
	var vs []string
	for _, v := range o.Versions {
		if v.Served {
			vs = append(vs, fmt.Sprintf("%q", api.CompositionGroup+"/"+v.Version))
		}
	}
	return strings.Join(vs, ", ")
}

// Paused reports whether a composition's reconciliation is stopped (krateo.io/paused: "true").
func Paused(m api.ObjectMeta) bool {
	return m.Annotations[PausedAnnotation] == "true" || m.Labels[PausedAnnotation] == "true"
}

// CompositionStatus is a composition's status as Krateo shows it (its status schema, status.schema.json):
// conditions, the release's managed objects, the chart it was installed from and the package's digest.
type CompositionStatus struct {
	Conditions       []api.Condition `json:"conditions,omitempty"`
	HelmChartURL     string          `json:"helmChartUrl,omitempty"`
	HelmChartVersion string          `json:"helmChartVersion,omitempty"`
	Digest           string          `json:"digest,omitempty"`
	PreviousDigest   string          `json:"previousDigest,omitempty"`
	Managed          []ManagedObject `json:"managed,omitempty"`
	// ObservedGeneration, Run, Operation and Attempts are runplane's: the generation the last release operation
	// was for, the workflow run (of one job) that carries it out, which operation, and its attempt.
	ObservedGeneration int64  `json:"observedGeneration,omitempty"`
	Run                string `json:"run,omitempty"`
	Operation          string `json:"operation,omitempty"`
	Attempts           int    `json:"attempts,omitempty"`
}

// ManagedObject is one object a release manages (status.managed[]).
type ManagedObject struct {
	APIVersion string `json:"apiVersion"`
	Resource   string `json:"resource"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace,omitempty"`
	Path       string `json:"path,omitempty"`
}

// Condition reasons of a composition.
const (
	ReasonInstalling    = "Creating"
	ReasonInstalled     = "Available"
	ReasonReleaseFailed = "ReleaseFailed"
	ReasonDeleting      = "Deleting"
	ReasonPaused        = "ReconcilePaused"
)

// NewCompositionStatus is a new composition's status, before its release was installed.
func NewCompositionStatus(now time.Time) json.RawMessage {
	st := CompositionStatus{Conditions: []api.Condition{
		{Type: api.ConditionReady, Status: "False", Reason: ReasonInstalling, Message: "the release is not installed yet", LastTransitionTime: now.UTC()},
		{Type: api.ConditionSynced, Status: "Unknown", Reason: ReasonInstalling, LastTransitionTime: now.UTC()},
	}}
	b, _ := json.Marshal(st)
	return b
}

// ReadCompositionStatus reads a stored composition's status (an empty one when it has none or it is not Krateo's).
func ReadCompositionStatus(raw json.RawMessage) CompositionStatus {
	var st CompositionStatus
	_ = json.Unmarshal(raw, &st)
	return st
}

// SetConditions sets the Ready and Synced conditions of st, keeping their transition times while they stay.
func (st *CompositionStatus) SetConditions(now time.Time, gen int64, ready, synced api.Condition) {
	st.Conditions = setConditions(st.Conditions, now, gen, ready, synced)
}
