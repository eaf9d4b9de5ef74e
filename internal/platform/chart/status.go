package chart

import (
	_ "embed"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/runplane/runplane/api"
)

// ErrNoSchema is a chart without values.schema.json: it defines no API, so its definition is not Ready.
var ErrNoSchema = errors.New("chart: no values.schema.json")

// statusSchema is the status of every generated type: core-provider's static status schema
// (internal/tools/crd/generation/statics/status.schema.json) with provider-runtime's conditions, and the fields
// runplane writes there too (observedGeneration, run, operation, attempts): in a cluster, a field the schema lacks
// is pruned, and the mirror would read the status it wrote as changed on every pass.
//
//go:embed status.schema.json
var statusSchema []byte

// Condition reasons of a definition.
const (
	ReasonAvailable     = "Available"        // Ready: the type is generated
	ReasonCreating      = "Creating"         // not yet read
	ReasonFetchFailed   = "ChartFetchFailed" // the chart could not be fetched
	ReasonNoSchema      = "MissingValuesSchema"
	ReasonInvalidSchema = "InvalidValuesSchema"
	ReasonSynced        = "ReconcileSuccess"
	ReasonSyncFailed    = "ReconcileError"
)

// Result is what reading a definition's chart came to: the status to store and the generated type (nil: keep the
// stored one).
type Result struct {
	Status    api.CompositionDefinitionStatus
	Generated json.RawMessage
}

// Reconcile computes a definition's status from its chart: pkg is what was fetched (nil when fetchErr says why
// not), generated the type the definition generated so far. A chart without values.schema.json, with a schema that
// cannot be made structural, or that could not be fetched leaves the definition not Ready, with the reason, and
// the versions it already served still served. fetchErr's text is shown: the fetcher must keep credentials out
// of it.
func Reconcile(d api.CompositionDefinition, generated json.RawMessage, pkg *Package, fetchErr error, now time.Time) Result {
	prev := d.Status
	st := api.CompositionDefinitionStatus{Kind: prev.Kind, Resource: prev.Resource, APIVersion: prev.APIVersion,
		Managed: prev.Managed, PackageURL: prev.PackageURL, Digest: prev.Digest, ObservedGeneration: d.Metadata.Generation}
	var cur *CRD
	if len(generated) > 0 {
		var c CRD
		if json.Unmarshal(generated, &c) == nil {
			cur = &c
		}
	}
	fail := func(reason, msg string) Result {
		st.Conditions = setConditions(prev.Conditions, now, d.Metadata.Generation,
			api.Condition{Type: api.ConditionReady, Status: "False", Reason: reason, Message: msg},
			api.Condition{Type: api.ConditionSynced, Status: "False", Reason: ReasonSyncFailed, Message: msg})
		return Result{Status: st}
	}
	if fetchErr != nil {
		return fail(ReasonFetchFailed, fetchErr.Error())
	}
	next, gvk, err := Generate(*pkg)
	switch {
	case errors.Is(err, ErrNoSchema):
		return fail(ReasonNoSchema, err.Error()+": a CompositionDefinition needs the chart's values.schema.json "+
			"(krateoctl gen-schema values.yaml makes one)")
	case err != nil:
		return fail(ReasonInvalidSchema, err.Error())
	}
	merged, err := AddVersion(cur, next)
	if err != nil {
		return fail(ReasonInvalidSchema, err.Error())
	}
	if _, err := API(merged); err != nil {
		return fail(ReasonInvalidSchema, "the generated type would be refused: "+err.Error())
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return fail(ReasonInvalidSchema, err.Error())
	}
	chart := *d.Spec.Chart
	chart.Credentials = nil // the status says where the chart is, not how to get in
	st.Kind, st.APIVersion, st.Resource = gvk.Kind, gvk.APIVersion(), merged.Spec.Names.Plural
	st.PackageURL, st.Digest = pkg.URL, pkg.Digest
	st.Managed.Group, st.Managed.Kind = gvk.Group, gvk.Kind
	info := slices.DeleteFunc(slices.Clone(st.Managed.VersionInfo), func(v api.VersionDetail) bool { return v.Version == gvk.Version })
	for i := range info {
		info[i].Stored = false
	}
	st.Managed.VersionInfo = append(info, api.VersionDetail{Version: gvk.Version, Served: true, Stored: true, Chart: &chart})
	st.Conditions = setConditions(prev.Conditions, now, d.Metadata.Generation,
		api.Condition{Type: api.ConditionReady, Status: "True", Reason: ReasonAvailable},
		api.Condition{Type: api.ConditionSynced, Status: "True", Reason: ReasonSynced})
	return Result{Status: st, Generated: b}
}

// PendingStatus is a new definition's status, before its chart was read.
func PendingStatus(now time.Time) api.CompositionDefinitionStatus {
	return api.CompositionDefinitionStatus{Conditions: []api.Condition{
		{Type: api.ConditionReady, Status: "False", Reason: ReasonCreating, Message: "the chart has not been read yet", LastTransitionTime: now.UTC()},
		{Type: api.ConditionSynced, Status: "Unknown", Reason: ReasonCreating, LastTransitionTime: now.UTC()},
	}}
}

// Ready reports whether a definition generated its type.
func Ready(st api.CompositionDefinitionStatus) bool {
	for _, c := range st.Conditions {
		if c.Type == api.ConditionReady {
			return c.Status == "True"
		}
	}
	return false
}

// setConditions replaces conditions by type, keeping a condition's transition time while its status stays.
func setConditions(prev []api.Condition, now time.Time, gen int64, cs ...api.Condition) []api.Condition {
	out := slices.Clone(prev)
	for _, c := range cs {
		c.LastTransitionTime, c.ObservedGeneration = now.UTC(), gen
		i := slices.IndexFunc(out, func(p api.Condition) bool { return p.Type == c.Type })
		if i < 0 {
			out = append(out, c)
			continue
		}
		if out[i].Status == c.Status {
			c.LastTransitionTime = out[i].LastTransitionTime
		}
		out[i] = c
	}
	return out
}
