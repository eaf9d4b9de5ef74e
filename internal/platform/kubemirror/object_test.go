package kubemirror

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestDigest: what the two sides keep in step counts; what belongs to the cluster alone does not.
func TestDigest(t *testing.T) {
	base := digest(map[string]any{"size": "large"}, map[string]string{"team": "a"}, map[string]string{"note": "x"})
	tests := []struct {
		name        string
		spec        any
		labels, ann map[string]string
		same        bool
	}{
		{"same", map[string]any{"size": "large"}, map[string]string{"team": "a"}, map[string]string{"note": "x"}, true},
		{"typed numbers alike", map[string]any{"size": "large"}, map[string]string{"team": "a"}, map[string]string{"note": "x"}, true},
		{"marker ignored", map[string]any{"size": "large"}, map[string]string{"team": "a"}, map[string]string{"note": "x", MarkerAnnotation: "c=1,s=2"}, true},
		{"last-applied ignored", map[string]any{"size": "large"}, map[string]string{"team": "a"}, map[string]string{"note": "x", lastApplied: "{}"}, true},
		{"manual reconciliation ignored", map[string]any{"size": "large"}, map[string]string{"team": "a", ManualReconciliationLabel: "true"}, map[string]string{"note": "x"}, true},
		{"spec", map[string]any{"size": "small"}, map[string]string{"team": "a"}, map[string]string{"note": "x"}, false},
		{"label", map[string]any{"size": "large"}, map[string]string{"team": "b"}, map[string]string{"note": "x"}, false},
		{"paused label counts", map[string]any{"size": "large"}, map[string]string{"team": "a", "kratix.io/paused": "true"}, map[string]string{"note": "x"}, false},
		{"annotation", map[string]any{"size": "large"}, map[string]string{"team": "a"}, map[string]string{"note": "y"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := digest(tt.spec, tt.labels, tt.ann); (got == base) != tt.same {
				t.Errorf("digest = %s, base %s: same = %v, want %v", got, base, got == base, tt.same)
			}
		})
	}
}

// TestMarker: the marker round-trips; a malformed one reads as absent or as digests that match nothing.
func TestMarker(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	if _, _, ok := marker(u); ok {
		t.Fatal("marker of an object without one: ok")
	}
	setMarker(u, "aa", "bb")
	if cd, sd, ok := marker(u); !ok || cd != "aa" || sd != "bb" {
		t.Errorf("marker = %q, %q, %v; want aa, bb, true", cd, sd, ok)
	}
}

// FuzzMarker: any annotation value (the cluster's users may write it) reads without a panic, and a digest read
// from it never equals a real digest unless the value holds it.
func FuzzMarker(f *testing.F) {
	f.Add("c=0123456789abcdef,s=fedcba9876543210")
	f.Add("")
	f.Add(",")
	f.Add("c=,s=")
	f.Fuzz(func(t *testing.T, v string) {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		u.SetAnnotations(map[string]string{MarkerAnnotation: v})
		cd, sd, _ := marker(u)
		if len(cd) > len(v) || len(sd) > len(v) {
			t.Fatalf("marker(%q) = %q, %q: longer than the value", v, cd, sd)
		}
		_ = clusterDigest(u)
	})
}

// FuzzManifest: whatever labels and annotations a cluster object has, what is sent to the REST API never carries
// the cluster-only ones, nor the cluster's resourceVersion.
func FuzzManifest(f *testing.F) {
	f.Add("team", "a", "note", "x", "7")
	f.Add(ManualReconciliationLabel, "true", MarkerAnnotation, "c=1,s=2", "")
	f.Fuzz(func(t *testing.T, lk, lv, ak, av, rv string) {
		u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"x": lv}}}
		u.SetName("n")
		u.SetLabels(map[string]string{lk: lv})
		u.SetAnnotations(map[string]string{ak: av, lastApplied: "{}"})
		u.SetResourceVersion(rv)
		m := manifest(u, 0)
		meta := m["metadata"].(map[string]any)
		if _, ok := meta["resourceVersion"]; ok {
			t.Fatalf("manifest carries resourceVersion: %v", meta)
		}
		if l, ok := meta["labels"].(map[string]string); ok {
			if _, bad := l[ManualReconciliationLabel]; bad {
				t.Fatalf("manifest carries %s", ManualReconciliationLabel)
			}
		}
		if a, ok := meta["annotations"].(map[string]string); ok {
			for k := range a {
				if clusterOnlyAnnotation(k) {
					t.Fatalf("manifest carries annotation %s", k)
				}
			}
		}
	})
}
