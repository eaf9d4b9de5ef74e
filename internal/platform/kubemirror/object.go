package kubemirror

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Names the mirror writes on cluster objects.
const (
	// Finalizer holds a cluster object until runplane deleted it from its store (after its delete workflow).
	Finalizer = "platform.runplane.dev/mirror"
	// MarkerAnnotation records what both sides held when the mirror last brought them into step (see doc.go).
	MarkerAnnotation = "platform.runplane.dev/mirrored"
	// ManualReconciliationLabel (Kratix's) asks for the configure workflow to run again; the mirror removes it
	// once it asked. On an object being deleted it retries a failed delete workflow instead.
	ManualReconciliationLabel = "kratix.io/manual-reconciliation"
	// ConditionAccepted is False on a cluster object that runplane refused, with the API's message.
	ConditionAccepted = "Accepted"
	lastApplied       = "kubectl.kubernetes.io/last-applied-configuration"
)

// stored is an object as runplane's store holds it, in its cluster form.
type stored struct {
	Name, Namespace string
	Labels          map[string]string
	Annotations     map[string]string
	Spec            any
	Status          map[string]any
	// APIVersion is the object's own apiVersion where the kind is served in several (a composition's chart
	// version); "" for the kind's.
	APIVersion string
	// Version is the store's version of the object (0 for kinds without one), sent back on updates.
	Version int64
	// Deleting: a delete was asked for and its workflow has not finished.
	Deleting bool
}

// clusterOnly reports annotations and labels that belong to the cluster object alone: never copied to the store,
// kept when the store's are copied to the cluster.
func clusterOnlyAnnotation(k string) bool { return k == lastApplied || k == MarkerAnnotation }
func clusterOnlyLabel(k string) bool      { return k == ManualReconciliationLabel }

func filtered(m map[string]string, drop func(string) bool) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if !drop(k) {
			out[k] = v
		}
	}
	return out
}

// digest is a short hash of what the two sides keep in step: spec, labels and annotations.
func digest(spec any, labels, annotations map[string]string) string {
	doc := map[string]any{
		"spec":        normal(spec),
		"labels":      filtered(labels, clusterOnlyLabel),
		"annotations": filtered(annotations, clusterOnlyAnnotation),
	}
	b, _ := json.Marshal(doc)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// normal is v as JSON decodes it (numbers float64, no typed structs), so both sides hash alike.
func normal(v any) any {
	if v == nil {
		return map[string]any{}
	}
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	if out == nil {
		return map[string]any{}
	}
	return out
}

func clusterDigest(c *unstructured.Unstructured) string {
	return digest(c.Object["spec"], c.GetLabels(), c.GetAnnotations())
}

func (s *stored) digest() string { return digest(s.Spec, s.Labels, s.Annotations) }

// marker reads the marker annotation: the cluster's and the store's digests when last in step.
func marker(c *unstructured.Unstructured) (cd, sd string, ok bool) {
	v, ok := c.GetAnnotations()[MarkerAnnotation]
	if !ok {
		return "", "", false
	}
	a, b, ok := strings.Cut(v, ",")
	return strings.TrimPrefix(a, "c="), strings.TrimPrefix(b, "s="), ok
}

func setMarker(c *unstructured.Unstructured, cd, sd string) {
	a := maps.Clone(c.GetAnnotations())
	if a == nil {
		a = map[string]string{}
	}
	a[MarkerAnnotation] = "c=" + cd + ",s=" + sd
	c.SetAnnotations(a)
}

// copyStored writes s's spec, labels and annotations into c, keeping c's own annotations and labels.
func copyStored(c *unstructured.Unstructured, s *stored) {
	labels := filtered(c.GetLabels(), func(k string) bool { return !clusterOnlyLabel(k) })
	maps.Copy(labels, s.Labels)
	ann := filtered(c.GetAnnotations(), func(k string) bool { return !clusterOnlyAnnotation(k) })
	maps.Copy(ann, s.Annotations)
	c.SetLabels(labels)
	c.SetAnnotations(ann)
	if s.Spec == nil {
		delete(c.Object, "spec")
	} else {
		c.Object["spec"] = normal(s.Spec)
	}
}

// manifest is the cluster object as the REST API takes it: apiVersion, kind, metadata (name, namespace, labels,
// annotations; the store's version when given) and spec — never the cluster's uid, resourceVersion or status.
func manifest(c *unstructured.Unstructured, version int64) map[string]any {
	meta := map[string]any{"name": c.GetName()}
	if ns := c.GetNamespace(); ns != "" {
		meta["namespace"] = ns
	}
	if l := filtered(c.GetLabels(), clusterOnlyLabel); len(l) > 0 {
		meta["labels"] = l
	}
	if a := filtered(c.GetAnnotations(), clusterOnlyAnnotation); len(a) > 0 {
		meta["annotations"] = a
	}
	if version > 0 {
		meta["resourceVersion"] = itoa(version)
	}
	m := map[string]any{"apiVersion": c.GetAPIVersion(), "kind": c.GetKind(), "metadata": meta}
	if spec, ok := c.Object["spec"]; ok {
		m["spec"] = spec
	}
	return m
}

func itoa(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// refusal is the Accepted=False (Invalid) condition the mirror put on c for its current generation, if any.
func refusal(c *unstructured.Unstructured) map[string]any {
	conds, _, _ := unstructured.NestedSlice(c.Object, "status", "conditions")
	for _, x := range conds {
		m, _ := x.(map[string]any)
		if m["type"] == ConditionAccepted && m["status"] == "False" && m["reason"] == "Invalid" {
			if g, _ := m["observedGeneration"].(int64); g == c.GetGeneration() {
				return m
			}
			if g, _ := m["observedGeneration"].(float64); int64(g) == c.GetGeneration() {
				return m
			}
		}
	}
	return nil
}

// withCondition returns status with cond replacing any condition of its type.
func withCondition(status map[string]any, cond map[string]any) map[string]any {
	out := maps.Clone(status)
	if out == nil {
		out = map[string]any{}
	}
	var conds []any
	if cs, ok := out["conditions"].([]any); ok {
		for _, x := range cs {
			if m, _ := x.(map[string]any); m["type"] != cond["type"] {
				conds = append(conds, x)
			}
		}
	}
	out["conditions"] = append(conds, cond)
	return out
}
