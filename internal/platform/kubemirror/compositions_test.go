package kubemirror

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// TestCompositionVersion: a composition read at one version of its type is written at the one it was written
// with: the version label, else kubectl's last applied apiVersion, else the newest write of another manager, else
// the version read at. A label naming a version not served is ignored.
func TestCompositionVersion(t *testing.T) {
	const group = "composition.krateo.io"
	served := []string{"v0-1-0", "v0-2-0"}
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	obj := func(mod func(u *unstructured.Unstructured)) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		u.SetAPIVersion(group + "/v0-2-0") // as the informer reads it
		mod(u)
		return u
	}
	for _, c := range []struct {
		name string
		u    *unstructured.Unstructured
		want string
	}{
		{"label", obj(func(u *unstructured.Unstructured) {
			u.SetLabels(map[string]string{"krateo.io/composition-version": "v0-1-0"})
			u.SetAnnotations(map[string]string{lastApplied: `{"apiVersion":"composition.krateo.io/v0-2-0"}`})
		}), "v0-1-0"},
		{"label of a version not served", obj(func(u *unstructured.Unstructured) {
			u.SetLabels(map[string]string{"krateo.io/composition-version": "v9"})
			u.SetAnnotations(map[string]string{lastApplied: `{"apiVersion":"composition.krateo.io/v0-1-0"}`})
		}), "v0-1-0"},
		{"kubectl apply", obj(func(u *unstructured.Unstructured) {
			u.SetAnnotations(map[string]string{lastApplied: `{"apiVersion":"composition.krateo.io/v0-1-0","kind":"FireworksApp"}`})
		}), "v0-1-0"},
		{"newest writer other than runplane", obj(func(u *unstructured.Unstructured) {
			u.SetManagedFields([]metav1.ManagedFieldsEntry{
				{Manager: "kubectl-create", APIVersion: group + "/v0-1-0", Time: &t0},
				{Manager: "argocd", APIVersion: group + "/v0-2-0", Time: &t1},
				{Manager: FieldManager, APIVersion: group + "/v0-1-0", Time: &t1},
			})
		}), "v0-2-0"},
		{"runplane's writes do not count", obj(func(u *unstructured.Unstructured) {
			u.SetManagedFields([]metav1.ManagedFieldsEntry{
				{Manager: "kubectl-create", APIVersion: group + "/v0-1-0", Time: &t0},
				{Manager: FieldManager, APIVersion: group + "/v0-2-0", Time: &t1},
			})
		}), "v0-1-0"},
		{"nothing says: as read", obj(func(*unstructured.Unstructured) {}), "v0-2-0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := compositionVersion(c.u, group, served); got != c.want {
				t.Errorf("compositionVersion = %q, want %q", got, c.want)
			}
		})
	}
}

// TestStoredDefinitionNamesSecretNamespace: a passwordRef without a namespace (the REST API accepts one) names the
// definition's namespace in the cluster form, in spec and in status, since core-provider's CRD requires it.
func TestStoredDefinitionNamesSecretNamespace(t *testing.T) {
	ci := &api.ChartInfo{URL: "oci://r/charts", Version: "0.1.0", Credentials: &api.ChartCredentials{Username: "u",
		PasswordRef: api.SecretKeySelector{Name: "registry", Key: "password"}}}
	d := store.CompositionDefinition{CompositionDefinition: api.CompositionDefinition{
		Metadata: api.ObjectMeta{Name: "fw", Namespace: "team"},
		Spec:     api.CompositionDefinitionSpec{Chart: ci},
		Status:   api.CompositionDefinitionStatus{Managed: api.Managed{VersionInfo: []api.VersionDetail{{Version: "v0-1-0", Served: true, Chart: ci}}}},
	}}
	s := storedDefinition(d)
	spec := s.Spec.(map[string]any)
	if got, _, _ := unstructured.NestedString(spec, "chart", "credentials", "passwordRef", "namespace"); got != "team" {
		t.Errorf("spec passwordRef.namespace = %q, want team", got)
	}
	vi, _, _ := unstructured.NestedSlice(s.Status, "managed", "versionInfo")
	if len(vi) != 1 {
		t.Fatalf("status.managed.versionInfo = %v", vi)
	}
	if got, _, _ := unstructured.NestedString(vi[0].(map[string]any), "chart", "credentials", "passwordRef", "namespace"); got != "team" {
		t.Errorf("status passwordRef.namespace = %q, want team", got)
	}
	if ci.Credentials.PasswordRef.Namespace != "" {
		t.Errorf("the stored definition was changed: %+v", ci.Credentials.PasswordRef)
	}
}
